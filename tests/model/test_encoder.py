"""AlbertEncoder (tf_albert/model/encoder.py): its plain layer loop and the TensorFlow fast path
(tf_albert/model/fast_loop.py: the compiled loop and gradient checkpointing).

HF parity of every output (hidden states and attentions included, eager and XLA) is in test_parity.py;
here: the fast path gives the plain loop's outputs and gradients, the graph stays one block deep whatever
the depth, checkpointed gradients equal plain ones (also with dropout, whose masks the recomputation must
redraw identically), and the option's plumbing.
"""

import numpy as np
import pytest
import tensorflow as tf

import tf_albert
from tests.helpers import random_ids, tiny_config
from tf_albert.model import fast_loop
from tf_albert.model.encoder import AlbertEncoder
from tf_albert.model.layers import attention_bias_from_mask


def _op_count(fn, *args):
    """Ops in the traced graph, its function library (loop bodies) included."""
    graph_def = fn.get_concrete_function(*args).graph.as_graph_def()
    return len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


def test_graph_does_not_grow_with_depth():
    ids = tf.constant(random_ids((2, 8)))
    counts = {}
    for layers in (2, 12):
        model = tf_albert.AlbertModel(tiny_config(num_hidden_layers=layers))
        model.build()
        counts[layers] = _op_count(tf.function(lambda x, m=model: m(x)["last_hidden_state"]), ids)
    assert counts[2] == counts[12], counts


def _encoder_step(encoder, x, attention_bias, jit, collect):
    """Outputs of one traced training-mode call and the gradients (input and every weight) of a loss on
    all of them: the last hidden state, and with `collect` every hidden state and attention map."""
    variables = encoder.trainable_variables

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            last, hidden, attentions = encoder(x, attention_bias, output_hidden_states=collect,
                                               output_attentions=collect, training=True)
            loss = tf.reduce_mean(last * tf.cos(last))
            outputs = {"last": last}
            if collect:
                loss += tf.add_n([tf.reduce_mean(tf.sin(h)) for h in hidden])
                loss += tf.add_n([tf.reduce_mean(a * a) for a in attentions])
                outputs.update(hidden=hidden, attentions=attentions)
        return outputs, tape.gradient(loss, [x] + variables)

    outputs, grads = step(x)
    return tf.nest.map_structure(lambda t: t.numpy(), outputs), [g.numpy() for g in grads]


def _spy(monkeypatch, name):
    """Counts the calls of fast_loop.`name` (which still runs)."""
    calls = []
    original = getattr(fast_loop, name)

    def counted(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(fast_loop, name, counted)
    return calls


def _assert_all_close(got, want):
    assert tf.nest.map_structure(np.shape, got) == tf.nest.map_structure(np.shape, want)
    for g, w in zip(tf.nest.flatten(got), tf.nest.flatten(want)):
        np.testing.assert_allclose(g, w, atol=1e-6, rtol=0)


# The default sharing (one block) and 2 groups of 2 inner blocks, traced without and with XLA.
@pytest.mark.parametrize("groups, jit", [(1, False), (1, True), (2, False),
                                         pytest.param(2, True, marks=pytest.mark.slow)])
def test_fast_path_equals_the_plain_loop(groups, jit, monkeypatch):
    config = tiny_config(num_hidden_layers=4, num_hidden_groups=groups, inner_group_num=groups)
    encoder = AlbertEncoder(config)
    encoder.build()
    assert len(encoder.blocks) == groups * groups
    x = tf.random.stateless_normal((2, 6, config.hidden_size), seed=(3, 4))
    bias = attention_bias_from_mask(np.array([[1] * 6, [1] * 4 + [0] * 2]))

    with monkeypatch.context() as m:
        m.setattr(fast_loop, "compiled_loop_applies", lambda *args: False)
        plain = _encoder_step(encoder, x, bias, jit, collect=True)
        plain_last_only = _encoder_step(encoder, x, bias, jit, collect=False)
    compiled_calls = _spy(monkeypatch, "compiled_layers")
    checkpointed_calls = _spy(monkeypatch, "checkpointed_layers")

    compiled = _encoder_step(encoder, x, bias, jit, collect=True)
    assert len(compiled_calls) == 1
    assert len(plain[0]["hidden"]) == len(plain[0]["attentions"]) + 1 == 4 * groups + 1
    _assert_all_close(compiled, plain)

    encoder.gradient_checkpointing = True
    checkpointed = _encoder_step(encoder, x, bias, jit, collect=False)
    assert len(checkpointed_calls) == 1
    _assert_all_close(checkpointed, plain_last_only)
    assert max(float(np.abs(g).max()) for g in checkpointed[1]) > 0


def test_when_the_compiled_loop_runs(monkeypatch):
    """Where it cannot or need not run, the encoder runs its plain loop: one layer per group (nothing to
    loop), and XLA on a shape unknown at trace time (the loop's gradient would not compile)."""
    calls = _spy(monkeypatch, "compiled_layers")
    x = np.zeros((2, 5, 16), "float32")

    def traced(encoder, jit, shape):
        fn = tf.function(lambda h: encoder(h)[0], jit_compile=jit,
                         input_signature=[tf.TensorSpec(shape, "float32")])
        return fn(x)

    looped = AlbertEncoder(tiny_config(num_hidden_layers=2))
    one_per_group = AlbertEncoder(tiny_config(num_hidden_layers=2, num_hidden_groups=2))
    runs = {
        "static shape": (looped, True, (2, 5, 16)),
        "dynamic shape, no XLA": (looped, False, (None, None, 16)),
        "dynamic shape, XLA": (looped, True, (None, None, 16)),
        "one layer per group": (one_per_group, False, (2, 5, 16)),
    }
    used = {}
    for name, (encoder, jit, shape) in runs.items():
        before = len(calls)
        traced(encoder, jit, shape)
        used[name] = len(calls) > before
    assert used == {"static shape": True, "dynamic shape, no XLA": True, "dynamic shape, XLA": False,
                    "one layer per group": False}


def _grads(model, ids, labels, jit):
    @tf.function(jit_compile=jit)
    def step(ids, labels):
        with tf.GradientTape() as tape:
            loss = model(ids, labels=labels, training=True)["loss"]
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, grads = step(ids, labels)
    return float(loss), [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("groups, jit", [(1, False), (1, True), (2, False),
                                         pytest.param(2, True, marks=pytest.mark.slow)])
def test_checkpointed_gradients_equal_plain_ones(groups, jit):
    config = tiny_config(num_hidden_layers=4, num_hidden_groups=groups, inner_group_num=groups, num_labels=3,
                         classifier_dropout_prob=0.0)
    model = tf_albert.AlbertForSequenceClassification(config)
    model.build()
    ids = tf.constant(random_ids((2, 8)))
    labels = tf.constant([0, 2])
    plain_loss, plain = _grads(model, ids, labels, jit)
    model.albert.encoder.gradient_checkpointing = True
    loss, grads = _grads(model, ids, labels, jit)
    assert loss == pytest.approx(plain_loss, abs=1e-6)
    assert len(grads) == len(plain) == len(model.trainable_variables)
    for g, p, v in zip(grads, plain, model.trainable_variables):
        np.testing.assert_allclose(g, p, atol=1e-6, err_msg=v.path)
    assert max(float(np.abs(g).max()) for g in grads) > 0


def test_recomputation_redraws_the_same_dropout_masks():
    config = tiny_config(num_hidden_layers=3, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    encoder = AlbertEncoder(config)
    encoder.build()
    group = encoder.albert_layer_groups[0]
    seeds = [tf.constant([11, 5], "int64")]
    layer = fast_loop._layer(group, None, training=True, seeds=seeds)
    x = tf.random.stateless_normal((2, 6, config.hidden_size), seed=(1, 2))
    variables = encoder.trainable_variables

    def loss_of(h):
        return tf.reduce_sum(h * tf.cos(h))

    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for i in range(3):
            h = layer(h, tf.constant(i))[0]
        reference = loss_of(h)
    want = tape.gradient(reference, [x] + variables)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = loss_of(fast_loop._checkpointed_repeat(layer, 3, x))
    got = tape.gradient(loss, [x] + variables)
    assert float(loss) == pytest.approx(float(reference), rel=1e-6)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)
    # The masks are real: a different seed gives a different output.
    other = fast_loop._layer(group, None, training=True, seeds=[tf.constant([12, 5], "int64")])
    assert not np.allclose(other(x, tf.constant(0))[0], layer(x, tf.constant(0))[0])


def test_checkpointing_with_dropout_trains_in_fit():
    config = tiny_config(num_hidden_layers=3, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                         num_labels=2)
    model = tf_albert.AlbertForSequenceClassification(config)
    model.build()
    model.albert.encoder.gradient_checkpointing = True
    model.compile(optimizer="adam")
    before = [v.numpy().copy() for v in model.albert.encoder.trainable_variables]
    history = model.fit(random_ids((4, 8)), np.array([0, 1, 1, 0]), epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    kernels = [(b, v) for b, v in zip(before, model.albert.encoder.trainable_variables) if "kernel" in v.path]
    assert kernels and all(not np.allclose(b, v.numpy()) for b, v in kernels)


def test_option_is_serialised_and_rejects_per_layer_outputs():
    encoder = AlbertEncoder(tiny_config(), gradient_checkpointing=True)
    assert encoder.get_config()["gradient_checkpointing"] is True
    assert AlbertEncoder.from_config(encoder.get_config()).gradient_checkpointing is True
    x = np.zeros((1, 4, 16), "float32")
    with pytest.raises(ValueError, match="gradient checkpointing"):
        encoder(x, output_hidden_states=True, training=True)
    # Inference ignores the option.
    assert len(encoder(x, output_hidden_states=True)[1]) == 4


def test_collected_outputs_in_mixed_precision():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    model = tf_albert.AlbertModel(tiny_config(num_hidden_layers=3))
    out = tf.function(lambda x: model(x, output_hidden_states=True, output_attentions=True))(
        tf.constant(random_ids((2, 5))))
    assert [h.dtype for h in out["hidden_states"]] == [tf.float16] * 4
    assert [a.dtype for a in out["attentions"]] == [tf.float32] * 3
    np.testing.assert_allclose(np.sum(out["attentions"][2].numpy(), -1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out["hidden_states"][-1].numpy(), out["last_hidden_state"].numpy())
