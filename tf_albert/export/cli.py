"""`tf-albert export`: a model folder (or .keras file) → a TF Serving SavedModel
(`<output-dir>/<name>/<version>/`), or one file: `--format tflite|onnx --output FILE [--quantize ...]
[--calibration-data FILE]`."""

from __future__ import annotations

import argparse
import json
import os
import sys

import keras

from tf_albert.export.calibration import read_calibration_file
from tf_albert.export.onnx import export_onnx  # imports the optional onnx package only when it exports
from tf_albert.export.saved_model import METADATA_FILE, export_saved_model, ops_outside_core
from tf_albert.export.tflite import export_tflite
from tf_albert.model.modeling import MODEL_CLASSES, AlbertPreTrainedModel

FORMATS = ("savedmodel", "tflite", "onnx")


def _load_model(source: str, head: str | None):
    """A `.keras` file, or anything `from_pretrained` takes (a model folder, a TF1 checkpoint, a hub id)."""
    if source.endswith(".keras"):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"no such .keras file: {source}")
        return keras.saving.load_model(source)  # tf_albert.model.modeling registered the model classes
    if head is not None and head not in MODEL_CLASSES:
        raise ValueError(f"unknown head {head!r}; choose one of {sorted(MODEL_CLASSES)}")
    # With no --head, the class named in config.json's `architectures`.
    cls = AlbertPreTrainedModel if head is None else MODEL_CLASSES[head]
    return cls.from_pretrained(source)


def _find_tokenizer(source: str):
    folder = source if os.path.isdir(source) else os.path.dirname(os.path.abspath(source))
    return folder if os.path.isfile(os.path.join(folder, "spiece.model")) else None


def _version_arg(value: str):
    if value == "next":
        return value
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(f"version must be a non-negative integer or 'next', got {value!r}")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The arguments of `tf-albert export` (on `parser` when the CLI passes its sub-parser)."""
    parser = parser or argparse.ArgumentParser(
        prog="tf-albert export",
        description="Export a model as a TF Serving SavedModel (<output-dir>/<name>/<version>/), a TFLite file "
                    "(--format tflite --output FILE.tflite) or an ONNX file (--format onnx --output FILE.onnx)",
    )
    parser.add_argument("model", help="a model folder (config.json + weights: ours, HF's, a Google TF1 "
                                      "checkpoint) or a .keras file")
    parser.add_argument("--head", help="model class (default: the one config.json's `architectures` names): "
                                       "model, pretraining, masked_lm, sequence_classification, "
                                       "multiple_choice, token_classification, question_answering")
    parser.add_argument("--output-dir", default="saved_models", help="TF Serving model base folder (default: "
                                                                      "saved_models)")
    parser.add_argument("--name", help="model name on the server (default: the model folder's name)")
    parser.add_argument("--version", type=_version_arg, default="next",
                        help="version folder: an integer or 'next' (default)")
    parser.add_argument("--signatures", default=None,
                        help="comma-separated: ids,text (default: ids, plus text when a tokenizer is found)")
    parser.add_argument("--tokenizer", help="folder or spiece.model for the text signature or --calibration-data "
                                            "(default: the model folder's spiece.model if present)")
    parser.add_argument("--max-length", type=int, help="fix the sequence length (static shapes)")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the serving functions")
    parser.add_argument("--top-k", type=int, default=5, help="labels/tokens returned by the text signature")
    parser.add_argument("--text-first", action="store_true", help="make the text signature serving_default")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing version folder or file")
    parser.add_argument("--format", choices=FORMATS, default="savedmodel",
                        help="savedmodel (TF Serving, the default), tflite (LiteRT: phones, small CPUs) or onnx "
                             "(ONNX Runtime)")
    parser.add_argument("--output", help="the file to write, for --format tflite/onnx")
    parser.add_argument("--quantize", choices=("int8", "float16"),
                        help="tflite: int8 or float16 weights; onnx: int8 (onnxruntime). int8 is dynamic-range "
                             "(activations quantized per call) unless --calibration-data is given")
    parser.add_argument("--calibration-data", metavar="FILE",
                        help="with --quantize int8: static (calibrated) int8. A UTF-8 text file, one example a line "
                             "(first<TAB>second for pairs), tokenized with the model folder's tokenizer (or "
                             "--tokenizer); a few hundred lines like those the model will serve")
    return parser


def _export_file(model, args, calibration=None) -> str:
    """--format tflite/onnx: one file at --output (SavedModel-only options are refused)."""
    if not args.output:
        raise ValueError(f"--format {args.format} needs --output FILE")
    ignored = [flag for flag, given in (("--name", args.name), ("--signatures", args.signatures),
                                        ("--tokenizer", args.tokenizer and not args.calibration_data),
                                        ("--jit-compile", args.jit_compile), ("--text-first", args.text_first))
               if given]
    if ignored:
        raise ValueError(f"{', '.join(ignored)} only apply to --format savedmodel"
                         + (" (--tokenizer also to --calibration-data)" if "--tokenizer" in ignored else ""))
    static = {}
    if args.calibration_data:
        static = {"calibration_data": calibration, "tokenizer": _calibration_tokenizer(args)}
    if args.format == "tflite":
        return export_tflite(model, args.output, quantize=args.quantize, max_length=args.max_length,
                             overwrite=args.overwrite, **static)
    if args.max_length is not None:
        raise ValueError("--max-length does not apply to --format onnx (its batch and length are dynamic)")
    if args.quantize == "float16":
        raise ValueError("--quantize float16 is for --format tflite; ONNX takes --quantize int8")
    return export_onnx(model, args.output, quantize=args.quantize, overwrite=args.overwrite, **static)


def _calibration_tokenizer(args):
    """The tokenizer of --calibration-data: --tokenizer, else the model folder's."""
    from tf_albert.tokenization import AlbertTokenizer

    source = args.tokenizer or _find_tokenizer(args.model)
    if source is None:
        raise ValueError(f"--calibration-data needs a tokenizer: {args.model} has no spiece.model; pass "
                         "--tokenizer FOLDER_OR_SPIECE_MODEL")
    return AlbertTokenizer.from_pretrained(source)


def main(argv=None) -> int:
    """`tf-albert export MODEL [--name NAME] [--version N|next] ...`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.format == "savedmodel" and (args.output or args.quantize or args.calibration_data):
            raise ValueError("--output, --quantize and --calibration-data are for --format tflite/onnx; a "
                             "SavedModel goes to --output-dir/--name/--version")
        calibration = None
        if args.calibration_data is not None:
            if args.quantize != "int8":
                raise ValueError(f"--calibration-data {args.calibration_data} is for static int8: add --quantize "
                                 f"int8 (got --quantize {args.quantize or 'none'})")
            calibration = read_calibration_file(args.calibration_data)  # a bad file fails before the model loads
        model = _load_model(args.model, args.head)
        if args.format != "savedmodel":
            path = _export_file(model, args, calibration)
            mode = args.quantize and args.quantize + (" static" if calibration else "")
            print(f"exported {type(model).__name__} to {path} ({os.path.getsize(path) / 1e6:.1f} MB, "
                  f"{args.format}{', ' + mode if mode else ''})")
            return 0
        tokenizer = args.tokenizer or _find_tokenizer(args.model)
        signatures = None if args.signatures is None else tuple(s.strip() for s in args.signatures.split(","))
        if signatures is None and tokenizer is not None and not _text_available():
            print("note: tensorflow-text is not installed; exporting the ids signature only "
                  "(pip install 'tf_albert[text]' for the text signature)", file=sys.stderr)
            signatures = ("ids",)
        name = args.name or os.path.basename(os.path.normpath(args.model)).removesuffix(".keras")
        folder = export_saved_model(
            model, os.path.join(args.output_dir, name), signatures=signatures, tokenizer=tokenizer,
            max_length=args.max_length, jit_compile=args.jit_compile, version=args.version, top_k=args.top_k,
            text_first=args.text_first, overwrite=args.overwrite,
        )
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, IsADirectoryError, ImportError) as e:
        print(f"tf-albert export: error: {e}", file=sys.stderr)
        return 2
    with open(os.path.join(folder, METADATA_FILE), encoding="utf-8") as f:
        metadata = json.load(f)
    print(f"exported {metadata['model_class']} to {folder}")
    for key, sig in metadata["signatures"].items():
        inputs = ", ".join(f"{k} {v['dtype']}{v['shape']}" for k, v in sig["inputs"].items())
        print(f"  {key}: ({inputs}) -> {', '.join(sig['outputs'])}")
    if set(metadata["signatures"]) & {"serving_text", "serving_text_pair", "serving_ids"}:
        extra = ops_outside_core(folder)
        print(f"  ops outside core TensorFlow (the server must link them): {', '.join(extra) or 'none'}")
    return 0


def _text_available() -> bool:
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        return False
    return True
