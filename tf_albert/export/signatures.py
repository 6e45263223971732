"""Signature names, the files an export carries, and the ids signature's `tf.function` (what both the
SavedModel writer and the raw-text signatures build on)."""

from __future__ import annotations

import os

import tensorflow as tf

from tf_albert.model import validation

IDS_SIGNATURE = "serving_default"
TEXT_SIGNATURE = "serving_text"
IDS_SIGNATURE_TEXT_FIRST = "serving_ids"  # the ids signature's key when the text one is the default
ID_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
METADATA_FILE = os.path.join("assets.extra", "tf_albert.json")
LABELS_FILE = "labels.txt"
SIGNATURE_KINDS = ("ids", "text")


# === The ids signature ===
def _float32_outputs(outputs: dict) -> dict:
    """Serving outputs are float32 whatever the compute dtype (mixed-precision models return float16 states)."""
    return {k: tf.cast(v, tf.float32) if v.dtype.is_floating else v for k, v in outputs.items()}


def ids_input_specs(model, max_length=None, prefix="") -> dict:
    """The TensorSpecs of the ids signature: int32, [batch, seq] or [batch, num_choices, seq]."""
    shape = [None] * (model.input_rank - 1) + [max_length]
    return {name: tf.TensorSpec(shape, tf.int32, name=prefix + name) for name in ID_INPUTS}


def make_model_runner(model, jit_compile=False):
    """`run(inputs) -> outputs` for use inside a serving `tf.function`: the model on int32 ids, float32 out.

    With `jit_compile`, the model runs in an XLA-compiled inner function; the value checks (ids in range,
    mask 0/1, equal shapes, length) run before it in the calling, uncompiled function, because XLA drops
    Assert ops and would clamp an out-of-range id silently.
    """

    def forward(inputs):
        outputs = model(inputs["input_ids"], attention_mask=inputs["attention_mask"],
                        token_type_ids=inputs["token_type_ids"], training=False)
        return _float32_outputs(outputs)

    if not jit_compile:
        return forward  # the model adds its own graph asserts
    compiled = tf.function(forward, jit_compile=True)

    def run(inputs):
        _, checks = model._check_inputs(dict(inputs))
        return compiled(validation.after(checks, dict(inputs)))

    return run


def ensure_shapes(inputs: dict, layouts: dict) -> dict:
    """The inputs, checked at run time against their signature shapes (rank, and any fixed length).

    A loaded signature only checks dtypes: TF Serving and `tf.saved_model.load` pass a tensor of another
    rank straight in, where it would fail deep inside the model with an unrelated message. `EnsureShape`
    fails first: "Shape of tensor input_ids [3] is not compatible with expected shape [?,?]".
    """
    return {name: tf.ensure_shape(x, layouts[name]) for name, x in inputs.items()}


def make_ids_function(model, max_length=None, jit_compile=False, run=None):
    """The `tf.function` behind the ids signature: validated int32 ids → the head's outputs (float32)."""
    run = run or make_model_runner(model, jit_compile)
    specs = ids_input_specs(model, max_length)
    layouts = {name: spec.shape.as_list() for name, spec in specs.items()}

    @tf.function(input_signature=[specs[n] for n in ID_INPUTS])
    def serve_ids(input_ids, attention_mask, token_type_ids):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        return run(ensure_shapes(inputs, layouts))

    return serve_ids
