"""fit() on the models' own losses, XLA, mixed precision, and data checks before compiled steps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import own_loss_batch, random_ids, tiny_config
from tf_albert import (
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
)

N, L = 8, 6


def _data(cls, rng):
    """(x, y) for a head: a small fixed batch to overfit."""
    return own_loss_batch(cls.__name__, rng, N, L)


HEADS = [AlbertForSequenceClassification, AlbertForTokenClassification, AlbertForMaskedLM,
         AlbertForQuestionAnswering, AlbertForPreTraining, AlbertForMultipleChoice]


def _repeat(tree, times):
    if isinstance(tree, dict):
        return {k: _repeat(v, times) for k, v in tree.items()}
    return np.concatenate([tree] * times)


@pytest.mark.parametrize("cls", HEADS)
def test_fit_on_own_loss_with_xla(cls):
    keras.utils.set_random_seed(0)
    model = cls(tiny_config(num_labels=3))
    x, y = _data(cls, np.random.default_rng(0))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
    before = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)["loss"]
    # evaluate's loss is the model's own loss on the same data (no dropout in this config)
    direct = float(model(**x, **model._labels_from_y(y))["loss"])
    assert before == pytest.approx(direct, rel=1e-4)
    # 15 steps on the same batch, in one epoch (an epoch per step would mostly time Keras' epoch overhead)
    history = model.fit(_repeat(x, 15), _repeat(y, 15), batch_size=N, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before, (before, after)
    predicted = model.predict(x, batch_size=N, verbose=0)
    assert model.main_output in predicted and len(predicted[model.main_output]) == N


def test_labels_inside_x_and_tuple_y():
    model = AlbertForQuestionAnswering(tiny_config())
    x, y = _data(AlbertForQuestionAnswering, np.random.default_rng(0))
    model.compile(optimizer="adam")
    h1 = model.fit({**x, **y}, epochs=1, batch_size=N, verbose=0).history["loss"][0]
    model2 = AlbertForQuestionAnswering(tiny_config())
    model2.build()
    model2.set_weights(model.get_weights())
    model2.compile(optimizer="adam")
    h2 = model2.evaluate(x, (y["start_positions"], y["end_positions"]), batch_size=N, verbose=0)
    assert np.isfinite(h1) and np.isfinite(h2)


def test_user_loss_and_metrics_apply_to_main_output():
    keras.utils.set_random_seed(0)
    model = AlbertForSequenceClassification(tiny_config(num_labels=3))
    x, y = _data(AlbertForSequenceClassification, np.random.default_rng(0))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    own = float(model(**x, labels=y)["loss"])
    assert result["loss"] == pytest.approx(own, rel=1e-4)
    assert 0.0 <= result["accuracy"] <= 1.0


def test_no_labels_is_a_clear_error():
    model = AlbertForSequenceClassification(tiny_config())
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="got no labels"):
        model.fit({"input_ids": random_ids((4, 5))}, epochs=1, verbose=0)


def test_bad_ids_rejected_before_xla_step():
    model = AlbertForSequenceClassification(tiny_config())
    model.compile(optimizer="adam", jit_compile=True)
    ids = random_ids((4, 5))
    ids[2, 3] = 500
    with pytest.raises(ValueError, match=r"input_ids contains 500 at \[2, 3\]; vocab_size is 99"):
        model.fit(ids, np.zeros(4, "int32"), verbose=0)
    with pytest.raises(ValueError, match=r"labels contains 7 at \[1\]; num_labels is 2"):
        model.fit(random_ids((4, 5)), np.array([0, 7, 1, 0]), verbose=0)
    with pytest.raises(ValueError, match="input_ids contains 500"):
        model.predict(ids, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices(({"input_ids": ids}, np.zeros(4, "int32"))).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input_ids contains\] \[500\] \[at\] \[\[0 3\]\]"):
        model.fit(dataset, verbose=0)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_forward_and_fit(policy):
    keras.mixed_precision.set_global_policy(policy)
    model = AlbertForPreTraining(tiny_config())
    x, y = _data(AlbertForPreTraining, np.random.default_rng(0))
    out = model(**x, output_attentions=True)
    assert all(w.dtype == "float32" for w in model.weights)
    compute = policy.split("_")[1]
    assert model.albert.compute_dtype == compute
    # logits, softmax probabilities and the loss are float32
    assert out["prediction_logits"].dtype == "float32" and out["attentions"][0].dtype == "float32"
    hidden = model.albert(x["input_ids"])["last_hidden_state"]
    assert hidden.dtype == compute
    optimizer = keras.optimizers.Adam(1e-3)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, jit_compile=True)
    history = model.fit(x, y, batch_size=N, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_regression_and_multilabel_fit():
    for num_labels, y in ((1, np.linspace(-1, 1, N).astype("float32")),
                          (3, np.random.default_rng(0).integers(0, 2, size=(N, 3)).astype("float32"))):
        model = AlbertForSequenceClassification(tiny_config(num_labels=num_labels))
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        x, _ = _data(AlbertForSequenceClassification, np.random.default_rng(0))
        before = model.evaluate(x, y, batch_size=N, verbose=0)
        model.fit(_repeat(x, 15), _repeat(y, 15), batch_size=N, epochs=1, shuffle=False, verbose=0)
        assert model.evaluate(x, y, batch_size=N, verbose=0) < before


def test_gradient_checkpointing_trains_to_the_same_weights():
    keras.utils.set_random_seed(0)
    x, y = _data(AlbertForSequenceClassification, np.random.default_rng(0))
    config = tiny_config(num_labels=3, classifier_dropout_prob=0.0)  # no dropout: the two draw no masks
    plain, checkpointed = (AlbertForSequenceClassification(config) for _ in range(2))
    plain.build()
    checkpointed.build()
    checkpointed.set_weights(plain.get_weights())
    checkpointed.gradient_checkpointing_enable()
    assert checkpointed.albert.encoder.gradient_checkpointing
    for model in (plain, checkpointed):
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
        model.train_on_batch(x, y)
    for a, b in zip(plain.get_weights(), checkpointed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_xla_fit_on_batches_of_unknown_shape():
    # tf.data batches without drop_remainder have an unknown batch size when the step is traced for XLA.
    model = AlbertForSequenceClassification(tiny_config())
    model.compile(optimizer="adam", jit_compile=True)
    dataset = tf.data.Dataset.from_tensor_slices(({"input_ids": random_ids((5, 6))}, np.zeros(5, "int32"))).batch(2)
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    model.gradient_checkpointing_enable()
    with pytest.raises(ValueError, match="gradient checkpointing under XLA .* needs static shapes"):
        model.fit(dataset, epochs=1, verbose=0)
