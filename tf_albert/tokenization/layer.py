"""In-graph ALBERT tokenizer: :class:`AlbertTokenizer`'s ids computed with TensorFlow ops.

Needs ``tensorflow-text`` (``pip install tf_albert[text]``), whose SentencePiece op is used to apply the
model's own normaliser. The text rules (whitespace, quote replacement, NFKD, combining marks, lower-casing,
special tokens, the ``<digit>,`` re-split) are those of :mod:`tf_albert.tokenization` and
:mod:`tf_albert.tokenization.rules`: the per-character tables are built from the same Python ``unicodedata``
the Python tokenizer uses (ICU, whose Unicode version may differ, is not used), the ``<digit>,`` re-split of
each vocabulary piece is computed by the Python rule when the layer is built, and the unigram Viterbi
(:mod:`tf_albert.tokenization.unigram`) is re-implemented to break score ties exactly like the Python
``sentencepiece`` package, which the SentencePiece build inside tensorflow-text does not (it segments e.g.
``"1,000,000"`` differently).
"""

from __future__ import annotations

import base64
import hashlib
import os
import weakref
from typing import Any

import keras
import numpy as np

from tf_albert.utils.backends import require_tensorflow

# A TensorFlow layer: on the JAX / PyTorch backends say so (naming the Python tokenizer) before importing TF.
require_tensorflow("tokenizer_layer")

import tensorflow as tf  # noqa: E402

from tf_albert.tokenization.rules import CONTEXT_SIGMA, char_class, char_tables, whitespace_ranges  # noqa: E402
from tf_albert.tokenization.tokenizer import AlbertTokenizer  # noqa: E402
from tf_albert.tokenization.unigram import UnigramTables  # noqa: E402

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
        # the <digit>, re-split of every vocabulary piece, by the Python tokenizer's own rule
        # (rules.split_digit_comma): row i holds the ids that replace piece i
        split = {i: tok._split_digit_comma_id(i) for i in tok._digit_comma_ids}
        self._digit_comma_any = bool(split)
        replacements = [split.get(i, [i]) for i in range(tok.vocab_size)]
        self._digit_comma_values = tf.constant(np.concatenate(replacements), tf.int32)
        self._digit_comma_splits = tf.constant(np.cumsum([0] + [len(r) for r in replacements]), tf.int64)
        self._model_proto = tok._model_proto
        self._unigram = _shared(
            ("unigram", hashlib.sha256(tok._model_proto).hexdigest()),
            lambda: UnigramTables(tok._model_proto),
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
        concatenate to the normalised text), then the unigram Viterbi of the Python library picks the pieces."""
        # Built here, inside the traced function, and not in __init__: tensorflow-text's SentencePiece
        # resource belongs to the op kernel that creates it. Created eagerly, that kernel sits in the eager
        # kernel cache, which tf.random.set_seed (so keras.utils.set_random_seed) clears, and every later
        # call failed with "Resource ... SentencepieceResource does not exist". Inside the graph it is
        # re-created with the function.
        normalizer = tf_text.SentencepieceTokenizer(model=self._model_proto, out_type=tf.string)
        normalized = tf.strings.reduce_join(normalizer.tokenize(text), axis=1)
        return self._unigram.encode(normalized)

    def _split_digit_comma(self, ids: tf.RaggedTensor) -> tf.RaggedTensor:
        """Replace every piece by its row of the re-split table (itself, unless it ends in ``<digit>,``)."""
        table = tf.RaggedTensor.from_row_splits(
            self._digit_comma_values, self._digit_comma_splits, validate=False
        )
        rows = tf.gather(table, ids.flat_values)
        return tf.RaggedTensor.from_row_splits(rows, ids.row_splits, validate=False).merge_dims(1, 2)


def checked_strings(named: dict) -> dict:
    """The string tensors of `named` ({name: [rows, ...] tf.string}), checked: every string is valid UTF-8,
    and all have the same number of rows. Errors name the input and the row: ValueError now when the values
    are known (eager), else an `InvalidArgumentError` from the graph when the strings arrive."""
    named = dict(named)
    checks = []
    rows = {name: x.shape[0] for name, x in named.items()}
    known = {name: n for name, n in rows.items() if n is not None}
    if len(set(known.values())) > 1:
        raise ValueError(_rows_message(known))
    if len(named) > 1 and len(known) < len(named):
        (first, x), *others = named.items()
        for name, y in others:
            checks.append(tf.debugging.Assert(
                tf.equal(tf.shape(x)[0], tf.shape(y)[0]),
                [f"{first} and {name} must have the same number of rows; {first} has", tf.shape(x)[0],
                 f"rows, {name} has", tf.shape(y)[0]]))
    for name, x in named.items():
        valid = tf.equal(tf.strings.unicode_transcode(x, "UTF-8", "UTF-8", errors="replace",
                                                      replace_control_characters=False), x)
        if tf.executing_eagerly():
            bad = np.argwhere(~valid.numpy())
            if bad.size:
                where = ", ".join(map(str, bad[0]))
                raise ValueError(f"{name}[{where}] is not valid UTF-8: {x.numpy()[tuple(bad[0])]!r:.80}")
            continue
        first = tf.where(~valid)[:1]
        shown = tf.strings.unicode_transcode(tf.gather_nd(x, first), "UTF-8", "UTF-8", errors="replace")
        checks.append(tf.debugging.Assert(
            tf.reduce_all(valid), [f"{name} is not valid UTF-8 at row", first, "(shown with U+FFFD):", shown]))
    if not checks:
        return named
    with tf.control_dependencies(checks):
        return {name: tf.identity(x) for name, x in named.items()}


def _rows_message(rows: dict) -> str:
    (first, n), *others = rows.items()
    return f"{first} has {n} rows but " + ", ".join(f"{name} has {m}" for name, m in others) + \
        "; they must have the same number of rows"


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
            ``"longest"``.
        truncation: ``"longest_first"`` (default), ``"only_first"``, ``"only_second"`` or ``None`` (then a row
            longer than ``sequence_length`` raises instead of being cut).
        add_special_tokens: bool. Add ``[CLS]``/``[SEP]``. Defaults to ``True``.
        do_lower_case: bool. Lower-case the text, as :class:`AlbertTokenizer` does. Defaults to ``True``.
        remove_space: bool. Strip the text and collapse runs of whitespace. Defaults to ``True``.
        keep_accents: bool. Skip NFKD and the removal of combining marks. Defaults to ``False``.
        bos_token: str. Beginning-of-sequence token (``[CLS]``).
        eos_token: str. End-of-sequence token (``[SEP]``).
        unk_token: str. The id of pieces the model lacks (``<unk>``).
        sep_token: str. Put after each text (``[SEP]``).
        pad_token: str. Fills rows up to the padded length (``<pad>``).
        cls_token: str. Put before the first text (``[CLS]``).
        mask_token: str. Matched in the text as a whole token, swallowing the space before it (``[MASK]``).
        additional_special_tokens: list of str. More tokens matched whole, as in :class:`AlbertTokenizer`.
        added_tokens: dict. Ids of special tokens outside the SentencePiece vocabulary.
        proto_base64: str. The model as base64 text (what :meth:`get_config` stores), instead of ``proto``.
        **kwargs: Keras layer arguments (``name``, ``dtype``, ...).

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
        self._init_layer(_MISSING_TEXT, **kwargs)

        # === Config ===
        if proto_base64 is not None:
            proto = base64.b64decode(proto_base64)
        path = None
        if isinstance(proto, (str, os.PathLike)):
            path = os.fspath(proto)
            proto = None
        self._set_packing(sequence_length, padding, truncation, add_special_tokens)
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

    def _init_layer(self, missing_text: str, **kwargs) -> None:
        """What every tokenizer layer's constructor starts with: a non-trainable Keras layer that takes
        strings as they are (raises ``ImportError(missing_text)`` without tensorflow-text)."""
        if tf_text is None:
            raise ImportError(missing_text)
        kwargs.setdefault("trainable", False)
        keras.layers.Layer.__init__(self, **kwargs)  # not super(): subclasses build another text encoder
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def _set_packing(self, sequence_length, padding, truncation, add_special_tokens) -> None:
        """Checks and sets the packing options (every tokenizer layer packs the same way)."""
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
        self.padding, self.truncation, self.add_special_tokens = padding, truncation, bool(add_special_tokens)

    def _packing_config(self) -> dict[str, Any]:
        """The packing options, as :meth:`get_config` stores them."""
        return dict(
            sequence_length=self.sequence_length,
            padding=self.padding,
            truncation=self.truncation,
            add_special_tokens=self.add_special_tokens,
        )

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
            **self._packing_config(),
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
    def call(self, text, text_pair=None, names=("text", "text_pair")):
        """``names``: what errors call the two inputs (say ``("question", "context")``)."""
        if isinstance(text, dict):
            text, text_pair = text.get("text"), text.get("text_pair", text_pair)
        elif isinstance(text, tuple) and text_pair is None and len(text) == 2:
            text, text_pair = text
        a, scalar = self._as_strings(text, names[0])
        b = None
        if text_pair is not None:
            b, scalar_b = self._as_strings(text_pair, names[1])
            if scalar_b != scalar:
                raise ValueError(f"{names[0]} and {names[1]} must both be scalars or both be batches")
            a, b = checked_strings({names[0]: a, names[1]: b}).values()
        else:
            a = checked_strings({names[0]: a})[names[0]]
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
