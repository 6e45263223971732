"""AdamW / LAMB: warm-up + decay schedule, weight decay excluding LayerNorm and biases."""

import keras
import numpy as np
import pytest

from tests.helpers import tiny_config
from tf_albert import AlbertForPreTraining
from tf_albert.training import optimization as O


def test_linear_warmup_then_linear_decay_values():
    s = O.linear_warmup_decay(1e-3, num_train_steps=110, num_warmup_steps=10)
    got = [float(s(step)) for step in (0, 1, 5, 10, 60, 110, 200)]
    np.testing.assert_allclose(got, [0.0, 1e-4, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)
    # no warm-up: starts at the peak; power 2 decays quadratically
    s = O.linear_warmup_decay(1.0, num_train_steps=10, num_warmup_steps=0, power=2.0)
    np.testing.assert_allclose([float(s(0)), float(s(5))], [1.0, 0.25], atol=1e-7)


def test_schedule_serialises():
    s = O.linear_warmup_decay(2e-5, num_train_steps=100, num_warmup_steps=10, end_learning_rate=1e-6)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    for step in (0, 7, 10, 50, 100):
        assert float(again(step)) == pytest.approx(float(s(step)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(num_train_steps=0), "num_train_steps must be >= 1"),
        (dict(num_train_steps=10, num_warmup_steps=11), "exceeds num_train_steps"),
        (dict(num_train_steps=10, num_warmup_steps=-1), "num_warmup_steps must be an int >= 0"),
    ],
)
def test_schedule_rejects_bad_steps(bad, match):
    with pytest.raises(ValueError, match=match):
        O.linear_warmup_decay(1e-3, **bad)


def test_create_optimizer_rejects_unknown_name_and_negative_decay():
    with pytest.raises(ValueError, match="one of \\('adamw', 'lamb'\\), got 'sgd'"):
        O.create_optimizer("sgd")
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        O.create_optimizer("adamw", weight_decay=-0.1)


def _is_layernorm_or_bias(path: str) -> bool:
    name = path.split("/")[-1]
    return name == "bias" or ("LayerNorm" in path or "layer_norm" in path) and name in ("gamma", "beta")


@pytest.mark.parametrize("name, cls", [("adamw", keras.optimizers.AdamW), ("lamb", keras.optimizers.Lamb)])
def test_weight_decay_skips_layernorm_and_bias(name, cls):
    model = AlbertForPreTraining(tiny_config())
    model.build()
    lr, wd = 0.1, 0.5
    opt = O.create_optimizer(
        name, learning_rate=lr, num_train_steps=10, num_warmup_steps=0, weight_decay=wd, global_clipnorm=None
    )
    assert isinstance(opt, cls)
    variables = model.trainable_variables
    excluded = [v for v in variables if _is_layernorm_or_bias(v.path)]
    assert len(excluded) >= 10 and len(excluded) < len(variables)
    for v in variables:
        assert O.decays_weight(opt, v) == (not _is_layernorm_or_bias(v.path)), v.path
    # A step with zero gradients changes weights only by decoupled decay: w ← w (1 - lr·wd).
    for v in excluded:
        v.assign(np.full(v.shape, 0.7, "float32"))
    before = {v.path: v.numpy().copy() for v in variables}
    opt.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in variables])
    for v in variables:
        if _is_layernorm_or_bias(v.path):
            np.testing.assert_array_equal(v.numpy(), before[v.path], err_msg=v.path)
        else:
            np.testing.assert_allclose(v.numpy(), before[v.path] * (1 - lr * wd), rtol=1e-5, err_msg=v.path)


def test_no_weight_decay_when_zero():
    opt = O.create_optimizer("lamb", weight_decay=0.0, num_train_steps=5)
    v = keras.Variable(np.ones(3, "float32"), name="kernel")
    assert not O.decays_weight(opt, v)


def test_without_a_schedule_the_rate_is_a_variable_a_caller_sets():
    opt = O.create_optimizer("lamb", learning_rate=1e-3, num_train_steps=None)
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    opt.learning_rate.assign(2.5e-4)
    assert float(opt.learning_rate) == pytest.approx(2.5e-4)
    with pytest.raises(ValueError, match="num_warmup_steps needs num_train_steps, got 10"):
        O.create_optimizer("lamb", num_train_steps=None, num_warmup_steps=10)
    with pytest.raises(ValueError, match="learning_rate must be > 0, got 0"):
        O.create_optimizer("lamb", learning_rate=0, num_train_steps=None)
