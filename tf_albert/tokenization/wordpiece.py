"""WordPiece ALBERT tokenizers: folders with a BERT `vocab.txt` instead of a SentencePiece model.

Several ALBERT checkpoints (the Chinese ones on the HF hub among them) ship BERT's WordPiece vocabulary and
name `BertTokenizer` in their `tokenizer_config.json`. This is that tokenizer, with ids identical to HF's
`BertTokenizer` (transformers v5, i.e. the `tokenizers` BERT pipeline), in plain Python:

1. special tokens (`[CLS] [SEP] [MASK] [PAD] [UNK]`) are cut out of the raw text as whole tokens;
2. per remaining character: control characters (Cc, Cf, Co, Cs), NUL and U+FFFD are dropped, whitespace
   becomes a space, CJK ideographs get a space on each side, then (`strip_accents`, by default when
   lower-casing) NFD and removal of combining marks (Mn), then lower-casing one character at a time;
3. the text is split on whitespace and around every punctuation character (ASCII punctuation and Unicode P*);
4. each word becomes the longest vocabulary prefix, then `##`-prefixed longest pieces; a word with no
   segmentation, or of more than 100 characters, becomes `[UNK]`.

Example:
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "!", "wor", "##ld", "中", "文"]
>>> with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
...     _ = f.write("\\n".join(vocab) + "\\n")
>>> tok = AlbertWordPieceTokenizer.from_pretrained(folder)
>>> tok.tokenize("Hello, WORLD! 中文")
['hello', '[UNK]', 'world', '!', '中', '文']
>>> tok("Hello world", "[MASK]!")["input_ids"]
[2, 5, 6, 3, 4, 7, 3]
"""

from __future__ import annotations

import os
import re
import unicodedata

from tf_albert.tokenization.common import (
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKEN_ATTRIBUTES,
    VocabTokenizerBase,
    check_special_names,
)
from tf_albert.tokenization.config_files import TOKENIZER_CONFIG_FILE  # noqa: F401  (defined here before)

VOCAB_FILE = "vocab.txt"
BERT_SPECIAL = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
MAX_INPUT_CHARS_PER_WORD = 100
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Rust's char::is_whitespace (the Unicode White_Space property), which the `tokenizers` BERT pipeline uses.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


# Rust's `is_other`, which `tokenizers` drops as control characters: Cc, Cf, Co, Cs (not Cn, unassigned).
_CONTROL = frozenset(("Cc", "Cf", "Co", "Cs"))
_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def _is_control(c: str) -> bool:
    return c not in "\t\n\r" and unicodedata.category(c) in _CONTROL


def _is_cjk(c: str) -> bool:
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _is_punctuation(c: str) -> bool:
    return (c.isascii() and not c.isalnum() and c.isprintable() and c != " ") or unicodedata.category(
        c
    ).startswith("P")


def read_vocab(path: str) -> list[str]:
    """The tokens of a `vocab.txt`, one a line (the line number is the id), without trailing empty lines.

    Args:
        path: The file.

    Returns:
        The tokens.

    Raises:
        ValueError: The file is not UTF-8 text.
    """
    try:
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n").rstrip("\r") for line in f]
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not valid UTF-8 text ({e})") from None
    while tokens and tokens[-1] == "":
        tokens.pop()
    return tokens


def normalize_char(c: str, lower: bool, strip_accents: bool, chinese: bool) -> str:
    """Step 2 for one character: what it becomes ('' when dropped)."""
    if c in ("\x00", "\ufffd") or _is_control(c):
        return ""
    if c in _WHITESPACE:
        return " "
    if chinese and _is_cjk(c):
        return f" {c} "
    if strip_accents:
        c = "".join(x for x in unicodedata.normalize("NFD", c) if unicodedata.category(x) != "Mn")
    return c.lower() if lower else c


class AlbertWordPieceTokenizer(VocabTokenizerBase):
    """BERT WordPiece tokenization of a `vocab.txt` (HF `BertTokenizer`'s ids), `AlbertTokenizer`'s interface.

    Args:
        vocab_file: str. `vocab.txt`, one token per line; the line number is the id.
        tokens: list of str. The vocabulary itself, instead of `vocab_file`.
        do_lower_case: bool. Lower-case (and, unless `strip_accents=False`, strip accents). Defaults to True.
        strip_accents: bool or None. None follows `do_lower_case`, as in HF.
        tokenize_chinese_chars: bool. Split around CJK ideographs. Defaults to True.
        model_max_length: int. Used by truncation/padding without `max_length`.
        **special_tokens: `unk_token`, `sep_token`, `pad_token`, `cls_token`, `mask_token` (BERT's by
            default).

    Raises:
        TypeError: A keyword is not a special token.
        ValueError: Neither or both of `vocab_file` and `tokens`, or a special token not in the vocabulary.
    """

    def __init__(
        self,
        vocab_file: str | None = None,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
        tokens: list[str] | None = None,
        **special_tokens,
    ):
        check_special_names(special_tokens)
        if (vocab_file is None) == (tokens is None):
            raise ValueError("AlbertWordPieceTokenizer needs one of vocab_file (path to vocab.txt) or tokens")
        self.vocab_file = None if vocab_file is None else os.fspath(vocab_file)
        if tokens is None:
            tokens = read_vocab(self.vocab_file)
        for i, t in enumerate(tokens):
            if not isinstance(t, str) or not t:
                raise ValueError(f"vocabulary entry {i} must be a non-empty str, got {t!r}")
        vocab = {}
        for i, token in enumerate(tokens):
            vocab.setdefault(token, i)
        self.do_lower_case = bool(do_lower_case)
        self.strip_accents = self.do_lower_case if strip_accents is None else bool(strip_accents)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        special = {**BERT_SPECIAL, **special_tokens}
        self._init_vocab(vocab, {k: special.get(k) for k in SPECIAL_TOKEN_ATTRIBUTES}, model_max_length)
        specials = sorted(set(self._special.values()), key=len, reverse=True)
        self._split_re = re.compile("(" + "|".join(re.escape(t) for t in specials) + ")")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> AlbertWordPieceTokenizer:
        """From a folder holding `vocab.txt` (and, optionally, HF's `tokenizer_config.json`) or the file."""
        keys = ("do_lower_case", "strip_accents", "tokenize_chinese_chars", *BERT_SPECIAL)
        vocab, options = cls._read_folder(path, VOCAB_FILE, keys, kwargs)
        return cls(vocab, **options)

    def save_pretrained(self, save_directory: str) -> tuple[str, ...]:
        """Writes `vocab.txt` and `tokenizer_config.json` (atomically); HF's `BertTokenizer` reads them."""
        ordered = [self._inverse[i] for i in sorted(self._inverse)]
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.do_lower_case,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
        }
        return self._save_folder(save_directory, {VOCAB_FILE: "\n".join(ordered) + "\n"}, config)

    # === Text -> ids ===
    def _words(self, text: str, start: int):
        """Steps 2-3 on a chunk: [(word, [original index of each of its characters])]."""
        words, word, where = [], "", []
        for i, c in enumerate(text):
            for n in normalize_char(c, self.do_lower_case, self.strip_accents, self.tokenize_chinese_chars):
                if n == " ":
                    if word:
                        words.append((word, where))
                    word, where = "", []
                elif _is_punctuation(n):
                    if word:
                        words.append((word, where))
                    words.append((n, [start + i]))
                    word, where = "", []
                else:
                    word += n
                    where.append(start + i)
        if word:
            words.append((word, where))
        return words

    def _wordpiece(self, word: str, where: list) -> list:
        """Step 4: [(id, (start, end))] of one word."""
        unk = (self.unk_token_id, (where[0], where[-1] + 1))
        if len(word) > MAX_INPUT_CHARS_PER_WORD:
            return [unk]
        out, i = [], 0
        while i < len(word):
            j = len(word)
            while j > i:
                piece = word[i:j] if i == 0 else "##" + word[i:j]
                if piece in self._vocab:
                    out.append((self._vocab[piece], (where[i], where[j - 1] + 1)))
                    break
                j -= 1
            if j == i:
                return [unk]
            i = j
        return out

    def _encode_one(self, text: str):
        ids, offsets, pos = [], [], 0
        for k, part in enumerate(self._split_re.split(text)):
            if k % 2:
                ids.append(self._vocab[part])
                offsets.append((pos, pos + len(part)))
            else:
                for word, where in self._words(part, pos):
                    for i, span in self._wordpiece(word, where):
                        ids.append(i)
                        offsets.append(span)
            pos += len(part)
        return ids, offsets

    def _decode_ids(self, ids, skip_special_tokens, **kwargs) -> str:
        """HF's WordPiece decoder: `##` pieces join the previous one, others get a space; then per piece the
        clean-up of spaces before punctuation and contractions (`" ."` -> `"."`, `" n't"` -> `"n't"`, ...)."""
        special = set(self.all_special_ids) if skip_special_tokens else set()
        pieces = []
        for token in (self._inverse[i] for i in ids if i not in special):
            if pieces:
                token = token[2:] if token.startswith("##") else " " + token
            for dirty, clean in _CLEANUP:
                token = token.replace(dirty, clean)
            pieces.append(token)
        return "".join(pieces)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
            f"model_max_length={self.model_max_length})"
        )
