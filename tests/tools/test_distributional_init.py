"""tools/distributional_init.py: PPMI, the randomized SVD and the unigram bias, on small exact cases."""

import numpy as np
import pytest

from tests.helpers import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("distributional_init")


def test_ppmi_matches_the_formula(tool):
    # pieces 0 and 1 always together, 2 with itself only
    counts = np.array([[0, 4, 0], [4, 0, 0], [0, 0, 2]], np.float64)
    context = counts.sum(0) ** 0.75 / (counts.sum(0) ** 0.75).sum()
    want = np.log(4 / 10) - np.log(4 / 10) - np.log(context[1])
    got = tool.ppmi(counts)
    assert got[0, 1] == pytest.approx(want, rel=1e-5)
    assert got[0, 0] == 0 and got[0, 2] == 0 and got.dtype == np.float32


def test_cooccurrence_counts_pairs_within_the_window_weighted_by_distance(tool):
    counts = tool.cooccurrence([np.array([0, 1, 2]), np.array([2, 2])], vocab_size=3, window=2)
    assert counts[0, 1] == counts[1, 0] == 1 and counts[0, 2] == counts[2, 0] == 0.5
    assert counts[2, 2] == 2  # (2, 2) once, at distance 1, counted both ways
    assert counts.sum() == 2 * (1 + 1 + 0.5 + 1)


def test_truncated_svd_recovers_a_low_rank_symmetric_matrix(tool):
    basis = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    matrix = basis @ basis.T
    vectors = tool.truncated_svd_embeddings(matrix, 3)
    assert vectors.shape == (40, 3)
    np.testing.assert_allclose(vectors @ vectors.T, matrix, atol=1e-3 * np.abs(matrix).max())


def test_unigram_log_probs_sum_to_one(tool):
    logp = tool.unigram_log_probs([np.array([0, 0, 1]), np.array([0])], vocab_size=4)
    assert np.exp(logp).sum() == pytest.approx(1, rel=1e-6)
    assert logp[0] > logp[1] > logp[2] == logp[3]
