"""tf.distribute helpers: pick a strategy by name, build and compile under its scope, batch sizes.

We run on TensorFlow's strategies; nothing here replaces them. They need the TensorFlow backend: on JAX and
PyTorch only the default strategy (one device) is available here (`get_strategy("default")` is None on every
backend; another name raises `BackendError`, naming the backend); on JAX, Keras' own
`keras.distribution.DataParallel` splits batches over several devices.

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

The models themselves handle what Keras 3 needs under a strategy (the own loss scaled per replica, the
multi-worker build and logs): see `tf_albert/distribution.py`. A plain `model.fit` under `strategy.scope()` is
correct.

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

from tf_albert.utils.backends import BackendError, backend, import_tensorflow

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
    if name is None or name == "default":
        return None
    if not isinstance(name, str):
        raise TypeError(f"strategy name must be a str, got {type(name).__name__}")
    kind, _, address = name.partition(":")
    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES} (tpu may be 'tpu:ADDRESS')")
    _require_tensorflow_backend(f"strategy {name!r}")
    tf = import_tensorflow("tf.distribute")
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


def _require_tensorflow_backend(what: str) -> None:
    name = backend()
    if name != "tensorflow":
        raise BackendError(
            f"{what} is a tf.distribute strategy, which needs the TensorFlow backend, but Keras runs on the "
            f"{name} backend: on {name}, train with the default strategy (one device; `--strategy default`)"
            + (", or for several devices call keras.distribution.set_distribution("
               "keras.distribution.DataParallel()) before building the model" if name == "jax" else "")
            + "; or set KERAS_BACKEND=tensorflow"
        )


def check_strategy(strategy) -> None:
    """Raises `BackendError` for a strategy object (tf.distribute) when Keras does not run on TensorFlow.

    >>> check_strategy(None)  # the default strategy runs on every backend
    """
    if strategy is not None:
        _require_tensorflow_backend(f"strategy {type(strategy).__name__}")


def strategy_scope(strategy):
    """`strategy.scope()`, or a no-op context for None. Build and compile the model inside it."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def num_replicas(strategy=None) -> int:
    """Replicas that share each global batch (1 without a strategy)."""
    if strategy is None:
        if backend() != "tensorflow":
            return 1  # the default strategy: one device
        tf = import_tensorflow("tf.distribute")

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
    tf = import_tensorflow("tf.distribute")

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    return [d.name for d in tf.config.list_logical_devices("CPU")]
