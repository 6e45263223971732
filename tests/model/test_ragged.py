"""`model.predict` / `model.evaluate` on ragged inputs (tf_albert/model/ragged.py): rows of different lengths,
sorted and padded by the shape policy, results in input order."""

import keras
import numpy as np
import pytest

from tests.helpers import random_ids, tiny_config
from tf_albert.model import ragged
from tf_albert.model.modeling import (
    AlbertForMultipleChoice,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
    AlbertModel,
)
from tf_albert.utils import shapes

LENGTHS = [5, 3, 17, 9, 30, 4, 12]


def _rows(lengths=LENGTHS, seed=0):
    return [[2] + random_ids((n - 2,), seed=seed + i).tolist() + [3] for i, n in enumerate(lengths)]


def test_predict_on_ragged_rows_equals_each_row_alone_in_input_order():
    model = AlbertModel(tiny_config())
    model.build()
    rows = _rows()
    out = model.predict(rows, batch_size=2)
    assert out["last_hidden_state"].shape == (len(rows), max(LENGTHS), 16)
    for i, row in enumerate(rows):
        alone = model(np.array([row]))
        want = alone["last_hidden_state"][0]
        np.testing.assert_allclose(out["last_hidden_state"][i, :len(row)], want, atol=1e-5)
        assert not out["last_hidden_state"][i, len(row):].any()  # zero past the row's own length
        np.testing.assert_allclose(out["pooler_output"][i], alone["pooler_output"][0], atol=1e-5)
    import tensorflow as tf

    again = model.predict(tf.ragged.constant(rows))["last_hidden_state"]
    np.testing.assert_allclose(again, out["last_hidden_state"], atol=1e-5)
    with pytest.raises(TypeError, match="rectangular nested list"):
        model(rows)  # a direct call still wants padded input


def test_ragged_batches_follow_the_shape_policy_under_xla():
    model = AlbertForSequenceClassification(tiny_config())
    model.build()
    model.compile(jit_compile=True)
    rows = ragged._inputs(model, {"input_ids": _rows()})
    seen = {batch["input_ids"].shape for _, batch, _ in ragged._batches(model, rows, 4)}
    ladder = shapes.lengths_for(32, compiled=True)
    assert all(length in ladder and n in (1, 2, 4) for n, length in seen)  # power-of-two rows, ladder lengths
    assert len(seen) < len(LENGTHS)


def test_evaluate_on_ragged_rows_equals_evaluate_on_padded_arrays():
    keras.utils.set_random_seed(0)
    model = AlbertForSequenceClassification(tiny_config(num_labels=3))
    model.build()
    model.compile(jit_compile=False)
    rows, labels = _rows(), np.array([0, 1, 2, 0, 1, 2, 0])
    padded = np.zeros((len(rows), max(LENGTHS)), np.int32)
    for i, row in enumerate(rows):
        padded[i, :len(row)] = row
    mask = (padded != 0).astype(np.int32)
    want = model.evaluate({"input_ids": padded, "attention_mask": mask}, labels, batch_size=len(rows),
                          return_dict=True, verbose=0)
    got = model.evaluate(rows, labels, 3, return_dict=True, verbose=0)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)

    tagger = AlbertForTokenClassification(tiny_config(num_labels=2))
    tagger.build()
    tagger.compile(jit_compile=False)
    tags = [[i % 2] * len(row) for i, row in enumerate(rows)]  # one label per token: padded with -100
    result = tagger.evaluate(rows, tags, return_dict=True, verbose=0)
    assert np.isfinite(result["loss"]) and result["loss"] > 0


def test_multiple_choice_and_bad_ragged_input():
    model = AlbertForMultipleChoice(tiny_config())
    model.build()
    examples = [[[2, 7, 3], [2, 7, 8, 9, 3]], [[2, 7, 7, 7, 7, 7, 3], [2, 3]]]
    out = model.predict(examples)["logits"]
    for i, example in enumerate(examples):
        width = max(len(c) for c in example)
        ids = np.array([c + [0] * (width - len(c)) for c in example])[None]
        np.testing.assert_allclose(out[i], model(ids, attention_mask=(ids != 0).astype("int32"))["logits"][0],
                                   atol=1e-5)
    classifier = AlbertForSequenceClassification(tiny_config())
    with pytest.raises(ValueError, match="input_ids row 1 has 40 tokens; every row needs 1 to 32"):
        classifier.predict([[2, 3], [2] * 40])
    with pytest.raises(ValueError, match="attention_mask has 1 rows but input_ids has 2"):
        classifier.predict({"input_ids": [[2, 3], [2, 5, 3]], "attention_mask": [[1, 1]]})
