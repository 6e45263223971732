"""Input checks with errors that name the offending value.

Why this module exists: an out-of-range id gives silent garbage on several paths (TF on GPU returns zeros
for it, XLA clamps it), so ids are checked explicitly:

* shapes, ranks and dtypes are checked when the function is traced: `ValueError` / `TypeError`;
* values are checked in Python when they are concrete (eager calls, numpy data given to `fit`/`predict`):
  `ValueError` with the value and its position, e.g. `input_ids contains 30001 at [0, 7]; vocab_size is
  30000`;
* values in a TensorFlow graph get `tf.debugging.Assert` ops that run before the lookup and raise
  `InvalidArgumentError` with the same message. XLA drops Assert ops, so the models check their data
  *before* the compiled step instead (see `AlbertPreTrainedModel.fit`), and exported serving functions do
  the same outside their compiled core.
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
    try:
        return keras.ops.convert_to_numpy(x)
    except Exception:  # a symbolic tensor (tf.function graph, JAX tracer): checked in-graph instead
        return None


def in_xla_context() -> bool:
    """True while tracing a function that XLA will compile (`jit_compile=True`)."""
    try:
        import tensorflow as tf
        from tensorflow.python.ops import control_flow_util

        return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    except Exception:
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


def after(checks: list, tensors: dict) -> dict:
    """The tensors, made to depend on the check ops (so a bad id fails before it is looked up)."""
    if not checks:
        return tensors
    import tensorflow as tf

    with tf.control_dependencies(checks):
        return {k: None if t is None else tf.identity(t) for k, t in tensors.items()}
