"""Raw text in `fit` / `evaluate` / `predict` (tf_albert/model/text_inputs.py) on the model's tokenizer.

`toy_texts` is also used by tests/backends/backend_suite.py (JAX and PyTorch): keep this module importable
without TensorFlow.
"""

import os

import keras
import numpy as np
import pytest

import tf_albert
from tests.helpers import SPM, tiny_config
from tf_albert.model import text_inputs

# Whole pieces of the fixture tokenizer (tests/fixtures/tokenizer: a vocabulary of Python documentation).
POSITIVE = ("true", "valid", "positive", "supported", "available", "found", "created", "passed")
NEGATIVE = ("false", "none", "empty", "raise", "errors", "exception", "remove", "stop")
FILLER = ("the", "and", "for", "this", "with", "file", "that", "are", "object", "from", "string", "list",
          "value", "data", "name", "line", "method", "type")
LABELS = {0: "negative", 1: "positive"}


def toy_texts(n, seed, words=(3, 12)):
    """A toy task on raw text: are the words of a text mostly from POSITIVE (label "positive") or from NEGATIVE
    ("negative")? A text has `words` words (a range), each of its label's list or, one in three, FILLER."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    texts = []
    for label in labels:
        own = POSITIVE if label else NEGATIVE
        chosen = [rng.choice(FILLER) if rng.random() < 1 / 3 else rng.choice(own)
                  for _ in range(rng.integers(*words))]
        chosen[rng.integers(len(chosen))] = rng.choice(own)  # one of its label's words at least
        texts.append(" ".join(chosen))
    return texts, [LABELS[int(label)] for label in labels]


def text_classifier(tokenizer=None, **overrides):
    tokenizer = tokenizer or tf_albert.AlbertTokenizer(SPM)
    overrides = {"vocab_size": tokenizer.vocab_size, "max_position_embeddings": 64, "id2label": LABELS,
                 **overrides}
    config = tiny_config(**overrides)
    return tf_albert.AlbertForSequenceClassification(config, tokenizer=tokenizer)


@pytest.fixture(scope="module")
def tokenizer():
    return tf_albert.AlbertTokenizer(SPM)


def _by_hand(model, tokenizer, texts, pairs=None):
    """Each text alone through the model, tokenized by hand (no padding): the reference outputs."""
    rows = []
    for i, text in enumerate(texts):
        kwargs = {} if pairs is None else {"text_pair": [pairs[i]]}
        encoded = tokenizer([text], return_tensors="np", **kwargs)
        rows.append(keras.ops.convert_to_numpy(model(dict(encoded))["logits"])[0])
    return np.stack(rows)


def test_fit_on_text_learns_a_toy_task_with_label_names():
    keras.utils.set_random_seed(0)
    model = text_classifier()
    model.compile(optimizer=keras.optimizers.Adam(5e-3), metrics=["accuracy"], jit_compile=False)
    texts, names = toy_texts(288, seed=1)
    held_out, held_out_names = toy_texts(200, seed=2)
    history = model.fit(texts, names, batch_size=32, epochs=6, validation_split=1 / 9, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert "val_loss" in history.history  # validation_split: the last 32 texts, batched alike
    logits = model.predict(held_out, batch_size=64)["logits"]
    accuracy = float(np.mean(logits.argmax(-1) == [n == "positive" for n in held_out_names]))
    print(f"\nheld-out raw-text toy-task accuracy on tensorflow: {accuracy:.3f} ({len(held_out)} texts)")
    assert accuracy >= 0.9
    metrics = model.evaluate(held_out, held_out_names, batch_size=64, verbose=0, return_dict=True)
    assert metrics["accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_labels_by_name_by_id_multi_label_and_regression(tokenizer):
    model = text_classifier(tokenizer)
    np.testing.assert_array_equal(text_inputs.labels(model, ["positive", "negative", 1], 3), [1, 0, 1])
    np.testing.assert_array_equal(text_inputs.labels(model, np.array(["negative", "positive"]), 2), [0, 1])
    assert text_inputs.labels(model, [1, 0], 2).dtype == np.int32
    hot = text_inputs.labels(model, [["positive", "negative"], [], ("negative",)], 3)
    np.testing.assert_array_equal(hot, [[1, 1], [0, 0], [1, 0]])  # names per row: multi-hot, float
    assert hot.dtype == np.float32
    regression = text_classifier(tokenizer, num_labels=1, id2label=None)
    assert text_inputs.labels(regression, [1, 2.5], 2).dtype == np.float32
    with pytest.raises(ValueError, match="y has 1 labels but x has 2 texts"):
        text_inputs.labels(model, ["positive"], 2)


def test_unknown_label_name_names_the_value_and_the_known_labels():
    model = text_classifier()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"label 'postive' \(row 1\) is not in config.label2id \(or id2label\); "
                                         r"the known labels are \['negative', 'positive'\]"):
        model.fit(["a list", "a value"], ["negative", "postive"], verbose=0)


def test_model_without_tokenizer_says_how_to_attach_one():
    model = tf_albert.AlbertForSequenceClassification(tiny_config())
    for call in (lambda: model.predict(["a list"]), lambda: model.evaluate(["a list"], [0]),
                 lambda: model.fit(["a list"], [0])):
        with pytest.raises(ValueError, match=r"has no tokenizer: attach one with `model.tokenizer = "
                                             r"tf_albert.AlbertTokenizer.from_pretrained\(.*from_pretrained"):
            call()


def test_predict_gives_outputs_in_input_order(tokenizer):
    keras.utils.set_random_seed(0)
    model = text_classifier(tokenizer)
    texts, _ = toy_texts(12, seed=3, words=(1, 24))  # lengths of 3 to about 30 tokens, in no order
    assert len({len(tokenizer.tokenize(t)) for t in texts}) > 6
    got = model.predict(texts, batch_size=3)["logits"]
    np.testing.assert_allclose(got, _by_hand(model, tokenizer, texts), atol=1e-5)
    # per-token outputs: each row as long as the longest, zero past its own tokens
    backbone = tf_albert.AlbertModel(model.config, tokenizer=tokenizer)
    hidden = backbone.predict(texts[:4], batch_size=2)["last_hidden_state"]
    for text, row in zip(texts[:4], hidden):
        ids = tokenizer([text], return_tensors="np")
        want = keras.ops.convert_to_numpy(backbone(dict(ids))["last_hidden_state"])[0]
        np.testing.assert_allclose(row[:len(want)], want, atol=1e-5)
        assert not row[len(want):].any()


def test_pairs_as_two_lists_or_as_rows(tokenizer):
    model = text_classifier(tokenizer)
    texts, pairs = ["return a list", "the value", "a string object from the file"], ["none", "true", "name"]
    want = _by_hand(model, tokenizer, texts, pairs)
    np.testing.assert_allclose(model.predict((texts, pairs))["logits"], want, atol=1e-5)
    np.testing.assert_allclose(model.predict(list(zip(texts, pairs)))["logits"], want, atol=1e-5)
    assert not np.allclose(model.predict(texts)["logits"], want, atol=1e-5)  # the pairs were used
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    before = model.evaluate((texts, pairs), [0, 1, 0], verbose=0)
    model.fit((texts * 8, pairs * 8), [0, 1, 0] * 8, batch_size=8, epochs=3, verbose=0,
              validation_data=((texts, pairs), [0, 1, 0]))
    assert model.evaluate((texts, pairs), [0, 1, 0], verbose=0) < before
    with pytest.raises(ValueError, match="got 3 texts and 2 text_pairs"):
        model.predict((texts, pairs[:2]))


def test_batches_follow_the_shape_policy(tokenizer):
    model = text_classifier(tokenizer)
    texts, names = toy_texts(100, seed=4, words=(1, 30))
    rows = text_inputs.tokenize(model, texts)
    targets = text_inputs.labels(model, names, len(texts))
    model.compile(optimizer="adam", jit_compile=False)
    batches = text_inputs.TextBatches(model, rows, targets, batch_size=16, shuffle=True, seed=0)
    epochs = []
    for _ in range(2):
        batches.on_epoch_begin()
        seen, epoch = [], []
        for i in range(len(batches)):
            x, y = batches[i]
            index, length = batches.batches[i]
            assert x["input_ids"].shape == (len(index), length) and length % 8 == 0
            assert max(len(rows["input_ids"][r]) for r in index) > length - 8  # padded to its longest row
            np.testing.assert_array_equal(y, targets[index])
            seen += index.tolist()
            epoch.append(index.tolist())
        assert sorted(seen) == list(range(100))  # every row once per epoch
        assert sum(len(b) < 16 for b in epoch) <= 1  # one short batch at most
        epochs.append(epoch)
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    model.compile(optimizer="adam", jit_compile=True)  # XLA: the few lengths that pad these rows least
    compiled = text_inputs.TextBatches(model, rows, targets, batch_size=16, shuffle=True, seed=0)
    assert len({batch[0]["input_ids"].shape for batch in compiled}) <= 6


def test_token_classification_takes_text_in_predict_only(tokenizer):
    config = tiny_config(vocab_size=tokenizer.vocab_size, num_labels=3)
    model = tf_albert.AlbertForTokenClassification(config, tokenizer=tokenizer)
    logits = model.predict(["return a list", "a value"])["logits"]
    assert logits.shape == (2, len(tokenizer("return a list")["input_ids"]), 3)
    model.compile(optimizer="adam")
    with pytest.raises(NotImplementedError, match="takes raw text in predict only.*tokenize first"):
        model.fit(["return a list"], [0])
    choice = tf_albert.AlbertForMultipleChoice(config, tokenizer=tokenizer)
    with pytest.raises(NotImplementedError, match=r"tokenize each \(context, choice\) pair"):
        choice.predict(["return a list"])


def test_tokenizer_must_be_called_like_hf():
    model = tf_albert.AlbertModel(tiny_config())
    with pytest.raises(TypeError, match="tokenizer must be a Python tokenizer called like Hugging Face's"):
        model.tokenizer = "spiece.model"
    with pytest.raises(TypeError, match="got one string"):
        text_inputs.split_text("one text")


def test_from_pretrained_attaches_the_folders_tokenizer_and_keras_files_leave_it_out(tokenizer, tmp_path):
    model = text_classifier(tokenizer)
    model.save_pretrained(tmp_path / "with", tokenizer=tokenizer)
    model.save_pretrained(tmp_path / "without")
    loaded = tf_albert.AlbertForSequenceClassification.from_pretrained(tmp_path / "with")
    assert loaded.tokenizer is not None
    assert loaded.tokenizer("a value")["input_ids"] == tokenizer("a value")["input_ids"]
    np.testing.assert_allclose(loaded.predict(["a value"])["logits"], model.predict(["a value"])["logits"],
                               atol=1e-6)
    assert tf_albert.AlbertForSequenceClassification.from_pretrained(tmp_path / "without").tokenizer is None
    assert tf_albert.AlbertForSequenceClassification.from_pretrained(tmp_path / "with",
                                                                     tokenizer=False).tokenizer is None
    assert "tokenizer" not in model.get_config()
    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    assert again.tokenizer is None and not any("tokenizer" in w.path for w in again.weights)
    again.tokenizer = tokenizer
    np.testing.assert_allclose(again.predict(["a value"])["logits"], model.predict(["a value"])["logits"],
                               atol=1e-6)
    assert sorted(os.listdir(tmp_path / "with")) != sorted(os.listdir(tmp_path / "without"))
