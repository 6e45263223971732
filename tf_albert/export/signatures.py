"""Signature names, the files an export carries, and the ids signature's `tf.function` (what both the
SavedModel writer and the raw-text signatures build on)."""

from __future__ import annotations

import os

import tensorflow as tf

from tf_albert.model import validation
from tf_albert.utils import shapes

IDS_SIGNATURE = "serving_default"
TEXT_SIGNATURE = "serving_text"
IDS_SIGNATURE_TEXT_FIRST = "serving_ids"  # the ids signature's key when the text one is the default
ID_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
METADATA_FILE = os.path.join("assets.extra", "tf_albert.json")
LABELS_FILE = "labels.txt"
SIGNATURE_KINDS = ("ids", "text")


def check_max_length(model, max_length) -> None:
    """An export's fixed sequence length: None (dynamic) or an int the model's positions cover."""
    limit = model.config.max_position_embeddings
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= limit
    ):
        raise ValueError(f"max_length must be None or an int in [1, {limit}] (max_position_embeddings), "
                         f"got {max_length!r}")


# === The ids signature ===
def _float32_outputs(outputs: dict) -> dict:
    """Serving outputs are float32 whatever the compute dtype (mixed-precision models return float16 states)."""
    return {k: tf.cast(v, tf.float32) if v.dtype.is_floating else v for k, v in outputs.items()}


def ids_input_specs(model, max_length=None, prefix="") -> dict:
    """The TensorSpecs of the ids signature: int32, [batch, seq] or [batch, num_choices, seq]."""
    shape = [None] * (model.input_rank - 1) + [max_length]
    return {name: tf.TensorSpec(shape, tf.int32, name=prefix + name) for name in ID_INPUTS}


def length_buckets(max_position_embeddings: int) -> list[int]:
    """The sequence lengths an XLA export pads to: powers of two from `MIN_LENGTH_BUCKET` up to
    `max_position_embeddings`, which is always the last (512: 16, 32, 64, 128, 256, 512) — the shape
    policy's ladder (`tf_albert.utils.shapes`) with one length per octave: a server compiles few shapes."""
    return list(shapes.length_ladder(max_position_embeddings, per_octave=1, smallest=MIN_LENGTH_BUCKET))


MIN_LENGTH_BUCKET = 16
_POWERS_OF_TWO = [2**i for i in range(31)]


def _round_up_to(sizes, n):
    """The first of the ascending `sizes` that is >= n (the last one when none is)."""
    sizes = tf.constant(sizes, tf.int32)
    index = tf.searchsorted(sizes, tf.reshape(n, [1]), side="left")[0]
    return tf.gather(sizes, tf.minimum(index, tf.size(sizes) - 1))


def _bucketed(compiled, model, max_length):
    """`compiled` run on inputs padded to a bounded set of shapes, its outputs sliced back.

    XLA compiles one executable per input shape; padding the batch (and, in a multiple-choice model, the
    number of choices) to a power of two and a dynamic length to one of `length_buckets` bounds how many
    shapes a server ever compiles. Padded positions get the pad id with attention mask 0 (no real position
    attends to them) and padded rows are dropped, so every output equals that of the unpadded input.
    """
    length_sizes = None if max_length else length_buckets(model.config.max_position_embeddings)
    pad_values = {"input_ids": model.config.pad_token_id, "attention_mask": 0, "token_type_ids": 0}

    def run(inputs):
        shape = tf.shape(inputs["input_ids"])
        rank = len(inputs["input_ids"].shape)
        targets = [_round_up_to(_POWERS_OF_TWO, shape[i]) for i in range(rank - 1)]
        targets.append(_round_up_to(length_sizes, shape[-1]) if length_sizes else shape[-1])
        paddings = tf.stack([tf.zeros([rank], tf.int32), tf.maximum(tf.stack(targets) - shape, 0)], axis=1)
        static = [None] * (rank - 1) + [None if length_sizes else max_length]
        padded = {name: tf.ensure_shape(tf.pad(x, paddings, constant_values=pad_values[name]), static)
                  for name, x in inputs.items()}
        # The outputs' shapes for any input shape (the trace the serving function makes anyway): an output
        # axis i < rank of unknown size is input axis i (batch, choices, length) and is cut back to it.
        layout = compiled.get_concrete_function(
            {name: tf.TensorSpec(static, x.dtype) for name, x in padded.items()}).structured_outputs
        sliced = {}
        for name, value in compiled(padded).items():
            dims = layout[name].shape
            size = [shape[i] if i < rank and dims[i] is None else -1 for i in range(len(dims))]
            sliced[name] = tf.ensure_shape(tf.slice(value, tf.zeros([len(size)], tf.int32), tf.stack(size)), dims)
        return sliced

    return run


def make_model_runner(model, jit_compile=False, max_length=None):
    """`run(inputs) -> outputs` for use inside a serving `tf.function`: the model on int32 ids, float32 out.

    With `jit_compile`, the model runs in an XLA-compiled inner function on inputs padded to a few bucket
    shapes (see `_bucketed`); the value checks (ids in range, mask 0/1, equal shapes, length) run before it
    in the calling, uncompiled function, because XLA drops Assert ops and would clamp an out-of-range id
    silently.
    """

    def forward(inputs):
        outputs = model(inputs["input_ids"], attention_mask=inputs["attention_mask"],
                        token_type_ids=inputs["token_type_ids"], training=False)
        return _float32_outputs(outputs)

    if not jit_compile:
        return forward  # the model adds its own graph asserts
    compiled = _bucketed(tf.function(forward, jit_compile=True), model, max_length)

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
    run = run or make_model_runner(model, jit_compile, max_length)
    specs = ids_input_specs(model, max_length)
    layouts = {name: spec.shape.as_list() for name, spec in specs.items()}

    @tf.function(input_signature=[specs[n] for n in ID_INPUTS])
    def serve_ids(input_ids, attention_mask, token_type_ids):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        return run(ensure_shapes(inputs, layouts))

    return serve_ids
