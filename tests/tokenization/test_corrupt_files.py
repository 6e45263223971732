"""A tokenizer file that is there but does not parse is reported as corrupt, by path, with the parser's message.

Before, a folder whose only tokenizer file was a corrupt `tokenizer.json` was reported as "no tokenizer in ...",
as if the file were absent, and a corrupt `tokenizer_config.json` beside a `tokenizer.json` or `vocab.txt`
surfaced as a bare `JSONDecodeError` that named no file.
"""

import json
import os
import re
import shutil

import pytest

from tests.helpers import REPO
from tf_albert.tokenization import AlbertTokenizer, AlbertTokenizerFast, AlbertWordPieceTokenizer

SPIECE = os.path.join(REPO, "tests", "fixtures", "tokenizer", "spiece.model")
NOT_JSON = "garbage{"
NOT_JSON_MESSAGE = "Expecting value: line 1 column 1 (char 0)"


def _write(path, text: str | bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def _not_json(path: str) -> str:
    return re.escape(f"{path} is not valid JSON ({NOT_JSON_MESSAGE})")


def test_corrupt_tokenizer_json_is_not_taken_for_a_missing_one(tmp_path):
    file = _write(tmp_path / "tokenizer.json", NOT_JSON)
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizer.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizerFast.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizerFast.from_pretrained(file)  # the file itself


def test_tokenizer_json_that_is_not_utf8_or_not_an_object(tmp_path):
    file = _write(tmp_path / "a" / "tokenizer.json", b'{"model": "\xff"}')
    with pytest.raises(ValueError, match=re.escape(f"{file} is not valid JSON (") + ".*utf-8"):
        AlbertTokenizer.from_pretrained(os.path.dirname(file))
    file = _write(tmp_path / "b" / "tokenizer.json", json.dumps([1, 2]))
    with pytest.raises(ValueError, match=re.escape(f"{file} is corrupt: it holds a JSON list, not an object")):
        AlbertTokenizer.from_pretrained(os.path.dirname(file))


@pytest.mark.parametrize("where", ["spiece.model", "assets/tokenizer/vocabulary.spm"])
def test_corrupt_sentencepiece_model(tmp_path, where):
    file = _write(tmp_path / where, b"not a model")
    with pytest.raises(ValueError) as info:
        AlbertTokenizer.from_pretrained(str(tmp_path))
    message = str(info.value)
    assert message.startswith(f"{file} is corrupt: not a valid SentencePiece model (11 bytes;"), message
    assert "ParseFromArray" in message  # sentencepiece's own words


@pytest.mark.parametrize("name", ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"])
def test_corrupt_json_beside_a_sentencepiece_model(tmp_path, name):
    shutil.copy(SPIECE, tmp_path / "spiece.model")
    file = _write(tmp_path / name, NOT_JSON)
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizer.from_pretrained(str(tmp_path))


def test_corrupt_config_beside_a_wordpiece_vocab(tmp_path):
    _write(tmp_path / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n")
    file = _write(tmp_path / "tokenizer_config.json", NOT_JSON)
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizer.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertWordPieceTokenizer.from_pretrained(str(tmp_path))


def test_wordpiece_vocab_that_is_not_utf8(tmp_path):
    file = _write(tmp_path / "vocab.txt", b"[PAD]\n[UNK]\n\xff\xfe\n")
    with pytest.raises(ValueError, match=re.escape(f"{file} is not valid UTF-8 text (") + ".*can't decode"):
        AlbertWordPieceTokenizer.from_pretrained(str(tmp_path))


def test_corrupt_config_beside_a_tokenizer_json(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    pieces = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁", "▁a"]
    tk = tokenizers.Tokenizer(tokenizers.models.Unigram([(p, -1.0) for p in pieces], unk_id=1))
    AlbertTokenizerFast(tk).save_pretrained(str(tmp_path))
    file = _write(tmp_path / "tokenizer_config.json", NOT_JSON)
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizerFast.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match=_not_json(file)):
        AlbertTokenizer.from_pretrained(str(tmp_path))
