"""How a pretraining run spends its steps: a resumable `fit` for either feeder, a time budget, periodic saves.

* `fit_pretraining`: `fit` in the run folder (`backup/`, `checkpoints/latest.weights.h5`, `log.csv`), fed by
  tf.data (`pretraining_data.pretraining_dataset`) or by a `PretrainingBatches` PyDataset; rerun, it restores
  the last backup and continues the batch stream where that epoch ended;
* `TimeBudget`: training for a number of seconds instead of steps, for machines whose speed is not known ahead
  (a borrowed GPU): the learning rate warms up linearly over a share of the budget and decays linearly to 0 at
  its end, set from the elapsed share at the start of every epoch. The first epoch of every sitting (where XLA
  compiles) does not count against the budget; the time spent is kept in `budget.json`, so a killed run
  resumes with the budget it had left;
* `SaveEvery`: the model folder, written aside and swapped in, every so many seconds.
"""

from __future__ import annotations

import json
import os
import time

import keras

from tf_albert.training.callbacks import (
    BackupAndRestore,
    TerminateOnNaN,
    TrainingDivergedError,
    _worker_backup_dir,
    backed_up_epoch,
    last_epoch_weights,
)
from tf_albert.utils.fileio import write_file_atomically

BUDGET_FILE = "budget.json"


def rate_at(fraction: float, peak: float, warmup_fraction: float) -> float:
    """Linear warm-up over `warmup_fraction` of the budget, then linear decay to 0 at its end.

    >>> [round(rate_at(f, 1e-3, 0.1), 6) for f in (0.0, 0.05, 0.1, 0.55, 1.0, 1.5)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    """
    if fraction < warmup_fraction:
        return peak * fraction / warmup_fraction
    return peak * max(0.0, 1.0 - fraction) / (1.0 - warmup_fraction)


class TimeBudget(keras.callbacks.Callback):
    """Trains for `seconds`: sets the rate from the elapsed share of the budget at every epoch start
    (`rate_at`), stops at the first epoch end past the budget, and records the time spent per finished epoch
    in `state_path` (JSON) so that a resumed run continues its budget.

    Args:
        seconds: the budget, not counting each sitting's first epoch (compilation).
        peak: the peak learning rate.
        warmup_fraction: share of the budget for the linear warm-up, in [0, 1).
        state_path: the JSON file of the time spent (None: not kept).
        writer: whether this process writes it (the chief).
    """

    def __init__(self, seconds: float, peak: float, warmup_fraction: float = 0.1, state_path=None,
                 writer: bool = True):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"the time budget must be > 0 seconds, got {seconds!r}")
        if not 0 <= warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
        self.seconds, self.peak, self.warmup_fraction = float(seconds), float(peak), float(warmup_fraction)
        self.state_path, self.writer = state_path, writer
        self.spent_before = 0.0  # seconds of the budget spent by earlier sittings
        self.clock = None  # set when this sitting's first epoch ends
        self.rate = 0.0
        self._spent = self._read()

    def _read(self) -> dict:
        if self.state_path and os.path.isfile(self.state_path):
            with open(self.state_path, encoding="utf-8") as f:
                return {int(k): v for k, v in json.load(f).get("spent_after_epoch", {}).items()}
        return {}

    def resume(self, epochs_done: int) -> None:
        """Continue the budget as it stood after `epochs_done` epochs (those the backup holds)."""
        self.spent_before = float(self._spent.get(epochs_done, 0.0)) if epochs_done else 0.0

    def spent(self) -> float:
        return self.spent_before + (0.0 if self.clock is None else time.time() - self.clock)

    def finished(self, epochs_done: int) -> bool:
        """Whether a run whose backup holds `epochs_done` epochs has spent its budget."""
        return bool(epochs_done) and self._spent.get(epochs_done, 0.0) >= self.seconds

    def on_epoch_begin(self, epoch, logs=None):
        self.rate = rate_at(self.spent() / self.seconds, self.peak, self.warmup_fraction)
        self.model.optimizer.learning_rate.assign(self.rate)

    def on_epoch_end(self, epoch, logs=None):
        if self.clock is None:
            self.clock = time.time()
        spent = self.spent()
        if logs is not None:  # into log.csv: the budget spent and the rate this epoch ran with
            logs.update(budget_seconds=round(spent, 1), budget_learning_rate=self.rate)
        self._spent[epoch + 1] = round(spent, 3)
        if self.writer and self.state_path:
            write_file_atomically(self.state_path, json.dumps(
                {"seconds": self.seconds, "spent_after_epoch": {str(k): v for k, v in self._spent.items()}}))
        if spent >= self.seconds:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.spent_before, self.clock = self.spent(), None  # evaluation and saving are not training


class SaveEvery(keras.callbacks.Callback):
    """Calls `save(model)` at the first epoch end `seconds` after the last save (or the start)."""

    def __init__(self, seconds: float, save):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"the save interval must be > 0 seconds, got {seconds!r}")
        self.seconds, self.save, self.last = float(seconds), save, time.time()

    def on_epoch_end(self, epoch, logs=None):
        if time.time() - self.last >= self.seconds and not self.model.stop_training:
            self.save(self.model)
            self.last = time.time()


def fit_pretraining(model, data, output_dir: str, *, epochs: int, steps_per_epoch: int, chief: bool = True,
                    callbacks=(), budget: TimeBudget | None = None, verbose="auto"):
    """`model.fit` in a pretraining run folder that survives being killed: rerun it and it continues.

    Args:
        model: a compiled `AlbertForPreTraining`.
        data: an endless `tf.data.Dataset` whose order depends on its seed alone, or a `PretrainingBatches`
            (split "train") — its `start` is set to the first batch not trained on yet.
        output_dir: the run folder: `backup/` (one per worker), and by the chief `log.csv` and
            `checkpoints/latest.weights.h5` (the last finished epoch's weights).
        epochs: total epochs, counting those done before an interruption.
        steps_per_epoch: batches per epoch (a backup per epoch).
        callbacks: more Keras callbacks (run before the backup).
        budget: a `TimeBudget`: resumed from the backup's epoch; a run that spent it trains no more.

    Returns:
        The number of epochs done (this call's and earlier ones').

    Raises:
        TrainingDivergedError: the loss became NaN/inf.
    """
    backup_dir = _worker_backup_dir(os.path.join(output_dir, "backup"))
    done = backed_up_epoch(backup_dir)
    if budget is not None:
        budget.resume(done)
        if budget.finished(done):
            _restore(model, backup_dir)
            return done
    if done >= epochs:
        _restore(model, backup_dir)
        return done
    skip = done * steps_per_epoch
    if hasattr(data, "locate"):  # PretrainingBatches
        data.start = skip
    elif skip:
        data = data.skip(skip)
    if not model.built:
        model.build()
    extra = [budget] if budget is not None else []
    if chief:
        weights = last_epoch_weights(output_dir)
        os.makedirs(os.path.dirname(weights), exist_ok=True)
        extra += [keras.callbacks.CSVLogger(os.path.join(output_dir, "log.csv"), append=True),
                  keras.callbacks.ModelCheckpoint(weights, save_weights_only=True)]
    nan_stop = TerminateOnNaN()
    history = model.fit(data, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=False, verbose=verbose,
                        callbacks=[nan_stop, *extra, *callbacks, BackupAndRestore(backup_dir)])
    if nan_stop.message:
        raise TrainingDivergedError(nan_stop.message)
    return done + len(history.epoch)


def _restore(model, backup_dir: str) -> None:
    """The weights of a finished run's backup (its last epoch's model)."""
    if not model.built:
        model.build()
    callback = BackupAndRestore(backup_dir)
    callback.set_model(model)
    callback.on_train_begin()


__all__ = ["TimeBudget", "SaveEvery", "fit_pretraining", "rate_at"]
