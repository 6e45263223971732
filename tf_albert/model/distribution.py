"""What the models need to train correctly under tf.distribute with Keras 3 (TensorFlow backend).

Three things, used by `AlbertPreTrainedModel` so that a plain `model.fit` under any strategy is right:

* the model's own loss is divided by the number of replicas, as Keras' built-in losses are, so that the
  all-reduced (summed) gradients are those of the global batch's mean loss and the logged loss is right
  (without it, 2 replicas take steps twice as large and log twice the loss);
* with `MultiWorkerMirroredStrategy`, the first batch that builds the model is taken per tensor from the
  local replica, which Keras cannot do for dict inputs (keras-team/keras#20329);
* with `MultiWorkerMirroredStrategy`, a step's scalar logs get shape [1], since Keras' cross-worker mean
  of logs reduces along axis 0, which scalars lack (keras-team/keras#20585).

Every function is a no-op without a strategy and on other backends.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_albert.utils import keras_hooks


def _tf():
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf


def per_replica_loss(loss):
    """`loss / replicas` inside a replica of a tf.distribute strategy; `loss` unchanged otherwise."""
    tf = _tf()
    if tf is None:
        return loss
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else ops.multiply(loss, ops.cast(1.0 / replicas, loss.dtype))


def in_multi_worker_mode(strategy=None) -> bool:
    tf = _tf()
    if tf is None:
        return False
    strategy = strategy if strategy is not None else tf.distribute.get_strategy()
    return keras_hooks.is_multi_worker(strategy)


def local_first_batch(strategy, iterator):
    """The first batch of a Keras epoch iterator, each distributed tensor replaced by its local value."""
    tf = _tf()
    for _, _, it in iterator:
        batch = next(it)
        break
    return tf.nest.map_structure(
        lambda v: strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues)
        else v,
        batch,
    )


def rank1_logs(logs: dict) -> dict:
    """Scalar logs reshaped to [1] under multi-worker training (see the module docstring)."""
    if not in_multi_worker_mode():
        return logs
    return {k: ops.reshape(v, (1,)) if len(getattr(v, "shape", ())) == 0 else v for k, v in logs.items()}
