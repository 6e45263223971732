"""The activation table (tf_albert/model/activations.py): one table of HF `hidden_act` names that the config
validates against and the layers take their functions from."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tiny_config
from tf_albert import AlbertConfig
from tf_albert.model import activations, config
from tf_albert.model.layers import AlbertMLMHead, TransformerBlock


def _gelu_erf(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# HF's definitions (transformers/activations.py), in float64 numpy.
REFERENCE = {
    "gelu": _gelu_erf,
    "gelu_python": _gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + np.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x * _sigmoid(1.702 * x),
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "linear": lambda x: x,
}
X = np.linspace(-8.0, 8.0, 161)


def test_the_config_accepts_exactly_the_names_the_layers_implement():
    assert config.ACTIVATIONS is activations.ACTIVATIONS
    assert sorted(activations.ACTIVATIONS) == sorted(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_every_accepted_name_maps_to_hf_function(name):
    assert AlbertConfig(hidden_act=name).hidden_act == name
    fn = activations.get_activation(name)
    got = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(X.astype("float32"))))
    np.testing.assert_allclose(got, REFERENCE[name](X), atol=2e-6, rtol=1e-6)
    # The blocks use the same function.
    c = tiny_config(hidden_act=name)
    assert TransformerBlock(c).activation is fn and AlbertMLMHead(c).activation is fn


@pytest.mark.parametrize("name", ["gelu", "gelu_new"])
def test_gelu_gradients_equal_autodiff(name):
    """The GELUs carry their own (input-only) gradient; it must equal autodiff of the formula."""
    x = tf.constant(X, "float32")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours = activations.get_activation(name)(x)
        if name == "gelu":
            formula = 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))
        else:
            formula = 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(tape.gradient(ours, x), tape.gradient(formula, x), atol=1e-6)


def test_unknown_names_fail_with_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'gelu_fancy'; choose one of gelu, gelu_python"):
        activations.get_activation("gelu_fancy")
    with pytest.raises(ValueError, match="hidden_act 'gelu_fancy' is not supported; choose one of gelu, "):
        AlbertConfig(hidden_act="gelu_fancy")
