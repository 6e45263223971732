"""AlbertTokenizerLayer: the Python tokenizer's (so HF v4's) ids from TF ops, in tf.data and SavedModel."""

import gzip
import json
import os
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_text")

import keras

from tests.helpers import FIXTURE_TOKENIZER, REPO
from tf_albert.tokenization import AlbertTokenizer, char_tables
from tf_albert.tokenization import layer as tokenization_layer
from tf_albert.tokenization.layer import AlbertTokenizerLayer

FIXTURE_DIR = FIXTURE_TOKENIZER
with gzip.open(os.path.join(FIXTURE_DIR, "expected.json.gz"), "rt", encoding="utf-8") as _f:
    FX = json.load(_f)
CORPUS, LONG, V4 = FX["corpus"], FX["long_corpus"], FX["v4"]
SIGMA_SOURCES = char_tables(True, False)[2]


def refused(text: str) -> bool:
    """The documented case the layer refuses (with the default options): NFKD-made capital sigmas."""
    return any(c in SIGMA_SOURCES for c in text)


def rows(out) -> list[list[int]]:
    ids, mask = out["input_ids"].numpy(), out["attention_mask"].numpy()
    return [r[m == 1].tolist() for r, m in zip(ids, mask)]


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizer.from_pretrained(FIXTURE_DIR)


@pytest.fixture(scope="module")
def layer(tok):
    return AlbertTokenizerLayer.from_tokenizer(tok)


# === Reference ids ===
def test_corpus_matches_hf_v4(layer):
    texts = [s for s in CORPUS + LONG if not refused(s)]
    expected = [e for s, e in zip(CORPUS + LONG, V4["ids"] + V4["long_ids"]) if not refused(s)]
    assert len(texts) == len(CORPUS) + len(LONG) - 4
    got = rows(layer(tf.constant(texts)))
    assert [t for t, g, e in zip(texts, got, expected) if g != e] == []


def test_refused_strings_fail_loudly(layer):
    texts = [s for s in CORPUS if refused(s)]
    assert texts == ["\U0001d6ba", "A\U0001d6ba", "\U0001d6baA", "x\U0001d6ba y"]
    for text in texts:
        with pytest.raises(tf.errors.InvalidArgumentError, match="final-sigma"):
            layer(tf.constant([text]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="final-sigma"):
        layer(tf.constant(["fine"]), tf.constant(["A\U0001d6ba"]))
    # with keep_accents there is no NFKD, so nothing to refuse
    keep = AlbertTokenizerLayer.from_pretrained(FIXTURE_DIR, keep_accents=True)
    assert rows(keep(tf.constant(texts))) == V4["options"]["keep_accents"]["ids"][CORPUS.index(texts[0]) :][
        :1
    ] + [V4["options"]["keep_accents"]["ids"][CORPUS.index(t)] for t in texts[1:]]


@pytest.mark.parametrize("name", sorted(V4["options"]))
def test_options_match_hf_v4(name):
    option = V4["options"][name]
    layer = AlbertTokenizerLayer.from_pretrained(FIXTURE_DIR, **option["kwargs"])
    strings = CORPUS + (
        FX["extra_special_strings"] if "additional_special_tokens" in option["kwargs"] else []
    )
    check = not option["kwargs"].get("keep_accents") and option["kwargs"].get("do_lower_case", True)
    pairs = [(s, e) for s, e in zip(strings, option["ids"]) if not (check and refused(s))]
    got = rows(layer(tf.constant([s for s, _ in pairs])))
    assert [s for (s, e), g in zip(pairs, got) if g != e] == []


def test_pairs_truncation_and_padding_match_the_python_tokenizer(tok, layer):
    firsts, seconds = (
        [a for a, b in FX["pairs"] if not refused(b)],
        [b for a, b in FX["pairs"] if not refused(b)],
    )
    got = rows(layer(tf.constant(firsts), tf.constant(seconds)))
    assert got == tok(firsts, seconds)["input_ids"]
    for strategy in ("longest_first", "only_first", "only_second"):
        for length in (7, 12, 40):
            fixed = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=length, truncation=strategy)
            ok = []
            for a, b in zip(firsts, seconds):
                try:
                    ok.append(
                        (
                            a,
                            b,
                            tok(
                                a,
                                b,
                                truncation=strategy,
                                max_length=length,
                                padding="max_length",
                                return_tensors="np",
                            ),
                        )
                    )
                except ValueError:  # the Python tokenizer refuses: so must the layer
                    with pytest.raises(tf.errors.InvalidArgumentError, match="cannot truncate"):
                        fixed(tf.constant([a]), tf.constant([b]))
            out = fixed(tf.constant([a for a, _, _ in ok]), tf.constant([b for _, b, _ in ok]))
            assert out["input_ids"].shape[1] == length
            for k in ("input_ids", "token_type_ids", "attention_mask"):
                assert out[k].numpy().tolist() == [e[k][0].tolist() for _, _, e in ok], (strategy, length, k)


def test_hf_truncation_fixture_through_the_layer(tok):
    # the v4 truncation cases with static padding, straight from the fixture
    for (pair_index, kwargs), expected in zip(FX["truncation_cases"], V4["truncation"]):
        if kwargs["padding"] != "max_length" or len(expected["input_ids"]) > kwargs["max_length"]:
            continue
        layer = AlbertTokenizerLayer.from_tokenizer(
            tok, sequence_length=kwargs["max_length"], truncation=kwargs["truncation"]
        )
        a, b = FX["pairs"][pair_index]
        out = layer(tf.constant(a), tf.constant(b))
        assert out["input_ids"].numpy().tolist() == expected["input_ids"]
        assert out["token_type_ids"].numpy().tolist() == expected["token_type_ids"]


# === Shapes and calling conventions ===
def test_static_dynamic_scalar_and_plain_outputs(tok):
    static = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=10)
    out = static(tf.constant(["a", "word " * 30]))
    assert out["input_ids"].shape == (2, 10) and out["input_ids"].dtype == tf.int32
    assert sorted(out) == ["attention_mask", "input_ids", "token_type_ids"]
    single = static(tf.constant("a"))
    assert single["input_ids"].shape == (10,)
    assert single["input_ids"].numpy().tolist() == tok("a", padding="max_length", max_length=10)["input_ids"]
    longest = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=10, padding="longest")
    assert longest(tf.constant(["a", "b"]))["input_ids"].shape == (2, len(tok.encode("a")))
    assert longest(tf.constant(["a", "word " * 30]))["input_ids"].shape == (2, 10)
    dynamic = AlbertTokenizerLayer.from_tokenizer(tok)
    assert dynamic(["a", "b c"])["input_ids"].numpy().tolist() == tok(["a", "b c"], padding=True)["input_ids"]
    assert dynamic({"text": tf.constant(["a"]), "text_pair": tf.constant(["b"])})[
        "input_ids"
    ].numpy().tolist() == [tok.encode("a", "b")]
    assert dynamic((tf.constant(["a"]), tf.constant(["b"])))["token_type_ids"].numpy().tolist() == [
        tok("a", "b")["token_type_ids"]
    ]
    plain = AlbertTokenizerLayer.from_tokenizer(tok, add_special_tokens=False)
    assert rows(plain(tf.constant(["a b"]), tf.constant(["c"]))) == [
        tok("a b", "c", add_special_tokens=False)["input_ids"]
    ]


def test_tf_data_map_and_tf_function(tok):
    layer = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=12)
    texts, pairs = ["What is ALBERT?", "1,000,000 [MASK].", "Café"], ["A lite BERT.", "word " * 20, ""]
    expected = tok(texts, pairs, truncation=True, max_length=12, padding="max_length")["input_ids"]
    ds = tf.data.Dataset.from_tensor_slices((texts, pairs)).batch(2).map(layer)
    assert [r for b in ds for r in b["input_ids"].numpy().tolist()] == expected
    ds = tf.data.Dataset.from_tensor_slices(texts).map(layer)
    assert [b["input_ids"].shape for b in ds] == [(12,)] * 3
    fn = tf.function(lambda x, y: layer(x, y), input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    assert fn(tf.constant(texts), tf.constant(pairs))["input_ids"].numpy().tolist() == expected


def test_layer_survives_set_random_seed(tok):
    """keras.utils.set_random_seed clears TensorFlow's eager kernel cache; a SentencePiece resource made
    eagerly lived there, and every call after the seed failed with 'SentencepieceResource does not exist'."""
    layer = AlbertTokenizerLayer.from_tokenizer(tok)
    texts = ["Hello, [MASK]!", "1,000,000 cafés"]
    expected = tok(texts)["input_ids"]
    assert rows(layer(tf.constant(texts))) == expected
    keras.utils.set_random_seed(0)
    assert rows(layer(tf.constant(texts))) == expected
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(layer)
    assert [r for b in ds for r in rows(b)] == expected


def test_saved_model_round_trip(tmp_path, tok):
    layer = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=16)
    module = tf.Module()
    module.tokenizer = layer
    module.serve = tf.function(lambda text: layer(text), input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    texts = ["Hello, [MASK]!", "1,000,000 cafés", ""]
    out = loaded.serve(tf.constant(texts))
    assert (
        out["input_ids"].numpy().tolist()
        == tok(texts, padding="max_length", max_length=16, truncation=True)["input_ids"]
    )


def test_config_and_keras_file_round_trip(tmp_path, tok):
    layer = AlbertTokenizerLayer.from_tokenizer(
        tok, sequence_length=9, truncation="only_first", additional_special_tokens=["<ent>"]
    )
    config = layer.get_config()
    json.dumps(config)  # JSON-serialisable: the model travels as base64 text
    clone = AlbertTokenizerLayer.from_config(config)
    assert clone.get_config() == config
    texts = tf.constant(["Hello <ent> 9,", "x"])
    assert clone(texts)["input_ids"].numpy().tolist() == layer(texts)["input_ids"].numpy().tolist()
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, layer(text))
    model.save(str(tmp_path / "tok.keras"))
    reloaded = keras.models.load_model(str(tmp_path / "tok.keras"))
    assert reloaded(texts)["input_ids"].numpy().tolist() == layer(texts)["input_ids"].numpy().tolist()


def test_docstring_example_runs(monkeypatch):
    import doctest

    monkeypatch.chdir(REPO)
    result = doctest.testmod(tokenization_layer, extraglobs={"tf": tf})
    assert result.attempted >= 3 and result.failed == 0


def test_digit_comma_table_is_the_python_rule(tok, layer):
    encoder = layer._text_encoder
    values, splits = encoder._digit_comma_values.numpy(), encoder._digit_comma_splits.numpy()
    table = [row.tolist() for row in np.split(values, splits[1:-1])]
    assert len(table) == tok.vocab_size and sorted(tok._digit_comma_ids)
    assert [i for i, row in enumerate(table) if row != [i]] == sorted(tok._digit_comma_ids)
    for i in tok._digit_comma_ids:
        assert table[i] == tok.convert_tokens_to_ids(tok._split_digit_comma(tok.convert_ids_to_tokens(i)))
    text = "1,000,000 and 9, x5,"
    assert rows(layer(tf.constant([text]))) == [tok(text)["input_ids"]]


def test_unigram_docstring_example_runs(monkeypatch):
    import doctest

    from tf_albert.tokenization import unigram

    monkeypatch.chdir(REPO)
    result = doctest.testmod(unigram, extraglobs={"tf": tf})
    assert result.attempted >= 5 and result.failed == 0


# === Errors ===
def test_bad_inputs_and_arguments(tok, layer):
    with pytest.raises(TypeError, match="int32"):
        layer(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="must be strings"):
        layer([1.5, object()])
    with pytest.raises(ValueError, match="shape"):
        layer(tf.constant([["a"]]))
    with pytest.raises(ValueError, match=re.escape("text[0] is not valid UTF-8: b'\\xff\\xfe invalid utf-8'")):
        layer(tf.constant([b"\xff\xfe invalid utf-8"]))
    strict = AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=4, truncation=None)
    assert strict(tf.constant(["a"]))["input_ids"].shape == (1, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncation=None"):
        strict(tf.constant(["a much longer text"]))
    with pytest.raises(ValueError, match="sequence_length"):
        AlbertTokenizerLayer.from_tokenizer(tok, sequence_length=1)
    with pytest.raises(ValueError, match="padding"):
        AlbertTokenizerLayer.from_tokenizer(tok, padding="max_length")
    with pytest.raises(ValueError, match="truncation"):
        AlbertTokenizerLayer.from_tokenizer(tok, truncation="middle")
    with pytest.raises(TypeError, match="AlbertTokenizer"):
        AlbertTokenizerLayer.from_tokenizer("spiece.model")
    sampling = AlbertTokenizer.from_pretrained(
        FIXTURE_DIR, sp_model_kwargs={"enable_sampling": True, "nbest_size": -1, "alpha": 0.1}
    )
    with pytest.raises(ValueError, match="sampling"):
        AlbertTokenizerLayer.from_tokenizer(sampling)
    with pytest.raises(FileNotFoundError, match="missing.model"):
        AlbertTokenizerLayer(os.path.join(FIXTURE_DIR, "missing.model"))


def test_missing_tensorflow_text_names_the_extra(monkeypatch):
    monkeypatch.setattr(tokenization_layer, "tf_text", None)
    with pytest.raises(ImportError, match=r"pip install tf_albert\[text\]"):
        AlbertTokenizerLayer.from_pretrained(FIXTURE_DIR)


# === SentencePiece tie-breaking ===
def test_viterbi_breaks_ties_like_python_sentencepiece(tok, layer):
    import tensorflow_text as tf_text

    # tensorflow-text's own SentencePiece build picks another of two equal-score segmentations here
    native = tf_text.SentencepieceTokenizer(model=tok._model_proto).tokenize(tf.constant(["1,000,000"]))
    python = tok.sp_model.encode(["1,000,000"])
    assert native.to_list() != python
    encoder = layer._text_encoder
    assert encoder._sp_encode(tf.constant(["1,000,000"])).to_list() == python
    rng = random.Random(0)
    alphabet = "0000000333=====..,,  abcxyzé東京😀()-"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(300)]
    texts += [" ".join(str(rng.randint(0, 10 ** rng.randint(1, 12))) for _ in range(4)) for _ in range(200)]
    assert encoder._sp_encode(tf.constant(texts)).to_list() == tok.sp_model.encode(texts)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda s: not refused(s))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(_TEXT, min_size=1, max_size=16), pairs=st.booleans())
def test_arbitrary_unicode_matches_the_python_tokenizer(tok, layer, texts, pairs):
    if pairs:
        got = rows(layer(tf.constant(texts), tf.constant(texts[::-1])))
        assert got == tok(texts, texts[::-1])["input_ids"]
    else:
        assert rows(layer(tf.constant(texts))) == tok(texts)["input_ids"]


@pytest.mark.slow
def test_many_random_strings_match_the_python_tokenizer(tok, layer):
    rng = random.Random(1)
    texts = [
        "".join(
            chr(
                rng.choice(
                    [
                        rng.randrange(32, 0x250),
                        rng.randrange(0x370, 0x400),
                        rng.randrange(0x3000, 0xA000),
                        rng.randrange(0x1F300, 0x1F700),
                    ]
                )
            )
            for _ in range(rng.randrange(0, 80))
        )
        for _ in range(3000)
    ]
    texts = [t for t in texts if not refused(t)]
    assert rows(layer(tf.constant(texts))) == tok(texts)["input_ids"]
    np.testing.assert_array_equal(
        layer(tf.constant(texts[:5]))["attention_mask"].numpy().sum(1),
        [len(i) for i in tok(texts[:5])["input_ids"]],
    )
