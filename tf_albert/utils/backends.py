"""Which Keras backend runs, and the one error for a TensorFlow-only feature called on another.

The model core (config, layers, models, losses, checkpoints, the Python tokenizer) is `keras.ops` code and
runs on the TensorFlow, JAX and PyTorch backends (`KERAS_BACKEND`). A few features are TensorFlow programs
by nature: tf.data pipelines, SavedModel / TF Serving and TFLite export, the in-graph tokenizer and
tf.distribute. Called on another backend they raise `BackendError`, which names the backend, how to switch
and what to use there instead (`TF_ONLY` holds those alternatives, one place for every message).

Example:
>>> from tf_albert.utils.backends import TF_ONLY, require_tensorflow
>>> sorted(TF_ONLY)
['export', 'tf.data', 'tf.distribute', 'tokenizer_layer']
>>> require_tensorflow("export")  # doctest: +SKIP
BackendError: SavedModel / TF Serving / TFLite export (tf_albert.export) needs the TensorFlow backend, but
Keras runs on the jax backend (set KERAS_BACKEND=tensorflow before importing keras to use it); on jax: ...
"""

from __future__ import annotations

import keras

#: TensorFlow-only feature → (what it is, what to use on the JAX / PyTorch backends).
TF_ONLY = {
    "export": (
        "SavedModel / TF Serving / TFLite export (tf_albert.export)",
        ("save_pretrained() or model.save('model.keras') work on every backend; export from a process with "
         "KERAS_BACKEND=tensorflow after loading that folder"),
    ),
    "tokenizer_layer": (
        "the in-graph tokenizer (AlbertTokenizerLayer)",
        "use the Python AlbertTokenizer (tokenizer(texts, return_tensors='np')), which runs on every backend",
    ),
    "tf.data": (
        "the tf.data pipelines of tf_albert.training",
        ("the same datasets as a keras.utils.PyDataset of numpy batches: feeder='auto' (the default) or "
         "'pydataset', or `tf-albert pretrain --data memory`; or pass tokenized numpy arrays to fit()"),
    ),
    "tf.distribute": (
        "tf.distribute strategies",
        ("use keras.distribution (e.g. keras.distribution.DataParallel) on JAX; see the README's Backends "
         "section"),
    ),
}


class BackendError(RuntimeError):
    """A TensorFlow-only feature was called while Keras runs on another backend."""


def backend() -> str:
    """The Keras backend that runs: "tensorflow", "jax" or "torch"."""
    return keras.backend.backend()


def accelerator() -> str:
    """The kind of device the backend computes on by default: "gpu", "tpu" or "cpu"."""
    name = backend()
    if name == "jax":
        import jax

        return jax.default_backend()  # "cpu", "gpu" or "tpu"
    if name == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    import tensorflow as tf  # the TensorFlow backend runs, so TensorFlow is installed

    for kind in ("GPU", "TPU"):
        if tf.config.list_logical_devices(kind):
            return kind.lower()
    return "cpu"


def require_tensorflow(feature: str) -> None:
    """Raises `BackendError` unless Keras runs on TensorFlow; `feature` is a key of `TF_ONLY`."""
    name = backend()
    if name == "tensorflow":
        return
    what, alternative = TF_ONLY[feature]
    raise BackendError(
        f"{what} needs the TensorFlow backend, but Keras runs on the {name} backend "
        f"(set KERAS_BACKEND=tensorflow before importing keras to use it); on {name}: {alternative}"
    )


def import_tensorflow(feature: str):
    """`import tensorflow` for a TensorFlow-only `feature` (a key of `TF_ONLY`): `BackendError` on another
    backend instead of an ImportError or a half-working mix of two frameworks."""
    require_tensorflow(feature)
    import tensorflow as tf  # the TensorFlow backend runs, so TensorFlow is installed

    return tf
