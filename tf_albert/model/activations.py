"""The activation functions, by their HF `hidden_act` names: the one table that config.py validates names
against and layers.py takes the functions from.

`gelu` / `gelu_python` are the exact (erf) GELU; `gelu_new` / `gelu_pytorch_tanh` the tanh approximation that
ALBERT v2 uses; the other names follow HF's `ACT2FN`. Everything is `keras.ops`, so it runs on any backend.
"""

from __future__ import annotations

import math

from keras import ops

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# The GELUs carry their own gradient, which keeps only the input for the backward pass: autodiff of the
# elementwise chain keeps several FFN-wide intermediates per layer (x³, tanh, ...), which inside the layer
# loop nothing fuses away (albert-base fit step at 8 × 128, XLA: peak RSS 2867 → 2445 MB).
@ops.custom_gradient
def gelu_tanh(x):
    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        x3 = 0.044715 * ops.power(x, 3)
        t = ops.tanh(_SQRT_2_OVER_PI * (x + x3))
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x)
        return upstream * slope

    return 0.5 * x * (1.0 + ops.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * ops.power(x, 3)))), grad


@ops.custom_gradient
def gelu_erf(x):
    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        cdf = 0.5 * (1.0 + ops.erf(x * _SQRT_HALF))
        return upstream * (cdf + x * ops.exp(-0.5 * x * x) * _INV_SQRT_2PI)

    return ops.gelu(x, approximate=False), grad


def gelu_fast(x):
    return 0.5 * x * (1.0 + ops.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


def quick_gelu(x):
    return x * ops.sigmoid(1.702 * x)


def mish(x):
    return x * ops.tanh(ops.softplus(x))


def linear(x):
    return x


#: HF `hidden_act` name → function.
ACTIVATIONS = {
    "gelu": gelu_erf,
    "gelu_python": gelu_erf,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_fast,
    "quick_gelu": quick_gelu,
    "relu": ops.relu,
    "relu6": ops.relu6,
    "silu": ops.silu,
    "swish": ops.silu,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "mish": mish,
    "linear": linear,
}


def get_activation(name: str):
    """The activation function for an HF `hidden_act` name (`gelu_new` = tanh approximation)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None
