"""Tokenizer folders without a SentencePiece model: an HF tokenizer.json only, and a BERT WordPiece vocab.txt.

Fixtures (tools/make_format_fixtures.py hf5): tests/fixtures/formats/tokenizer_json is what transformers 5
saves for tests/fixtures/tokenizer/spiece.model (tokenizer.json + tokenizer_config.json); wordpiece is a
vocab.txt trained
with `tokenizers`' BERT pipeline; tokenizers.json.gz holds the ids, offsets and decodes that HF's tokenizer
(`AutoTokenizer.from_pretrained(folder)`: the fast AlbertTokenizer, BertTokenizer) gives on the hard-string
corpus of tests/fixtures/tokenizer (165 strings, 11 pairs).
"""

import json
import os
import shutil

import numpy as np
import pytest

import tf_albert
from tests.helpers import CHECKPOINTS, format_ids, materialize, materialize_format, tokenizer_corpus
from tf_albert.tokenization import AlbertTokenizerFast, AlbertWordPieceTokenizer

pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenizers")
    return {name: materialize_format(name, str(root / name)) for name in ("tokenizer_json", "wordpiece")}


@pytest.mark.parametrize(
    "name, cls", [("tokenizer_json", AlbertTokenizerFast), ("wordpiece", AlbertWordPieceTokenizer)]
)
def test_ids_equal_hf_on_the_corpus(folders, name, cls):
    tok = tf_albert.AlbertTokenizer.from_pretrained(folders[name])
    assert type(tok) is cls
    ref, texts = format_ids()[name], tokenizer_corpus()
    singles = [tok(t)["input_ids"] for t in texts["singles"]]
    assert (sum(a == b for a, b in zip(singles, ref["ids"])), len(singles)) == (165, 165)
    pairs = [tok(a, b) for a, b in texts["pairs"]]
    assert sum(p["input_ids"] == w for p, w in zip(pairs, ref["pair_ids"])) == 11
    assert sum(p["token_type_ids"] == w for p, w in zip(pairs, ref["pair_type_ids"])) == 11
    offsets = [
        [list(o) for o in tok(t, return_offsets_mapping=True)["offset_mapping"]] for t in texts["singles"]
    ]
    assert sum(a == b for a, b in zip(offsets, ref["offsets"])) == 165
    decoded = [tok.decode(ids, skip_special_tokens=True) for ids in singles]
    assert sum(a == b for a, b in zip(decoded, ref["decode_skip"])) == 165


@pytest.mark.parametrize("name", ["tokenizer_json", "wordpiece"])
def test_batches_and_round_trip(folders, name, tmp_path):
    tok = tf_albert.AlbertTokenizer.from_pretrained(folders[name])
    batch = tok(
        ["Hello world!", "a"], ["x", "y z"], padding=True, truncation=True, max_length=6, return_tensors="np"
    )
    assert batch["input_ids"].shape == (2, 6) and batch["input_ids"][0, 0] == tok.cls_token_id
    assert batch["attention_mask"][1].tolist() == [1] * int(batch["attention_mask"][1].sum()) + [0] * (
        6 - int(batch["attention_mask"][1].sum())
    )
    tok.save_pretrained(str(tmp_path / "saved"))
    again = tf_albert.AlbertTokenizer.from_pretrained(str(tmp_path / "saved"))
    text = "Café 1,000 [MASK] 東京"
    assert again(text)["input_ids"] == tok(text)["input_ids"]
    with pytest.raises(ValueError, match="token id 100000 is out of range"):
        tok.decode([100000])
    with pytest.raises(TypeError, match="text must be a str"):
        tok(3)


def test_wordpiece_folder_loads_model_and_tokenizer_as_usual(tmp_path):
    """A Chinese-ALBERT-style folder: HF weights + vocab.txt (BertTokenizer) instead of spiece.model."""
    folder = materialize("safetensors", str(tmp_path / "albert_chinese"))
    shutil.copy(os.path.join(os.path.dirname(CHECKPOINTS), "formats", "wordpiece", "vocab.txt"), folder)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True}, f)
    tok = tf_albert.AlbertTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "AlbertWordPieceTokenizer" and tok.tokenize("中文")[:1] == ["中"]
    model = tf_albert.AlbertModel.from_pretrained(folder)
    ids = np.array(tok("自然 语言", return_tensors="np")["input_ids"]) % model.config.vocab_size
    assert model(ids)["last_hidden_state"].shape == (1, ids.shape[1], 16)


def test_keras_tokenizer_json_is_not_taken_for_hfs(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps({"class_name": "AlbertTokenizer", "config": {}}))
    with pytest.raises(FileNotFoundError, match="no tokenizer in .*expected a SentencePiece model"):
        tf_albert.AlbertTokenizer.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match="is not an HF tokenizer.json"):
        AlbertTokenizerFast.from_pretrained(str(tmp_path))


def test_wordpiece_rules(tmp_path):
    """HF's BertTokenizer rules: long words are [UNK], special tokens are cut out of words, CJK is split."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "中", "!"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = AlbertWordPieceTokenizer.from_pretrained(str(tmp_path))
    assert tok.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert tok.tokenize("a" * 101) == ["[UNK]"]
    assert tok.tokenize("A[MASK]b中!") == ["a", "[MASK]", "b", "中", "!"]
    assert tok.tokenize("Ä\u200b b\x00") == ["a", "b"]  # accents stripped, Cf and NUL dropped
    assert AlbertWordPieceTokenizer.from_pretrained(str(tmp_path), do_lower_case=False).tokenize("A") == [
        "[UNK]"
    ]
    with pytest.raises(ValueError, match="special tokens not in the vocabulary: {'mask_token': '<mask>'}"):
        AlbertWordPieceTokenizer(str(tmp_path / "vocab.txt"), mask_token="<mask>")
