"""`tf-albert convert SRC DST`: any supported ALBERT checkpoint → an HF-layout folder (or KerasHub preset).

SRC is a local folder or file in any shape `formats` reads (HF safetensors / pytorch_model.bin / tf_model.h5,
Google TF1, TF2 Model Garden checkpoints and TF Hub TF2 SavedModels, KerasHub presets), or a hub id. DST
receives config.json, model.safetensors, tf_model.h5 and the tokenizer files when SRC has a tokenizer (a
SentencePiece model, an HF tokenizer.json, a WordPiece vocab.txt, a KerasHub preset's vocabulary.spm); with
`--to keras_hub` it receives a KerasHub backbone preset instead. Progress goes to stderr; the summary
names the model class, parameter count, what was loaded / newly initialised / unused, and two self-checks:

* round trip: DST loaded back (from model.safetensors and tf_model.h5, or the preset) gives the same outputs;
* reference: when the source framework is installed (transformers + PyTorch for HF PyTorch files, transformers
  4 + PyTorch for Google TF1 via `load_tf_weights_in_albert`), its outputs against ours (max-abs-diff).

Example (shell):

    tf-albert convert ./albert_base_v2_tf1 ./albert-base-v2-tf
    tf-albert convert albert/albert-base-v2 ./albert-base-v2 --model-class masked_lm
    tf-albert convert ./albert-base-v2 ./albert_base_keras_hub --to keras_hub
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from tf_albert.checkpoints import api, formats, hub, loading
from tf_albert.checkpoints.resolve import resolve_path
from tf_albert.model import modeling
from tf_albert.tokenization.tokenizer import AlbertTokenizer

TOL = 1e-5
TARGETS = {"hf": api.SAVE_FORMATS, "keras_hub": (api.KERAS_HUB,)}  # --to: what save_pretrained writes
_RELOAD = {"hf": ("safetensors", "h5"), "keras_hub": ("keras_hub",)}  # --to: the round trip reloads these
_NO_REFERENCE = {"h5": "reading tf_model.h5 with transformers needs tf-keras in another process",
                 "tf2": "Model Garden's own code is checked against in tests/checkpoints/test_tf2.py",
                 "keras_hub": "KerasHub's outputs are checked against in tests/checkpoints/test_keras_hub.py"}


class Progress:
    """A one-line progress bar on stderr (a plain final line when stderr is not a terminal)."""

    def __init__(self, label: str, stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = False

    def __call__(self, i: int, n: int) -> None:
        if self.tty:
            width = 30
            filled = int(width * i / max(n, 1))
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {i}/{n}")
            self.stream.flush()
        if i == n and not self.done:
            self.done = True
            self.stream.write("\n" if self.tty else f"{self.label}: {n}/{n}\n")
            self.stream.flush()


def _choose_class(name: str | None, config, source):
    if name and name != "auto":
        if name not in modeling.MODEL_CLASSES:
            raise ValueError(f"--model-class {name!r} is not one of auto, {', '.join(modeling.MODEL_CLASSES)}")
        return modeling.MODEL_CLASSES[name]
    cls = api._model_class(modeling.AlbertPreTrainedModel, config)
    if config.extra.get("architectures"):
        return cls
    names = set(source.entries)
    if any(n.startswith("predictions.") for n in names):
        has_sop = any(n.startswith("sop_classifier.") for n in names)
        return modeling.AlbertForPreTraining if has_sop else modeling.AlbertForMaskedLM
    if any(n.startswith("qa_outputs.") for n in names):
        return modeling.AlbertForQuestionAnswering
    if "classifier.weight" in names:
        return modeling.AlbertForSequenceClassification
    return modeling.AlbertModel


def _batch(model, seed: int = 0) -> dict:
    c = model.config
    rng = np.random.default_rng(seed)
    seq = min(12, c.max_position_embeddings)
    shape = (2, 2, seq) if type(model).__name__ == "AlbertForMultipleChoice" else (2, seq)
    ids = rng.integers(5 if c.vocab_size > 5 else 0, c.vocab_size, size=shape).astype(np.int32)
    mask = np.ones(shape, np.int32)
    mask[1, ..., seq // 2:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _outputs(model, batch) -> dict:
    out = model(**batch)
    return {k: np.asarray(v) for k, v in out.items() if not isinstance(v, (tuple, list))}


def _max_diff(a: dict, b: dict) -> float:
    keys = [k for k in a if k in b]
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)))) for k in keys)


def _reference(checkpoint, model, batch, ours) -> str:
    """Max-abs-diff against the source framework, or why it was not run."""
    cls_name = type(model).__name__
    if checkpoint.format in _NO_REFERENCE:
        return f"skipped ({_NO_REFERENCE[checkpoint.format]})"
    try:
        import torch
        import transformers
    except ImportError:
        return "skipped (transformers and PyTorch are not installed)"
    to_torch = {k: torch.from_numpy(v.astype(np.int64)) for k, v in batch.items()}
    hf_cls = getattr(transformers, cls_name)
    if checkpoint.format in ("safetensors", "bin"):
        ref = hf_cls.from_pretrained(checkpoint.folder, num_labels=model.config.num_labels).eval()
    elif checkpoint.format == "tf1":
        try:
            from transformers.models.albert.modeling_albert import load_tf_weights_in_albert
        except ImportError:
            return f"skipped (transformers {transformers.__version__} has no load_tf_weights_in_albert)"
        config = transformers.AlbertConfig(**{k: v for k, v in model.config.to_dict().items()
                                              if k not in ("architectures",)})
        ref = hf_cls(config)
        try:
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                load_tf_weights_in_albert(ref, config, checkpoint.weights)
        except (AttributeError, ValueError) as e:
            return f"skipped (transformers' TF1 reader cannot map this checkpoint into {cls_name}: {e})"
        ref.eval()
    else:
        return "skipped (no reference reader for this format)"
    with torch.no_grad():
        result = ref(**to_torch)
    theirs = {k: getattr(result, k).numpy() for k in ours if getattr(result, k, None) is not None}
    if not theirs:
        return "skipped (no comparable outputs)"
    diff = _max_diff(ours, theirs)
    return f"max-abs-diff {diff:.2e} vs transformers {transformers.__version__} {cls_name} ({'ok' if diff <= TOL else 'FAIL'})"


def _source_tokenizer(folder: str, explicit: str | None):
    """The tokenizer to save with the weights: `explicit` (a file or folder), else the one in the source
    folder (any kind `AlbertTokenizer.from_pretrained` reads), else None."""
    if explicit is not None:
        return AlbertTokenizer.from_pretrained(explicit)
    try:
        return AlbertTokenizer.from_pretrained(folder)
    except FileNotFoundError:
        return None


def convert(src: str, dst: str, *, model_class: str | None = None, weights_format: str | None = None,
            tokenizer: str | None = None, check: bool = True, hub_options: dict | None = None,
            stream=None, to: str = "hf") -> dict:
    """Converts SRC into the folder DST (`to`: "hf" or "keras_hub"); returns the summary as a dict (also
    printed to `stream`)."""
    if to not in TARGETS:
        raise ValueError(f"to must be one of {sorted(TARGETS)}, got {to!r}")
    stream = stream or sys.stdout
    start = time.time()
    path = resolve_path(src, files="model", **(hub_options or {}))
    checkpoint = formats.find_checkpoint(path, weights_format)
    config = formats.read_config(checkpoint)
    with formats.open_weights(checkpoint, config) as source:
        cls = _choose_class(model_class, config, source)
        if cls.__name__ in ("AlbertForSequenceClassification", "AlbertForTokenClassification") \
                and "classifier.weight" in source.entries:
            rows = source.entries["classifier.weight"].shape[0]
            if rows != config.num_labels and not config.extra.get("architectures"):
                config = config.copy(num_labels=rows)  # Google's classifiers carry num_labels only in the weights
        model = cls(config)
        model.build()
        info = loading.load_weights(model, source, progress=Progress(f"loading {checkpoint.format}"))
    model.loading_info = info
    tok = _source_tokenizer(checkpoint.folder, tokenizer)
    if tok is None and hub.is_hub_id(os.fspath(src)) and not os.path.exists(os.fspath(src)):
        try:
            folder = hub.download_tokenizer(os.fspath(src), **(hub_options or {}))
            tok = AlbertTokenizer.from_pretrained(folder)
        except OSError:
            tok = None
    if tok is not None and type(tok).__name__ == "KerasHubAlbertTokenizer" and to == "hf":
        info.notes.append("the KerasHub tokenizer is saved as an HF AlbertTokenizer (do_lower_case=False, "
                          "keep_accents=True); HF applies its text rules, so its ids differ from KerasHub's "
                          "on text with quotes or digits before commas")
    vocab = None if tok is None else f"{type(tok).__name__} from {tokenizer or checkpoint.folder}"
    api.save_pretrained(model, dst, tokenizer=tok, formats=TARGETS[to])
    summary = {
        "source": os.fspath(src), "format": checkpoint.format, "model_class": cls.__name__,
        "parameters": int(model.count_params()), "loaded": info.loaded, "missing": info.missing_keys,
        "unused": info.unexpected_keys, "ignored": len(info.ignored_keys), "notes": info.notes,
        "destination": os.fspath(dst), "files": sorted(os.listdir(dst)), "tokenizer": vocab,
    }
    if check:
        batch = _batch(model)
        ours = _outputs(model, batch)
        round_trip = []
        for fmt in _RELOAD[to]:
            reloaded = cls.from_pretrained(dst, weights_format=fmt)
            round_trip.append(_max_diff(ours, _outputs(reloaded, batch)))
        summary["round_trip_max_abs_diff"] = max(round_trip)
        summary["reference_check"] = _reference(checkpoint, model, batch, ours)
    summary["seconds"] = round(time.time() - start, 1)
    _print_summary(summary, info, stream)
    return summary


def _print_summary(s: dict, info, stream) -> None:
    w = stream.write
    w(f"converted {s['source']} ({s['format']}) -> {s['destination']}\n")
    w(f"  model class      {s['model_class']}\n")
    w(f"  parameters       {s['parameters']:,}\n")
    w(f"  weights loaded   {s['loaded']} (ignored by design: {s['ignored']})\n")
    if info.missing_keys:
        w(f"  newly initialised {len(info.missing_keys)}: {', '.join(info.missing_keys)}\n")
    if info.unexpected_keys:
        w(f"  not used         {len(info.unexpected_keys)}: {', '.join(info.unexpected_keys)}\n")
    for note in s["notes"]:
        w(f"  note             {note}\n")
    w(f"  tokenizer        {s['tokenizer'] or 'none found (pass --tokenizer PATH to add one)'}\n")
    w(f"  files            {', '.join(s['files'])}\n")
    if "round_trip_max_abs_diff" in s:
        diff = s["round_trip_max_abs_diff"]
        w(f"  round trip       max-abs-diff {diff:.2e} (the saved weights reloaded)\n")
        w(f"  reference check  {s['reference_check']}\n")
    w(f"  time             {s['seconds']} s\n")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The `convert` arguments (the CLI adds them to its `convert` subcommand)."""

    parser = parser or argparse.ArgumentParser(prog="tf-albert convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="checkpoint folder/file (HF safetensors, .bin, tf_model.h5, Google TF1, "
                        "TF2 Model Garden / TF Hub SavedModel, KerasHub preset) or hub id")
    parser.add_argument("dst", help="output folder (replaced atomically; other files in it are kept)")
    parser.add_argument("--model-class", default="auto", choices=["auto", *modeling.MODEL_CLASSES],
                        help="head to build (default: from config.json's architectures, else from the weights)")
    parser.add_argument("--weights-format", choices=formats.WEIGHTS_FORMATS,
                        help="which weights to read when SRC holds several")
    parser.add_argument("--tokenizer", help="tokenizer file or folder to include (default: the one in SRC)")
    parser.add_argument("--to", choices=sorted(TARGETS), default="hf",
                        help="hf: config.json + model.safetensors + tf_model.h5 (default); keras_hub: a "
                             "KerasHub backbone preset (AlbertBackbone.from_preset loads it)")
    parser.add_argument("--no-check", action="store_true", help="skip the round-trip and reference checks")
    parser.add_argument("--local-files-only", action="store_true", help="hub ids: use the local cache only")
    parser.add_argument("--revision", help="hub ids: branch, tag or commit")
    return parser


def main(argv=None) -> int:
    """Entry point of `tf-albert convert`; returns the exit status (1 when a self-check fails)."""
    args = build_parser().parse_args(argv)
    try:
        summary = convert(args.src, args.dst, model_class=args.model_class, weights_format=args.weights_format,
                          tokenizer=args.tokenizer, check=not args.no_check, to=args.to,
                          hub_options={"local_files_only": args.local_files_only, "revision": args.revision})
    except (OSError, ValueError, TypeError, ImportError) as e:
        print(f"tf-albert convert: error: {e}", file=sys.stderr)
        return 2
    failed = summary.get("round_trip_max_abs_diff", 0.0) > TOL or "FAIL" in summary.get("reference_check", "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
