"""Fault-tolerant training: `BackupAndRestore` that never backs up a diverged model, a NaN stop with a clear
message, and `fit_resumable`, which continues a killed run with exactly the batches it would have seen.

How resuming works: the training data is one endless stream whose order depends only on its seed (see
`tf_albert.training.batches`). Every epoch takes `steps_per_epoch` batches from it. At each epoch end the model weights, the
optimizer state and the epoch number are backed up. A restarted run reads the epoch number, skips the
`epoch * steps_per_epoch` batches already trained on, restores the weights and continues with the same
batches, so its losses equal those of a run that was never interrupted. A kill mid-epoch loses only the
unfinished part of that epoch, which is trained again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys

import keras

from tf_albert.training.batches import Batches
from tf_albert.training.datasets import feed
from tf_albert.utils.backends import import_tensorflow
from tf_albert.utils.fileio import write_file_atomically

BACKUP_METADATA = "training_metadata.json"
RNG_STATE = "rng_state.json"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; training stopped and the last good backup was kept."""


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Stops training at the first NaN/inf loss and says where and what to try (Keras' own prints only
    "Invalid loss"). The message is kept in `.message`; `fit_resumable` raises `TrainingDivergedError`
    with it.

    Example:
    >>> callback = TerminateOnNaN()
    >>> model.fit(ds, callbacks=[callback])  # doctest: +SKIP
    >>> callback.message  # None unless training diverged  # doctest: +SKIP
    """

    def __init__(self):
        super().__init__()
        self.message = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not _finite(loss):
            lr = None
            try:
                lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            except Exception:  # noqa: BLE001 - the rate is only a hint in the message
                pass
            self.message = (
                f"training stopped: the loss became {float(loss)} at epoch {self._epoch + 1}, "
                f"batch {batch + 1}"
                + (f" (learning rate {lr:.3g})" if lr is not None else "")
                + ". Try a lower learning rate or more warm-up steps, gradient clipping (global_clipnorm), "
                "checking the labels (-100 marks ignored positions; class ids must be < num_labels), or "
                "float32 instead of mixed precision. The last backup from before the divergence is kept."
            )
            print(self.message, file=sys.stderr, flush=True)
            self.model.stop_training = True


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore` (weights + optimizer state + epoch, saved at epoch ends), plus:

    * the random state of the model's layers (dropout seeds), which Keras' weight files leave out, so a
      resumed run draws the same dropout masks as one that was never stopped — and on PyTorch, whose Keras
      dropout draws from torch's global generator, that generator's state (CPU and CUDA);
    * no backup of a model whose epoch ended with a non-finite loss, and the backup is kept when training
      stopped early that way (so a rerun resumes from the last good epoch).
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=True, delete_checkpoint=False):
        super().__init__(
            backup_dir,
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        self._diverged = False
        self._rng_path = os.path.join(backup_dir, RNG_STATE)
        self._torch_state = None

    def _seed_states(self):
        return [v for v in self.model.variables if "seed_generator" in v.path]

    def _save_model(self):
        super()._save_model()
        states = self._seed_states()
        saved = {"epoch": self._current_epoch, "states": [keras.ops.convert_to_numpy(v).tolist() for v in states]}
        if keras.backend.backend() == "torch":
            saved["torch"] = _torch_rng_state()
        write_file_atomically(self._rng_path, json.dumps(saved))

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not os.path.exists(self._rng_path):
            return
        with open(self._rng_path, encoding="utf-8") as f:
            saved = json.load(f)
        states = self._seed_states()
        if saved.get("epoch") == backed_up_epoch(self.backup_dir) and len(saved["states"]) == len(states):
            for v, value in zip(states, saved["states"]):
                v.assign(keras.ops.convert_to_tensor(value, dtype=v.dtype))
            if keras.backend.backend() == "torch" and saved.get("torch"):
                # set at the first step: starting to read the data draws from torch's generator, and the
                # uninterrupted run read on without a new start
                self._torch_state = saved["torch"]

    def on_train_batch_begin(self, batch, logs=None):
        super().on_train_batch_begin(batch, logs)
        if self._torch_state is not None:
            _set_torch_rng_state(self._torch_state)
            self._torch_state = None

    def on_train_batch_end(self, batch, logs=None):
        if not _finite((logs or {}).get("loss")):
            self._diverged = True
            return
        super().on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._diverged or not _finite((logs or {}).get("loss")):
            self._diverged = True
            return
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if not self._diverged:
            super().on_train_end(logs)


def _torch_rng_state() -> dict:
    import torch

    state = {"cpu": torch.get_rng_state().tolist()}
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def _set_torch_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(torch.tensor(state["cpu"], dtype=torch.uint8))
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def backed_up_epoch(backup_dir: str) -> int:
    """The number of epochs completed according to a backup folder (0 when there is none)."""
    path = os.path.join(backup_dir, BACKUP_METADATA)
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return int(json.load(f).get("epoch", 0))


def _worker_backup_dir(backup_dir: str) -> str:
    """Under multi-worker training each worker keeps its own copy (they are identical), so workers never
    write the same file."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return backup_dir
    tf_config = json.loads(raw)
    workers = sum(len(v) for k, v in tf_config.get("cluster", {}).items() if k in ("chief", "worker"))
    if workers <= 1:
        return backup_dir
    task = tf_config.get("task", {})
    return os.path.join(backup_dir, f"{task.get('type', 'worker')}-{task.get('index', 0)}")


def fit_resumable(
    model,
    dataset,
    epochs: int,
    backup_dir: str,
    steps_per_epoch: int | None = None,
    callbacks=(),
    validation_data=None,
    validation_steps=None,
    verbose="auto",
):
    """`model.fit` that survives being killed: rerun the same call and it continues where it stopped.

    Args:
        model: a compiled Keras model.
        dataset: a dataset of `tf_albert.training` (a builder's or `make_dataset`'s: tf.data or a
            `keras.utils.PyDataset`, any backend), trained on as the endless stream of its batches; or, on
            TensorFlow, any `tf.data.Dataset` of batches whose order depends only on its seed. A finite
            dataset is one epoch (it is repeated, `steps_per_epoch` defaults to its length); an endless one
            needs `steps_per_epoch`.
        epochs: total epochs, counting those done before an interruption.
        backup_dir: folder of the backup (created; kept after training so a finished run is not redone).
        steps_per_epoch: batches per epoch.
        callbacks: more Keras callbacks (a `CSVLogger(append=True)` keeps one log across restarts).
        validation_data, validation_steps, verbose: as in `fit`.

    Returns:
        The Keras `History` of the epochs run by this call.

    Raises:
        TrainingDivergedError: the loss became NaN/inf (the message says where and what to try).

    Example:
    >>> history = fit_resumable(model, train_ds, epochs=3, backup_dir="out/backup")  # doctest: +SKIP
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    backup_dir = _worker_backup_dir(backup_dir)
    done = backed_up_epoch(backup_dir)
    batches = getattr(dataset, "batches", None)
    if isinstance(batches, Batches):  # tf_albert.training's datasets, on any backend and with either feeder
        steps_per_epoch = batches.steps if steps_per_epoch is None else steps_per_epoch
        _check_steps(steps_per_epoch)
        # the endless stream of batches, from the first one the backup has not trained on
        dataset = feed(batches, dataset.feeder, start=done * steps_per_epoch, endless=True)
    else:
        tf = import_tensorflow("tf.data")

        cardinality = int(dataset.cardinality())
        if steps_per_epoch is None:
            if cardinality < 0:
                raise ValueError("the dataset is endless or of unknown length: give steps_per_epoch")
            steps_per_epoch = cardinality
        _check_steps(steps_per_epoch)
        if cardinality != tf.data.INFINITE_CARDINALITY:
            dataset = dataset.repeat()
        if done:
            dataset = dataset.skip(done * steps_per_epoch)
    if not model.built:
        model.build()
    nan_stop = TerminateOnNaN()
    backup = BackupAndRestore(backup_dir)
    history = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=[nan_stop, backup, *callbacks],
        validation_data=validation_data,
        validation_steps=validation_steps,
        verbose=verbose,
        shuffle=False,
    )
    if nan_stop.message:
        raise TrainingDivergedError(nan_stop.message)
    return history


def _check_steps(steps_per_epoch) -> None:
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")


# === The run folder's identity ===
RUN_FILE = "run.json"
#: What a run folder holds besides run.json (what `claim_run_folder(..., overwrite=True)` removes).
RUN_ENTRIES = ("backup", "checkpoints", "log.csv", "model", "metrics.json", "results.json")


def file_digest(source) -> dict | None:
    """How a data source enters a run's identity: a file by its path and sha256, rows by the sha256 of their
    JSON."""
    if source is None:
        return None
    h = hashlib.sha256()
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"data file not found: {path!r}")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return {"file": os.path.abspath(path), "sha256": h.hexdigest()}
    h.update(json.dumps(source, sort_keys=True, default=str).encode("utf-8"))
    return {"rows": len(source), "sha256": h.hexdigest()}


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """What differs between two run identities, one phrase per leaf (nested dicts are walked, data digests
    are leaves)."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and "sha256" not in a and "sha256" not in b:
            out += _differences(a, b, f"{prefix}{key}.")
        elif isinstance(a, dict) or isinstance(b, dict):  # data digests
            if a and b and _source(a) == _source(b):
                out.append(f"{key} data {_source(a)} changed (sha256 {a['sha256'][:12]}… → "
                           f"{b['sha256'][:12]}…)")
            else:
                out.append(f"{key} data {_source(a)} → {_source(b)}")
        else:
            out.append(f"{prefix}{key} {a!r} → {b!r}")
    return out


def _source(digest: dict | None) -> str:
    if digest is None:
        return "none"
    return digest.get("file") or f"({digest.get('rows')} rows)"


def claim_run_folder(output_dir: str, identity: dict, *, overwrite: bool = False, chief: bool = True,
                     command: str = "finetune") -> int:
    """Makes `output_dir` the folder of the run `identity` (JSON-able: data digests, arguments, labels), so
    that rerunning resumes only the same run. Returns the number of epochs its backup has done (0 when new).

    * a folder without a run: `identity` is recorded in `run.json` (by the chief);
    * the same run: resumed (a finished one is only evaluated and saved again);
    * a different run, or one with no `run.json`: ValueError saying what differs and how to start fresh;
    * `overwrite=True`: the old run's entries (`RUN_ENTRIES`, `run.json`) are removed first; other files in
      the folder are left alone.
    """
    path = os.path.join(output_dir, RUN_FILE)
    identity = json.loads(json.dumps(identity))  # as it reads back (tuples are lists)
    fresh = (f"to start fresh, pass --overwrite (`{command}(..., overwrite=True)`), which deletes that run's "
             f"{', '.join(RUN_ENTRIES)}, or choose another --out folder")
    if overwrite:
        if chief:
            for name in RUN_ENTRIES + (RUN_FILE,):
                target = os.path.join(output_dir, name)
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                elif os.path.lexists(target):
                    os.remove(target)
    elif os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            recorded = json.load(f)
        different = _differences(recorded, identity)
        if different:
            raise ValueError(f"{output_dir} holds another {command} run, which this one cannot resume: "
                             f"{'; '.join(different)}. Rerun that run's command to resume it; {fresh}")
    else:
        traces = [n for n in RUN_ENTRIES if os.path.exists(os.path.join(output_dir, n))]
        if traces:
            raise ValueError(f"{output_dir} holds a run without a record of its data and arguments "
                             f"({', '.join(traces)}; no {RUN_FILE}), which this one cannot safely resume; {fresh}")
    if chief and not os.path.isfile(path):
        os.makedirs(output_dir, exist_ok=True)
        write_file_atomically(path, json.dumps(identity, indent=2, sort_keys=True) + "\n")
    return backed_up_epoch(_worker_backup_dir(os.path.join(output_dir, "backup")))


def last_epoch_weights(output_dir: str) -> str:
    """The run folder's weights after its last finished epoch (what `fit_in_run_folder` keeps)."""
    return os.path.join(output_dir, "checkpoints", "latest.weights.h5")


def fit_in_run_folder(
    model,
    dataset,
    output_dir: str,
    *,
    epochs: int,
    steps_per_epoch: int | None = None,
    chief: bool = True,
    validation_data=None,
    verbose="auto",
):
    """`fit_resumable` in the run folder that `finetune` and `pretrain` keep: `log.csv` and
    `checkpoints/latest.weights.h5` (written by the chief only: one writer per file under multi-worker
    training) and `backup/` (one per worker), so rerunning the command continues the run."""
    callbacks = []
    if chief:
        weights = last_epoch_weights(output_dir)
        os.makedirs(os.path.dirname(weights), exist_ok=True)
        callbacks = [
            keras.callbacks.CSVLogger(os.path.join(output_dir, "log.csv"), append=True),
            keras.callbacks.ModelCheckpoint(weights, save_weights_only=True),
        ]
    return fit_resumable(
        model,
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        backup_dir=os.path.join(output_dir, "backup"),
        callbacks=callbacks,
        validation_data=validation_data,
        verbose=verbose,
    )
