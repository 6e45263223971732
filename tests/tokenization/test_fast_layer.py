"""AlbertFastTokenizerLayer: an HF tokenizer.json folder tokenized in-graph, against HF's fast tokenizer ids
(tests/fixtures/formats/tokenizers.json.gz, made by tools/make_format_fixtures.py) on the hard-string corpus."""

import json

import numpy as np
import pytest

from tests.helpers import format_ids, materialize_format, tiny_config, tokenizer_corpus

pytest.importorskip("tokenizers")
pytest.importorskip("tensorflow_text")
tf = pytest.importorskip("tensorflow")

from tf_albert.tokenization.fast import AlbertTokenizerFast
from tf_albert.tokenization.fast_layer import AlbertFastTokenizerLayer


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return AlbertTokenizerFast.from_pretrained(materialize_format("tokenizer_json", str(tmp_path_factory.mktemp("tj"))))


@pytest.fixture(scope="module")
def layer(tok):
    return AlbertFastTokenizerLayer.from_tokenizer(tok)


def _rows(out):
    return [[int(i) for i, m in zip(r, mask) if m] for r, mask in zip(out["input_ids"].numpy(),
                                                                      out["attention_mask"].numpy())]


def test_ids_equal_hf_fast_on_the_corpus(layer):
    ref, texts = format_ids()["tokenizer_json"], tokenizer_corpus()
    singles = _rows(layer(tf.constant(texts["singles"])))
    assert (sum(a == b for a, b in zip(singles, ref["ids"])), len(singles)) == (165, 165)
    a, b = zip(*texts["pairs"])
    out = layer(tf.constant(list(a)), tf.constant(list(b)))
    same = [x == y for x, y in zip(_rows(out), ref["pair_ids"])]
    # the one difference: HF's fast tokenizers read tok("", "") as no pair ([CLS] [SEP]); a batch keeps both
    assert sum(same) == 10 and texts["pairs"][same.index(False)] == ("", "")
    types = [[int(t) for t, m in zip(r, mask) if m] for r, mask in zip(out["token_type_ids"].numpy(),
                                                                        out["attention_mask"].numpy())]
    assert sum(x == y for x, y, s in zip(types, ref["pair_type_ids"], same) if s) == 10


def test_batches_truncation_and_round_trip_match_python(tok, layer):
    texts, pairs = ["What is ALBERT?", "1,000,000 [MASK].", "Café ``quoted''"], ["A lite BERT.", "word " * 20, ""]
    short = AlbertFastTokenizerLayer.from_config(AlbertFastTokenizerLayer.from_tokenizer(tok, sequence_length=12).get_config())
    want = tok(texts, pairs, truncation=True, max_length=12, padding="max_length")
    out = short(tf.constant(texts), tf.constant(pairs))
    assert out["input_ids"].shape == (3, 12)
    assert out["input_ids"].numpy().tolist() == want["input_ids"]
    assert out["token_type_ids"].numpy().tolist() == want["token_type_ids"]
    ds = tf.data.Dataset.from_tensor_slices((texts, pairs)).batch(2).map(short)
    assert np.concatenate([b["input_ids"].numpy() for b in ds]).tolist() == want["input_ids"]


def test_metaspace_only_and_lstrip_variants_match_the_library(tok):
    """The older transformers layout (Metaspace alone, no WhitespaceSplit) and an lstrip [MASK]."""
    spec = json.loads(tok._tk.to_str())
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                             "split": True}
    spec["normalizer"]["normalizers"].append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    for t in spec["added_tokens"]:
        t["lstrip"] = t["content"] == "[MASK]"
    variant = AlbertTokenizerFast(__import__("tokenizers").Tokenizer.from_str(json.dumps(spec)))
    texts = tokenizer_corpus()["singles"][:60] + ["a  [MASK] b ", "  x\t y  ", "(a)-b."]
    got = _rows(AlbertFastTokenizerLayer.from_tokenizer(variant)(tf.constant(texts)))
    assert sum(g == variant(t)["input_ids"] for g, t in zip(got, texts)) == len(texts)


def test_unsupported_tokenizer_json_is_refused(tok):
    spec = json.loads(tok._tk.to_str())
    spec["normalizer"]["normalizers"] = [n for n in spec["normalizer"]["normalizers"]
                                         if n["type"] not in ("NFKD", "StripAccents")]  # keep_accents
    kept = AlbertTokenizerFast(__import__("tokenizers").Tokenizer.from_str(json.dumps(spec)))
    with pytest.raises(ValueError, match="cannot reproduce this tokenizer.json: charsmap rule"):
        AlbertFastTokenizerLayer.from_tokenizer(kept)


def test_text_signature_of_an_export_gives_the_python_ids(tok, tmp_path):
    import tf_albert
    from tf_albert.export import export_saved_model

    model = tf_albert.AlbertModel(tiny_config(vocab_size=len(tok)))
    model(np.ones([1, 4], np.int32))
    path = export_saved_model(model, tmp_path / "m", tokenizer=tok, signatures=("ids", "text"))
    loaded = tf.saved_model.load(str(path))
    texts = ["Hello, world!", "Café 1,000 [MASK] 東京", "``quoted'' (x)"]
    out = loaded.signatures["serving_text"](text=tf.constant(texts))
    assert _rows(out) == [tok(t)["input_ids"] for t in texts]
