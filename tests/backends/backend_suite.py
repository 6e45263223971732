"""The model core on the Keras backend that runs: own-loss fit, evaluate/predict, checkpoints, `.keras` files,
mixed precision, gradient checkpointing, and the TensorFlow-only features' errors.

tests/backends/test_backends.py runs this file (and tests/model/test_parity.py) in a subprocess per backend,
with `KERAS_BACKEND=jax` (TensorFlow hidden) and `KERAS_BACKEND=torch`; the TensorFlow backend has its own
tests in tests/model/. The file is not named test_*.py, so the default run does not collect it itself.
"""

import os

import keras
import numpy as np
import pytest
from keras import ops

import tf_albert
from tests.helpers import SPM, own_loss_batch, random_ids, tiny_config
from tf_albert.utils.backends import BackendError

BACKEND = keras.backend.backend()
N, L = 8, 6
HEADS = ["AlbertForSequenceClassification", "AlbertForTokenClassification", "AlbertForMaskedLM",
         "AlbertForQuestionAnswering", "AlbertForPreTraining", "AlbertForMultipleChoice"]
MODELS = ["AlbertModel"] + HEADS
# torch.compile (PyTorch's jit_compile=True): one slow test below — it passes, but takes 5.5 min on 2 quiet CPU
# cores (dynamo recompiles Keras' layer calls up to its recompile limit, then runs them eagerly).
# JAX without XLA (op by op: ~14 s for the one head here) runs with `-m slow`: `tf-albert finetune` and the
# raw-text fit use XLA on JAX, and without it the same model code runs unjitted.
JIT = {"jax": [True, pytest.param(False, marks=pytest.mark.slow)], "torch": [False],
       "tensorflow": [True]}[BACKEND]


def _numpy(x):
    return ops.convert_to_numpy(x)


def _repeat(tree, times):
    if isinstance(tree, dict):
        return {k: _repeat(v, times) for k, v in tree.items()}
    return np.concatenate([tree] * times)


def _own_loss_fit(name, jit_compile):
    keras.utils.set_random_seed(0)
    model = getattr(tf_albert, name)(tiny_config(num_labels=3))
    x, y = own_loss_batch(name, np.random.default_rng(0), N, L)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=jit_compile)
    before = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)["loss"]
    direct = float(_numpy(model(**x, **model._labels_from_y(y))["loss"]))
    assert before == pytest.approx(direct, rel=1e-4)  # evaluate's loss is the model's own loss
    history = model.fit(_repeat(x, 15), _repeat(y, 15), batch_size=N, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before, (before, after)
    predicted = model.predict(x, batch_size=N, verbose=0)
    assert isinstance(predicted[model.main_output], np.ndarray) and len(predicted[model.main_output]) == N


@pytest.mark.parametrize("jit_compile", JIT)
@pytest.mark.parametrize("name", [name if name == "AlbertForSequenceClassification" else
                                  pytest.param(name, marks=pytest.mark.slow) for name in HEADS])
def test_fit_on_own_loss(name, jit_compile):
    """Every head (the other five with `-m slow`: the step code is shared, the losses are checked on every
    backend by the parity fixtures)."""
    _own_loss_fit(name, jit_compile)


def test_xla_step_compiles_the_update_once_and_matches_keras_whole_step():
    """JAX: the step split in two (tf_albert/model/split_step.py) gives Keras' whole-step numbers, with one
    gradient program per batch shape and one update program (AdamW, clipping, a schedule) in all."""
    if BACKEND != "jax":
        pytest.skip("the split step is JAX's")
    from tf_albert.training.optimization import create_optimizer

    batches = [({"input_ids": random_ids((4, length), seed=i), "attention_mask": np.ones((4, length), "int32")},
                np.arange(i, i + 4, dtype="int32") % 3) for i, length in enumerate((5, 9, 5, 9))]

    def trained(whole_step):
        keras.utils.set_random_seed(0)
        model = tf_albert.AlbertForSequenceClassification(tiny_config(num_labels=3))
        model.compile(optimizer=create_optimizer("adamw", 1e-2, num_train_steps=8, num_warmup_steps=2),
                      jit_compile=True)
        if whole_step:  # Keras' own JAX train function: one program per shape, update included
            keras.Model.make_train_function(model, force=True)
        losses = [model.train_on_batch(x, y) for x, y in batches]
        return model, losses

    split, split_losses = trained(whole_step=False)
    whole, whole_losses = trained(whole_step=True)
    assert not hasattr(whole.train_function, "gradients")
    np.testing.assert_allclose(split_losses, whole_losses, rtol=1e-5)
    for a, b in zip(split.trainable_variables, whole.trainable_variables):
        np.testing.assert_allclose(_numpy(a), _numpy(b), atol=1e-5, err_msg=a.path)
    programs = split.train_function
    assert (programs.gradients._cache_size(), programs.update._cache_size()) == (2, 1)  # 2 shapes, 4 steps
    keras.utils.set_random_seed(0)
    untrained = tf_albert.AlbertForSequenceClassification(tiny_config(num_labels=3))
    untrained.build()
    moved = max(float(np.abs(_numpy(a) - _numpy(b)).max())
                for a, b in zip(split.trainable_variables, untrained.trainable_variables))
    assert int(_numpy(split.optimizer.iterations)) == 4 and moved > 1e-3  # four real updates


@pytest.mark.slow
def test_fit_with_torch_compile():
    if BACKEND != "torch":
        pytest.skip("PyTorch's jit_compile")
    _own_loss_fit("AlbertForSequenceClassification", True)


def toy_task(n, seed):
    """A toy task to test on held-out data: is a sequence mostly made of ids from the upper half of the
    vocabulary (label 1) or from the lower half (label 0)? Up to 2 of its 7 tokens are from the other half."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    low, high = rng.integers(8, 53, size=(n, 8)), rng.integers(53, 99, size=(n, 8))
    own = np.where(labels[:, None] == 1, high, low)
    other = np.where(labels[:, None] == 1, low, high)
    noise = np.zeros((n, 8), bool)
    noise[np.arange(n)[:, None], rng.integers(1, 8, size=(n, 2))] = True
    ids = np.where(noise, other, own).astype("int32")
    ids[:, 0] = 2
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}, labels.astype("int32")


def test_toy_task_held_out_accuracy():
    keras.utils.set_random_seed(0)
    model = tf_albert.AlbertForSequenceClassification(tiny_config(num_labels=2))
    x, y = toy_task(256, seed=1)
    x_test, y_test = toy_task(256, seed=2)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=BACKEND != "torch")
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    logits = model.predict(x_test, batch_size=64, verbose=0)["logits"]
    accuracy = float(np.mean(logits.argmax(-1) == y_test))
    print(f"\nheld-out toy-task accuracy on {BACKEND}: {accuracy:.3f} ({len(y_test)} examples)")
    assert accuracy >= 0.95, accuracy


@pytest.mark.parametrize("name", MODELS)
def test_checkpoint_and_keras_file_round_trips(name, tmp_path):
    model = getattr(tf_albert, name)(tiny_config(num_labels=3))
    x, _ = own_loss_batch(name if name != "AlbertModel" else "AlbertForMaskedLM", np.random.default_rng(0))
    main = "last_hidden_state" if name == "AlbertModel" else model.main_output
    want = _numpy(model(x)[main])
    model.save_pretrained(tmp_path / "folder")
    assert {"config.json", "model.safetensors", "tf_model.h5"} <= set(os.listdir(tmp_path / "folder"))
    loaded = getattr(tf_albert, name).from_pretrained(tmp_path / "folder")
    np.testing.assert_allclose(_numpy(loaded(x)[main]), want, atol=1e-6)
    # tf_model.h5 alone (HF v4's TF layout) is read with h5py: no TensorFlow needed either
    os.remove(tmp_path / "folder" / "model.safetensors")
    from_h5 = getattr(tf_albert, name).from_pretrained(tmp_path / "folder")
    np.testing.assert_allclose(_numpy(from_h5(x)[main]), want, atol=1e-6)
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    assert type(again) is type(model)
    np.testing.assert_allclose(_numpy(again(x)[main]), want, atol=1e-6)


def test_python_tokenizer_feeds_the_model():
    tokenizer = tf_albert.AlbertTokenizer(SPM)
    texts = ["a useful library.", "a broken program, really."]
    batch = dict(tokenizer(texts, padding=True, return_tensors="np"))
    model = tf_albert.AlbertModel(tiny_config(vocab_size=tokenizer.vocab_size))
    out = model(batch)
    assert tuple(out["last_hidden_state"].shape) == batch["input_ids"].shape + (16,)


def test_mixed_bfloat16_forward_and_fit():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = tf_albert.AlbertForPreTraining(tiny_config())
    x, y = own_loss_batch("AlbertForPreTraining", np.random.default_rng(0))
    labels = model._labels_from_y(y)
    out = model(**x, **labels, output_attentions=True, output_hidden_states=True)
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.albert.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(out["hidden_states"][-1].dtype) == "bfloat16"
    # logits, softmax probabilities and the loss stay float32
    for key in ("prediction_logits", "loss"):
        assert keras.backend.standardize_dtype(out[key].dtype) == "float32", key
    assert keras.backend.standardize_dtype(out["attentions"][0].dtype) == "float32"
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=BACKEND != "torch")
    history = model.fit(_repeat(x, 10), _repeat(y, 10), batch_size=N, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = float(_numpy(model(**x, **labels)["loss"]))
    assert after < 0.8 * float(_numpy(out["loss"])), (float(_numpy(out["loss"])), after)


def _loss_and_grads(model, x, y):
    """(loss, gradients of the trainable variables) of one training-mode call, on JAX or PyTorch."""
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]  # includes the dropout seed states

        def loss(values):
            return model.stateless_call(values, frozen, x, labels=y, training=True)[0]["loss"]

        value, grads = jax.jit(jax.value_and_grad(loss))(trainable)  # jit: eager JAX compiles op by op
        return float(value), [np.asarray(g) for g in grads]
    import torch

    torch.manual_seed(0)
    model.zero_grad()
    loss = model(x, labels=y, training=True)["loss"]
    loss.backward()
    return float(loss.detach()), [v.value.grad.numpy().copy() for v in model.trainable_variables]


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_gradient_checkpointing_gives_the_same_gradients(dropout, monkeypatch):
    if BACKEND == "tensorflow":
        pytest.skip("TensorFlow's gradient checkpointing is tested in tests/model/test_encoder.py")
    model = tf_albert.AlbertForSequenceClassification(
        tiny_config(num_labels=3, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout))
    x = {"input_ids": random_ids((4, 6)), "attention_mask": np.ones((4, 6), "int32")}
    y = np.array([0, 1, 2, 0])
    model(x)
    if BACKEND == "jax" and dropout:
        # The plain loop draws other masks than the checkpointed one: compare against the checkpointed loop
        # without the recomputation (same seeds, same masks) instead.
        model.gradient_checkpointing_enable()
        monkeypatch.setattr(keras, "remat", lambda f: f)
    loss0, plain = _loss_and_grads(model, x, y)
    monkeypatch.undo()
    model.gradient_checkpointing_enable()
    loss1, checkpointed = _loss_and_grads(model, x, y)
    assert loss1 == pytest.approx(loss0, abs=1e-6)
    assert max(float(np.abs(a - b).max()) for a, b in zip(plain, checkpointed)) < 1e-6
    assert max(float(np.abs(g).max()) for g in plain) > 1e-3  # the gradients are not all zero
    if dropout:
        model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=BACKEND != "torch")
        history = model.fit(_repeat(x, 5), _repeat(y, 5), batch_size=4, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_gradient_checkpointing_is_really_used_on_jax():
    if BACKEND != "jax":
        pytest.skip("JAX: the recomputation shows in the traced program")
    import jax

    model = tf_albert.AlbertForSequenceClassification(tiny_config(num_labels=3))
    model.gradient_checkpointing_enable()
    x, y = {"input_ids": random_ids((2, 6))}, np.array([0, 1])
    model(x)
    frozen = [v.value for v in model.non_trainable_variables]

    def loss(values):
        return model.stateless_call(values, frozen, x, labels=y, training=True)[0]["loss"]

    program = str(jax.make_jaxpr(jax.grad(loss))([v.value for v in model.trainable_variables]))
    assert program.count("checkpoint") + program.count("remat") == 3  # one per layer (num_hidden_layers=3)


def test_tensorflow_only_features_name_the_backend(tmp_path):
    if BACKEND == "tensorflow":
        pytest.skip("they run on TensorFlow")
    model = tf_albert.AlbertForSequenceClassification(tiny_config())
    model.build()
    training = tf_albert.training  # datasets (PyDataset), optimizers, metrics work on every backend; tf.data not
    tokenizer = tf_albert.AlbertTokenizer(SPM)
    calls = {
        "model.export_saved_model": lambda: model.export_saved_model(str(tmp_path / "sm")),
        "tf_albert.export_saved_model": lambda: tf_albert.export_saved_model,
        "AlbertTokenizerLayer": lambda: tf_albert.AlbertTokenizerLayer,
        "tf.data": lambda: training.classification_dataset(tokenizer, ["a", "b"], [0, 1], batch_size=2,
                                                           feeder="tf.data"),
        "tf.distribute": lambda: training.get_strategy("mirrored"),
    }
    for call in calls.values():
        with pytest.raises(BackendError, match=f"the TensorFlow backend, but Keras runs on the {BACKEND} "):
            call()
    assert "AlbertTokenizerLayer" not in tf_albert.__all__ and "AlbertModel" in tf_albert.__all__


def test_pipeline_gives_the_tensorflow_answer():
    unmasker = tf_albert.pipeline("fill-mask", model="tf-albert-tiny")
    top = unmasker("Plants create [MASK] through a process known as photosynthesis.")[0]
    # the same on TensorFlow (tf-albert-tiny's top answer and score, tests run on TF: 0.0548)
    assert top["token_str"] == "the" and top["score"] == pytest.approx(0.0548, abs=1e-4)
    with pytest.raises(ValueError, match=f"with TensorFlow, but Keras runs on the {BACKEND} backend"):
        tf_albert.pipeline("fill-mask", model="tf-albert-tiny", device=0)


def _fused_attention_function():
    """(module, name) of the function keras.ops.dot_product_attention calls on this backend."""
    if BACKEND == "torch":
        import torch.nn.functional

        return torch.nn.functional, "scaled_dot_product_attention"
    import jax.nn

    return jax.nn, "dot_product_attention"


@pytest.mark.skipif(BACKEND == "tensorflow", reason="on TensorFlow keras.ops.dot_product_attention is plain ops")
def test_sdpa_calls_the_backends_fused_function(monkeypatch):
    """`attn_implementation="sdpa"` reaches torch's scaled_dot_product_attention / jax.nn.dot_product_attention
    once per block call; "eager" never does."""
    module, name = _fused_attention_function()
    real, calls = getattr(module, name), []

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    config = tiny_config()
    ids = random_ids((2, 6))
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2], "int32")
    for choice, expected in (("eager", 0), ("sdpa", config.num_hidden_layers)):
        calls.clear()
        model = tf_albert.AlbertModel(config, attn_implementation=choice)
        model(ids, attention_mask=mask)
        assert len(calls) == expected, (choice, calls)
    heads, dim = config.num_attention_heads, config.head_size
    # torch's function takes [batch, heads, seq, dim], JAX's [batch, seq, heads, dim]
    assert tuple(calls[0]) == ((2, heads, 6, dim) if BACKEND == "torch" else (2, 6, heads, dim))


def test_raw_text_fit_and_predict_held_out_accuracy():
    """Raw strings in `fit` and `predict` (the model's tokenizer, length-grouped batches as a PyDataset)."""
    from tests.model.test_text_inputs import text_classifier, toy_texts

    keras.utils.set_random_seed(0)
    model = text_classifier()
    model.compile(optimizer=keras.optimizers.Adam(5e-3), jit_compile=BACKEND != "torch")
    texts, names = toy_texts(256, seed=1)
    held_out, held_out_names = toy_texts(200, seed=2)
    model.fit(texts, names, batch_size=32, epochs=6, verbose=0)
    logits = model.predict(held_out, batch_size=256)["logits"]
    accuracy = float(np.mean(logits.argmax(-1) == [name == "positive" for name in held_out_names]))
    print(f"\nheld-out raw-text toy-task accuracy on {BACKEND}: {accuracy:.3f} ({len(held_out)} texts)")
    assert accuracy >= 0.9, accuracy


# === Fine-tuning data and resumable fit (tests/training/ has the TensorFlow side) ===
def test_training_datasets_are_py_datasets_of_the_same_batches_without_tensorflow():
    import sys

    from tf_albert.training.batches import BatchDataset

    tokenizer = tf_albert.AlbertTokenizer(SPM)
    texts = ["a useful library.", "a broken program, really.", "it reads files", "no"] * 5
    ds = tf_albert.training.classification_dataset(tokenizer, texts, [0, 1, 1, 0] * 5, batch_size=4,
                                                   shuffle=True, seed=1)
    assert isinstance(ds, BatchDataset) and ds.feeder == "py_dataset" and len(ds) == 5
    assert [ds[i][1].tolist() for i in range(5)] == [ds.batches.batch(rows)[1].tolist()
                                                     for rows in ds.batches.epoch(0)]
    if BACKEND != "tensorflow":
        assert "tensorflow" not in sys.modules  # import tf_albert.training and its datasets: no TensorFlow


class Stopped(Exception):
    """Raised by `_stop_at`'s callback."""


def _stop_at(epoch, batch):
    class Stop(keras.callbacks.Callback):
        """Stops training mid-epoch, as a kill would (the backup of the last finished epoch stays)."""

        def on_epoch_begin(self, e, logs=None):
            self.epoch = e

        def on_train_batch_end(self, b, logs=None):
            if self.epoch == epoch and b == batch:
                raise Stopped(f"epoch {epoch}, batch {batch}")

    return Stop()


def test_a_stopped_fit_resumes_with_the_losses_of_an_uninterrupted_one(tmp_path):
    """fit_resumable on this backend's feeder (a PyDataset): a run stopped mid-epoch 3 and restarted (a fresh
    model, as in a new process) ends with the uninterrupted run's losses, optimizer steps and weights."""
    from tf_albert.training.callbacks import fit_resumable
    from tf_albert.training.datasets import make_dataset
    from tf_albert.training.optimization import create_optimizer

    rng = np.random.default_rng(0)
    ids = [[2] + rng.integers(5, 99, int(k)).tolist() + [3] for k in rng.integers(4, 12, 32)]
    labels = [int(row[1] > 50) for row in ids]

    def run(backup, callbacks=()):
        keras.utils.set_random_seed(0)
        config = tiny_config(num_labels=2, classifier_dropout_prob=0.2)
        model = tf_albert.AlbertForSequenceClassification(config)
        model.compile(optimizer=create_optimizer("adamw", 1e-2, num_train_steps=16, num_warmup_steps=2),
                      jit_compile=BACKEND == "jax")
        ds = make_dataset({"input_ids": ids}, labels, batch_size=8, shuffle=True, seed=0)
        history = fit_resumable(model, ds, epochs=4, backup_dir=str(backup), verbose=0,
                                callbacks=[keras.callbacks.CSVLogger(str(backup) + ".csv", append=True),
                                           *callbacks])
        return model, history

    reference, ref_history = run(tmp_path / "a")
    with pytest.raises(Stopped):
        run(tmp_path / "b", [_stop_at(epoch=2, batch=1)])
    resumed, history = run(tmp_path / "b")
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"][2:], rtol=1e-5)
    logged = [line.split(",")[0] for line in open(str(tmp_path / "b") + ".csv").read().split()[1:]]
    assert logged == ["0", "1", "2", "3"]  # every epoch once
    assert int(_numpy(resumed.optimizer.iterations)) == int(_numpy(reference.optimizer.iterations)) == 16
    for a, b in zip(resumed.trainable_variables, reference.trainable_variables):
        np.testing.assert_allclose(_numpy(a), _numpy(b), atol=1e-5)


def test_finetune_strategy_other_than_default_names_the_backend(tmp_path, capsys):
    if BACKEND == "tensorflow":
        pytest.skip("tf.distribute runs on TensorFlow")
    from tf_albert.training import finetune_main

    train = tmp_path / "train.csv"
    train.write_text("text,label\na,0\nb,1\n")
    assert finetune_main(["--task", "classification", "--train", str(train), "--out", str(tmp_path / "run"),
                          "--strategy", "mirrored"]) == 2
    err = capsys.readouterr().err
    assert "strategy 'mirrored' is a tf.distribute strategy" in err
    assert f"runs on the {BACKEND} backend" in err
    assert "--strategy default" in err and not (tmp_path / "run").exists()
