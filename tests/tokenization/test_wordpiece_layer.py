"""In-graph WordPiece (AlbertWordPieceLayer) against HF's BertTokenizer ids on the hard-string corpus
(tests/fixtures/formats/wordpiece, tools/make_format_fixtures.py hf5)."""

import os

import numpy as np
import pytest

from tests.helpers import format_ids, materialize_format, tokenizer_corpus

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_text")
from tf_albert.tokenization import AlbertWordPieceTokenizer  # noqa: E402 (after the importorskip)
from tf_albert.tokenization.wordpiece_layer import AlbertWordPieceLayer  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return materialize_format("wordpiece", str(tmp_path_factory.mktemp("wp") / "wordpiece"))


def _rows(out):
    return [
        row[: m.sum()].tolist() for row, m in zip(out["input_ids"].numpy(), out["attention_mask"].numpy())
    ]


def test_layer_ids_equal_hf_bert_tokenizer(folder):
    layer = AlbertWordPieceLayer.from_pretrained(folder)
    ref, texts = format_ids()["wordpiece"], tokenizer_corpus()
    singles = _rows(layer(tf.constant(texts["singles"])))
    assert (sum(a == b for a, b in zip(singles, ref["ids"])), len(singles)) == (165, 165)
    a, b = zip(*texts["pairs"])
    out = layer(tf.constant(a), tf.constant(b))
    same = [x == y for x, y in zip(_rows(out), ref["pair_ids"])]
    # the one difference: HF's fast tokenizers read tok("", "") as no pair ([CLS] [SEP]); a batch keeps both
    assert sum(same) == 10 and texts["pairs"][same.index(False)] == ("", "")


def test_layer_truncates_and_serialises_like_the_python_tokenizer(folder):
    tok = AlbertWordPieceTokenizer.from_pretrained(folder)
    layer = AlbertWordPieceLayer.from_tokenizer(tok, sequence_length=12)
    texts = ["The Quick Brown Fox Jumps Over The Lazy Dog.", "東京 1,000,000 café"]
    pairs = ["a second, longer text with words", "x"]
    out = layer(tf.constant(texts), tf.constant(pairs))
    want = tok(texts, pairs, padding="max_length", truncation=True, max_length=12, return_tensors="np")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(out[key].numpy(), want[key])
    again = AlbertWordPieceLayer.from_config(layer.get_config())
    np.testing.assert_array_equal(
        again(tf.constant(texts))["input_ids"].numpy(), layer(tf.constant(texts))["input_ids"].numpy()
    )
    scalar = layer(tf.constant(texts[0]))["input_ids"]
    assert scalar.shape == (12,)


def test_layer_errors_name_the_problem(folder):
    with pytest.raises(ValueError, match="sequence_length must be an int >= 2 or None, got 1"):
        AlbertWordPieceLayer.from_pretrained(folder, sequence_length=1)
    with pytest.raises(TypeError, match="tokenizer must be an AlbertWordPieceTokenizer"):
        AlbertWordPieceLayer.from_tokenizer("vocab.txt")
    with pytest.raises(ValueError, match="needs one of vocab_file"):
        AlbertWordPieceTokenizer()
    assert os.path.isfile(os.path.join(folder, "vocab.txt"))
