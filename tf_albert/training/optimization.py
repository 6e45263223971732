"""Optimizers and learning-rate schedules for fine-tuning (AdamW) and pretraining (LAMB).

Both are Keras' own optimizers (`keras.optimizers.AdamW`, `keras.optimizers.Lamb`) driven by Keras' own
`PolynomialDecay` (power 1 is the linear decay of BERT/ALBERT); the only piece added here is the linear
warm-up in front of it. Weight decay skips LayerNorm and bias variables, as in BERT and ALBERT.
"""

from __future__ import annotations

import keras
from keras import ops

#: Variable names that get no weight decay: LayerNorm scale/offset (`gamma`/`beta`) and every `bias`.
#: Keras matches them against a variable's short name (`variable.name`), e.g. `.../LayerNorm/gamma` → `gamma`.
NO_DECAY_NAMES = ("gamma", "beta", "bias")

OPTIMIZERS = ("adamw", "lamb")


def _positive_rate(name: str, value) -> float:
    if float(value) <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="tf_albert")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak_learning_rate` over `warmup_steps`, then `decay_schedule`.

    The decay schedule sees the step count since the end of the warm-up, so with
    `PolynomialDecay(peak, total - warmup, end)` the rate reaches `end` exactly at step `total`.

    Args:
        peak_learning_rate: float. Rate at the end of the warm-up.
        warmup_steps: int. Steps of linear warm-up; 0 for none.
        decay_schedule: a `keras.optimizers.schedules.LearningRateSchedule` (or a float for a constant rate
            after the warm-up).

    Example:
    >>> import keras
    >>> decay = keras.optimizers.schedules.PolynomialDecay(1e-3, decay_steps=90, end_learning_rate=0.0)
    >>> schedule = WarmupSchedule(1e-3, warmup_steps=10, decay_schedule=decay)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 55, 100)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0]
    """

    def __init__(self, peak_learning_rate, warmup_steps, decay_schedule):
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}")
        self.peak_learning_rate = _positive_rate("peak_learning_rate", peak_learning_rate)
        if isinstance(decay_schedule, dict):
            decay_schedule = keras.saving.deserialize_keras_object(decay_schedule)
        self.warmup_steps = warmup_steps
        self.decay_schedule = decay_schedule

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(max(self.warmup_steps, 1))
        warm_rate = self.peak_learning_rate * step / warmup
        after = ops.maximum(step - float(self.warmup_steps), 0.0)
        decayed = self.decay_schedule(after) if callable(self.decay_schedule) else self.decay_schedule
        decayed = ops.cast(decayed, "float32")
        return ops.where(step < float(self.warmup_steps), warm_rate, decayed)

    def get_config(self):
        decay = self.decay_schedule
        if callable(decay):
            decay = keras.saving.serialize_keras_object(decay)
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_schedule": decay,
        }


def linear_warmup_decay(
    learning_rate: float,
    num_train_steps: int,
    num_warmup_steps: int = 0,
    end_learning_rate: float = 0.0,
    power: float = 1.0,
) -> WarmupSchedule:
    """Warm-up to `learning_rate` for `num_warmup_steps`, then polynomial decay (linear for power 1) to
    `end_learning_rate` at `num_train_steps`.

    Example:
    >>> schedule = linear_warmup_decay(2e-5, num_train_steps=100, num_warmup_steps=10)
    >>> round(float(schedule(10)), 8), round(float(schedule(100)), 8)
    (2e-05, 0.0)
    """
    _check_steps(num_train_steps, num_warmup_steps)
    decay = keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=float(learning_rate),
        decay_steps=max(num_train_steps - num_warmup_steps, 1),
        end_learning_rate=float(end_learning_rate),
        power=float(power),
    )
    return WarmupSchedule(learning_rate, num_warmup_steps, decay)


def _check_steps(num_train_steps, num_warmup_steps):
    for name, value in (("num_train_steps", num_train_steps), ("num_warmup_steps", num_warmup_steps)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    if num_train_steps < 1:
        raise ValueError(f"num_train_steps must be >= 1, got {num_train_steps}")
    if num_warmup_steps > num_train_steps:
        raise ValueError(f"num_warmup_steps ({num_warmup_steps}) exceeds num_train_steps ({num_train_steps})")


def create_optimizer(
    name: str = "adamw",
    learning_rate: float = 5e-5,
    num_train_steps: int | None = 1000,
    num_warmup_steps: int = 0,
    weight_decay: float = 0.01,
    end_learning_rate: float = 0.0,
    power: float = 1.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    global_clipnorm: float | None = 1.0,
    exclude_from_weight_decay=NO_DECAY_NAMES,
    **kwargs,
) -> keras.optimizers.Optimizer:
    """AdamW (fine-tuning) or LAMB (pretraining) with linear warm-up and polynomial decay.

    Weight decay is decoupled (Keras' `weight_decay`) and skipped for the variables whose short name is
    in `exclude_from_weight_decay` (by default LayerNorm `gamma`/`beta` and every `bias`).

    Args:
        name: "adamw" or "lamb".
        learning_rate: float. Peak learning rate, reached at the end of the warm-up.
        num_train_steps: int. Total optimizer steps; the rate decays to `end_learning_rate` there. None:
            no schedule, the rate is Keras' variable `optimizer.learning_rate`, held at `learning_rate`
            until a caller assigns another (`pretrain(train_seconds=...)` sets it from elapsed time).
        num_warmup_steps: int. Linear warm-up steps.
        weight_decay: float. Decoupled weight decay rate (0 disables it).
        end_learning_rate, power: of the polynomial decay (power 1 is linear).
        beta_1, beta_2, epsilon: Adam moments and epsilon (BERT/ALBERT use 1e-6).
        global_clipnorm: float or None. Clip the global gradient norm (BERT/ALBERT clip at 1.0).
        exclude_from_weight_decay: variable names that get no weight decay.
        **kwargs: passed on to the Keras optimizer (e.g. `gradient_accumulation_steps`).

    Example:
    >>> opt = create_optimizer("lamb", learning_rate=1e-3, num_train_steps=100, num_warmup_steps=10)
    >>> type(opt).__name__, round(float(opt.learning_rate), 6)
    ('Lamb', 0.0)
    """
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer name must be one of {OPTIMIZERS}, got {name!r}")
    if weight_decay is None or float(weight_decay) < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if num_train_steps is None:
        if num_warmup_steps:
            raise ValueError(f"num_warmup_steps needs num_train_steps, got {num_warmup_steps!r} without")
        schedule = _positive_rate("learning_rate", learning_rate)
    else:
        schedule = linear_warmup_decay(
            learning_rate, num_train_steps, num_warmup_steps, end_learning_rate, power
        )
    common = dict(
        learning_rate=schedule,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=global_clipnorm,
        **kwargs,
    )
    decay = float(weight_decay) or None
    if name.lower() == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=decay or 0.0, **common)
    else:
        optimizer = keras.optimizers.Lamb(weight_decay=decay, **common)
    if decay and exclude_from_weight_decay:
        optimizer.exclude_from_weight_decay(var_names=list(exclude_from_weight_decay))
    return optimizer


def decays_weight(optimizer: keras.optimizers.Optimizer, variable) -> bool:
    """Whether `optimizer` applies weight decay to `variable` (Keras' own decision, exposed for checks)."""
    if not optimizer.weight_decay:
        return False
    return bool(optimizer._use_weight_decay(variable))
