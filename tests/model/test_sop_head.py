"""The sentence-order head is sized by `num_labels`, as HF's `AlbertSOPHead`.

Fixture: tests/fixtures/formats/sop3 is transformers 5's `AlbertForPreTraining` with num_labels=3 (seeded
weights, tools/make_format_fixtures.py hf5); hf5.npz holds its `prediction_logits` and `sop_logits` on the
checkpoint fixture's inputs.
"""

import os

import numpy as np
import pytest

import tf_albert
from tests.helpers import FORMATS, expected, format_outputs

TOL = 1e-5


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def test_sop_head_with_three_labels_matches_hf():
    x, _ = expected()
    want = format_outputs("hf5")
    model = tf_albert.AlbertForPreTraining.from_pretrained(os.path.join(FORMATS, "sop3"))
    assert model.config.num_labels == 3 and model.loading_info.clean
    feed = {k: x[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    sop = np.array([2, 0])
    out = model(**feed, labels=x["mlm_labels"], sentence_order_label=sop)
    assert tuple(out["sop_logits"].shape) == (2, 3)
    for key in ("prediction_logits", "sop_logits"):
        diff = float(np.max(np.abs(np.asarray(out[key], np.float64) - want[f"sop3/{key}"])))
        assert diff <= TOL, (key, diff)
    # HF's loss reshapes sop logits to [-1, 2] (it breaks for num_labels != 2); ours is the 3-way
    # cross-entropy
    mlm_lp, sop_lp = _log_softmax(want["sop3/prediction_logits"]), _log_softmax(want["sop3/sop_logits"])
    rows, cols = np.nonzero(x["mlm_labels"] != -100)
    mlm = -mlm_lp[rows, cols, x["mlm_labels"][rows, cols]].mean()
    loss = mlm - sop_lp[np.arange(2), sop].mean()
    assert abs(float(out["loss"]) - loss) <= 1e-5


def test_sop_label_range_follows_num_labels():
    config = tf_albert.AlbertConfig(
        vocab_size=30,
        embedding_size=4,
        hidden_size=8,
        num_attention_heads=2,
        intermediate_size=8,
        num_hidden_layers=1,
        num_labels=3,
    )
    model = tf_albert.AlbertForPreTraining(config)
    ids = np.array([[2, 7, 8, 3]])
    labels = np.array([[-100, 9, -100, -100]])
    assert tuple(model(ids)["sop_logits"].shape) == (1, 3)
    assert np.isfinite(float(model(ids, labels=labels, sentence_order_label=np.array([2]))["loss"]))
    with pytest.raises(ValueError, match="sentence_order_label.*3.*num_labels is 3"):
        model(ids, labels=labels, sentence_order_label=np.array([3]))
    two = tf_albert.AlbertForPreTraining(config.copy(num_labels=2))
    assert tuple(two(ids)["sop_logits"].shape) == (1, 2)
