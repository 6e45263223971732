"""Every private Keras / TensorFlow API that tf_albert touches, in one place, each with why and what breaks it.

Keras has no public way to do these few things; `pyproject.toml` bounds `keras` to the minor version CI
tests, and the tests named below fail first when a Keras release moves one of them.

* `accept_nested_lists(layer)` — `Layer._allow_non_tensor_positional_args`: without it Keras 3 refuses
  `model([[2, 48, 3]])` (a nested list as the first positional argument) before our own input handling
  can convert it. Breaks: `tests/model/test_modeling.py` (nested-list inputs).
* `user_compiled_loss(model)` — `Trainer._compile_loss`: tells a user's `compile(loss=...)` apart from the
  model's own loss. Breaks: the own-loss / user-loss tests in `tests/model/test_fit.py`.
* `distribute_strategy(model)` — `Model._distribute_strategy`: the strategy the model was built under.
* `is_multi_worker(strategy)` — `MultiWorkerMirroredStrategy.extended._in_multi_worker_mode()`: a strategy
  made with one worker is not "multi-worker" though it has that class.
* `SymbolicBuildHook` — overrides `TensorFlowTrainer._maybe_symbolic_build(iterator, data_batch)`: under
  multi-worker training Keras builds the model from a *distributed* first batch, which a subclassed model
  cannot trace; the hook hands it the local batch instead. Without a strategy Keras defers building to
  the first trace of the step, so the optimizer's slot variables are created inside it and TensorFlow
  traces the whole step a second time (2-3 s of the first epoch at small widths); the hook builds the
  optimizer of a built model first. Breaks: `tests/training/test_distributed.py`, and the one-trace test
  in `tests/training/test_fit.py`.
* `BackupHook` — overrides `BackupAndRestore._save_model` and reads `_current_epoch`: the only point where
  a backup is known to be written, to store the dropout seed state beside it (a resumed run draws the same
  masks). Breaks: the resume tests in `tests/training/test_fit.py`.
* `stored_matrix(layer)` — `Dense._kernel` / `Embedding._embeddings`: the matrix as stored (int8 after
  `quantize("int8")`, without LoRA); the public `kernel` / `embeddings` properties add LoRA to the int8
  values unscaled. `all_layers(model)` — `Layer._flatten_layers`: every nested layer. Both serve
  `tf_albert/model/quantization.py`. Breaks: `tests/model/test_quantization.py`.
* `step_function(model, step)` — the JAX `Trainer._make_function(step)`: wraps a `(state, data)` step into
  what `fit` calls (the `steps_per_execution` loop); `update_metrics_variables(model, ...)` — the JAX
  `Trainer._update_metrics_variables`: the loss tracker and compiled metrics, stateless. Both serve
  `tf_albert/model/split_step.py` (the optimizer's update compiled once). Breaks: the split-step test in
  `tests/backends/backend_suite.py`.
"""

from __future__ import annotations

import keras


def accept_nested_lists(layer: keras.layers.Layer) -> None:
    """Let `layer(...)` take nested Python lists positionally (converted by the layer itself)."""
    layer._allow_non_tensor_positional_args = True


def user_compiled_loss(model: keras.Model):
    """The loss the user passed to `compile`, or None when they passed none (the model's own loss then)."""
    return getattr(model, "_compile_loss", None)


def distribute_strategy(model: keras.Model):
    """The tf.distribute strategy the model was created under, or None."""
    return getattr(model, "_distribute_strategy", None)


def is_multi_worker(strategy) -> bool:
    """True when `strategy` is a MultiWorkerMirroredStrategy that really spans several workers."""
    try:
        import tensorflow as tf  # not installed on the JAX / PyTorch backends
    except ImportError:
        return False
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        strategy.extended._in_multi_worker_mode()


class SymbolicBuildHook:
    """Mixin for a `keras.Model`: `symbolic_build_batch(iterator, data_batch)` may replace the batch Keras
    builds the model from (return `(data_batch, iterator)`)."""

    def symbolic_build_batch(self, iterator, data_batch):
        return data_batch, iterator

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        data_batch, iterator = self.symbolic_build_batch(iterator, data_batch)
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and not optimizer.built and self.built and self.trainable_variables:
            optimizer.build(self.trainable_variables)


class BackupHook:
    """Mixin for `keras.callbacks.BackupAndRestore`: `after_backup(epoch)` runs after each backup is written."""

    def after_backup(self, epoch: int) -> None:
        pass

    def _save_model(self):
        super()._save_model()
        self.after_backup(self._current_epoch)


def stored_matrix(layer):
    """The variable a Dense (kernel) or Embedding (table) layer stores its matrix in, LoRA not applied."""
    return layer._embeddings if isinstance(layer, keras.layers.Embedding) else layer._kernel


def all_layers(model) -> list:
    """Every layer nested in `model` (not `model` itself), depth first."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def step_function(model, step):
    """Keras' JAX train function around a `(state, data) → (logs, state)` step."""
    return model._make_function(step)


def update_metrics_variables(model, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight):
    """(logs, metrics variables) after one step's loss and predictions (Keras' JAX trainer, stateless)."""
    return model._update_metrics_variables(metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
