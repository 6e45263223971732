"""In-graph ALBERT tokenizer: :class:`AlbertTokenizer`'s ids computed with TensorFlow ops.

Needs ``tensorflow-text`` (``pip install tf_albert[text]``), whose SentencePiece op is used to apply the
model's own normaliser. The text rules (whitespace, quote replacement, NFKD, combining marks, lower-casing,
special tokens, the ``<digit>,`` re-split) are those of :mod:`tf_albert.tokenization` and
:mod:`tf_albert.tokenization.rules`: the per-character tables are built from the same Python ``unicodedata``
the Python tokenizer uses (ICU, whose Unicode version may differ, is not used), and the unigram Viterbi is
re-implemented to break score ties exactly like the Python ``sentencepiece`` package, which the SentencePiece
build inside tensorflow-text does not (it segments e.g. ``"1,000,000"`` differently).
"""

from __future__ import annotations

import base64
import hashlib
import os
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_albert.tokenization.tokenizer import AlbertTokenizer
from tf_albert.tokenization.rules import (
    CONTEXT_SIGMA,
    SPIECE_UNDERLINE,
    char_class,
    char_tables,
    whitespace_ranges,
)

try:
    import tensorflow_text as tf_text
except ImportError:  # optional extra
    tf_text = None

_SENTINEL = b"\xff"  # can never occur in valid UTF-8: marks special-token boundaries
_NO_ENTRY = b"\xff"  # lookup default meaning "character maps to itself"
_MISSING_TEXT = "AlbertTokenizerLayer needs tensorflow-text: pip install tf_albert[text]"


def _re2_literal(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else (f"\\{c}" if c.isascii() else f"\\x{{{ord(c):x}}}")
                   for c in text)


def _char_table(mapping: dict[int, str]):
    if not mapping:
        return None
    keys = tf.constant(list(mapping.keys()), dtype=tf.int64)
    values = tf.constant([v.encode("utf-8") for v in mapping.values()], dtype=tf.string)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=_NO_ENTRY
    )


class _CharTables(tf.Module):
    """Lookup tables of :func:`tf_albert.tokenization.rules.char_tables`, shared by layers with the same
    options."""

    def __init__(self, do_lower_case: bool, keep_accents: bool):
        super().__init__(name="char_tables")
        pre_lower, normalize, _ = char_tables(do_lower_case, keep_accents)
        self.pre_lower = _char_table(pre_lower)
        self.normalize = _char_table(normalize)


# Resources shared between layers built from the same model/options (tables and the traced Viterbi are the
# costly part of building a layer); weak, so they go away with the last layer that uses them.
_SHARED: weakref.WeakValueDictionary[tuple, tf.Module] = weakref.WeakValueDictionary()


def _shared(key: tuple, make):
    value = _SHARED.get(key)
    if value is None:
        value = make()
        _SHARED[key] = value
    return value


def _map_chars(strings: tf.Tensor, table) -> tf.Tensor:
    """Replace every character of a 1-D string tensor by its table entry (characters without one stay)."""
    cps = tf.strings.unicode_decode(strings, "UTF-8", errors="strict")
    flat = cps.flat_values
    mapped = table.lookup(tf.cast(flat, tf.int64))
    chars = tf.strings.unicode_encode(tf.expand_dims(flat, 1), "UTF-8")
    out = tf.where(tf.equal(mapped, _NO_ENTRY), chars, mapped)
    return tf.strings.reduce_join(cps.with_flat_values(out), axis=1)


def _split_marked(strings: tf.Tensor, pattern: str) -> tuple[tf.RaggedTensor, tf.Tensor]:
    """Split on special-token matches: ``[text, special, text, special, ..., text]`` per row, and a flat
    ``is_special`` mask (odd positions)."""
    marked = tf.strings.regex_replace(strings, pattern, _SENTINEL + b"\\0" + _SENTINEL)
    parts = tf.strings.split(marked, sep=_SENTINEL)
    is_special = tf.equal(tf.math.floormod(tf.ragged.range(parts.row_lengths()).flat_values, 2), 1)
    return parts, is_special


class _UnigramTables(tf.Module):
    """SentencePiece's unigram Viterbi (``EncodeOptimized`` of the Python ``sentencepiece`` 0.2.x) in TF ops.

    tensorflow-text bundles another SentencePiece build whose Viterbi breaks exact score ties differently
    (e.g. ``"1,000,000"`` -> ``... 00 0`` instead of ``... 0 00``), so the layer only uses it to normalise and
    decodes here: float32 path scores, the earliest-starting piece wins a tie, user-defined symbols score
    ``0.1 * (bytes - 1)``, an unknown character scores ``min_score - 10`` and consecutive unknowns merge into
    one ``<unk>``.
    """

    def __init__(self, model_proto: bytes):
        super().__init__(name="unigram")
        from sentencepiece import sentencepiece_model_pb2

        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(model_proto)
        kinds = [p.type for p in proto.pieces]
        normal, user = (
            sentencepiece_model_pb2.ModelProto.SentencePiece.NORMAL,
            sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED,
        )
        scores = np.full([len(kinds)], -np.inf, dtype=np.float32)
        trie_pieces, trie_ids = [], []
        for i, p in enumerate(proto.pieces):
            if p.type == normal:
                scores[i] = np.float32(p.score)
            elif p.type == user:
                scores[i] = np.float32(0.1 * (len(p.piece.encode("utf-8")) - 1))
            else:
                continue
            trie_pieces.append(p.piece)
            trie_ids.append(i)
        self.unk_id = int(proto.trainer_spec.unk_id)
        self.unk_score = np.float32(
            np.float32(min(p.score for p in proto.pieces if p.type == normal)) - np.float32(10.0)
        )
        self.max_len = max(len(p) for p in trie_pieces)
        self.scores = tf.constant(scores)
        self.pieces = tf.constant([p.piece.encode("utf-8") for p in proto.pieces])
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([p.encode("utf-8") for p in trie_pieces]), tf.constant(trie_ids, dtype=tf.int32)
            ),
            default_value=-1,
        )
        # substrings worth extending one character to the left: proper suffixes of pieces
        suffixes = sorted({p[k:] for p in trie_pieces for k in range(1, len(p))})
        self.extendable = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([x.encode("utf-8") for x in suffixes] or [b""]),
                tf.ones([max(len(suffixes), 1)], tf.int32),
            ),
            default_value=0,
        )
        # a graph function: the Viterbi loops would run op by op in eager mode
        self.encode = tf.function(
            self._encode, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
        )

    def piece_to_id(self, pieces: tf.Tensor) -> tf.Tensor:
        ids = self.table.lookup(pieces)
        return tf.where(ids < 0, self.unk_id, ids)

    def _encode(self, normalized: tf.Tensor) -> tf.RaggedTensor:
        """Ids of a 1-D batch of normalised strings (``▁`` for spaces): ragged [batch, pieces] int32."""
        # a dummy last row keeps every shape non-empty; it is dropped at the end
        chars = tf.strings.unicode_split(tf.concat([normalized, [SPIECE_UNDERLINE]], 0), "UTF-8")
        n = tf.cast(chars.row_lengths(), tf.int32)
        start = tf.cast(chars.row_starts(), tf.int32)
        flat = chars.flat_values
        offset = tf.ragged.range(n).flat_values  # position of each character in its row
        total = tf.shape(flat)[0]
        pid = self.table.lookup(flat)  # pieces of one character; a character without one becomes <unk>
        scores = tf.TensorArray(tf.float32, size=self.max_len).write(
            0, tf.where(pid >= 0, tf.gather(self.scores, tf.maximum(pid, 0)), self.unk_score)
        )
        ids = tf.TensorArray(tf.int32, size=self.max_len).write(0, tf.where(pid >= 0, pid, self.unk_id))

        def grow(
            length, at, sub, scores, ids
        ):  # longer pieces: extend substrings leftwards while they can match
            more = tf.where((self.extendable.lookup(sub) > 0) & (tf.gather(offset, at) >= length - 1))[:, 0]
            at = tf.gather(at, more)
            sub = tf.strings.join([tf.gather(flat, at - (length - 1)), tf.gather(sub, more)])
            pid = self.table.lookup(sub)
            hit = tf.where(pid >= 0)
            where, found = tf.gather(at, hit), tf.gather_nd(pid, hit)
            scores = scores.write(
                length - 1,
                tf.tensor_scatter_nd_update(
                    tf.fill([total], np.float32(-np.inf)), where, tf.gather(self.scores, found)
                ),
            )
            ids = ids.write(
                length - 1, tf.tensor_scatter_nd_update(tf.zeros([total], tf.int32), where, found)
            )
            return length + 1, at, sub, scores, ids

        _, _, _, scores, ids = tf.while_loop(
            lambda length, *_: length <= self.max_len,
            grow,
            (2, tf.range(total), flat, scores, ids),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None]), None, None),
        )
        scores = tf.transpose(scores.stack())  # [characters, max_len]: the piece of length l+1 ending here
        ids = tf.transpose(ids.stack())
        lengths = tf.range(1, self.max_len + 1)
        rows, width = tf.shape(n)[0], tf.reduce_max(n)

        def step(j, window, best_len, best_id, overflow):
            live = j < n
            at = tf.minimum(start + j, tf.shape(flat)[0] - 1)
            cand = window + tf.where(live[:, tf.newaxis], tf.gather(scores, at), -np.inf)
            top = tf.reduce_max(cand, axis=1)
            # candidates arrive by ascending start; the first maximum (the longest piece) is kept
            length = tf.reduce_max(tf.where(tf.equal(cand, top[:, tf.newaxis]), lengths, 0), axis=1)
            pid = tf.gather(tf.gather(ids, at), tf.maximum(length - 1, 0), batch_dims=1)
            window = tf.concat(
                [top[:, tf.newaxis], window[:, :-1]], axis=1
            )  # window[:, k]: best k+1 chars back
            overflow |= tf.reduce_any(live & (tf.abs(top) > 1e5))
            return j + 1, window, best_len.write(j, length), best_id.write(j, pid), overflow

        _, _, best_len, best_id, overflow = tf.while_loop(
            lambda j, *_: j < width,
            step,
            (
                0,
                tf.zeros([rows, self.max_len], tf.float32),
                tf.TensorArray(tf.int32, size=width),
                tf.TensorArray(tf.int32, size=width),
                False,
            ),
        )
        tf.debugging.assert_equal(
            overflow,
            False,
            message=(
                "AlbertTokenizerLayer: a text chunk is too long (|path score| > 1e5, about 10,000 pieces) "
                "for the "
                "layer to reproduce SentencePiece's score re-basing; split the text or use AlbertTokenizer"
            ),
        )
        best_len = tf.transpose(best_len.stack())  # [rows, width]
        best_id = tf.transpose(best_id.stack())

        def back(k, pos, out):  # follow the best path from the end; pieces come out last-first
            live = pos > 0
            at = tf.maximum(pos - 1, 0)
            out = out.write(k, tf.where(live, tf.gather(best_id, at, batch_dims=1), -1))
            return k + 1, pos - tf.where(live, tf.gather(best_len, at, batch_dims=1), 0), out

        _, _, out = tf.while_loop(
            lambda k, pos, out: tf.reduce_any(pos > 0),
            back,
            (0, n, tf.TensorArray(tf.int32, size=0, dynamic_size=True)),
        )
        last_first = tf.transpose(out.stack())
        count = tf.reduce_sum(tf.cast(last_first >= 0, tf.int32), axis=1)
        pieces = tf.RaggedTensor.from_tensor(
            tf.reverse_sequence(last_first, count, seq_axis=1, batch_axis=0), lengths=count
        )[:-1]
        flat = pieces.flat_values  # merge runs of <unk> into one
        previous = tf.concat([[-1], flat[:-1]], axis=0)
        rowids = pieces.value_rowids()
        first = tf.concat([tf.ones([1], tf.bool), tf.not_equal(rowids[1:], rowids[:-1])], axis=0)[
            : tf.size(flat)
        ]
        keep = ~(tf.equal(flat, self.unk_id) & tf.equal(previous, self.unk_id) & ~first)
        return tf.ragged.boolean_mask(pieces, pieces.with_flat_values(keep))


class _TextEncoder(tf.Module):
    """Text to ALBERT piece ids (no [CLS]/[SEP]) for one model and text options, as a graph function."""

    def __init__(self, tok: AlbertTokenizer):
        super().__init__(name="albert_text_encoder")
        self.remove_space = tok.remove_space
        ws = char_class(whitespace_ranges(), "re2")
        self._ws_edges = f"^{ws}+|{ws}+$"
        self._ws_run = f"{ws}+"
        self._ws_tail = f"{ws}+$"
        specials = tok.all_special_tokens
        self._protect_pattern = "(?:" + "|".join(_re2_literal(t) for t in specials) + ")"
        self._split_pattern = (
            "(?:" + "|".join(_re2_literal(t) for t in sorted(specials, key=len, reverse=True)) + ")"
        )
        self._char_tables = _shared(
            ("chars", tok.do_lower_case, tok.keep_accents),
            lambda: _CharTables(tok.do_lower_case, tok.keep_accents),
        )
        self._check_sigma = tok.do_lower_case and not tok.keep_accents
        self._sigma_pattern = f"(?s).*\\x{{{ord(CONTEXT_SIGMA):x}}}.*"
        self._lstrip_tokens = sorted(tok._lstrip_tokens)
        self._special_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(specials),
                tf.constant([tok.convert_tokens_to_ids(t) for t in specials], dtype=tf.int32),
            ),
            default_value=-1,
        )
        digit_comma = np.zeros([tok.vocab_size], dtype=bool)  # pieces ending in "<digit>," (str.isdigit)
        digit_comma[sorted(tok._digit_comma_ids)] = True
        self._digit_comma = tf.constant(digit_comma)
        self._digit_comma_any = bool(digit_comma.any())
        self._underline_start = f"(?s)^{_re2_literal(SPIECE_UNDERLINE)}.*"
        self._comma_id = tok.sp_model.piece_to_id(",")
        self._normalizer = tf_text.SentencepieceTokenizer(model=tok._model_proto, out_type=tf.string)
        self._unigram = _shared(
            ("unigram", hashlib.sha256(tok._model_proto).hexdigest()),
            lambda: _UnigramTables(tok._model_proto),
        )
        self.encode = tf.function(
            self._pieces, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
        )

    def _pieces(self, text: tf.Tensor) -> tf.RaggedTensor:
        """Ids of a 1-D batch of strings, without [CLS]/[SEP]: ragged [batch, tokens] int32."""
        tf.strings.unicode_decode(text, "UTF-8", errors="strict")  # raises on invalid UTF-8 (sentinel safety)
        if self._char_tables.pre_lower is not None:  # 1. lower-case outside special tokens, char by char
            parts, is_special = _split_marked(text, self._protect_pattern)
            flat = parts.flat_values
            flat = tf.where(is_special, flat, _map_chars(flat, self._char_tables.pre_lower))
            text = tf.strings.reduce_join(parts.with_flat_values(flat), axis=1)
        chunks, is_special = _split_marked(text, self._split_pattern)  # 2. special tokens
        flat = chunks.flat_values
        nxt = tf.concat([flat[1:], tf.constant([""])], axis=0)  # [MASK] (lstrip) eats whitespace on its left
        eats = tf.zeros_like(is_special)
        for t in self._lstrip_tokens:
            eats = eats | tf.equal(nxt, t)
        flat = tf.where(~is_special & eats, tf.strings.regex_replace(flat, self._ws_tail, ""), flat)
        text = tf.where(is_special, tf.constant(""), flat)  # 3. preprocess the text chunks
        if self.remove_space:
            text = tf.strings.regex_replace(text, self._ws_edges, "")
            text = tf.strings.regex_replace(text, self._ws_run, " ")
        text = tf.strings.regex_replace(text, "``", '"')
        text = tf.strings.regex_replace(text, "''", '"')
        if self._char_tables.normalize is not None:
            text = _map_chars(text, self._char_tables.normalize)
        if self._check_sigma:
            tf.debugging.assert_equal(
                tf.reduce_any(tf.strings.regex_full_match(text, self._sigma_pattern)),
                False,
                message="AlbertTokenizerLayer cannot reproduce Python's final-sigma lower-casing of a "
                "mathematical "
                "capital sigma (U+1D6BA, U+1D6F4, U+1D72E, U+1D768, U+1D7A2); use AlbertTokenizer",
            )
        ids = self._sp_encode(text)  # 4. SentencePiece, then the <digit>, re-split
        if self._digit_comma_any:
            ids = self._split_digit_comma(ids)
        special_ids = self._special_table.lookup(tf.boolean_mask(flat, is_special))
        special_rows = tf.RaggedTensor.from_row_lengths(
            special_ids, tf.cast(is_special, tf.int64), validate=False
        )
        per_chunk = tf.concat([special_rows, tf.cast(ids, tf.int32)], axis=1)
        return tf.RaggedTensor.from_row_splits(per_chunk, chunks.row_splits, validate=False).merge_dims(1, 2)

    def _sp_encode(self, text: tf.Tensor) -> tf.RaggedTensor:
        """SentencePiece ids of a 1-D batch: tensorflow-text normalises (the pieces of its segmentation
        concatenate
        to the normalised text), then the unigram Viterbi of the Python library picks the pieces."""
        normalized = tf.strings.reduce_join(self._normalizer.tokenize(text), axis=1)
        return self._unigram.encode(normalized)

    def _split_digit_comma(self, ids: tf.RaggedTensor) -> tf.RaggedTensor:
        flat = ids.flat_values
        hit = tf.gather(self._digit_comma, flat)
        hit_idx = tf.cast(tf.where(hit)[:, 0], tf.int32)
        keep_idx = tf.cast(tf.where(~hit)[:, 0], tf.int32)
        pieces = tf.gather(self._unigram.pieces, tf.gather(flat, hit_idx))
        n = tf.strings.length(pieces) - 1
        body = tf.strings.substr(pieces, tf.zeros_like(n), n)  # drop the ',' (one byte)
        sub = self._sp_encode(tf.strings.regex_replace(body, SPIECE_UNDERLINE, ""))
        # the piece did not start a word: its re-encoding must not either (strip a leading "▁")
        first_pos = sub.row_splits[:-1]
        first_ids = tf.gather(sub.flat_values, first_pos)
        first = tf.gather(self._unigram.pieces, first_ids)
        fix = ~tf.strings.regex_full_match(pieces, self._underline_start) & tf.strings.regex_full_match(
            first, self._underline_start
        )
        stripped = tf.strings.substr(first, len(SPIECE_UNDERLINE.encode("utf-8")), 1 << 30)
        new_first = tf.where(fix, self._unigram.piece_to_id(stripped), first_ids)
        values = tf.tensor_scatter_nd_update(sub.flat_values, first_pos[:, None], new_first)
        keep = tf.tensor_scatter_nd_update(
            tf.ones_like(values, tf.bool), first_pos[:, None], ~(fix & tf.equal(stripped, ""))
        )
        sub = tf.ragged.boolean_mask(sub.with_flat_values(values), sub.with_flat_values(keep))
        commas = tf.RaggedTensor.from_row_lengths(
            tf.fill(tf.shape(hit_idx), self._comma_id), tf.ones_like(hit_idx, tf.int64), validate=False
        )
        sub = tf.concat([sub, commas], axis=1)
        kept = tf.RaggedTensor.from_row_lengths(
            tf.gather(flat, keep_idx), tf.ones_like(keep_idx, tf.int64), validate=False
        )
        rows = tf.gather(
            tf.concat([kept, sub], axis=0), tf.math.invert_permutation(tf.concat([keep_idx, hit_idx], axis=0))
        )
        return tf.RaggedTensor.from_row_splits(rows, ids.row_splits, validate=False).merge_dims(1, 2)


@keras.saving.register_keras_serializable(package="tf_albert")
class AlbertTokenizerLayer(keras.layers.Layer):
    """ALBERT tokenization inside the TF graph: raw strings in,
    ``input_ids``/``token_type_ids``/``attention_mask``
    (int32) out, with the ids of :class:`~tf_albert.tokenization.AlbertTokenizer` (and so of HF's).

    Works eagerly, in ``tf.data.Dataset.map``, in ``tf.function`` and in an exported SavedModel. Input is a
    string scalar or a 1-D batch; a second input (``text_pair``, or a 2-tuple) makes ``[CLS] A [SEP] B [SEP]``
    pairs.

    Args:
        proto: bytes or str. The SentencePiece model (serialized bytes, or a path to ``spiece.model``).
        sequence_length: int or None. Truncate to this many tokens (special tokens included) and pad to it
            (``padding="max_length"``) or to the longest row of the batch (``padding="longest"``). ``None``:
            no truncation, pad to the longest row.
        padding: ``"max_length"`` (static shape, the default when ``sequence_length`` is set) or
        ``"longest"``. truncation: ``"longest_first"`` (default), ``"only_first"``, ``"only_second"`` or
        ``None`` (then a row longer
            than ``sequence_length`` raises instead of being cut).
        add_special_tokens: bool. Add ``[CLS]``/``[SEP]``. Defaults to ``True``.
        do_lower_case, remove_space, keep_accents, bos_token, eos_token, unk_token, sep_token, pad_token,
        cls_token, mask_token, additional_special_tokens, added_tokens: as in :class:`AlbertTokenizer`.
        proto_base64: str. The model as base64 text (what :meth:`get_config` stores), instead of ``proto``.

    Cases that cannot match and therefore raise ``tf.errors.InvalidArgumentError`` instead of differing:
      * with ``do_lower_case`` and not ``keep_accents``, text containing a mathematical capital sigma
        (U+1D6BA, U+1D6F4, U+1D72E, U+1D768, U+1D7A2): the reference lower-cases the ``Σ`` that NFKD makes of
        it with Python's context-dependent final-sigma rule (``ς`` or ``σ``), which this layer does not model;
      * ``truncation="only_first"``/``"only_second"`` when that sequence is too short to reach
        ``sequence_length`` (the Python tokenizer raises ``ValueError`` there), and ``truncation=None`` with a
        row longer than ``sequence_length``;
      * a text chunk (between special tokens) of more than about 10,000 pieces, where SentencePiece re-bases
        its float scores (the Python tokenizer handles it);
      * input that is not valid UTF-8.
    Additional special tokens that overlap each other are matched leftmost-longest (HF uses a trie that can
    differ). The segmentation reproduces the Python ``sentencepiece`` 0.2.3 encoder (float32 scores, ties to
    the earliest-starting piece, user-defined symbols scored ``0.1 * (bytes - 1)``); older ``sentencepiece``
    releases score user-defined symbols differently, and so, on rare inputs, does HF's tokenizer running on
    them.

    Cost: the Viterbi loop takes one step per character of the longest text in a batch, so the layer suits
    serving (short texts, small batches). To pre-tokenize a training corpus, the Python
    :class:`AlbertTokenizer` is about 15x faster (see ``benchmarks/bench_tokenizer.py``); both give the same
    ids.

    Example:

    >>> layer = AlbertTokenizerLayer.from_pretrained("tests/fixtures/tokenizer", sequence_length=8)
    >>> out = layer(tf.constant(["Hello, [MASK]!", "Café"]))
    >>> out["input_ids"].shape
    TensorShape([2, 8])
    >>> ds = tf.data.Dataset.from_tensor_slices(["a question?"]).batch(1).map(layer)
    """

    def __init__(
        self,
        proto: bytes | str | None = None,
        sequence_length: int | None = None,
        padding: str | None = None,
        truncation: str | None = "longest_first",
        add_special_tokens: bool = True,
        do_lower_case: bool = True,
        remove_space: bool = True,
        keep_accents: bool = False,
        bos_token: str = "[CLS]",
        eos_token: str = "[SEP]",
        unk_token: str = "<unk>",
        sep_token: str = "[SEP]",
        pad_token: str = "<pad>",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        additional_special_tokens: list[str] | None = None,
        added_tokens: dict[str, int] | None = None,
        proto_base64: str | None = None,
        **kwargs,
    ):
        if tf_text is None:
            raise ImportError(_MISSING_TEXT)
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

        # === Config ===
        if proto_base64 is not None:
            proto = base64.b64decode(proto_base64)
        path = None
        if isinstance(proto, (str, os.PathLike)):
            path = os.fspath(proto)
            proto = None
        if sequence_length is not None and (
            not isinstance(sequence_length, (int, np.integer)) or sequence_length < 2
        ):
            raise ValueError(f"sequence_length must be an int >= 2 or None, got {sequence_length!r}")
        if padding is None:
            padding = "max_length" if sequence_length is not None else "longest"
        if padding not in ("max_length", "longest"):
            raise ValueError(f"padding must be 'max_length' or 'longest', got {padding!r}")
        if padding == "max_length" and sequence_length is None:
            raise ValueError("padding='max_length' needs sequence_length")
        if truncation not in ("longest_first", "only_first", "only_second", None):
            raise ValueError(
                f"truncation must be 'longest_first', 'only_first', 'only_second' or None, got {truncation!r}"
            )
        self.sequence_length = None if sequence_length is None else int(sequence_length)
        self.padding = padding
        self.truncation = truncation
        self.add_special_tokens = bool(add_special_tokens)
        self.tokenizer = AlbertTokenizer(
            vocab_file=path,
            model_proto=proto,
            do_lower_case=do_lower_case,
            remove_space=remove_space,
            keep_accents=keep_accents,
            bos_token=bos_token,
            eos_token=eos_token,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            additional_special_tokens=additional_special_tokens,
            added_tokens=added_tokens,
        )
        tok = self.tokenizer
        if tok.sp_model.piece_to_id(",") == tok.sp_model.unk_id():
            raise ValueError(
                "AlbertTokenizerLayer needs ',' in the SentencePiece vocabulary (digit-comma rule)"
            )

        # === Text to pieces (shared by layers with the same model and text options) ===
        key = (
            hashlib.sha256(tok._model_proto).hexdigest(),
            tok.do_lower_case,
            tok.remove_space,
            tok.keep_accents,
            tuple(tok.all_special_tokens),
            tuple(sorted(tok._added_encoder.items())),
        )
        self._text_encoder = _shared(("text",) + key, lambda: _TextEncoder(tok))
        self.built = True

    # === Constructors ===
    @classmethod
    def from_tokenizer(cls, tokenizer: AlbertTokenizer, **kwargs) -> AlbertTokenizerLayer:
        """A layer with ``tokenizer``'s model and options; ``kwargs`` are layer options."""
        if not isinstance(tokenizer, AlbertTokenizer):
            raise TypeError(
                f"tokenizer must be an AlbertTokenizer, got {type(tokenizer).__name__}: {tokenizer!r}"
            )
        if tokenizer.sp_model_kwargs.get("enable_sampling"):
            raise ValueError(
                "AlbertTokenizerLayer does not support SentencePiece sampling, got sp_model_kwargs="
                f"{tokenizer.sp_model_kwargs!r}"
            )
        options = dict(
            do_lower_case=tokenizer.do_lower_case,
            remove_space=tokenizer.remove_space,
            keep_accents=tokenizer.keep_accents,
            additional_special_tokens=tokenizer.additional_special_tokens,
            added_tokens=dict(tokenizer._added_encoder),
            **tokenizer._special,
        )
        options.update(kwargs)
        return cls(proto=tokenizer._model_proto, **options)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> AlbertTokenizerLayer:
        """Load the tokenizer folder (see :meth:`AlbertTokenizer.from_pretrained`) into a layer."""
        return cls.from_tokenizer(AlbertTokenizer.from_pretrained(path), **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        tok = self.tokenizer
        config.update(
            proto_base64=base64.b64encode(tok._model_proto).decode("ascii"),
            sequence_length=self.sequence_length,
            padding=self.padding,
            truncation=self.truncation,
            add_special_tokens=self.add_special_tokens,
            do_lower_case=tok.do_lower_case,
            remove_space=tok.remove_space,
            keep_accents=tok.keep_accents,
            additional_special_tokens=list(tok.additional_special_tokens),
            added_tokens=dict(tok._added_encoder),
            **tok._special,
        )
        return config

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    # === Assembly ===
    def _kept_lengths(self, la: tf.Tensor, lb: tf.Tensor, pair: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """How many pieces of each sequence survive truncation to ``sequence_length`` (HF's right side)."""
        if self.sequence_length is None:
            return la, lb
        n_special = (3 if pair else 2) if self.add_special_tokens else 0
        budget = tf.constant(self.sequence_length - n_special, tf.int32)
        remove = tf.maximum(la + lb - budget, 0)
        if self.truncation is None:
            tf.debugging.assert_equal(
                tf.reduce_any(remove > 0),
                False,
                message=f"sequence longer than sequence_length={self.sequence_length} and truncation=None",
            )
            return la, lb
        if not pair or self.truncation == "only_first":
            if self.truncation == "only_second":
                raise ValueError("truncation='only_second' needs a text_pair")
            tf.debugging.assert_equal(
                tf.reduce_any((remove > 0) & (la <= remove)),
                False,
                message="cannot truncate: the first sequence is too short for sequence_length="
                f"{self.sequence_length}; use another truncation strategy",
            )
            return la - remove, lb
        if self.truncation == "only_second":
            tf.debugging.assert_equal(
                tf.reduce_any((remove > 0) & (lb <= remove)),
                False,
                message="cannot truncate: the second sequence is too short for sequence_length="
                f"{self.sequence_length}; use another truncation strategy",
            )
            return la, lb - remove
        # longest_first, HF's closed form: equalise the lengths, then split the rest (the second loses more)
        tf.debugging.assert_non_negative(budget, message="sequence_length too small for the special tokens")
        first = tf.minimum(tf.abs(lb - la), remove)
        second = remove - first
        half = second // 2
        a_longer = la > lb
        return (
            tf.where(a_longer, la - first - half, la - half),
            tf.where(a_longer, lb - (second - half), lb - first - (second - half)),
        )

    @tf.autograph.experimental.do_not_convert  # explicit graph code: AutoGraph would only slow tracing down
    def call(self, text, text_pair=None):
        if isinstance(text, dict):
            text, text_pair = text.get("text"), text.get("text_pair", text_pair)
        elif isinstance(text, tuple) and text_pair is None and len(text) == 2:
            text, text_pair = text
        a, scalar = self._as_strings(text, "text")
        b = None
        if text_pair is not None:
            b, scalar_b = self._as_strings(text_pair, "text_pair")
            if scalar_b != scalar:
                raise ValueError("text and text_pair must both be scalars or both be batches")
        # the text -> pieces part is a graph function shared by layers with the same model and text options
        # (traced once); the assembly below is a few dense ops, cheap in eager mode too
        out = self._encode(a, b)
        if scalar:
            out = {k: tf.squeeze(v, 0) for k, v in out.items()}
        return out

    def _encode(self, a: tf.Tensor, b: tf.Tensor | None) -> dict[str, tf.Tensor]:
        """``[CLS] A [SEP] (B [SEP])``, truncated and padded, built by scattering the pieces into place."""
        tok, pair = self.tokenizer, b is not None
        batch = tf.shape(a)[0]
        pieces = self._text_encoder.encode(tf.concat([a, b], 0) if pair else a)  # both in one pass
        values = pieces.flat_values
        row = tf.cast(pieces.value_rowids(), tf.int32)
        k = tf.cast(tf.ragged.range(pieces.row_lengths()).flat_values, tf.int32)  # index within its sequence
        lengths = tf.cast(pieces.row_lengths(), tf.int32)
        la = lengths[:batch]
        lb = lengths[batch:] if pair else tf.zeros_like(la)
        na, nb = self._kept_lengths(la, lb, pair)
        s = 1 if self.add_special_tokens else 0
        keep = k < tf.gather(tf.concat([na, nb], 0) if pair else na, row)  # truncation
        second = row >= batch
        row = tf.where(second, row - batch, row)
        pos = tf.where(second, tf.gather(na, row) + 2 * s + k, s + k)
        total = na + nb + (3 if pair else 2) * s
        width = (
            tf.constant(self.sequence_length)
            if self.padding == "max_length"
            else tf.reduce_max(tf.concat([total, [0]], 0))
        )
        where = tf.stack([tf.boolean_mask(row, keep), tf.boolean_mask(pos, keep)], axis=1)
        input_ids = tf.tensor_scatter_nd_update(
            tf.fill([batch, width], tok.pad_token_id), where, tf.boolean_mask(values, keep)
        )
        token_type_ids = tf.tensor_scatter_nd_update(
            tf.zeros([batch, width], tf.int32), where, tf.cast(tf.boolean_mask(second, keep), tf.int32)
        )
        if s:
            rows = tf.range(batch)
            marks = [(tf.zeros_like(rows), tok.cls_token_id, 0), (na + 1, tok.sep_token_id, 0)]
            if pair:
                marks.append((na + nb + 2, tok.sep_token_id, 1))
            for column, token, kind in marks:
                at = tf.stack([rows, column], axis=1)
                input_ids = tf.tensor_scatter_nd_update(input_ids, at, tf.fill([batch], token))
                token_type_ids = tf.tensor_scatter_nd_update(token_type_ids, at, tf.fill([batch], kind))
        attention_mask = tf.sequence_mask(total, width, dtype=tf.int32)
        if self.padding == "max_length":
            shape = [None, self.sequence_length]
            input_ids, token_type_ids, attention_mask = (
                tf.ensure_shape(x, shape) for x in (input_ids, token_type_ids, attention_mask)
            )
        return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}

    @staticmethod
    def _as_strings(value, name: str) -> tuple[tf.Tensor, bool]:
        if isinstance(value, (tf.Tensor, tf.Variable)) or tf.is_tensor(value):
            tensor = value
        else:
            try:
                tensor = tf.convert_to_tensor(value)
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"AlbertTokenizerLayer {name} must be strings, got {type(value).__name__}: "
                    f"{value!r:.80} ({e})"
                ) from None
        if isinstance(tensor, tf.RaggedTensor) or tensor.dtype != tf.string:
            raise TypeError(
                f"AlbertTokenizerLayer {name} must be a string scalar or 1-D string tensor, got "
                f"{getattr(tensor, 'dtype', type(tensor).__name__)!r}: {value!r:.80}"
            )
        rank = tensor.shape.rank
        if rank is None or rank > 1:
            raise ValueError(
                f"AlbertTokenizerLayer {name} must be a scalar or a 1-D batch, got shape {tensor.shape}"
            )
        return (tf.expand_dims(tensor, 0), True) if rank == 0 else (tensor, False)

    def compute_output_spec(self, text, text_pair=None):
        shape = (None, self.sequence_length if self.padding == "max_length" else None)
        return {
            k: keras.KerasTensor(shape, dtype="int32")
            for k in ("input_ids", "token_type_ids", "attention_mask")
        }
