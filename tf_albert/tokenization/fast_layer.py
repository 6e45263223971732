"""In-graph tokenizer for HF ``tokenizer.json`` (Unigram) folders: :class:`AlbertTokenizerFast`'s ids, TF ops.

Needs ``tensorflow-text`` like the other in-graph layers, and ``tokenizers`` when the layer is built (it runs
the folder's own normaliser on every code point to make the tables; a SavedModel needs neither). The
``tokenizers`` pipeline is reproduced step by step:

1. added tokens are cut out of the raw text first, leftmost-longest (``lstrip``/``rstrip`` eat whitespace);
2. each remaining chunk is normalised: the leading ``Replace`` steps (``````→``"``, ``''``→``"``) with
   regexes, then everything else (NFKD, StripAccents, Lowercase, the ``Precompiled`` charsmap, ...) with one
   per-character table made by running the folder's normaliser on each code point. That is exact because
   those steps work character by character, except ``Precompiled``, which looks whole grapheme clusters up
   when they are shorter than 6 bytes: the charsmap is decoded when the layer is built, and a charsmap with a
   rule that could apply across characters there (e.g. ``e`` + U+0301 → ``é`` when accents are kept) is
   refused with an error instead of giving different ids;
3. ``WhitespaceSplit`` (Unicode White_Space) and ``Metaspace`` (prefix ``▁``; split before ``▁``);
4. ``tokenizers``' Unigram Viterbi (:mod:`tf_albert.tokenization.unigram` with float64 path scores, every
   piece matchable, unknown characters ``min(score) - 10``, runs of unknowns fused into one ``<unk>``).

Packing (``[CLS] A [SEP] B [SEP]``, truncation, padding) is :class:`AlbertTokenizerLayer`'s.

Example (the toy folder of :mod:`tf_albert.tokenization.fast`):

>>> import tokenizers
>>> from tf_albert.tokenization.fast import AlbertTokenizerFast, _tokenizers
>>> pieces = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "▁", "▁a", "b", "▁ab"]
>>> tk = tokenizers.Tokenizer(tokenizers.models.Unigram([(p, -1.0) for p in pieces], unk_id=1))
>>> tk.normalizer = tokenizers.normalizers.Lowercase()
>>> tk.pre_tokenizer = tokenizers.pre_tokenizers.Metaspace()
>>> tok = AlbertTokenizerFast(tk)
>>> layer = AlbertFastTokenizerLayer.from_tokenizer(tok, sequence_length=8)
>>> layer(tf.constant(["AB a"]), tf.constant(["b"]))["input_ids"].numpy().tolist()
[[2, 8, 6, 3, 5, 7, 3, 0]]
>>> tok("AB a", "b")["input_ids"]
[2, 8, 6, 3, 5, 7, 3]
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_albert.tokenization.fast import AlbertTokenizerFast, _tokenizers
from tf_albert.tokenization.layer import (
    AlbertTokenizerLayer,
    _map_chars,
    _re2_literal,
    _shared,
    _split_marked,
)
from tf_albert.tokenization.rules import char_class
from tf_albert.tokenization.unigram import UnigramTables

_MISSING_TEXT = "AlbertFastTokenizerLayer needs tensorflow-text: pip install tf_albert[text]"
_SENTINEL = b"\xff"  # never in valid UTF-8
# Code points whose normalisation is tabled; the rest (unassigned planes 4-13, tags aside, private use planes
# 15-16) are checked to map to themselves when the layer is built.
_TABLE_RANGES = ((0, 0x40000), (0xE0000, 0xE1000))
_UNTABLED_SAMPLES = (0x40000, 0x50000, 0xDFFFF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD)
# Rust's char::is_whitespace (Unicode White_Space): what WhitespaceSplit splits on.
_WHITE_SPACE = ((0x9, 0xD), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000))
# Grapheme-cluster "Control"/CR/LF characters: never joined with a neighbour into one cluster.
_CONTROLS = {*range(0x20), *range(0x7F, 0xA0), 0x61C}


def charsmap_rules(blob: bytes, max_bytes: int = 1 << 30) -> dict[str, str]:
    """The rules of a SentencePiece precompiled charsmap ({source: replacement}): a darts-clone double-array
    trie (little-endian uint32 units, preceded by its byte size) over UTF-8 sources, whose leaf values index
    NUL-terminated replacements stored after the trie. Sources longer than ``max_bytes`` are left out."""
    (size,) = struct.unpack("<I", blob[:4])
    units = np.frombuffer(blob[4:4 + size], dtype="<u4").astype(np.int64)
    strings = blob[4 + size:]
    labels = np.arange(1, 256)
    rules, pos, keys = {}, np.zeros([1], np.int64), [b""]
    while pos.size and len(keys[0]) <= max_bytes:  # breadth first, one byte deeper per round, all nodes of a round at once
        base = pos ^ ((units[pos] >> 10) << ((units[pos] & (1 << 9)) >> 6))
        for i in np.flatnonzero(((units[pos] >> 8) & 1) & (pos > 0)):  # has a leaf: its value is at base
            start = int(units[base[i]] & ((1 << 31) - 1))
            rules[keys[i].decode("utf-8")] = strings[start:strings.index(b"\0", start)].decode("utf-8")
        child = base[:, None] ^ labels[None, :]
        ok = child < len(units)
        ok[ok] = (units[child[ok]] & ((1 << 31) | 0xFF)) == np.broadcast_to(labels, child.shape)[ok]
        parent, label = np.nonzero(ok)
        pos, keys = child[parent, label], [keys[i] + bytes([c + 1]) for i, c in zip(parent, label)]
        if not keys:
            break
    return rules


def _unsupported(what: str) -> ValueError:
    return ValueError(f"AlbertFastTokenizerLayer cannot reproduce this tokenizer.json: {what}; "
                      "use AlbertTokenizerFast (Python) for it")


def _normalizer_plan(spec, tokenizers) -> tuple[list, Any, list]:
    """(leading literal replacements, the `tokenizers` normaliser of the per-character steps, a trailing
    whitespace replacement as a regex)."""
    steps = spec.get("normalizer")
    steps = [] if steps is None else steps["normalizers"] if steps["type"] == "Sequence" else [steps]
    replace = []
    while steps and steps[0]["type"] == "Replace" and "String" in steps[0]["pattern"]:
        replace.append((steps[0]["pattern"]["String"], steps[0]["content"]))
        steps = steps[1:]
    per_char = {"NFD", "NFKD", "StripAccents", "Lowercase", "Precompiled", "Strip"}
    trailing = []
    for i, step in enumerate(steps):
        kind = step["type"]
        if kind == "Replace" and i == len(steps) - 1:  # a trailing whitespace clean-up (" {2,}" -> " ")
            pattern = step["pattern"]
            pattern = _re2_literal(pattern["String"]) if "String" in pattern else pattern.get("Regex", "")
            if (pattern.strip(" {}+,0123456789") == "" and step["content"].strip() == ""):
                trailing.append((pattern, step["content"]))
                continue
        if kind not in per_char:
            raise _unsupported(f"normalizer step {json.dumps(step)[:80]}")
    steps = steps[:-1] if trailing else steps
    rest = tokenizers.Tokenizer.from_str(json.dumps({**spec, "normalizer": {"type": "Sequence",
                                                                           "normalizers": steps}}))
    for i, step in enumerate(steps):
        if step["type"] == "Precompiled":
            before = tokenizers.Tokenizer.from_str(json.dumps(
                {**spec, "normalizer": {"type": "Sequence", "normalizers": steps[:i]}})).normalizer
            _check_charsmap(base64.b64decode(step["precompiled_charsmap"]), before)
    return replace, rest.normalizer, trailing


def _check_charsmap(blob: bytes, before) -> None:
    """Refuse a charsmap whose rules could see a grapheme cluster differently from its characters."""
    for source in charsmap_rules(blob, max_bytes=5):  # longer rules only see clusters char by char
        size = len(source.encode("utf-8"))
        if before.normalize_str(source) != source:
            continue  # the steps before the charsmap never leave this source in the text
        if len(source) > 1 and size < 6:
            raise _unsupported(f"charsmap rule for the {len(source)}-character cluster {source!r}")
        if len(source) == 1 and size < 3 and ord(source) not in _CONTROLS:
            raise _unsupported(f"charsmap rule for {source!r}, which a joiner can extend into one cluster")
        if len(source) == 1 and size == 3 and before.normalize_str("a\u0301") != "a":
            raise _unsupported(f"charsmap rule for {source!r} with combining marks kept")


def char_map(normalizer) -> dict[int, str]:
    """{code point: what `normalizer` makes of it alone} where that differs."""
    out = {}
    for lo, hi in _TABLE_RANGES:
        for cp in range(lo, hi):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            c = chr(cp)
            n = normalizer.normalize_str(c)
            if n != c:
                out[cp] = n
    moved = [hex(cp) for cp in _UNTABLED_SAMPLES if normalizer.normalize_str(chr(cp)) != chr(cp)]
    if moved:
        raise _unsupported(f"the normaliser changes untabled code points {moved}")
    return out


def _pre_tokenizer(spec) -> tuple[bool, str, bool]:
    """(WhitespaceSplit first, the Metaspace replacement, prepend it)."""
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    whitespace = bool(steps) and steps[0].get("type") == "WhitespaceSplit"
    steps = steps[1:] if whitespace else steps
    if len(steps) != 1 or steps[0].get("type") != "Metaspace" or not steps[0].get("split", True):
        raise _unsupported(f"pre_tokenizer {json.dumps(pre)[:120]}")
    meta = steps[0]
    scheme = meta.get("prepend_scheme") or ("always" if meta.get("add_prefix_space", True) else "never")
    if scheme not in ("always", "never"):
        raise _unsupported(f'Metaspace prepend_scheme "{scheme}"')
    return whitespace, meta.get("replacement", "\u2581"), scheme == "always"


class _FastTextEncoder(tf.Module):
    """Text to piece ids (no [CLS]/[SEP]) for one tokenizer.json, as a graph function."""

    def __init__(self, tok: AlbertTokenizerFast, tokenizers):
        super().__init__(name="fast_text_encoder")
        spec = json.loads(tok._tk.to_str())
        model = spec["model"]
        if model.get("type") != "Unigram" or model.get("byte_fallback"):
            raise _unsupported(f"model type {model.get('type')} (byte_fallback={model.get('byte_fallback')})")
        ws = char_class(_WHITE_SPACE, "re2")
        added = sorted(spec.get("added_tokens") or [], key=lambda t: len(t["content"]), reverse=True)
        for t in added:
            if t.get("normalized") or t.get("single_word"):
                raise _unsupported(f"added token {t['content']!r} with normalized/single_word")
        self._added_pattern = "(?:" + "|".join(
            (f"{ws}*" if t.get("lstrip") else "") + _re2_literal(t["content"]) + (f"{ws}*" if t.get("rstrip")
                                                                                 else "")
            for t in added) + ")" if added else None
        self._ws_edges = f"^{ws}+|{ws}+$"
        self._ws = ws
        if added:
            self._added_table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant([t["content"] for t in added]), tf.constant([t["id"] for t in added], tf.int32)),
                default_value=-1)
        replace, normalizer, trailing = _normalizer_plan(spec, tokenizers)
        self._replace = [(_re2_literal(a), b.replace("\\", "\\\\")) for a, b in replace]
        self._trailing = trailing
        mapping = char_map(normalizer)
        self._table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(mapping), tf.int64), tf.constant([v.encode("utf-8") for v in mapping.values()])),
            default_value=b"\xff") if mapping else None
        self._whitespace_split, self._replacement, self._prepend = _pre_tokenizer(spec)
        self._unigram = UnigramTables(vocab=[tuple(v) for v in model["vocab"]], unk_id=model.get("unk_id", 0))
        self.encode = tf.function(self._ids, input_signature=[tf.TensorSpec([None], tf.string)],
                                  autograph=False)

    def _words(self, text: tf.Tensor) -> tf.RaggedTensor:
        """Normalised chunks (1-D) to their pre-tokens, ``▁``-prefixed: ragged [chunks, words]."""
        rep = self._replacement
        if self._whitespace_split:
            text = tf.strings.regex_replace(text, self._ws, " ")
            words = tf.strings.split(text, sep=" ")
        else:  # Metaspace alone: spaces become the replacement, and the chunk is one pre-token
            words = tf.RaggedTensor.from_tensor(tf.expand_dims(tf.strings.regex_replace(text, " ", rep), 1))
        flat = words.flat_values
        if self._prepend:
            starts = tf.equal(tf.strings.substr(flat, 0, len(rep.encode("utf-8"))), rep)
            flat = tf.where(starts | tf.equal(flat, ""), flat, tf.strings.join([rep, flat]))
        # Metaspace's split: a new pre-token before every replacement character
        parts = tf.strings.split(tf.strings.regex_replace(flat, _re2_literal(rep), _SENTINEL + rep.encode("utf-8")),
                                 sep=_SENTINEL)
        words = words.with_flat_values(parts).merge_dims(1, 2)
        return tf.ragged.boolean_mask(words, tf.not_equal(words, ""))

    def _ids(self, text: tf.Tensor) -> tf.RaggedTensor:
        tf.strings.unicode_decode(text, "UTF-8", errors="strict")  # raises on invalid UTF-8 (sentinel safety)
        if self._added_pattern is None:
            chunks = tf.RaggedTensor.from_tensor(tf.expand_dims(text, 1))
            is_added = tf.zeros(tf.shape(text), tf.bool)
        else:  # 1. added tokens, on the raw text
            chunks, is_added = _split_marked(text, self._added_pattern)
        flat = tf.where(is_added, tf.constant(""), chunks.flat_values)
        for pattern, content in self._replace:  # 2. normaliser
            flat = tf.strings.regex_replace(flat, pattern, content)
        if self._table is not None:
            flat = _map_chars(flat, self._table)
        for pattern, content in self._trailing:
            flat = tf.strings.regex_replace(flat, pattern, content)
        words = self._words(flat)  # 3. pre-tokenizer, 4. Unigram per word
        ids = words.with_flat_values(self._unigram.encode(words.flat_values)).merge_dims(1, 2)
        if self._added_pattern is not None:
            bare = tf.strings.regex_replace(tf.boolean_mask(chunks.flat_values, is_added), self._ws_edges, "")
            added_rows = tf.RaggedTensor.from_row_lengths(
                self._added_table.lookup(bare), tf.cast(is_added, tf.int64), validate=False)
            ids = tf.concat([added_rows, ids], axis=1)
        return tf.RaggedTensor.from_row_splits(ids, chunks.row_splits, validate=False).merge_dims(1, 2)


@keras.saving.register_keras_serializable(package="tf_albert")
class AlbertFastTokenizerLayer(AlbertTokenizerLayer):
    """Tokenization of an HF ``tokenizer.json`` (Unigram) inside the TF graph, with the ids of
    :class:`AlbertTokenizerFast` (and so of HF's fast tokenizer on that folder): raw strings in,
    ``input_ids``/``token_type_ids``/``attention_mask`` out.

    Args:
        tokenizer_json: str. The ``tokenizer.json`` text, or a path to it or to its folder.
        sequence_length: int or None. The length rows are cut and padded to.
        padding: str or None. ``"max_length"`` or ``"longest"``, as :class:`AlbertTokenizerLayer` pads.
        truncation: str or None. How rows longer than ``sequence_length`` are cut (``"longest_first"``).
        add_special_tokens: bool. Add ``[CLS]``/``[SEP]``.
        special_tokens: dict. ``{"cls_token": "[CLS]", ...}`` as :class:`AlbertTokenizerFast` takes them.
        **kwargs: Keras layer arguments (``name``, ``dtype``, ...).

    Refused when built (``ValueError``): a model other than Unigram, byte fallback, added tokens with
    ``normalized``/``single_word``, normaliser steps that are not per-character (see the module docstring),
    a charsmap rule that could apply across characters, pre-tokenizers other than
    ``[WhitespaceSplit,] Metaspace`` with ``prepend_scheme`` ``always``/``never``. A string that is not valid
    UTF-8 raises ``InvalidArgumentError``.
    """

    def __init__(self, tokenizer_json: str | None = None, sequence_length: int | None = None,
                 padding: str | None = None, truncation: str | None = "longest_first",
                 add_special_tokens: bool = True, special_tokens: dict | None = None, **kwargs):
        self._init_layer(_MISSING_TEXT, **kwargs)
        if tokenizer_json is None:
            raise ValueError("AlbertFastTokenizerLayer needs `tokenizer_json` (its text or its path)")
        if tokenizer_json.lstrip().startswith("{"):
            tk = _tokenizers().Tokenizer.from_str(tokenizer_json)
            self.tokenizer = AlbertTokenizerFast(tk, **(special_tokens or {}))
        else:
            self.tokenizer = AlbertTokenizerFast.from_pretrained(tokenizer_json, **(special_tokens or {}))
        self._set_packing(sequence_length, padding, truncation, add_special_tokens)
        text = self.tokenizer._tk.to_str()
        self._text_encoder = _shared(("fast", hashlib.sha256(text.encode("utf-8")).hexdigest()),
                                     lambda: _FastTextEncoder(self.tokenizer, _tokenizers()))

    @classmethod
    def from_tokenizer(cls, tokenizer: AlbertTokenizerFast, **kwargs) -> AlbertFastTokenizerLayer:
        """The layer of a Python :class:`AlbertTokenizerFast` (same tokenizer.json and special tokens)."""
        if not isinstance(tokenizer, AlbertTokenizerFast):
            raise TypeError(f"tokenizer must be an AlbertTokenizerFast, got {type(tokenizer).__name__}")
        return cls(tokenizer._tk.to_str(), special_tokens=dict(tokenizer._special), **kwargs)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> AlbertFastTokenizerLayer:
        """A folder holding ``tokenizer.json`` (see :meth:`AlbertTokenizerFast.from_pretrained`)."""
        return cls.from_tokenizer(AlbertTokenizerFast.from_pretrained(path), **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = keras.layers.Layer.get_config(self)
        config.update(
            tokenizer_json=self.tokenizer._tk.to_str(),
            **self._packing_config(),
            special_tokens=dict(self.tokenizer._special),
        )
        return config
