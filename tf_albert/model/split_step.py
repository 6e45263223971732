"""The XLA-compiled training step on JAX as two programs: the gradients, compiled per batch shape, and
the optimizer's update, compiled once.

Keras compiles `train_step` whole, so each new batch shape (each padded length of a length-grouped epoch)
recompiles the optimizer's update too, though no variable changes shape. On a 2-core CPU at H 256 a new
shape cost about 3.0 s with the update in it and costs about 2.1 s without; a 5-shape first epoch loses
~4.5 s and the steady step is unchanged (docs/performance.md, "The first epoch").

    gradients(trainable, non_trainable, optimizer, metrics, batch)   # jit, one program per batch shape
        → logs, gradients, non_trainable, metrics                    # Keras' loss, metrics and loss scaling
    update(optimizer, gradients, trainable)                          # jit, one program, buffers donated
        → trainable, optimizer                                       # `optimizer.stateless_apply`

The two halves are Keras' own JAX `train_step`, cut where the gradients are complete; the numbers are
the same (tests/backends/backend_suite.py). It is used when Keras would compile the step with `jax.jit`
on one device set (no `keras.distribution`, which needs the step's output shardings) and the model's
class keeps our `train_step`; otherwise Keras' own train function runs.
"""

from __future__ import annotations

import keras

from tf_albert.utils import keras_hooks


def applies(model, own_train_step) -> bool:
    """Whether `model`'s training step is split: JAX, XLA-compiled, no distribution, and `train_step`
    not overridden below `own_train_step` (a subclass's own step is Keras' to compile)."""
    return (
        keras.backend.backend() == "jax"
        and bool(model.jit_compile)
        and not model.run_eagerly
        and keras.distribution.distribution() is None
        and getattr(type(model).train_step, "__code__", None) is own_train_step.__code__
    )


def train_function(model):
    """The function Keras' JAX trainer calls per step (or per `steps_per_execution` steps):
    `(state, iterator) → (logs, state)`."""
    import jax  # the JAX backend only

    def gradients(trainable, non_trainable, optimizer_variables, metrics_variables, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(model.compute_loss_and_updates, has_aux=True)
        (_, aux), grads = grad_fn(trainable, non_trainable, metrics_variables, x, y, sample_weight,
                                  training=True, optimizer_variables=optimizer_variables)
        unscaled_loss, y_pred, non_trainable, metrics_variables = aux
        logs, metrics_variables = keras_hooks.update_metrics_variables(
            model, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
        return logs, grads, non_trainable, metrics_variables

    def update(optimizer_variables, grads, trainable):
        trainable, optimizer_variables = model.optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return trainable, optimizer_variables

    # Donated: the state each half replaces (the gradients are not, no output has their buffers' use).
    gradients = jax.jit(gradients, donate_argnums=(1, 3))
    update = jax.jit(update, donate_argnums=(0, 2))

    def step(state, data):
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        logs, grads, non_trainable, metrics_variables = gradients(
            trainable, non_trainable, optimizer_variables, metrics_variables, data)
        trainable, optimizer_variables = update(optimizer_variables, grads, trainable)
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

    function = keras_hooks.step_function(model, step)
    function.gradients, function.update = gradients, update  # their compile caches, for tests
    return function
