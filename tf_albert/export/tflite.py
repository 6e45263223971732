"""TFLite / LiteRT export: the ids signature as one `.tflite` file for phones and small CPU servers.

What the file holds: one signature, `serving_default`, with the same inputs and outputs as the SavedModel's
ids signature (`input_ids`, `attention_mask`, `token_type_ids`: int32 `[batch, seq_len]`, or
`[batch, num_choices, seq_len]` for multiple choice; the head's outputs in float32). Batch and length are
dynamic (`-1` in the file's shape signature): the signature runner resizes the inputs to whatever it is
given, so one file serves any batch and any length up to `max_position_embeddings`. `max_length` fixes the
length for runtimes that want static shapes.

Only TFLite builtin ops are used (no Flex/`SELECT_TF_OPS`, no custom ops), so the stock LiteRT runtime on
Android and iOS runs the file as is. The shared ALBERT block is one `WHILE` loop over the layers, so its
weights are stored once (albert-base: 46.7 MB in float32, the size of its weights).

`quantize`:

* None: float32 weights and compute (parity with Keras ≤ 1e-4).
* "float16": weights stored as float16 (half the file), dequantized to float32 when the model loads.
* "int8" without `calibration_data`: dynamic-range quantization: int8 weights (a quarter of the file) and
  int8 matmuls with activations quantized on the fly; logits move by ~1e-2.
* "int8" with `calibration_data` (a few hundred examples: strings with a `tokenizer`, or id dicts; see
  :mod:`tf_albert.export.calibration`): static (calibrated) int8. The converter runs the float model on the
  examples, records the range of every activation and stores int8 scales for them; the ops that pay for it
  run on int8 activations with no quantization at run time: the weight matmuls (FULLY_CONNECTED) and the
  embedding lookups (GATHER). Everything else stays float32 (`FLOAT_OPS`). SOFTMAX and the elementwise
  ADD / SUB / MUL carry the attention mask, an additive bias of float32's lowest value that no int8 scale
  holds: quantized, the scores round to zero and the softmax turns uniform (on the demo's task, label
  agreement with float32 fell to 0.91). The attention matmuls (BATCH_MATMUL), LayerNorm (MEAN,
  SQUARED_DIFFERENCE, RSQRT), GELU and TANH would run in int8 too, but on LiteRT's CPU kernels that made
  the file 3× slower (albert-base, 1×128: 115 ms against 36 ms with them in float32, which ties the
  dynamic-range file). The inputs stay int32 ids and the outputs float32.

The in-graph checks of the SavedModel (ids in range, mask 0/1) do not exist in TFLite: an id outside the
vocabulary makes the interpreter's GATHER fail ("gather index out of bounds"), an out-of-range position
likewise; validate ids in the app (see saved_models/README.md, "Deploy").

Tokenization stays in the app: TFLite has no builtin SentencePiece op (tensorflow-text's are custom ops that
the stock runtime lacks), so a mobile app runs SentencePiece itself on the model's `spiece.model` and applies
ALBERT's text rules (saved_models/README.md says which).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from tf_albert.export.calibration import as_batches, calibration_examples
from tf_albert.export.signatures import IDS_SIGNATURE, check_max_length, make_ids_function
from tf_albert.model.quantization import float_copy
from tf_albert.tasks import model_task_of
from tf_albert.utils.fileio import check_output_file, write_file_atomically

QUANTIZE_MODES = (None, "float16", "int8")
# Ops static int8 leaves in float32 (see the module docstring): all that carry activations except the weight
# matmuls (FULLY_CONNECTED) and the embedding lookups (GATHER), which run in int8.
FLOAT_OPS = ("SOFTMAX", "ADD", "SUB", "MUL", "BATCH_MATMUL", "MEAN", "SQUARED_DIFFERENCE", "RSQRT", "GELU", "TANH",
             "RESHAPE", "TRANSPOSE", "CONCATENATION", "STRIDED_SLICE", "PACK", "SQUEEZE")


def _check(model, quantize, max_length, calibration_data=None):
    if model_task_of(model) is None:
        raise TypeError(f"model must be a tf_albert model (AlbertModel, AlbertFor...), got {type(model).__name__}")
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if calibration_data is not None and quantize != "int8":
        raise ValueError(f"calibration_data is for quantize='int8' (static int8), got quantize={quantize!r}")
    check_max_length(model, max_length)


def _representative_dataset(model, calibration_data, tokenizer, max_length):
    """TFLite's representative dataset: one example at a time (int32, all padded to one length: the converter's
    calibrator runs the model at a single shape)."""
    examples = calibration_examples(calibration_data, tokenizer, model=model, max_length=max_length)
    if max_length is not None:  # a fixed-length export calibrates at its length
        longest = examples[0]["input_ids"].shape[-1]
        if longest > max_length:
            raise ValueError(f"calibration ids are {longest} long; the export's max_length is {max_length}")
        examples = [{k: _pad_to(v, max_length, model.config.pad_token_id if k == "input_ids" else 0)
                     for k, v in e.items()} for e in examples]
    rows = as_batches(examples, 1, np.int32)

    def dataset():
        yield from rows

    return dataset


def _pad_to(array, length, value):
    widths = [(0, 0)] * (array.ndim - 1) + [(0, length - array.shape[-1])]
    return np.pad(array, widths, constant_values=value)


def _static_int8(converter, dataset) -> bytes:
    """Full-integer quantization with `FLOAT_OPS` left in float32, through TFLite's selective quantization
    (`tf.lite.experimental.QuantizationDebugger`'s denylist: calibrate once, then quantize all other ops)."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(FLOAT_OPS))
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=dataset,
                                                         debug_options=options)
    return debugger.get_nondebug_quantized_model()


def tflite_bytes(model, *, quantize=None, max_length=None, calibration_data=None, tokenizer=None) -> bytes:
    """The `.tflite` flatbuffer of `model`'s ids signature (see the module docstring for the options)."""
    _check(model, quantize, max_length, calibration_data)
    if not model.built:
        model.build()
    model = float_copy(model)  # a Keras int8 / LoRA model as plain float weights; TFLite quantizes its own way
    dataset = None
    if calibration_data is not None:  # tokenize (and check) before the slow part
        dataset = _representative_dataset(model, calibration_data, tokenizer, max_length)
    serve = make_ids_function(model, max_length)
    root = tf.Module()
    root.model_variables = [v.value if hasattr(v, "value") else v for v in model.variables]
    folder = tempfile.mkdtemp(prefix="tf-albert-tflite-")
    try:
        # Through a SavedModel: the converter keeps the signature's name and input names only that way.
        tf.saved_model.save(root, folder, signatures={IDS_SIGNATURE: serve.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[IDS_SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if dataset is not None:
            return _static_int8(converter, dataset)
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export_tflite(model, path, *, quantize=None, max_length=None, calibration_data=None, tokenizer=None,
                  overwrite=False) -> str:
    """Writes `model`'s ids signature as a TFLite file (builtin ops only) and returns its path.

    Args:
        model: a tf_albert model, any head (a Keras int8 or LoRA model is converted from its float weights).
        path: the `.tflite` file to write (written atomically: a failed export leaves an old file whole).
        quantize: None (float32), "float16" (float16 weights) or "int8" (dynamic-range int8, or static int8
            with `calibration_data`).
        max_length: None for a dynamic length; an int fixes it (the batch stays dynamic).
        calibration_data: with quantize="int8", examples for static (full-integer) int8: a list of strings
            (tab-separated pairs allowed) or string pairs, tokenized with `tokenizer`, or a list of id dicts
            (see :mod:`tf_albert.export.calibration`); a few hundred like those the model will serve.
        tokenizer: tokenizes text `calibration_data` (an AlbertTokenizer).
        overwrite: replace an existing file instead of raising FileExistsError.

    Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from tf_albert import AlbertConfig, AlbertForSequenceClassification
    >>> from tf_albert.export.tflite import export_tflite, load_tflite_runner
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2, num_labels=3)
    >>> path = export_tflite(AlbertForSequenceClassification(config), os.path.join(tempfile.mkdtemp(), "m.tflite"))
    >>> run = load_tflite_runner(path)
    >>> ids = np.array([[2, 10, 11, 3]], "int32")
    >>> run(input_ids=ids, attention_mask=np.ones_like(ids), token_type_ids=np.zeros_like(ids))["logits"].shape
    (1, 3)
    """
    _check(model, quantize, max_length, calibration_data)
    path = check_output_file(path, overwrite, ".tflite")
    data = tflite_bytes(model, quantize=quantize, max_length=max_length, calibration_data=calibration_data,
                        tokenizer=tokenizer)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return write_file_atomically(path, data)


# === Reading a .tflite file back ===
def tflite_op_names(path_or_bytes) -> set[str]:
    """Every op of a `.tflite` file, in every subgraph (the WHILE loop's body too): builtin op names such as
    "FULLY_CONNECTED", custom ops as "CUSTOM:<code>" (Flex ops are custom ops named "Flex<TF op>")."""
    from tensorflow.lite.python import schema_py_generated as schema

    data = _read(path_or_bytes)
    model = schema.Model.GetRootAsModel(data, 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append("CUSTOM:" + code.CustomCode().decode("utf-8"))
        else:
            codes.append(names.get(builtin, str(builtin)))
    ops = set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            ops.add(codes[subgraph.Operators(o).OpcodeIndex()])
    return ops


def _read(path_or_bytes) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray)):
        return bytes(path_or_bytes)
    with open(os.fspath(path_or_bytes), "rb") as f:
        return f.read()


def load_tflite_runner(path, num_threads: int | None = None):
    """The `serving_default` signature runner of a `.tflite` file: `run(input_ids=..., attention_mask=...,
    token_type_ids=...) -> {output name: array}` (int32 inputs of any batch and length).

    Uses LiteRT (`ai_edge_litert`) when it is installed, else TensorFlow's own `tf.lite.Interpreter`.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # LiteRT is optional: TensorFlow still ships the same interpreter
        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        interpreter = Interpreter(model_path=os.fspath(path), num_threads=num_threads)
    return interpreter.get_signature_runner(IDS_SIGNATURE)
