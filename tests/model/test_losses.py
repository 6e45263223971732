"""The heads' losses against plain numpy definitions (HF's semantics; HF parity is in test_parity.py)."""

import numpy as np
import pytest

from tf_albert.model import losses


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _np_masked_ce(labels, logits, ignore=-100):
    lp = _log_softmax(logits.astype(np.float64))
    keep = labels != ignore
    picked = np.take_along_axis(lp, np.where(keep, labels, 0)[..., None], -1)[..., 0]
    return -(picked * keep).sum() / max(keep.sum(), 1)


rng = np.random.default_rng(0)


def test_masked_cross_entropy_ignores_minus_100():
    logits = rng.normal(size=(3, 5, 11)).astype("float32") * 3
    labels = rng.integers(0, 11, size=(3, 5))
    labels[0, :3] = -100
    labels[2, 4] = -100
    got = float(losses.masked_cross_entropy(labels, logits))
    assert got == pytest.approx(_np_masked_ce(labels, logits), rel=1e-5)


def test_all_ignored_gives_zero_not_nan():
    logits = rng.normal(size=(2, 4, 7)).astype("float32")
    assert float(losses.masked_cross_entropy(np.full((2, 4), -100), logits)) == 0.0
    start = np.array([9, 12])  # both outside a length-4 window → ignored
    assert float(losses.span_loss(start, start, logits[..., 0], logits[..., 1])) == 0.0


def test_sample_weight_weighs_examples():
    logits = rng.normal(size=(2, 3, 5)).astype("float32")
    labels = rng.integers(0, 5, size=(2, 3))
    only_first = float(losses.masked_cross_entropy(labels, logits, sample_weight=np.array([1.0, 0.0])))
    per_example = [_np_masked_ce(labels[i:i + 1], logits[i:i + 1]) for i in range(2)]
    assert only_first == pytest.approx(per_example[0] / 2, rel=1e-5)  # mean over the 6 counted tokens


def test_span_loss_clamps_and_ignores_like_hf():
    seq = 6
    start_logits = rng.normal(size=(3, seq)).astype("float32")
    end_logits = rng.normal(size=(3, seq)).astype("float32")
    start = np.array([2, 40, -3])   # 40 → clamped to 6 → ignored; -3 → clamped to 0 → counted
    end = np.array([4, 1, 5])
    got = float(losses.span_loss(start, end, start_logits, end_logits))
    s = _np_masked_ce(np.array([2, -100, 0]), start_logits)
    e = _np_masked_ce(end, end_logits)
    assert got == pytest.approx((s + e) / 2, rel=1e-5)


def test_sequence_classification_problem_types():
    logits = rng.normal(size=(4, 3)).astype("float32")
    int_labels = np.array([0, 2, 1, 1])
    assert losses.infer_problem_type(None, 3, "int32") == "single_label_classification"
    assert losses.infer_problem_type(None, 1, "float32") == "regression"
    assert losses.infer_problem_type(None, 3, "float32") == "multi_label_classification"
    assert losses.infer_problem_type("regression", 3, "int32") == "regression"

    ce = float(losses.sequence_classification_loss(int_labels, logits, "single_label_classification"))
    assert ce == pytest.approx(_np_masked_ce(int_labels, logits), rel=1e-5)

    targets = rng.integers(0, 2, size=(4, 3)).astype("float32")
    bce = float(losses.sequence_classification_loss(targets, logits, "multi_label_classification"))
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    want = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean()
    assert bce == pytest.approx(want, rel=1e-5)

    reg_logits = rng.normal(size=(4, 1)).astype("float32")
    y = rng.normal(size=(4,)).astype("float32")
    mse = float(losses.sequence_classification_loss(y, reg_logits, "regression"))
    assert mse == pytest.approx(((reg_logits[:, 0] - y) ** 2).mean(), rel=1e-5)


def test_large_logits_stay_finite_in_float32():
    logits = np.array([[1e4, -1e4, 0.0]], "float32")
    assert np.isfinite(float(losses.masked_cross_entropy(np.array([1]), logits)))
    bce = losses.sequence_classification_loss(np.array([[0.0, 1.0, 1.0]]), logits, "multi_label_classification")
    assert np.isfinite(float(bce))
