"""tf.distribute helpers: pick a strategy by name, build and compile under its scope, batch sizes.

We run on TensorFlow's strategies; nothing here replaces them.

* **One machine, several GPUs** — `MirroredStrategy`: variables mirrored on every device, each step's
  global batch split evenly between the replicas, gradients all-reduced (summed), so a step on N
  replicas equals a step on one device with the same global batch.
* **Several machines** — `MultiWorkerMirroredStrategy`: the same, across workers. Every worker runs the
  same program with its own `TF_CONFIG` (`{"cluster": {"worker": ["host1:port", ...]}, "task":
  {"type": "worker", "index": i}}`); create the strategy first thing in the program, before other TF
  work. Datasets are sharded automatically (by file for the pretraining TFRecords, so give at least as
  many files as workers: `--num-shards`), and only worker 0 (the chief) should write the final model.
* **TPU** — `TPUStrategy`: every step is XLA-compiled, so shapes must be static. The pretraining
  data already is (fixed `max_seq_length`, `max_predictions_per_seq`, `drop_remainder=True`); for
  fine-tuning pass `pad_to_max_length=True` (and `drop_remainder=True`) to the dataset builders. The
  model's losses use no boolean masks and its checks run before the compiled step, so it compiles
  as is. Read data from GCS (`gs://...`), not local files: TPU workers cannot see the local disk.

Batch sizes: every `batch_size` in this package is the **global** batch (what one optimizer step
sees); Keras splits it into `batch_size / num_replicas_in_sync` per replica. Keep the global batch when
adding replicas and the results stay the same; keep the per-replica batch and scale the learning rate.

Example:
>>> strategy = get_strategy("mirrored")  # doctest: +SKIP
>>> with strategy_scope(strategy):  # doctest: +SKIP
...     model = AlbertForSequenceClassification(config)
...     model.compile(optimizer=create_optimizer("adamw", 2e-5, num_train_steps=1000))
>>> model.fit(dataset_with_global_batch_size_32)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def get_strategy(name: str | None = "default", devices=None):
    """A `tf.distribute.Strategy` by name, or None for "default" (TF's default strategy is used).

    Args:
        name: "default", "one_device", "mirrored", "multi_worker" (reads `TF_CONFIG`) or "tpu" /
            "tpu:ADDRESS" (a TPU name or grpc address; empty for the local/Colab TPU).
        devices: for "mirrored": the devices (default all GPUs, else the CPU); for "one_device": one device.

    Example:
    >>> get_strategy("default") is None
    True
    """
    import tensorflow as tf

    if name is None or name == "default":
        return None
    if not isinstance(name, str):
        raise TypeError(f"strategy name must be a str, got {type(name).__name__}")
    kind, _, address = name.partition(":")
    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES} (tpu may be 'tpu:ADDRESS')")
    if kind == "one_device":
        return tf.distribute.OneDeviceStrategy(devices or "/cpu:0")
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if kind == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "strategy 'multi_worker' needs the TF_CONFIG environment variable (cluster + task)"
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def strategy_scope(strategy):
    """`strategy.scope()`, or a no-op context for None. Build and compile the model inside it."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def num_replicas(strategy=None) -> int:
    """Replicas that share each global batch (1 without a strategy)."""
    if strategy is None:
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    return int(strategy.num_replicas_in_sync)


def per_replica_batch_size(global_batch_size: int, strategy=None) -> int:
    """`global_batch_size / replicas`; raises if it does not divide evenly.

    Example:
    >>> per_replica_batch_size(32)
    32
    """
    n = num_replicas(strategy)
    if not isinstance(global_batch_size, int) or global_batch_size < 1:
        raise ValueError(f"global_batch_size must be a positive int, got {global_batch_size!r}")
    if global_batch_size % n:
        raise ValueError(f"global batch size {global_batch_size} is not divisible by the {n} replicas")
    return global_batch_size // n


def global_batch_size(per_replica: int, strategy=None) -> int:
    """The global batch for a per-replica batch size."""
    if not isinstance(per_replica, int) or per_replica < 1:
        raise ValueError(f"per_replica batch size must be a positive int, got {per_replica!r}")
    return per_replica * num_replicas(strategy)


def is_chief() -> bool:
    """True unless `TF_CONFIG` names this process as a non-chief worker (worker 0 is the chief when the
    cluster has no "chief" task). Write final models and logs only on the chief."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return True
    task = json.loads(raw).get("task", {})
    cluster = json.loads(raw).get("cluster", {})
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


def logical_cpu_devices(count: int) -> list[str]:
    """Splits the CPU into `count` logical devices (call before TF is used) and returns their names; for
    testing `MirroredStrategy` on a machine without several accelerators."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    return [d.name for d in tf.config.list_logical_devices("CPU")]


# === Keras 3 + tf.distribute fixes ===
def _in_multi_worker_mode(strategy) -> bool:
    import tensorflow as tf

    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def per_replica_loss(loss):
    """`loss / replicas` inside a replica of a tf.distribute strategy (what Keras' own losses do), so that
    summing the replicas' gradients gives the gradient of the global batch's mean loss."""
    import tensorflow as tf
    from keras import ops

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else ops.multiply(loss, ops.cast(1.0 / replicas, loss.dtype))


def apply_distribution_fixes(model):
    """Makes `model.fit`/`evaluate` correct under tf.distribute with Keras 3.15; returns the model.

    Three fixes, applied to this model object only (a no-op for classes that set `handles_distribution`):

    * the model's own loss is divided by the number of replicas, as Keras' built-in losses are, so that
      the all-reduced (summed) gradients are those of the global batch mean and the logged loss is right
      (without it a 2-replica run takes steps twice as large and logs twice the loss);
    * with `MultiWorkerMirroredStrategy`, the first batch used to build the model is taken per tensor from
      the local replica instead of all-reduced as one nest, which Keras cannot do for dict inputs
      (keras-team/keras#20329);
    * with `MultiWorkerMirroredStrategy`, the step's logs are returned with shape [1], since Keras'
      cross-worker mean of logs reduces along axis 0, which scalars lack (keras-team/keras#20585).

    `fit_resumable`, `finetune` and `pretrain` apply it; call it yourself before `model.fit` under a
    strategy.

    Example:
    >>> with strategy.scope():  # doctest: +SKIP
    ...     model = apply_distribution_fixes(AlbertForSequenceClassification(config))
    ...     model.compile(optimizer=create_optimizer("adamw", 2e-5, num_train_steps=1000))
    """
    import tensorflow as tf
    from keras import ops

    if getattr(type(model), "handles_distribution", False) or getattr(model, "_distribution_fixed", False):
        return model
    own_compute_loss = model.compute_loss

    def compute_loss(x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = own_compute_loss(x, y, y_pred, sample_weight, training)
        if getattr(model, "_compile_loss", None) is not None:
            return loss  # Keras' compiled loss path scales already
        return per_replica_loss(loss)

    own_build = model._maybe_symbolic_build

    def maybe_symbolic_build(iterator=None, data_batch=None):
        strategy = model._distribute_strategy
        if (
            strategy is not None
            and iterator is not None
            and data_batch is None
            and _in_multi_worker_mode(strategy)
        ):
            for _, _, it in iterator:
                batch = next(it)
                break
            data_batch = tf.nest.map_structure(
                lambda v: (
                    strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues)
                    else v
                ),
                batch,
            )
            iterator = None
        return own_build(iterator=iterator, data_batch=data_batch)

    def ranked(step):
        def wrapped(data):
            logs = step(data)
            if _in_multi_worker_mode(tf.distribute.get_strategy()):
                logs = {
                    k: ops.reshape(v, (1,)) if len(getattr(v, "shape", ())) == 0 else v
                    for k, v in logs.items()
                }
            return logs

        return wrapped

    model.compute_loss = compute_loss
    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = ranked(model.train_step)
    model.test_step = ranked(model.test_step)
    model._distribution_fixed = True
    model.train_function = model.test_function = None  # steps traced before the fixes are rebuilt
    return model
