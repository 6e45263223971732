"""In-graph WordPiece: :class:`~tf_albert.tokenization.wordpiece.AlbertWordPieceTokenizer`'s ids with TF ops.

Needs ``tensorflow-text`` (``pip install tf_albert[text]``) for its ``FastWordpieceTokenizer``, which does
step 4 (longest-match-first WordPiece, ``[UNK]`` for a word it cannot segment). Steps 1-3 (special tokens; the
per-character clean-up, CJK spacing, accent stripping and lower-casing; the whitespace/punctuation split) are
computed here from a per-character table built with the Python rule (`wordpiece.normalize_char`) when the
layer is made, so both tokenizers apply the same Unicode tables. Packing (``[CLS] A [SEP] B [SEP]``,
truncation, padding) is :class:`~tf_albert.tokenization.layer.AlbertTokenizerLayer`'s.

Example:
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "!", "中", "文"]
>>> with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
...     _ = f.write("\\n".join(vocab) + "\\n")
>>> layer = AlbertWordPieceLayer.from_pretrained(folder, sequence_length=8)
>>> layer(tf.constant(["Hello, WORLD! 中文"]))["input_ids"].numpy().tolist()
[[2, 5, 1, 6, 7, 8, 9, 3]]
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import tensorflow as tf

from tf_albert.tokenization.layer import AlbertTokenizerLayer, _map_chars, _re2_literal, _split_marked
from tf_albert.tokenization.wordpiece import (
    _CJK,
    MAX_INPUT_CHARS_PER_WORD,
    AlbertWordPieceTokenizer,
    normalize_char,
    read_vocab,
)

try:
    import tensorflow_text as tf_text
except ImportError:  # optional extra
    tf_text = None

_NO_ENTRY = b"\xff"
_MISSING_TEXT = "AlbertWordPieceLayer needs tensorflow-text: pip install tf_albert[text]"
# Private-use planes 15-16 (Co, dropped): matched by a regex rather than 131,068 table entries.
_PRIVATE_PLANES = "[\\x{F0000}-\\x{FFFFD}\\x{100000}-\\x{10FFFD}]"
_TABLE_RANGES = ((0, 0x40000), (0xE0000, 0xE1000))  # all assigned code points outside those planes
_TABLES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def char_map(lower: bool, strip_accents: bool) -> dict[int, str]:
    """{code point: what `normalize_char` makes of it} where that differs (CJK spacing excluded: a regex)."""
    out = {}
    for lo, hi in _TABLE_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            n = normalize_char(c, lower, strip_accents, chinese=False)
            if n != c:
                out[cp] = n
    return out


class _WordPieceEncoder(tf.Module):
    """Text to WordPiece ids (no [CLS]/[SEP]) for one vocabulary and set of options, as a graph function."""

    def __init__(self, tok: AlbertWordPieceTokenizer):
        super().__init__(name="wordpiece_text_encoder")
        mapping = char_map(tok.do_lower_case, tok.strip_accents)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(mapping), tf.int64),
                tf.constant([v.encode("utf-8") for v in mapping.values()]),
            ),
            default_value=_NO_ENTRY,
        )
        self._chinese = tok.tokenize_chinese_chars
        self._cjk = "([" + "".join(f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in _CJK) + "])"
        ascii_punct = "".join(c for c in map(chr, range(33, 127)) if not c.isalnum())
        self._punct = "([\\pP" + "".join("\\" + c for c in ascii_punct) + "])"
        specials = sorted(set(tok.all_special_tokens), key=len, reverse=True)
        self._special_pattern = "(?:" + "|".join(_re2_literal(t) for t in specials) + ")"
        self._special_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(specials), tf.constant([tok.convert_tokens_to_ids(t) for t in specials], tf.int32)
            ),
            default_value=-1,
        )
        vocab = [tok._inverse[i] for i in range(len(tok))]
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=vocab,
            suffix_indicator="##",
            unknown_token=tok.unk_token,
            no_pretokenization=True,
            support_detokenization=False,
            token_out_type=tf.int32,
        )
        self._unk_token = tok.unk_token
        self.encode = tf.function(
            self._ids, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
        )

    def _ids(self, text: tf.Tensor) -> tf.RaggedTensor:
        tf.strings.unicode_decode(text, "UTF-8", errors="strict")  # raises on invalid UTF-8 (sentinel safety)
        chunks, is_special = _split_marked(text, self._special_pattern)  # 1. special tokens
        flat = tf.where(is_special, tf.constant(""), chunks.flat_values)
        flat = tf.strings.regex_replace(flat, _PRIVATE_PLANES, "")  # 2. per character
        flat = _map_chars(flat, self._table)
        if self._chinese:
            flat = tf.strings.regex_replace(flat, self._cjk, " \\1 ")
        flat = tf.strings.regex_replace(flat, self._punct, " \\1 ")  # 3. punctuation stands alone
        words = tf.strings.split(flat, sep=" ")
        words = tf.ragged.boolean_mask(words, tf.not_equal(words, ""))
        flat_words = words.flat_values  # 4. WordPiece; a word of more than 100 characters is [UNK]
        long = tf.strings.length(flat_words, unit="UTF8_CHAR") > MAX_INPUT_CHARS_PER_WORD
        flat_words = tf.where(long, tf.constant(self._unk_token), flat_words)
        ids = words.with_flat_values(self._wordpiece.tokenize(flat_words)).merge_dims(1, 2)
        special_ids = self._special_table.lookup(tf.boolean_mask(chunks.flat_values, is_special))
        special_rows = tf.RaggedTensor.from_row_lengths(
            special_ids, tf.cast(is_special, tf.int64), validate=False
        )
        per_chunk = tf.concat([special_rows, ids], axis=1)
        return tf.RaggedTensor.from_row_splits(per_chunk, chunks.row_splits, validate=False).merge_dims(1, 2)


@keras.saving.register_keras_serializable(package="tf_albert")
class AlbertWordPieceLayer(AlbertTokenizerLayer):
    """WordPiece tokenization inside the TF graph, with the ids of :class:`AlbertWordPieceTokenizer` (and so
    of HF's ``BertTokenizer``): raw strings in, ``input_ids``/``token_type_ids``/``attention_mask`` out.

    Args:
        vocab: list of str. The vocabulary (`vocab.txt`'s lines), or a path to `vocab.txt`.
        sequence_length: int or None. The length rows are cut and padded to (see
            :class:`AlbertTokenizerLayer`, which packs the same way).
        padding: str or None. ``"max_length"`` or ``"longest"``.
        truncation: str or None. ``"longest_first"``, ``"only_first"``, ``"only_second"`` or ``None``.
        add_special_tokens: bool. Add ``[CLS]``/``[SEP]``.
        do_lower_case: bool. Lower-case the text (and strip accents unless ``strip_accents=False``).
        strip_accents: bool or None. ``None`` follows ``do_lower_case``, as in HF.
        tokenize_chinese_chars: bool. Split around CJK ideographs.
        unk_token: str. The token of words WordPiece cannot segment (``[UNK]``).
        sep_token: str. Put after each text (``[SEP]``).
        pad_token: str. Fills rows up to the padded length (``[PAD]``).
        cls_token: str. Put before the first text (``[CLS]``).
        mask_token: str. Matched in the text as a whole token (``[MASK]``).
        **kwargs: Keras layer arguments (``name``, ``dtype``, ...).
    """

    def __init__(
        self,
        vocab=None,
        sequence_length: int | None = None,
        padding: str | None = None,
        truncation: str | None = "longest_first",
        add_special_tokens: bool = True,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        **kwargs,
    ):
        self._init_layer(_MISSING_TEXT, **kwargs)
        if isinstance(vocab, (list, tuple)):
            tokens = list(vocab)
        elif vocab is not None:
            tokens = read_vocab(vocab)
        else:
            raise ValueError("AlbertWordPieceLayer needs `vocab` (a list of tokens or the path of vocab.txt)")
        self.tokenizer = AlbertWordPieceTokenizer(
            tokens=tokens,
            do_lower_case=do_lower_case,
            strip_accents=strip_accents,
            tokenize_chinese_chars=tokenize_chinese_chars,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
        )
        self._set_packing(sequence_length, padding, truncation, add_special_tokens)
        tok = self.tokenizer
        key = (
            "wordpiece",
            tuple(tokens),
            tok.do_lower_case,
            tok.strip_accents,
            tok.tokenize_chinese_chars,
            tuple(sorted(tok._special.items())),
        )
        encoder = _TABLES.get(key)
        if encoder is None:
            encoder = _WordPieceEncoder(tok)
            _TABLES[key] = encoder
        self._text_encoder = encoder

    @classmethod
    def from_tokenizer(cls, tokenizer: AlbertWordPieceTokenizer, **kwargs) -> AlbertWordPieceLayer:
        """The layer of a Python :class:`AlbertWordPieceTokenizer` (same vocabulary and options)."""
        if not isinstance(tokenizer, AlbertWordPieceTokenizer):
            raise TypeError(f"tokenizer must be an AlbertWordPieceTokenizer, got {type(tokenizer).__name__}")
        options = dict(
            do_lower_case=tokenizer.do_lower_case,
            strip_accents=tokenizer.strip_accents,
            tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
            **{k: v for k, v in tokenizer._special.items() if k != "bos_token" and k != "eos_token"},
        )
        options.update(kwargs)
        return cls(vocab=[tokenizer._inverse[i] for i in range(len(tokenizer))], **options)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> AlbertWordPieceLayer:
        """A folder holding `vocab.txt` (see :meth:`AlbertWordPieceTokenizer.from_pretrained`)."""
        return cls.from_tokenizer(AlbertWordPieceTokenizer.from_pretrained(path), **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = keras.layers.Layer.get_config(self)
        tok = self.tokenizer
        config.update(
            vocab=[tok._inverse[i] for i in range(len(tok))],
            **self._packing_config(),
            do_lower_case=tok.do_lower_case,
            strip_accents=tok.strip_accents,
            tokenize_chinese_chars=tok.tokenize_chinese_chars,
            **{k: v for k, v in tok._special.items() if k not in ("bos_token", "eos_token")},
        )
        return config
