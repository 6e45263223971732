"""AlbertTokenizer: HF-identical ids on the hard-string corpus, the HF call API, offsets, saving, robustness.

The expected values come from tests/fixtures/tokenizer/expected.json.gz, written by
tools/make_tokenizer_fixtures.py with transformers v4's SentencePiece AlbertTokenizer (the reference) and v5's
tokenizers-backed one (recorded only).
"""

import gzip
import json
import os
import pickle
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers import FIXTURE_TOKENIZER, REPO
from tf_albert.tokenization import (
    GOOGLE_VOCAB_FILE,
    SPIECE_UNDERLINE,
    AlbertTokenizer,
    BatchEncoding,
    char_tables,
    lower_per_char,
    preprocess_text,
)
from tf_albert.tokenization.files import _resolve_hub_file

FIXTURE_DIR = FIXTURE_TOKENIZER
MODEL = os.path.join(FIXTURE_DIR, "spiece.model")

with gzip.open(os.path.join(FIXTURE_DIR, "expected.json.gz"), "rt", encoding="utf-8") as _f:
    FX = json.load(_f)
CORPUS, LONG, V4, V5 = FX["corpus"], FX["long_corpus"], FX["v4"], FX["v5"]


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizer.from_pretrained(FIXTURE_DIR)


# === Reference ids ===
def test_corpus_is_large_and_hard():
    assert len(CORPUS) + len(LONG) >= 100
    assert "" in CORPUS and "a[MASK]b" in CORPUS and "1,000,000" in CORPUS and "``hello''" in CORPUS
    assert max(len(s) for s in LONG) > 4000


def test_ids_match_hf_v4_on_every_corpus_string(tok):
    got = tok(CORPUS)["input_ids"]
    mismatches = [(s, g, e) for s, g, e in zip(CORPUS, got, V4["ids"]) if g != e]
    assert mismatches == []
    assert len(got) == len(V4["ids"]) == len(CORPUS)


def test_long_strings_match_hf_v4(tok):
    assert [tok(s)["input_ids"] for s in LONG] == V4["long_ids"]


def test_tokenize_matches_hf_v4_pieces(tok):
    assert [tok.tokenize(s) for s in CORPUS] == V4["tokenize"]


def test_offsets_path_gives_the_same_ids(tok):
    # the offsets path aligns character by character; it must not change a single id
    for s, expected in zip(CORPUS + LONG[:2], V4["ids"] + V4["long_ids"][:2]):
        assert tok(s, return_offsets_mapping=True)["input_ids"] == expected, s


@pytest.mark.parametrize("name", sorted(V4["options"]))
def test_options_match_hf_v4(name):
    option = V4["options"][name]
    t = AlbertTokenizer.from_pretrained(FIXTURE_DIR, **option["kwargs"])
    strings = CORPUS + (
        FX["extra_special_strings"] if "additional_special_tokens" in option["kwargs"] else []
    )
    assert [t(s)["input_ids"] for s in strings] == option["ids"]
    assert [t.decode(i) for i in option["ids"]] == option["decode"]
    assert len(t) == option["len"] and t.all_special_ids == option["all_special_ids"]


def test_additional_special_tokens_get_ids_after_the_vocab():
    t = AlbertTokenizer.from_pretrained(FIXTURE_DIR, additional_special_tokens=["<ent>", "[E1]"])
    assert t.convert_tokens_to_ids(["<ent>", "[E1]"]) == [1500, 1501]
    assert t.tokenize("a<ent>b") == ["▁a", "<ent>", "▁b"]
    assert len(t) == t.vocab_size + 2 == 1502


@pytest.mark.parametrize(
    "key,kwargs",
    [
        ("decode", {}),
        ("decode_skip", {"skip_special_tokens": True}),
        ("decode_clean", {"skip_special_tokens": True, "clean_up_tokenization_spaces": True}),
    ],
)
def test_decode_matches_hf_v4(tok, key, kwargs):
    assert [tok.decode(ids, **kwargs) for ids in V4["ids"]] == V4[key]


def test_pairs_match_hf_v4(tok):
    for (a, b), expected in zip(FX["pairs"], V4["pairs"]):
        assert dict(tok(a, b, return_special_tokens_mask=True)) == expected, (a, b)
    batch = tok([a for a, _ in FX["pairs"]], [b for _, b in FX["pairs"]])
    assert batch["input_ids"] == [e["input_ids"] for e in V4["pairs"]]


def test_truncation_and_padding_match_hf_v4(tok):
    checked = refused = 0
    for (pair_index, kwargs), expected in zip(FX["truncation_cases"], V4["truncation"]):
        a, b = FX["pairs"][pair_index]
        budget = kwargs["max_length"] - 3
        n_a, n_b = len(tok.tokenize(a)), len(tok.tokenize(b))
        impossible = (
            kwargs["truncation"] == "only_first" and n_a + n_b > budget and n_a <= n_a + n_b - budget
        ) or (kwargs["truncation"] == "only_second" and n_a + n_b > budget and n_b <= n_a + n_b - budget)
        if impossible:
            # HF logs an error and returns the sequence untruncated (longer than max_length); we refuse
            assert len(expected["input_ids"]) > kwargs["max_length"]
            with pytest.raises(ValueError, match="cannot truncate"):
                tok(a, b, **kwargs)
            refused += 1
            continue
        assert dict(tok(a, b, **kwargs)) == expected, (pair_index, kwargs)
        checked += 1
    assert checked >= 25 and refused >= 1


def test_single_sequence_truncation_matches_hf_v4(tok):
    assert [tok(s, truncation=True, max_length=10)["input_ids"] for s in CORPUS[:30]] == V4[
        "single_truncation"
    ]


def test_special_tokens_mask_of_formatted_ids_matches_hf_v4(tok):
    for ids, expected in zip(V4["ids"], V4["special_mask_existing"]):
        assert tok.get_special_tokens_mask(ids, already_has_special_tokens=True) == expected


def test_hf_loads_a_folder_saved_by_us():
    assert V4["loads_our_folder"]["same_ids"] == V4["loads_our_folder"]["n"]
    assert V4["loads_our_folder"]["keep_accents"] is True


# === The v5 reference (recorded, not asserted equal) ===
def _v5_difference_reason(s: str) -> str | None:
    low = lower_per_char(s)
    if any(c.isdigit() for c in preprocess_text(s)) and "," in s:
        return "v5 has no <digit>, re-split"
    if any(c in s for c in '()"-.–£€') or "``" in s or "''" in s:
        return "v5 treats ALBERT's user-defined symbols as added tokens"
    if any(t in low for t in ("[mask]", "<unk>", "<pad>")):
        return "v5 matches special tokens without the pre-lowercasing / lstrip rules"
    if "\U0001d6ba" in s:
        return "v5 lower-cases without Python's final-sigma context"
    if any(c.isspace() and c not in " \t\n\r" for c in s) or any(unicodedata.category(c) == "Cc" for c in s):
        return "v5 splits on a different whitespace set"
    if any(unicodedata.category(c) in ("Mn", "Me", "Lo") for c in unicodedata.normalize("NFKD", s)):
        return "v5 handles unknown characters and marks differently"
    if "_" in s or "e.g." in s:
        return "v5 treats ALBERT's user-defined symbols as added tokens"
    return None


def test_v5_differences_fall_in_documented_categories():
    differing = FX["v5_differs_from_v4"]
    assert 0 < len(differing) < len(CORPUS)
    unexplained = [CORPUS[i] for i in differing if _v5_difference_reason(CORPUS[i]) is None]
    assert unexplained == []
    # and where v5 agrees, it agrees exactly
    for i, ids in enumerate(V5["ids"]):
        assert ids is None or ids == V4["ids"][i]


# === Offsets ===
def _piece_text(piece: str) -> str:
    return piece.replace(SPIECE_UNDERLINE, " ").strip()


def test_offsets_point_at_the_original_text(tok):
    for s in CORPUS + [LONG[3][:2000]]:
        enc = tok(s, return_offsets_mapping=True)
        tokens = tok.convert_ids_to_tokens(enc["input_ids"])
        assert enc["offset_mapping"][0] == (0, 0) and enc["offset_mapping"][-1] == (0, 0)
        for token, (start, end) in zip(tokens[1:-1], enc["offset_mapping"][1:-1]):
            assert 0 <= start <= end <= len(s), (s, token)
            if token == tok.unk_token:  # an unknown piece: its span is the unknown characters
                assert s[start:end].lower() == "<unk>" or any(
                    tok.unk_token_id in tok.encode(c, add_special_tokens=False) for c in s[start:end]
                )
                continue
            if token in tok.all_special_tokens:
                assert s[start:end].lower() == token.lower()
                continue
            text = _piece_text(token)
            if not text:
                continue
            # the original span, normalised like the tokenizer does, contains the piece
            normalised = tok.sp_model.normalize(preprocess_text(lower_per_char(s[start:end]))).replace(
                SPIECE_UNDERLINE, " "
            )
            # (final sigma depends on the context outside the span)
            assert text.replace("ς", "σ") in normalised.replace("ς", "σ"), (s, token, s[start:end])


def test_offsets_agree_with_hf_fast_tokenizer(tok):
    same = differ = 0
    for i, s in enumerate(CORPUS):
        if V5["offsets"][i] is None:
            continue  # v5 gives other ids for this string
        ours = [list(o) for o in tok(s, return_offsets_mapping=True)["offset_mapping"]]
        if ours == V5["offsets"][i]:
            same += 1
            continue
        differ += 1
        # documented differences: we span both characters of `` and '', the whole surface of an unknown
        # piece with its marks, and v5 shifts offsets after control characters
        assert (
            "``" in s
            or "''" in s
            or any(unicodedata.category(c) in ("Mn", "Mc") for c in s)
            or any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in s)
        ), s
    assert same >= 95 and differ <= 20


def test_offsets_examples(tok):
    s = "Café 1,000 ``quoted'' İx"
    enc = tok(s, return_offsets_mapping=True)
    spans = [s[a:b] for a, b in enc["offset_mapping"]]
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert dict(zip(tokens, spans))["▁caf"] == "Caf"
    assert ("e", "é") in zip(tokens, spans)
    assert [p for t, p in zip(tokens, spans) if t == ","] == [","]
    assert [p for t, p in zip(tokens, spans) if t == '"'] == ["``", "''"]
    assert spans[tokens.index("x") - 1] == "İ"


# === API ===
def test_call_shapes_dtypes_and_padding(tok):
    texts = ["short", "a much longer sentence, with 1,000 pieces"]
    enc = tok(texts, padding=True, return_tensors="np")
    assert isinstance(enc, BatchEncoding) and list(enc) == ["input_ids", "token_type_ids", "attention_mask"]
    n = len(tok(texts[1])["input_ids"])
    assert enc["input_ids"].shape == (2, n) and enc["input_ids"].dtype == np.int64
    assert enc.attention_mask[0].tolist() == [1] * len(tok(texts[0])["input_ids"]) + [0] * (
        n - len(tok(texts[0])["input_ids"])
    )
    assert (enc["input_ids"][0][enc["attention_mask"][0] == 0] == tok.pad_token_id).all()
    enc = tok(texts, padding="max_length", max_length=40, truncation=True, pad_to_multiple_of=16)
    assert [len(r) for r in enc["input_ids"]] == [48, 48]
    assert tok.tokenize("one two") == ["▁one", "▁two"]
    enc = tok("one two", return_tensors="np", return_length=True, return_special_tokens_mask=True)
    assert enc["input_ids"].shape == (1, 4) and enc["length"].tolist() == [4]
    assert enc["special_tokens_mask"].tolist() == [[1, 0, 0, 1]]
    enc = tok("one", return_attention_mask=False, return_token_type_ids=False)
    assert list(enc) == ["input_ids"]


def test_return_tensors_tf(tok):
    tf = pytest.importorskip("tensorflow")
    enc = tok(["a", "b c"], ["x", "y"], padding=True, return_tensors="tf", return_offsets_mapping=True)
    plain = tok(["a", "b c"], ["x", "y"])
    width = max(len(r) for r in plain["input_ids"])
    assert enc["input_ids"].dtype == tf.int32 and enc["input_ids"].shape == (2, width)
    assert enc["offset_mapping"].shape == (2, width, 2)
    assert enc["token_type_ids"].numpy()[1].tolist() == plain["token_type_ids"][1]
    assert enc["token_type_ids"].numpy()[1].tolist()[-3:] == [1, 1, 1]


def test_max_length_without_truncation_defaults_to_longest_first(tok):
    assert (
        tok("word " * 30, max_length=8)["input_ids"]
        == tok("word " * 30, truncation=True, max_length=8)["input_ids"]
    )
    assert len(tok("word " * 30, max_length=8)["input_ids"]) == 8
    assert len(tok("word " * 30, truncation=True)["input_ids"]) == 62  # model_max_length 512 not reached


def test_encode_and_helpers(tok):
    ids = tok.encode("Hello [MASK]")
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and tok.mask_token_id in ids
    assert tok.encode("a", "b") == tok.build_inputs_with_special_tokens(
        tok.encode("a", add_special_tokens=False), tok.encode("b", add_special_tokens=False)
    )
    assert tok.create_token_type_ids_from_sequences([7, 8], [9]) == [0, 0, 0, 0, 1, 1]
    assert tok.get_special_tokens_mask([7, 8], [9]) == [1, 0, 0, 1, 0, 1]
    assert tok.get_special_tokens_mask([2, 7, 1, 3], already_has_special_tokens=True) == [1, 0, 1, 1]
    with pytest.raises(ValueError, match="already_has_special_tokens"):
        tok.get_special_tokens_mask([2], [3], already_has_special_tokens=True)
    assert tok.convert_ids_to_tokens(tok.convert_tokens_to_ids(["▁the", "[SEP]"])) == ["▁the", "[SEP]"]
    assert tok.convert_tokens_to_ids("no-such-piece") == tok.unk_token_id
    assert tok.vocab_size == len(tok) == 1500 and len(tok.get_vocab()) == 1500
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.unk_token, tok.mask_token) == (
        "[CLS]",
        "[SEP]",
        "<pad>",
        "<unk>",
        "[MASK]",
    )
    assert tok.batch_encode_plus([("a", "b")])["input_ids"] == [tok.encode("a", "b")]
    assert tok.batch_decode(np.array([tok.encode("a b")]), skip_special_tokens=True) == ["a b"]


def test_decode_accepts_arrays_and_tensors(tok):
    ids = tok.encode("Hello there, 9,")
    text = tok.decode(ids, skip_special_tokens=True)
    assert tok.decode(np.array(ids), skip_special_tokens=True) == text
    tf = pytest.importorskip("tensorflow")
    assert tok.decode(tf.constant(ids), skip_special_tokens=True) == text
    assert tok.decode(ids[1]) == tok.convert_ids_to_tokens(ids[1]).replace(SPIECE_UNDERLINE, "")


def test_pickle_round_trip(tok):
    t = AlbertTokenizer.from_pretrained(FIXTURE_DIR, additional_special_tokens=["<ent>"], keep_accents=True)
    clone = pickle.loads(pickle.dumps(t))
    assert clone("Café <ent> 1,000")["input_ids"] == t("Café <ent> 1,000")["input_ids"]
    assert clone.keep_accents and clone.additional_special_tokens == ["<ent>"]
    assert pickle.loads(pickle.dumps(tok("a b")))["input_ids"] == tok("a b")["input_ids"]


def test_save_and_load_round_trip(tmp_path):
    t = AlbertTokenizer.from_pretrained(
        FIXTURE_DIR,
        do_lower_case=True,
        keep_accents=True,
        remove_space=False,
        additional_special_tokens=["<ent>"],
        model_max_length=128,
    )
    files = t.save_pretrained(str(tmp_path))
    assert sorted(os.path.basename(f) for f in files) == [
        "special_tokens_map.json",
        "spiece.model",
        "tokenizer_config.json",
    ]
    with open(tmp_path / "tokenizer_config.json", encoding="utf-8") as f:
        config = json.load(f)
    assert config["tokenizer_class"] == "AlbertTokenizer" and config["keep_accents"] is True
    assert config["added_tokens_decoder"]["4"]["lstrip"] is True  # [MASK], as HF writes it
    loaded = AlbertTokenizer.from_pretrained(str(tmp_path))
    assert (loaded.keep_accents, loaded.remove_space, loaded.model_max_length) == (True, False, 128)
    for s in CORPUS[:60] + ["x <ent> y"]:
        assert loaded(s)["input_ids"] == t(s)["input_ids"]
    assert AlbertTokenizer.from_pretrained(str(tmp_path), keep_accents=False).keep_accents is False


def test_save_pretrained_is_atomic_and_can_save_over_its_own_folder(tmp_path, tok, monkeypatch):
    from tf_albert.utils import fileio

    tok.save_pretrained(str(tmp_path))
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    # Saving over the folder the tokenizer was loaded from rewrites spiece.model with the same bytes.
    AlbertTokenizer.from_pretrained(str(tmp_path)).save_pretrained(str(tmp_path))
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == before

    real_replace = os.replace

    def crash_on_spiece(src, dst):
        if os.path.basename(dst) == "spiece.model":
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(fileio.os, "replace", crash_on_spiece)
    changed = AlbertTokenizer.from_pretrained(FIXTURE_DIR, keep_accents=True)
    with pytest.raises(OSError, match="disk full"):
        changed.save_pretrained(str(tmp_path))
    # The files already replaced are whole new files, the others whole old ones; no temp file is left.
    assert sorted(os.listdir(tmp_path)) == sorted(before)
    assert (tmp_path / "spiece.model").read_bytes() == before["spiece.model"]
    with open(tmp_path / "tokenizer_config.json", encoding="utf-8") as f:
        assert json.load(f)["keep_accents"] is True


def test_from_pretrained_accepts_google_names_and_model_files(tmp_path, tok):
    with open(MODEL, "rb") as f:
        (tmp_path / GOOGLE_VOCAB_FILE).write_bytes(f.read())
    assert AlbertTokenizer.from_pretrained(str(tmp_path)).encode("Hello") == tok.encode("Hello")
    assert AlbertTokenizer.from_pretrained(MODEL).encode("Hello") == tok.encode("Hello")
    with open(MODEL, "rb") as f:
        assert AlbertTokenizer(model_proto=f.read()).encode("Hello") == tok.encode("Hello")


def test_save_vocabulary(tmp_path, tok):
    (path,) = tok.save_vocabulary(str(tmp_path), filename_prefix="x")
    assert os.path.basename(path) == "x-spiece.model"
    assert AlbertTokenizer(path).encode("Hello") == tok.encode("Hello")
    with pytest.raises(ValueError, match="existing folder"):
        tok.save_vocabulary(str(tmp_path / "missing"))


# === Errors ===
def test_missing_and_corrupt_models_name_the_path(tmp_path):
    missing = str(tmp_path / "nope" / "spiece.model")
    with pytest.raises(FileNotFoundError, match="nope"):
        AlbertTokenizer(missing)
    bad = tmp_path / "spiece.model"
    bad.write_bytes(b"this is not a sentencepiece model")
    with pytest.raises(ValueError, match=str(bad).replace("\\", "\\\\")):
        AlbertTokenizer(str(bad))
    with pytest.raises(ValueError, match="not a valid SentencePiece model"):
        AlbertTokenizer.from_pretrained(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="30k-clean.model"):
        AlbertTokenizer.from_pretrained(str(empty))
    with pytest.raises(FileNotFoundError, match="does/not/exist"):
        AlbertTokenizer.from_pretrained("./does/not/exist")


def test_hub_ids_explain_what_is_missing(monkeypatch, tmp_path):
    # No hub is reachable here: offline, an uncached hub id says so (or that huggingface_hub is missing).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises((OSError, ImportError), match="not in the local cache|huggingface_hub"):
        AlbertTokenizer.from_pretrained("albert/albert-base-v2", cache_dir=str(tmp_path))
    with pytest.raises((OSError, ImportError), match="not in the local cache|huggingface_hub"):
        _resolve_hub_file("albert-base-v2", "spiece.model", local_files_only=True, cache_dir=str(tmp_path))


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", 5], ("ok", None)])
def test_wrong_input_types_raise_type_error_naming_the_value(tok, bad):
    with pytest.raises(TypeError, match="must be a str"):
        tok(bad)
    if not isinstance(bad, (list, tuple)):
        with pytest.raises(TypeError, match=repr(bad)[:5].replace("(", r"\(").replace("[", r"\[")):
            tok.tokenize(bad)


def test_bad_arguments_raise_value_errors(tok):
    with pytest.raises(ValueError, match="padding"):
        tok("a", padding="sideways")
    with pytest.raises(ValueError, match="truncation"):
        tok("a", truncation="middle")
    with pytest.raises(ValueError, match="return_tensors"):
        tok("a", return_tensors="pt")
    with pytest.raises(ValueError, match="lengths"):
        tok(["a", "b c d"], return_tensors="np")
    with pytest.raises(ValueError, match="2 items but text_pair has 1"):
        tok(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="both be str or both be lists"):
        tok("a", ["b"])
    with pytest.raises(ValueError, match="max_length must be a positive int, got 0"):
        tok("a", max_length=0)
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([5, 99999])
    with pytest.raises(TypeError, match="token ids must be ints"):
        tok.decode(["a"])
    with pytest.raises(ValueError, match="only_second"):
        tok("a b c d e", truncation="only_second", max_length=3)


def test_sampling_options_are_passed_to_sentencepiece():
    t = AlbertTokenizer.from_pretrained(
        FIXTURE_DIR, sp_model_kwargs={"enable_sampling": True, "nbest_size": -1, "alpha": 0.5}
    )
    text = "the population was about 1,234,567 in the documentation"
    segmentations = {tuple(t.tokenize(text)) for _ in range(20)}
    assert len(segmentations) > 1
    assert {t.decode(t.encode(text), skip_special_tokens=True) for _ in range(5)} == {text}


def test_docstring_examples_run(monkeypatch):
    import doctest

    from tf_albert.tokenization import tokenizer as tokenization

    monkeypatch.chdir(REPO)
    result = doctest.testmod(tokenization)
    assert result.attempted >= 5 and result.failed == 0


def test_digit_comma_rule_is_the_same_on_every_path(tok):
    text = "1,000,000 and 9, x5,"
    pieces = tok.tokenize(text)
    assert pieces == ["▁", "1", ",", "00", "0", ",", "0", "00", "▁and", "▁", "9", ",", "▁", "x", "5", ","]
    ids = tok.convert_tokens_to_ids(pieces)
    assert tok.encode(text, add_special_tokens=False) == ids  # the id-space fast path
    assert tok(text, return_offsets_mapping=True, add_special_tokens=False)["input_ids"] == ids


@pytest.mark.parametrize("name", ["encoding", "rules", "offsets"])
def test_module_docstring_examples_run(monkeypatch, name):
    import doctest
    import importlib

    module = importlib.import_module(f"tf_albert.tokenization.{name}")
    monkeypatch.chdir(REPO)
    result = doctest.testmod(module)
    assert result.attempted >= 3 and result.failed == 0


# === Shared character rules ===
def test_character_tables_reproduce_the_string_rules():
    pre_lower, normalize, sigma = char_tables(True, False)
    assert sigma == "\u03f9\U0001d6ba\U0001d6f4\U0001d72e\U0001d768\U0001d7a2"
    for text in ["Café ÉTÉ", "İstanbul", "ﬁ ½ ㎏", "한국어", "Ёлка", "ΟΔΟΣ", "x²", "\u212a\u2126"]:
        lowered = "".join(pre_lower.get(ord(c), c) for c in text)
        assert lowered == lower_per_char(text)
        assert "".join(normalize.get(ord(c), c) for c in lowered) == preprocess_text(
            lowered, remove_space=False
        )


# === Properties ===
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_FIXTURE_TOKENIZER = AlbertTokenizer(MODEL)
_COVERED = sorted(
    {c for piece in _FIXTURE_TOKENIZER.convert_ids_to_tokens(list(range(1500))) for c in piece}
    - set("<>[]" + SPIECE_UNDERLINE)
)


def _covered_or_folded(c: str) -> str:
    """`c` if the fixture model has a piece for it alone, else one of the model's own characters: most of
    Unicode is unknown to it, and texts holding it (three in four) left the test's assume() to drop them,
    which failed Hypothesis' filter_too_much health check in CI."""
    if _FIXTURE_TOKENIZER.unk_token_id not in _FIXTURE_TOKENIZER.encode(c, add_special_tokens=False):
        return c
    return _COVERED[ord(c) % len(_COVERED)]


# text the fixture model mostly covers: its own characters plus accents, case, odd whitespace and quotes
_MOSTLY_COVERED = st.text(
    st.one_of(
        st.sampled_from(_COVERED),
        st.sampled_from(list("ÉÀÇÑÖéèçñöÅØ \t\n\u00a0`'ΣΟ")),
        st.characters(blacklist_categories=("Cs",)).map(_covered_or_folded),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_arbitrary_unicode_never_crashes_and_both_paths_agree(tok, text):
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    ids = enc["input_ids"]
    assert ids == tok(text)["input_ids"] == tok(text + "")["input_ids"]
    assert all(0 <= i < len(tok) for i in ids)
    assert len(enc["offset_mapping"]) == len(ids)
    starts = [a for (a, b), m in zip(enc["offset_mapping"], enc["special_tokens_mask"]) if not m]
    assert all(0 <= a <= b <= len(text) for a, b in enc["offset_mapping"])
    assert starts == sorted(starts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_MOSTLY_COVERED)
def test_decode_inverts_encode_up_to_normalisation(tok, text):
    """decode(encode(x)) is x after the tokenizer's normalisation (pre-lowercasing, remove_space, quotes,
    NFKD,
    marks, lower-casing, then SentencePiece's own NFKC/whitespace rules) whenever every piece is in the
    vocabulary
    and x holds no special-token text: unknown characters decode to <unk>, special tokens to themselves."""
    ids = tok.encode(text, add_special_tokens=False)
    assume(tok.unk_token_id not in ids)
    low = lower_per_char(text)
    assume(not any(t in low or t in text for t in tok.all_special_tokens))  # "[CLS]" is not lowered
    normalised = tok.sp_model.normalize(preprocess_text(low)).replace(SPIECE_UNDERLINE, " ").lstrip(" ")
    assert tok.decode(ids) == normalised
