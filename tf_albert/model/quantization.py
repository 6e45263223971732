"""Keras int8 quantization and LoRA on ALBERT models: the float matrices they stand for, and a plain copy.

`model.quantize("int8")` (Keras 3) stores every Dense kernel and Embedding table as int8 plus a float scale
per output channel (per row for a table) and multiplies in int8; `layer.enable_lora(rank)` adds two small
trainable matrices A, B beside a frozen matrix W, which then acts as W + (alpha / rank) · A @ B. Neither is
an HF checkpoint layout, and their extra variables (`kernel_scale`, `lora_kernel_a`, ...) have no HF name.
What the rest of the package needs from them:

* `float_matrix(layer)`: the float32 matrix a Dense or Embedding layer effectively uses (int8 / scale, plus
  the LoRA term). The tied MLM decoder multiplies by the word-embedding table this way.
* `float_copy(model)`: the same model with plain float32 weights (int8 dequantized, LoRA merged): what
  `save_pretrained` writes in HF's layout and what the TFLite and ONNX exporters convert.
* `quantization_mode(model)` / `has_lora(model)`: whether a model needs that copy.

A Keras-native `.keras` file keeps the int8 weights as they are (the model's config records the mode, and
`from_config` quantizes the new model before Keras loads the weights into it).

Example:
>>> import numpy as np
>>> from tf_albert import AlbertConfig, AlbertForSequenceClassification
>>> from tf_albert.model.quantization import float_copy, quantization_mode
>>> config = AlbertConfig(vocab_size=100, embedding_size=8, hidden_size=16, num_attention_heads=2,
...                       intermediate_size=32, num_hidden_layers=2)
>>> model = AlbertForSequenceClassification(config)
>>> model.build()
>>> model.quantize("int8")
>>> quantization_mode(model), quantization_mode(float_copy(model))
('int8', None)
>>> ids = np.array([[2, 10, 11, 3]])
>>> bool(np.allclose(model(ids)["logits"], float_copy(model)(ids)["logits"], atol=0.05))
True
"""

from __future__ import annotations

import keras
from keras import ops

from tf_albert.utils import keras_hooks

#: Keras quantization modes whose weights `float_matrix` can turn back into floats.
SUPPORTED_MODES = ("int8",)
_MATRIX_LAYERS = (keras.layers.Dense, keras.layers.Embedding)


def _mode(layer):
    return getattr(layer, "quantization_mode", None)


def quantization_mode(model) -> str | None:
    """The Keras quantization mode of the model's layers ("int8"), or None for a float model."""
    modes = {_mode(layer) for layer in keras_hooks.all_layers(model)} - {None}
    if len(modes) > 1:
        raise ValueError(f"{type(model).__name__} mixes quantization modes {sorted(modes)}")
    return modes.pop() if modes else None


def has_lora(model) -> bool:
    """Whether any layer of the model has LoRA enabled (`layer.enable_lora(rank)`)."""
    return any(getattr(layer, "lora_enabled", False) for layer in keras_hooks.all_layers(model))


def float_matrix(layer):
    """The float32 matrix a Dense (kernel [in, out]) or Embedding (table [V, E]) layer multiplies by.

    int8 values are divided by their scale (per output channel of a kernel, per row of a table), and an
    enabled LoRA adds (alpha / rank) · A @ B, exactly as the layer's own forward pass does.
    """
    if not isinstance(layer, _MATRIX_LAYERS):
        raise TypeError(f"float_matrix takes a Dense or Embedding layer, got {type(layer).__name__}")
    mode = _mode(layer)
    if mode is None and not getattr(layer, "lora_enabled", False):
        return layer.embeddings if isinstance(layer, keras.layers.Embedding) else layer.kernel
    stored = keras_hooks.stored_matrix(layer)
    if mode is None:
        matrix = ops.cast(stored, "float32")
    elif mode == "int8":
        is_table = isinstance(layer, keras.layers.Embedding)
        scale = ops.cast(layer.embeddings_scale if is_table else layer.kernel_scale, "float32")
        matrix = ops.cast(stored, "float32") / (ops.expand_dims(scale, -1) if is_table else scale)
    else:
        raise ValueError(f"layer {layer.name} is quantized as {mode!r}; only {SUPPORTED_MODES} can be turned "
                         "back into float weights")
    if getattr(layer, "lora_enabled", False):
        a, b = ((layer.lora_embeddings_a, layer.lora_embeddings_b) if isinstance(layer, keras.layers.Embedding)
                else (layer.lora_kernel_a, layer.lora_kernel_b))
        delta = ops.matmul(ops.cast(a, "float32"), ops.cast(b, "float32"))
        matrix = matrix + (layer.lora_alpha / layer.lora_rank) * delta
    return matrix


def _relative(path: str) -> str:
    return path.split("/", 1)[1]


def float_copy(model):
    """`model` itself when its weights are plain floats; else a new float32 model of the same class and
    config whose weights are the float matrices of `model` (int8 dequantized, LoRA merged)."""
    if quantization_mode(model) is None and not has_lora(model):
        return model
    if not model.built:
        model.build()
    config = model.get_config()
    config.pop("quantization", None)
    copy = type(model).from_config(config)
    copy.build()
    values = {}
    for layer in keras_hooks.all_layers(model):
        if isinstance(layer, _MATRIX_LAYERS) and (_mode(layer) or getattr(layer, "lora_enabled", False)):
            values[_relative(keras_hooks.stored_matrix(layer).path)] = float_matrix(layer)
    for variable in model.weights:
        values.setdefault(_relative(variable.path), variable)
    for variable in copy.weights:
        value = values[_relative(variable.path)]
        variable.assign(ops.cast(value, variable.dtype))
    if hasattr(model, "loading_info"):
        copy.loading_info = model.loading_info
    return copy
