"""ONNX export for ONNX Runtime: the ids signature as an ONNX graph, built directly from the weights and config.

The graph is written node by node with the `onnx` package (no TensorFlow → ONNX converter: those lag
behind TensorFlow and Keras releases). It is ALBERT's picture, in ONNX ops (opset 17):

    Gather (word, type) + Slice (position) → LayerNormalization → MatMul E→H
    → the shared block, once per layer: MatMul q/k/v → attention → MatMul → LayerNormalization → FFN → ...
    → head (pooler / MLM / classifier / QA)

Every layer's nodes read the **same initializers**, so the shared block's weights are stored once: the file
is the size of the weights (albert-base 46.8 MB; HF's ALBERT exports once duplicated them per layer). The GELU
is written in the forms onnxruntime's optimizer fuses at load time (FastGelu / BiasGelu), as it does the
score scaling into the attention MatMul and, after int8 quantization, the residual adds into
SkipLayerNormalization.

Inputs: `input_ids`, `attention_mask`, `token_type_ids`, **int64** (what HF tokenizers and Optimum's ALBERT
exports use), `[batch, sequence]` or `[batch, choices, sequence]` for multiple choice, both dynamic. Outputs:
the head's outputs with the same names as the SavedModel's, float32.

`quantize="int8"` without `calibration_data`: dynamic quantization with onnxruntime's quantizer
(`quant_pre_process`, then `quantize_dynamic`): int8 weights for the MatMuls and the embedding tables,
activations quantized per call.

`quantize="int8"` with `calibration_data` (a few hundred examples: strings with a `tokenizer`, or id dicts;
see :mod:`tf_albert.export.calibration`): static quantization (`quant_pre_process`, then `quantize_static`
in the QDQ format, MinMax calibration on the examples). Every MatMul (the weight ones and attention's two)
and the embedding Gathers run on int8, uint8 activations with fixed scales (`STATIC_OP_TYPES`: onnxruntime
fuses each QuantizeLinear/DequantizeLinear pair around a MatMul into one integer kernel at load time);
everything else stays float32: LayerNormalization, the GELU, the softmax and the adds that carry the
attention mask (float32's lowest value: quantizing them flattens the attention). Weights are int8 per
tensor: int8 activations (S8S8) and per-channel weights measured slower on an AVX-512 CPU with no gain
in agreement on the demo's task.
Run ``pip install 'tf_albert[onnx]'`` (onnx; onnxruntime for `quantize` and to run the file).

Ids are not range-checked inside the graph: an id ≥ vocab_size makes ORT's Gather fail with an error naming
the index; a sequence longer than max_position_embeddings fails in the position Slice's Add (shape error).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile

import numpy as np

from tf_albert.export.calibration import as_batches, calibration_examples
from tf_albert.model.quantization import float_copy
from tf_albert.tasks import model_task_of
from tf_albert.utils.fileio import check_output_file, write_file_atomically

OPSET = 17
QUANTIZE_MODES = (None, "int8")
STATIC_OP_TYPES = ("MatMul", "Gather")  # what static int8 quantizes (see the module docstring)
CALIBRATION_BATCH = 8
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_FLOAT32_MIN = float(np.finfo(np.float32).min)


def _require(module: str):
    """`module` imported, or an ImportError that says which extra brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"ONNX export needs the {module!r} package: pip install 'tf_albert[onnx]'") from e


# === A small graph builder ===
class _Graph:
    """Nodes and initializers of one ONNX graph, with generated names."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers, self._names, self._consts = [], {}, {}, {}

    def _name(self, kind: str) -> str:
        self._names[kind] = self._names.get(kind, 0) + 1
        return f"{kind}_{self._names[kind]}"

    def weight(self, name: str, value) -> str:
        """An initializer (float32 unless `value` is an integer array), stored once whoever reads it."""
        if name not in self.initializers:
            array = np.asarray(value)
            array = array.astype(np.int64 if np.issubdtype(array.dtype, np.integer) else np.float32)
            self.initializers[name] = self.onnx.numpy_helper.from_array(array, name)
        return name

    def const(self, value, dtype=np.float32) -> str:
        """A small constant; equal constants share one initializer."""
        array = np.asarray(value, dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.weight(self._name("const"), array)
        return self._consts[key]

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        out = self._name(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


# === ALBERT in ONNX ops ===
class _AlbertGraph:
    """Reads the float32 weights of a tf_albert model and writes its forward pass as `_Graph` nodes."""

    def __init__(self, graph: _Graph, model):
        self.g, self.model, self.c = graph, model, model.config
        self._prefix = model.name + "/"

    def _w(self, variable) -> str:
        name = variable.path.removeprefix(self._prefix)
        return self.g.weight(name, np.asarray(variable.numpy(), np.float32))

    def dense(self, x, layer):
        return self.g.op("Add", self.g.op("MatMul", x, self._w(layer.kernel)), self._w(layer.bias))

    def layer_norm(self, x, layer):
        return self.g.op("LayerNormalization", x, self._w(layer.gamma), self._w(layer.beta), axis=-1,
                         epsilon=float(layer.epsilon))

    def activation(self, x):
        g, name = self.g, self.c.hidden_act
        if name in ("gelu", "gelu_python"):  # x/2 · (1 + erf(x/√2)), in the form onnxruntime fuses into Gelu
            erf = g.op("Erf", g.op("Div", x, g.const(math.sqrt(2.0))))
            return g.op("Mul", g.op("Mul", x, g.op("Add", erf, g.const(1.0))), g.const(0.5))
        if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):  # x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))
            # Written with Pow(x, 3), the form onnxruntime fuses into one FastGelu op (x·x·x is not fused).
            cube = g.op("Pow", x, g.const(3.0))
            inner = g.op("Add", x, g.op("Mul", g.const(0.044715), cube))
            tanh = g.op("Tanh", g.op("Mul", g.const(math.sqrt(2.0 / math.pi)), inner))
            return g.op("Mul", g.op("Mul", g.const(0.5), x), g.op("Add", g.const(1.0), tanh))
        if name == "quick_gelu":
            return g.op("Mul", x, g.op("Sigmoid", g.op("Mul", x, g.const(1.702))))
        if name in ("silu", "swish"):
            return g.op("Mul", x, g.op("Sigmoid", x))
        if name == "mish":
            return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))
        if name == "relu6":
            return g.op("Clip", x, g.const(0.0), g.const(6.0))
        simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity"}
        if name in simple:
            return g.op(simple[name], x)
        raise ValueError(f"hidden_act {name!r} has no ONNX translation here")

    def embeddings(self, ids, token_types):
        g, emb = self.g, self.model.albert.embeddings
        words = g.op("Gather", self._w(emb.word_embeddings.embeddings), ids)
        types = g.op("Gather", self._w(emb.token_type_embeddings.embeddings), token_types)
        length = g.op("Shape", ids, start=1, end=2)
        positions = g.op("Slice", self._w(emb.position_embeddings.embeddings), g.const([0], np.int64), length,
                         g.const([0], np.int64))
        x = g.op("Add", g.op("Add", words, types), positions)
        return self.dense(self.layer_norm(x, emb.LayerNorm), emb.embedding_hidden_mapping_in)

    def attention_bias(self, mask):
        """[B, L] mask of 1/0 → additive bias [B, 1, 1, L]: 0 or float32's lowest value (as the model)."""
        g = self.g
        padding = g.op("Sub", g.const(1.0), g.op("Cast", mask, to=self.g.onnx.TensorProto.FLOAT))
        return g.op("Unsqueeze", g.op("Mul", padding, g.const(_FLOAT32_MIN)), g.const([1, 2], np.int64))

    def block(self, x, bias, block):
        g, c, att = self.g, self.c, block.attention
        heads, size = c.num_attention_heads, c.head_size
        split = g.const([0, 0, heads, size], np.int64)  # 0: keep that dimension

        def heads_of(layer, perm):
            return g.op("Transpose", g.op("Reshape", self.dense(x, layer), split), perm=perm)

        query = heads_of(att.query, [0, 2, 1, 3])           # [B, heads, L, size]
        key = heads_of(att.key, [0, 2, 3, 1])               # [B, heads, size, L]
        value = heads_of(att.value, [0, 2, 1, 3])
        scores = g.op("Mul", g.op("MatMul", query, key), g.const(size ** -0.5))
        probs = g.op("Softmax", g.op("Add", scores, bias), axis=-1)
        context = g.op("Transpose", g.op("MatMul", probs, value), perm=[0, 2, 1, 3])
        context = g.op("Reshape", context, g.const([0, 0, c.hidden_size], np.int64))
        attended = self.layer_norm(g.op("Add", x, self.dense(context, att.dense)), att.LayerNorm)
        ffn = self.dense(self.activation(self.dense(attended, block.ffn)), block.ffn_output)
        return self.layer_norm(g.op("Add", ffn, attended), block.full_layer_layer_norm)

    def encoder(self, x, bias):
        """The same loop as AlbertEncoder.call: layer i runs every block of group int(i / (L / G))."""
        c, groups = self.c, self.model.albert.encoder.albert_layer_groups
        for i in range(c.num_hidden_layers):
            for block in groups[int(i / (c.num_hidden_layers / c.num_hidden_groups))]:
                x = self.block(x, bias, block)
        return x

    def pooled(self, sequence):
        first = self.g.op("Gather", sequence, self.g.const(0, np.int64), axis=1)   # [B, H]
        return self.g.op("Tanh", self.dense(first, self.model.albert.pooler.dense))

    def mlm_logits(self, sequence):
        g, head = self.g, self.model.predictions
        hidden = self.layer_norm(self.activation(self.dense(sequence, head.dense)), head.LayerNorm)
        table = g.op("Transpose", self._w(self.model.albert.embeddings.word_embeddings.embeddings), perm=[1, 0])
        return g.op("Add", g.op("MatMul", hidden, table), self._w(head.bias))

    def outputs(self, ids, mask, token_types) -> dict:
        """{output name: (graph value, shape)} of the model's head ("batch" and "sequence" dynamic)."""
        g, model, task, c = self.g, self.model, model_task_of(self.model), self.c
        b, seq = "batch", "sequence"
        if task == "multiple_choice":
            choices_shape = g.op("Shape", ids, start=0, end=2)
            ids, mask, token_types = (g.op("Flatten", t, axis=2) for t in (ids, mask, token_types))
        sequence = self.encoder(self.embeddings(ids, token_types), self.attention_bias(mask))
        if task == "model":
            return {"last_hidden_state": (sequence, [b, seq, c.hidden_size]),
                    "pooler_output": (self.pooled(sequence), [b, c.hidden_size])}
        if task == "pretraining":
            sop = self.dense(self.pooled(sequence), model.sop_classifier.classifier)
            return {"prediction_logits": (self.mlm_logits(sequence), [b, seq, c.vocab_size]),
                    "sop_logits": (sop, [b, model.sop_classifier.classifier.units])}
        if task == "masked_lm":
            return {"logits": (self.mlm_logits(sequence), [b, seq, c.vocab_size])}
        if task == "sequence_classification":
            return {"logits": (self.dense(self.pooled(sequence), model.classifier), [b, c.num_labels])}
        if task == "multiple_choice":
            logits = g.op("Reshape", self.dense(self.pooled(sequence), model.classifier), choices_shape)
            return {"logits": (logits, [b, "choices"])}
        if task == "token_classification":
            return {"logits": (self.dense(sequence, model.classifier), [b, seq, c.num_labels])}
        if task == "question_answering":
            logits = self.dense(sequence, model.qa_outputs)
            return {name: (g.op("Gather", logits, g.const(i, np.int64), axis=2), [b, seq])
                    for i, name in enumerate(("start_logits", "end_logits"))}
        raise TypeError(f"no ONNX graph for {type(model).__name__}")


def onnx_model_proto(model):
    """The `onnx.ModelProto` of `model`'s ids signature (float32; see the module docstring)."""
    if model_task_of(model) is None:
        raise TypeError(f"model must be a tf_albert model (AlbertModel, AlbertFor...), got {type(model).__name__}")
    onnx = _require("onnx")
    if not model.built:
        model.build()
    model = float_copy(model)  # a Keras int8 / LoRA model as plain float weights
    graph = _Graph(onnx)
    dims = ["batch", "choices", "sequence"] if model.input_rank == 3 else ["batch", "sequence"]
    inputs = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.INT64, dims) for n in INPUT_NAMES]
    outputs = _AlbertGraph(graph, model).outputs(*INPUT_NAMES)
    # Name each output after the SavedModel's signature key, through an Identity node.
    value_infos = []
    for name, (value, shape) in outputs.items():
        graph.nodes.append(onnx.helper.make_node("Identity", [value], [name], name=name))
        value_infos.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape))
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, type(model).__name__, inputs, value_infos,
                               list(graph.initializers.values())),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="tf_albert",
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases of the last two years
    onnx.helper.set_model_props(proto, {"model_class": type(model).__name__,
                                        "config": model.config.to_json_string()})
    return proto


def quantize_int8(src: str, dst: str) -> None:
    """onnxruntime's dynamic int8 quantization of the ONNX file `src` into `dst`.

    `quant_pre_process` runs first: without it `quantize_dynamic` quantizes only one of the MatMuls that
    read a shared weight and leaves ALBERT's shared block in float32 (no speed-up).
    """
    quantization = _require("onnxruntime.quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    folder = tempfile.mkdtemp(prefix="tf-albert-onnx-")
    try:
        prepared = os.path.join(folder, "prepared.onnx")
        quant_pre_process(src, prepared, skip_symbolic_shape=True)
        quantization.quantize_dynamic(prepared, dst, weight_type=quantization.QuantType.QInt8)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def quantize_static_int8(src: str, dst: str, batches: list[dict]) -> None:
    """onnxruntime's static (calibrated) int8 quantization of the ONNX file `src` into `dst` (QDQ format),
    with activation ranges measured on `batches` (int64 id dicts); see the module docstring."""
    quantization = _require("onnxruntime.quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self._batches = iter(batches)

        def get_next(self):
            return next(self._batches, None)

    folder = tempfile.mkdtemp(prefix="tf-albert-onnx-")
    try:
        prepared = os.path.join(folder, "prepared.onnx")
        quant_pre_process(src, prepared, skip_symbolic_shape=True)
        quantization.quantize_static(
            prepared, dst, Reader(), quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=list(STATIC_OP_TYPES), per_channel=False,
            activation_type=quantization.QuantType.QUInt8, weight_type=quantization.QuantType.QInt8,
            calibrate_method=quantization.CalibrationMethod.MinMax,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export_onnx(model, path, *, quantize=None, calibration_data=None, tokenizer=None, overwrite=False) -> str:
    """Writes `model` (any head) as an ONNX file for ONNX Runtime and returns its path.

    Args:
        model: a tf_albert model (a Keras int8 or LoRA model is exported from its float weights).
        path: the `.onnx` file to write (atomically: a failed export leaves an old file whole).
        quantize: None (float32) or "int8" (onnxruntime's quantization; needs onnxruntime): dynamic, or static
            with `calibration_data`.
        calibration_data: with quantize="int8", examples for static int8: a list of strings (tab-separated pairs
            allowed) or string pairs, tokenized with `tokenizer`, or a list of id dicts (see
            :mod:`tf_albert.export.calibration`); a few hundred like those the model will serve.
        tokenizer: tokenizes text `calibration_data` (an AlbertTokenizer).
        overwrite: replace an existing file instead of raising FileExistsError.

    Example:
    >>> import os, tempfile
    >>> import numpy as np, onnxruntime
    >>> from tf_albert import AlbertConfig, AlbertForSequenceClassification
    >>> from tf_albert.export.onnx import export_onnx
    >>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
    ...                       intermediate_size=32, num_hidden_layers=2, num_labels=3)
    >>> path = export_onnx(AlbertForSequenceClassification(config), os.path.join(tempfile.mkdtemp(), "m.onnx"))
    >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> ids = np.array([[2, 10, 11, 3]])
    >>> session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids),
    ...                          "token_type_ids": np.zeros_like(ids)})[0].shape
    (1, 3)
    """
    path = check_output_file(path, overwrite, ".onnx")
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES} for ONNX, got {quantize!r}")
    if calibration_data is not None and quantize != "int8":
        raise ValueError(f"calibration_data is for quantize='int8' (static int8), got quantize={quantize!r}")
    batches = None
    if calibration_data is not None:  # tokenize (and check) before the slow part
        if model_task_of(model) is None:
            raise TypeError(f"model must be a tf_albert model (AlbertModel, AlbertFor...), got "
                            f"{type(model).__name__}")
        batches = as_batches(calibration_examples(calibration_data, tokenizer, model=model), CALIBRATION_BATCH)
    data = onnx_model_proto(model).SerializeToString()
    if quantize == "int8":
        folder = tempfile.mkdtemp(prefix="tf-albert-onnx-")
        try:
            float_path, int8_path = os.path.join(folder, "float.onnx"), os.path.join(folder, "int8.onnx")
            with open(float_path, "wb") as f:
                f.write(data)
            if batches is None:
                quantize_int8(float_path, int8_path)
            else:
                quantize_static_int8(float_path, int8_path, batches)
            with open(int8_path, "rb") as f:
                data = f.read()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return write_file_atomically(path, data)
