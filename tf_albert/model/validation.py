"""Input checks with errors that name the offending value.

Why this module exists: an out-of-range id gives silent garbage on several paths (TF on GPU returns zeros
for it, XLA clamps it), so ids are checked explicitly:

* shapes, ranks and dtypes are checked when the function is traced: `ValueError` / `TypeError`;
* values are checked in Python when they are concrete (eager calls, numpy data given to `fit`/`predict`):
  `ValueError` with the value and its position, e.g. `input_ids contains 30001 at [0, 7]; vocab_size is
  30000`;
* values in a TensorFlow graph get `tf.debugging.Assert` ops that run before the lookup and raise
  `InvalidArgumentError` with the same message. XLA drops Assert ops, so the models check their data
  *before* the compiled step instead (see `AlbertPreTrainedModel.fit`: arrays, tf.data, generators and
  `PyDataset`s alike), and exported serving functions do the same outside their compiled core;
* inside a function that XLA compiles and that nobody checked first (a user's own
  `tf.function(jit_compile=True)` or `jax.jit`), nothing can raise: `nan_rows` gives every row with an
  invalid id, token type, position or mask value NaN outputs (every row, when the sequence is longer than
  `max_position_embeddings` or empty), so bad input never comes out as plausible numbers.
"""

from __future__ import annotations

import numpy as np
import keras

INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def dtype_name(x) -> str:
    return keras.backend.standardize_dtype(x.dtype)


def static_shape(x) -> tuple:
    return tuple(x.shape)


def concrete_value(x):
    """`x` as a numpy array when its value is known now (numpy, eager tensor), else None (symbolic)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple, int, float)):
        return np.asarray(x)
    if _torch_compiling():
        return None  # traced by torch.compile (jit_compile=True): data is checked before the step, as for XLA
    try:
        return keras.ops.convert_to_numpy(x)
    except Exception:  # a symbolic tensor (tf.function graph, JAX tracer): checked in-graph instead
        return None


def _torch_compiling() -> bool:
    if keras.backend.backend() != "torch":
        return False
    import torch  # the PyTorch backend runs, so torch is installed

    return torch.compiler.is_compiling()


def in_xla_context() -> bool:
    """True while tracing a function that XLA will compile (`jit_compile=True`)."""
    if keras.backend.backend() != "tensorflow":
        return False  # a TensorFlow notion; other backends must not import TensorFlow for it
    try:
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_util

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except Exception:
        return False


def checks_cannot_raise(x) -> bool:
    """True where the value checks can neither raise nor add an assert that runs: while TensorFlow traces a
    function for XLA (`jit_compile=True`), and while JAX traces one (`jax.jit`: its values are tracers)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return in_xla_context()
    if backend == "jax":
        import jax

        return isinstance(x, jax.core.Tracer)
    return False


def _tf_graph_mode() -> bool:
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def check_integer(name: str, x) -> None:
    dtype = dtype_name(x)
    if dtype not in INTEGER_DTYPES:
        raise TypeError(f"{name} must be an integer tensor, got dtype {dtype}")


def check_rank(name: str, x, rank: int, layout: str) -> None:
    shape = static_shape(x)
    if len(shape) != rank:
        raise ValueError(f"{name} must have rank {rank} {layout}, got shape {shape}")


def check_same_shape(name: str, x, ref_name: str, ref) -> list:
    """Static shape check now; returns graph assert ops for dimensions unknown until run time."""
    xs, rs = static_shape(x), static_shape(ref)
    if len(xs) != len(rs) or any(a is not None and b is not None and a != b for a, b in zip(xs, rs)):
        raise ValueError(f"{name} has shape {xs} but {ref_name} has shape {rs}; they must be equal")
    xv, rv = concrete_value(x), concrete_value(ref)
    if xv is not None and rv is not None:
        if xv.shape != rv.shape:
            raise ValueError(f"{name} has shape {xv.shape} but {ref_name} has shape {rv.shape}; they must be equal")
        return []
    if _tf_graph_mode() and not in_xla_context() and None in xs + rs:
        import tensorflow as tf

        return [
            tf.debugging.assert_equal(
                tf.shape(x), tf.shape(ref), message=f"{name} and {ref_name} must have the same shape"
            )
        ]
    return []


def check_range(name: str, x, low: int, high: int, what: str, ignore_value: int | None = None) -> list:
    """Every value of `x` in [low, high) (or equal to `ignore_value`).

    Concrete values raise ValueError now; in a TF graph returns Assert ops to run before `x` is used.
    """
    value = concrete_value(x)
    if value is not None:
        bad = (value < low) | (value >= high)
        if ignore_value is not None:
            bad &= value != ignore_value
        if bad.any():
            where = np.argwhere(bad)[0]
            allowed = f"; {what}" + (f" (or {ignore_value} to ignore)" if ignore_value is not None else "")
            raise ValueError(f"{name} contains {value[tuple(where)]} at {list(map(int, where))}{allowed}")
        return []
    if not _tf_graph_mode() or in_xla_context():
        return []
    import tensorflow as tf

    bad = tf.logical_or(x < low, x >= high)
    if ignore_value is not None:
        bad = tf.logical_and(bad, tf.not_equal(x, ignore_value))
    first = tf.where(bad)[:1]
    return [
        tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(bad)),
            [f"{name} contains", tf.gather_nd(x, first), "at", first, f"; {what}"],
            summarize=8,
        )
    ]


def check_values_in(name: str, x, allowed: tuple) -> list:
    """Every value of `x` is one of `allowed` (e.g. an attention mask of 0/1)."""
    value = concrete_value(x)
    if value is not None:
        bad = ~np.isin(value, allowed)
        if bad.any():
            where = np.argwhere(bad)[0]
            raise ValueError(
                f"{name} contains {value[tuple(where)]} at {list(map(int, where))}; allowed values are {allowed}"
            )
        return []
    if not _tf_graph_mode() or in_xla_context():
        return []
    import tensorflow as tf

    ok = tf.zeros_like(x, dtype=tf.bool)
    for a in allowed:
        ok = tf.logical_or(ok, tf.equal(x, tf.cast(a, x.dtype)))
    first = tf.where(tf.logical_not(ok))[:1]
    return [
        tf.debugging.Assert(
            tf.reduce_all(ok),
            [f"{name} contains", tf.gather_nd(x, first), "at", first, f"; allowed values are {allowed}"],
            summarize=8,
        )
    ]


def check_max_length(name: str, x, axis: int, limit: int, what: str) -> list:
    length = static_shape(x)[axis]
    if length is not None:
        if length > limit:
            raise ValueError(f"{name} has sequence length {length}; {what} is {limit}")
        return []
    value = concrete_value(x)
    if value is not None:
        if value.shape[axis] > limit:
            raise ValueError(f"{name} has sequence length {value.shape[axis]}; {what} is {limit}")
        return []
    if not _tf_graph_mode() or in_xla_context():
        return []
    import tensorflow as tf

    return [
        tf.debugging.assert_less_equal(
            tf.shape(x)[axis], limit, message=f"{name} is longer than {what} ({limit})"
        )
    ]


def check_min_length(name: str, x, axis: int) -> list:
    """Every row has at least one position: a [batch, 0] input with rows is an error (an empty batch, with
    no rows at all, is not: it gives empty outputs)."""
    shape = static_shape(x)
    length, rows = shape[axis], shape[:axis]
    if length is not None:
        if length == 0 and all(r is not None for r in rows) and int(np.prod(rows)) > 0:
            raise ValueError(f"{name} has sequence length 0 (shape {shape}); every row needs at least one "
                             "token, e.g. [CLS] text [SEP]")
        if length > 0:
            return []
    value = concrete_value(x)
    if value is not None:
        if value.shape[axis] == 0 and int(np.prod(value.shape[:axis])) > 0:
            raise ValueError(f"{name} has sequence length 0 (shape {value.shape}); every row needs at least "
                             "one token, e.g. [CLS] text [SEP]")
        return []
    if not _tf_graph_mode() or in_xla_context():
        return []
    import tensorflow as tf

    size = tf.shape(x)
    return [
        tf.debugging.Assert(
            tf.logical_or(size[axis] > 0, tf.reduce_prod(size[:axis]) == 0),
            [f"{name} has sequence length 0 (shape", size, "); every row needs at least one token"],
        )
    ]


def nan_rows(inputs: dict, config, rank: int):
    """0.0 for every valid row and NaN for every invalid one: float32 [batch] (rank 2 inputs) or
    [batch, num_choices] (rank 3: every choice of an invalid example); None without input.

    Invalid: an input id outside [0, vocab_size), a token type outside [0, type_vocab_size), a position id
    outside [0, max_position_embeddings) or an attention mask value other than 0/1 anywhere in the row;
    and every row when the sequence is longer than `max_position_embeddings` (without position_ids) or has
    no position. For XLA-compiled code, where these cannot raise: adding the result to a row's embeddings
    makes all of that row's outputs NaN (rows do not mix), instead of the clamped lookups XLA would do.
    """
    from keras import ops

    ids, embeds = inputs.get("input_ids"), inputs.get("inputs_embeds")
    ref = ids if ids is not None else embeds
    if ref is None:
        return None

    def bad_rows(bad):  # per example: a multiple-choice example is invalid as a whole
        return ops.any(bad, axis=tuple(range(1, len(bad.shape))))

    bad = None
    for name, high in (("input_ids", config.vocab_size), ("token_type_ids", config.type_vocab_size)):
        x = inputs.get(name)
        if x is not None:
            b = bad_rows(ops.logical_or(x < 0, x >= high))
            bad = b if bad is None else ops.logical_or(bad, b)
    shape = ops.shape(ref)
    length = shape[rank - 1]
    whole_batch = ops.equal(length, 0)
    positions = inputs.get("position_ids")
    if positions is None:
        whole_batch = ops.logical_or(whole_batch, ops.greater(length, config.max_position_embeddings))
    else:
        out_of_range = ops.logical_or(positions < 0, positions >= config.max_position_embeddings)
        if len(positions.shape) == rank and positions.shape[0] != 1:  # one row of positions per row
            b = bad_rows(out_of_range)
            bad = b if bad is None else ops.logical_or(bad, b)
        else:  # one row of positions for the whole batch
            whole_batch = ops.logical_or(whole_batch, ops.any(out_of_range))
    mask = inputs.get("attention_mask")
    if mask is not None and dtype_name(mask) != "bool":
        b = bad_rows(ops.logical_and(ops.not_equal(mask, 0), ops.not_equal(mask, 1)))
        bad = b if bad is None else ops.logical_or(bad, b)
    if bad is None:
        bad = ops.zeros(shape[:1], "bool")
    bad = ops.logical_or(bad, whole_batch)
    if rank == 3:
        bad = ops.broadcast_to(ops.expand_dims(bad, 1), shape[:2])
    return ops.where(bad, float("nan"), 0.0)


def after(checks: list, tensors: dict) -> dict:
    """The tensors, made to depend on the check ops (so a bad id fails before it is looked up)."""
    if not checks:
        return tensors
    import tensorflow as tf

    with tf.control_dependencies(checks):
        return {k: None if t is None else tf.identity(t) for k, t in tensors.items()}


# === Data sources of fit/evaluate/predict that Keras reads batch by batch ===
class SourceChecks:
    """Checks every batch of a generator or `keras.utils.PyDataset` as Keras reads it (`check(x, y)` on the
    numpy values: the error names the value, its position and the batch).

    Keras reads these sources inside a tf.data pipeline, which turns an exception into an
    `InvalidArgumentError` carrying its text; leaving the `with` block re-raises the check's own
    ValueError/TypeError instead.
    """

    def __init__(self, check):
        self.check = check
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if value is not None and self.error is not None and value is not self.error:
            raise self.error from None
        return False

    def run(self, batch, where: str):
        try:
            x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)  # as Keras itself reads the batch
            self.check(x, y)
        except (ValueError, TypeError) as e:
            self.error = type(e)(f"{where}: {e}")
            raise self.error from None
        return batch

    def generator(self, generator):
        """A generator yielding `generator`'s batches, each checked."""
        for number, batch in enumerate(generator):
            yield self.run(batch, f"batch {number} of the generator")

    def py_dataset(self, dataset):
        """`dataset` with every batch checked."""
        return _CheckedPyDataset(dataset, self)


class _CheckedPyDataset(keras.utils.PyDataset):
    def __init__(self, dataset, checks: SourceChecks):
        super().__init__(workers=dataset.workers, use_multiprocessing=dataset.use_multiprocessing,
                         max_queue_size=dataset.max_queue_size)
        self.dataset, self.checks = dataset, checks

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def __getitem__(self, index):
        return self.checks.run(self.dataset[index], f"batch {index} of {type(self.dataset).__name__}")

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()
