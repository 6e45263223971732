"""ALBERT tokenizer: SentencePiece with ids identical to Hugging Face's ``AlbertTokenizer``.

The reference is the SentencePiece-based ("slow") ``AlbertTokenizer`` of transformers v4. Tokenizing a text
runs:

1. **pre-lowercasing** (``do_lower_case``): every character outside a special token is lower-cased on its own
   (``str.lower`` per character, so no Greek final-sigma context), special tokens are left as they are;
2. **special-token split**: special tokens (``[CLS] [SEP] <pad> <unk> [MASK]`` and additional ones) are cut
   out of the lower-cased text as whole tokens, even inside words (``"a[MASK]b"``); ``[MASK]`` strips the
   whitespace on its left;
3. per remaining chunk, **preprocessing**: ``remove_space`` strips and collapses whitespace, ````` `` `````
   and ``''`` become ``"``, NFKD and removal of combining characters unless ``keep_accents``, ``str.lower`` of
   the whole chunk (here final sigma context *does* apply, to capitals produced by NFKD);
4. **SentencePiece** encoding of the chunk, then pieces ending in ``<digit>,`` are re-encoded without the
   comma and the comma becomes its own piece (``"9,"`` -> ``"9" ","``), as in Google's ALBERT/BERT
   tokenization.

The rules of steps 1, 3 and 4, shared with the in-graph
:class:`~tf_albert.tokenization.layer.AlbertTokenizerLayer`, are defined once in
:mod:`tf_albert.tokenization.rules` (and re-exported here); turning ids into model inputs (special tokens,
truncation, padding, :class:`BatchEncoding`) is :mod:`tf_albert.tokenization.encoding`, the offset mapping
:mod:`tf_albert.tokenization.offsets`, reading and writing tokenizer folders
:mod:`tf_albert.tokenization.files`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import sentencepiece as spm

from tf_albert.tokenization.encoding import (  # noqa: F401  (BatchEncoding, *_STRATEGIES were defined here)
    PADDING_STRATEGIES,
    TRUNCATION_STRATEGIES,
    BatchEncoding,
    build_batch,
    num_special_tokens,
    resolve_options,
    special_tokens_mask,
    token_types,
    with_special_tokens,
)
from tf_albert.tokenization.files import (  # noqa: F401  (the file names are part of this module's API)
    ADDED_TOKENS_FILE,
    GOOGLE_VOCAB_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    VOCAB_FILE,
    TokenizerFilesMixin,
    _resolve_hub_file,
    token_content,
)
from tf_albert.tokenization.offsets import OffsetMappingMixin

# Defined in rules; imported here too so that `from tf_albert.tokenization.tokenizer import ...` of these
# names keeps working.
from tf_albert.tokenization.rules import (  # noqa: F401
    CLEAN_UP_REPLACEMENTS,
    CONTEXT_SIGMA,
    SPIECE_UNDERLINE,
    char_class,
    char_tables,
    clean_up_tokenization,
    combining_ranges,
    is_digit_comma,
    lower_per_char,
    preprocess_text,
    split_digit_comma,
    whitespace_ranges,
)

# === Constants ===
DEFAULT_MODEL_MAX_LENGTH = 512
# Order of HF's SPECIAL_TOKENS_ATTRIBUTES: decides `all_special_tokens` and the ids given to tokens not in the
# vocab.
SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
DEFAULT_SPECIAL_TOKENS = {
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "unk_token": "<unk>",
    "sep_token": "[SEP]",
    "pad_token": "<pad>",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}


def _load_sp_model(path: str | None, model_proto: bytes | None, sp_model_kwargs: dict):
    if model_proto is None:
        if path is None:
            raise ValueError(
                "AlbertTokenizer needs `vocab_file` (path to spiece.model) or `model_proto` (bytes)"
            )
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"vocab_file must be a path to a SentencePiece model, got {type(path).__name__}: {path!r}"
            )
        if not os.path.isfile(path):
            raise FileNotFoundError(f"SentencePiece model not found: {os.fspath(path)!r}")
        with open(path, "rb") as f:
            model_proto = f.read()
    if not isinstance(model_proto, (bytes, bytearray)):
        raise TypeError(f"model_proto must be bytes, got {type(model_proto).__name__}")
    sp = spm.SentencePieceProcessor(**sp_model_kwargs)
    try:
        sp.LoadFromSerializedProto(bytes(model_proto))
    except (RuntimeError, OSError) as e:  # sentencepiece's messages are terse: add the path
        where = repr(os.fspath(path)) if path is not None else "model_proto"
        raise ValueError(
            f"{where} is not a valid SentencePiece model ({len(model_proto)} bytes): {e}"
        ) from None
    return sp, bytes(model_proto)


def _check_text(value, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a str (or a list of str for a batch), got {type(value).__name__}: {value!r:.80}"
        )


class AlbertTokenizer(OffsetMappingMixin, TokenizerFilesMixin):
    """SentencePiece ALBERT tokenizer whose ids equal Hugging Face ``AlbertTokenizer`` (transformers v4).

    Args:
        vocab_file: str. Path to the SentencePiece model (``spiece.model`` / ``30k-clean.model``).
        do_lower_case: bool. Lower-case the text (ALBERT's released models are uncased). Defaults to ``True``.
        remove_space: bool. Strip the text and collapse runs of whitespace. Defaults to ``True``.
        keep_accents: bool. Skip NFKD and the removal of combining marks. Defaults to ``False``.
        bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: str. Special tokens; the
            defaults are ALBERT's (``[CLS] [SEP] <unk> [SEP] <pad> [CLS] [MASK]``). ``mask_token`` swallows
            the whitespace on its left, like HF's ``AddedToken(lstrip=True)``.
        additional_special_tokens: list of str. More tokens matched as whole tokens; tokens that are not in
            the SentencePiece vocabulary get ids ``vocab_size, vocab_size + 1, ...`` like HF's added tokens.
        sp_model_kwargs: dict. Passed to ``sentencepiece.SentencePieceProcessor`` (e.g. ``enable_sampling``,
            ``nbest_size``, ``alpha`` for subword regularisation).
        model_max_length: int. Used when truncation/``padding="max_length"`` is asked for without
            ``max_length``.
        clean_up_tokenization_spaces: bool. Default of the same-named :meth:`decode` argument (``False`` as in
            HF).
        model_proto: bytes. The serialized model, instead of ``vocab_file``.

    Example:

    >>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
    >>> tok.tokenize("Return the value, [MASK]!")
    ['▁return', '▁the', '▁value', ',', '[MASK]', '▁', '!']
    >>> enc = tok(["Return a list.", "The default value is 1,000."], padding=True, return_tensors="np")
    >>> enc["input_ids"].shape
    (2, 12)
    >>> tok.decode(enc["input_ids"][0], skip_special_tokens=True)
    'return a list.'
    >>> tok("Return a list.", return_offsets_mapping=True)["offset_mapping"][:3]
    [(0, 0), (0, 6), (7, 8)]
    """

    vocab_files_names: ClassVar[dict[str, str]] = {"vocab_file": VOCAB_FILE}
    SPECIAL_TOKEN_ATTRIBUTES: ClassVar[tuple[str, ...]] = SPECIAL_TOKEN_ATTRIBUTES
    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | None = None,
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
        additional_special_tokens: Sequence[str] | None = None,
        sp_model_kwargs: dict | None = None,
        model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces: bool = False,
        model_proto: bytes | None = None,
        added_tokens: dict[str, int] | None = None,
    ):
        # === Config ===
        self.vocab_file = os.fspath(vocab_file) if vocab_file is not None else None
        self.do_lower_case = bool(do_lower_case)
        self.remove_space = bool(remove_space)
        self.keep_accents = bool(keep_accents)
        self.sp_model_kwargs = dict(sp_model_kwargs or {})
        if not isinstance(model_max_length, (int, np.integer)) or model_max_length <= 0:
            raise ValueError(f"model_max_length must be a positive int, got {model_max_length!r}")
        self.model_max_length = int(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        tokens = {
            "bos_token": bos_token,
            "eos_token": eos_token,
            "unk_token": unk_token,
            "sep_token": sep_token,
            "pad_token": pad_token,
            "cls_token": cls_token,
            "mask_token": mask_token,
        }
        self._special = {k: token_content(v) for k, v in tokens.items()}
        self.additional_special_tokens = [token_content(t) for t in (additional_special_tokens or [])]

        # === SentencePiece ===
        self.sp_model, self._model_proto = _load_sp_model(self.vocab_file, model_proto, self.sp_model_kwargs)
        self._setup(dict(added_tokens or {}))

    def _setup(self, added_tokens: dict[str, int]) -> None:
        sp = self.sp_model
        # Tokens that are not SentencePiece pieces get ids after the vocabulary, in HF's order.
        self._added_encoder: dict[str, int] = {}
        next_id = sp.get_piece_size()
        for tok in self.all_special_tokens:
            if tok in added_tokens:
                self._added_encoder[tok] = int(added_tokens[tok])
            elif sp.piece_to_id(tok) == sp.unk_id() and tok != sp.id_to_piece(sp.unk_id()):
                while next_id in self._added_encoder.values():
                    next_id += 1
                self._added_encoder[tok] = next_id
                next_id += 1
        self._added_decoder = {i: t for t, i in self._added_encoder.items()}
        self._special_ids = {t: self._token_to_id(t) for t in self.all_special_tokens}
        # HF's pre-lowercasing protects special tokens in `all_special_tokens` order; the split prefers the
        # longest.
        specials = self.all_special_tokens
        self._protect_re = re.compile("(" + "|".join(re.escape(t) for t in specials) + ")")
        self._split_re = re.compile(
            "(" + "|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True)) + ")"
        )
        self._lstrip_tokens = {self._special["mask_token"]}
        self._digit_comma_ids = frozenset(
            i
            for i in range(sp.get_piece_size())
            if not (sp.is_control(i) or sp.is_unknown(i)) and is_digit_comma(sp.id_to_piece(i))
        )
        self._unk_id = self._token_to_id(self._special["unk_token"])
        # id-space digit-comma rule: an unknown piece never ends in "<digit>," when "," is a piece of its own
        self._ids_fast_path = sp.piece_to_id(",") != sp.unk_id()

    # === Properties ===
    def __getattr__(self, name: str) -> Any:
        # bos_token, ..., mask_token and their *_id variants
        special = self.__dict__.get("_special")
        if special is not None:
            if name in special:
                return special[name]
            if name.endswith("_id") and name[:-3] in special:
                return self._token_to_id(special[name[:-3]])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def vocab_size(self) -> int:
        """Number of SentencePiece pieces (without tokens added after the vocabulary)."""
        return self.sp_model.get_piece_size()

    def __len__(self) -> int:
        return self.vocab_size + sum(1 for i in self._added_decoder if i >= self.vocab_size)

    @property
    def all_special_tokens(self) -> list[str]:
        out: list[str] = []
        for tok in [self._special[k] for k in SPECIAL_TOKEN_ATTRIBUTES] + self.additional_special_tokens:
            if tok not in out:
                out.append(tok)
        return out

    @property
    def all_special_ids(self) -> list[int]:
        return [self._token_to_id(t) for t in self.all_special_tokens]

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self._special)
        if self.additional_special_tokens:
            out["additional_special_tokens"] = list(self.additional_special_tokens)
        return out

    def get_vocab(self) -> dict[str, int]:
        vocab = {self.sp_model.id_to_piece(i): i for i in range(self.vocab_size)}
        vocab.update(self._added_encoder)
        return vocab

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return num_special_tokens(pair)

    # === Pickling ===
    def __getstate__(self):
        state = self.__dict__.copy()
        state["sp_model"] = None
        for k in ("_protect_re", "_split_re"):
            state.pop(k, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.sp_model, _ = _load_sp_model(None, self._model_proto, self.sp_model_kwargs)
        self._setup(dict(self._added_encoder))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
            f"remove_space={self.remove_space}, keep_accents={self.keep_accents}, "
            f"model_max_length={self.model_max_length})"
        )

    # === Tokenization ===
    def _split_special(self, text: str) -> list[tuple[str, bool]]:
        """Steps 1-2: pre-lowercase and cut out special tokens. Returns ``[(chunk, is_special)]``."""
        if self.do_lower_case:
            parts = self._protect_re.split(text)
            parts[::2] = [lower_per_char(p) for p in parts[::2]]
            text = "".join(parts)
        parts = self._split_re.split(text)
        chunks: list[tuple[str, bool]] = []
        for i, part in enumerate(parts):
            if i % 2:
                if part in self._lstrip_tokens and chunks and not chunks[-1][1]:
                    chunks[-1] = (chunks[-1][0].rstrip(), False)
                chunks.append((part, True))
            else:
                chunks.append((part, False))
        return [(c, s) for c, s in chunks if c]

    def _split_digit_comma(self, piece: str) -> list[str]:
        """:func:`~tf_albert.tokenization.rules.split_digit_comma` with this tokenizer's SentencePiece."""
        return split_digit_comma(piece, lambda text: self.sp_model.encode(text, out_type=str))

    def _split_digit_comma_id(self, piece_id: int) -> list[int]:
        """:meth:`_split_digit_comma` in id space."""
        return self.convert_tokens_to_ids(self._split_digit_comma(self.sp_model.id_to_piece(piece_id)))

    def _pieces(self, chunk: str) -> list[str]:
        text = preprocess_text(chunk, self.remove_space, self.keep_accents, self.do_lower_case)
        out: list[str] = []
        for piece in self.sp_model.encode(text, out_type=str):
            out.extend(self._split_digit_comma(piece))
        return out

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into SentencePiece pieces and special tokens (the reference's ``tokenize``)."""
        _check_text(text, "text")
        out: list[str] = []
        with _unicode_checked({"text": [text]}, batched=False):
            for chunk, special in self._split_special(text):
                out.extend([chunk] if special else self._pieces(chunk))
        return out

    def _encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of many texts: one batched SentencePiece call, the digit-comma rule applied in id space."""
        if not self._ids_fast_path:
            return [self.convert_tokens_to_ids(self.tokenize(t)) for t in texts]
        chunked = [self._split_special(t) for t in texts]
        jobs = [
            preprocess_text(c, self.remove_space, self.keep_accents, self.do_lower_case)
            for chunks in chunked
            for c, special in chunks
            if not special
        ]
        encoded = iter(self.sp_model.encode(jobs, out_type=int) if jobs else [])
        dc = self._digit_comma_ids
        results = []
        for chunks in chunked:
            ids: list[int] = []
            for chunk, special in chunks:
                if special:
                    ids.append(self._special_ids[chunk])
                    continue
                piece_ids = next(encoded)
                if dc.isdisjoint(piece_ids):
                    ids.extend(piece_ids)
                else:
                    for i in piece_ids:
                        if i in dc:
                            ids.extend(self._split_digit_comma_id(i))
                        else:
                            ids.append(i)
            results.append(ids)
        return results

    # === Ids and tokens ===
    def _token_to_id(self, token: str) -> int:
        if token in self._added_encoder:
            return self._added_encoder[token]
        return self.sp_model.piece_to_id(token)

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Id of a token (str) or ids of a list of tokens; unknown pieces give ``unk_token_id``."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(_tok(t)) for t in tokens]

    def _id_to_token(self, index) -> str:
        index = _as_int(index)
        if index in self._added_decoder:
            return self._added_decoder[index]
        if not 0 <= index < self.vocab_size:
            raise ValueError(f"token id {index} is out of range; this tokenizer has ids 0..{len(self) - 1}")
        return self.sp_model.id_to_piece(index)

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False) -> str | list[str]:
        """Token of an id or tokens of a sequence of ids (``skip_special_tokens`` drops special ones)."""
        if isinstance(ids, (int, np.integer)):
            return self._id_to_token(ids)
        special = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token(i) for i in _as_id_list(ids) if i not in special]

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join pieces back into text; special tokens are kept verbatim (the reference's rule)."""
        special = set(self.all_special_tokens)
        out, current, prev_special = "", [], False
        for token in tokens:
            if token in special:
                if not prev_special:
                    out += " "
                out += self.sp_model.decode(current) + token
                prev_special, current = True, []
            else:
                current.append(token)
                prev_special = False
        return (out + self.sp_model.decode(current)).strip()

    def decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None
    ) -> str:
        """Text of a sequence of ids (list, numpy array or tensor)."""
        tokens = self.convert_ids_to_tokens(_as_id_list(token_ids), skip_special_tokens=skip_special_tokens)
        beyond_vocab = {t for t, i in self._added_encoder.items() if i >= self.vocab_size}
        sub_texts, current = [], []
        for token in tokens:
            if token in beyond_vocab:
                if current:
                    s = self.convert_tokens_to_string(current)
                    if s:
                        sub_texts.append(s)
                    current = []
                sub_texts.append(token)
            else:
                current.append(token)
        if current:
            sub_texts.append(self.convert_tokens_to_string(current))
        text = " ".join(sub_texts)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        return [self.decode(s, **kwargs) for s in _as_list(sequences)]

    # === Special tokens ===
    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None):
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        return with_special_tokens(token_ids_0, token_ids_1, self.cls_token_id, self.sep_token_id)

    def get_special_tokens_mask(
        self, token_ids_0, token_ids_1=None, already_has_special_tokens: bool = False
    ):
        """1 where :meth:`build_inputs_with_special_tokens` adds a token; with ``already_has_special_tokens``,
        1 for
        every id in ``all_special_ids`` (which, as in HF, includes ``<unk>``)."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("token_ids_1 must be None when already_has_special_tokens=True")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in _as_id_list(token_ids_0)]
        return special_tokens_mask(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None) -> list[int]:
        """0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``."""
        return token_types(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    # === Encoding ===
    def encode(
        self, text: str, text_pair: str | None = None, add_special_tokens: bool = True, **kwargs
    ) -> list[int]:
        """Ids of one text (or pair); accepts the padding/truncation arguments of :meth:`__call__`."""
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        return self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            return_attention_mask=False,
            return_token_type_ids=False,
            **kwargs,
        )["input_ids"]

    def encode_plus(self, text, text_pair=None, **kwargs) -> BatchEncoding:
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs, **kwargs) -> BatchEncoding:
        items = _as_list(batch_text_or_text_pairs)
        if items and isinstance(items[0], (tuple, list)):
            return self([a for a, _ in items], [b for _, b in items], **kwargs)
        return self(items, **kwargs)

    def __call__(
        self,
        text: str | Sequence[str],
        text_pair: str | Sequence[str] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
    ) -> BatchEncoding:
        """Encode a text, a pair, a batch of texts or a batch of pairs (``text`` and ``text_pair`` lists).

        Arguments follow HF: ``padding`` ``True``/``"longest"``/``"max_length"``/``False`` (right side),
        ``truncation`` ``True``/``"longest_first"``/``"only_first"``/``"only_second"``/``False`` (right side),
        ``return_tensors`` ``None``/``"np"``/``"tf"``. Offsets are ``(start, end)`` character positions in the
        original text, ``(0, 0)`` for added special tokens and padding.
        """
        batched = not isinstance(text, str)
        texts = _as_text_list(text, "text")
        pairs = None
        if text_pair is not None:
            if isinstance(text_pair, str) == batched:
                raise TypeError(
                    f"text and text_pair must both be str or both be lists, got {type(text).__name__} "
                    f"and {type(text_pair).__name__}"
                )
            pairs = _as_text_list(text_pair, "text_pair")
            if len(pairs) != len(texts):
                raise ValueError(f"text has {len(texts)} items but text_pair has {len(pairs)}")
        padding, truncation, max_length = resolve_options(
            padding, truncation, max_length, return_tensors, self.model_max_length
        )
        with _unicode_checked({"text": texts, "text_pair": pairs or []}, batched):
            if return_offsets_mapping:
                first = [self._tokenize_with_offsets(t) for t in texts]
                second = [self._tokenize_with_offsets(t) for t in pairs] if pairs is not None else None
            else:
                ids_all = self._encode_many(texts + (pairs or []))
                first = [(i, None) for i in ids_all[: len(texts)]]
                second = [(i, None) for i in ids_all[len(texts) :]] if pairs is not None else None
        return build_batch(
            first,
            second,
            cls_id=self.cls_token_id,
            sep_id=self.sep_token_id,
            pad_id=self.pad_token_id,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_special_tokens_mask=return_special_tokens_mask,
            return_length=return_length,
            batched=batched,
        )


# === Helpers ===
_SURROGATE = re.compile("[\ud800-\udfff]")


@contextlib.contextmanager
def _unicode_checked(texts: dict[str, list[str]], batched: bool):
    """Turns SentencePiece's failure on a str that is not valid Unicode (a lone surrogate, left by decoding
    bytes with errors="surrogateescape" or "surrogatepass") into a ValueError that says where it is. The
    texts are searched only after such a failure, so valid text costs nothing."""
    try:
        yield
    except (TypeError, RuntimeError, UnicodeError):
        for name, values in texts.items():
            for i, text in enumerate(values):
                found = _SURROGATE.search(text)
                if found:
                    where = f"{name}[{i}]" if batched else name
                    raise ValueError(
                        f"{where} has a lone surrogate U+{ord(found.group()):04X} at character {found.start()}, "
                        f"which is not valid Unicode ({text!r:.60}); decode the bytes with errors='replace', "
                        "or remove it"
                    ) from None
        raise


def _tok(token) -> str:
    if not isinstance(token, str):
        raise TypeError(f"tokens must be str, got {type(token).__name__}: {token!r}")
    return token


def _as_int(value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"token ids must be ints, got {type(value).__name__}: {value!r}")
    return int(value)


def _as_list(value) -> list:
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"expected a list, numpy array or tensor, got {type(value).__name__}: {value!r:.80}")


def _as_id_list(value) -> list[int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    return [_as_int(v) for v in _as_list(value)]


def _as_text_list(value, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {type(value).__name__}: {value!r:.80}")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(v).__name__}: {v!r:.80}")
    return list(value)
