"""tools/evaluate_english.py: the transfer split and the fill-mask measurement, on the embedded model."""

import os

import pytest

from tests.helpers import REPO, load_tool

TINY = os.path.join(REPO, "tf_albert", "pretrained", "tf-albert-tiny")


@pytest.fixture(scope="module")
def tool():
    return load_tool("evaluate_english")


def test_transfer_split_is_seeded_and_tests_only_unseen_words(tool):
    for seed in (0, 1):
        split = tool.split_words(seed)
        assert split == tool.split_words(seed)
        for name, (train, test) in split.items():
            assert not set(train) & set(test)
            assert sorted(train + test) == sorted(tool.CATEGORIES[name])
    assert tool.split_words(0) != tool.split_words(1)
    every = [w for words in tool.CATEGORIES.values() for w in words]
    assert len(every) == len(set(every))  # no word in two categories


def test_fill_mask_scores_the_cloze_set(tool):
    results = tool.fill_mask(TINY)
    assert len(results["seed"]) == 5 and len(results["cloze"]) == len(tool.CLOZE)
    hits = [hit for _, top, hit in results["cloze"]]
    assert results["hits_at_5"] == pytest.approx(sum(hits) / len(hits))
    for (sentence, top, hit), (_, fits) in zip(results["cloze"], tool.CLOZE):
        assert len(top) == 5 and hit == bool(set(top) & fits)
