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

import os
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import sentencepiece as spm

from tf_albert.tokenization.common import (  # noqa: F401  (the constants were defined here)
    ALBERT_SPECIAL_TOKENS,
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKEN_ATTRIBUTES,
    TokenizerBase,
    check_text,
    checked_max_length,
    id_list,
    unicode_checked,
)
from tf_albert.tokenization.config_files import token_content
from tf_albert.tokenization.encoding import (  # noqa: F401  (BatchEncoding, *_STRATEGIES were defined here)
    PADDING_STRATEGIES,
    TRUNCATION_STRATEGIES,
    BatchEncoding,
)
from tf_albert.tokenization.files import (  # noqa: F401  (the file names are part of this module's API)
    ADDED_TOKENS_FILE,
    GOOGLE_VOCAB_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    VOCAB_FILE,
    TokenizerFilesMixin,
    _resolve_hub_file,
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

DEFAULT_SPECIAL_TOKENS = ALBERT_SPECIAL_TOKENS  # the name this module gave them


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
        where = os.fspath(path) if path is not None else "model_proto"
        raise ValueError(
            f"{where} is corrupt: not a valid SentencePiece model ({len(model_proto)} bytes; sentencepiece "
            f"says: {str(e).strip()})"
        ) from None
    return sp, bytes(model_proto)


class AlbertTokenizer(OffsetMappingMixin, TokenizerFilesMixin, TokenizerBase):
    """SentencePiece ALBERT tokenizer whose ids equal Hugging Face ``AlbertTokenizer`` (transformers v4).

    Args:
        vocab_file: str. Path to the SentencePiece model (``spiece.model`` / ``30k-clean.model``).
        do_lower_case: bool. Lower-case the text (ALBERT's released models are uncased). Defaults to ``True``.
        remove_space: bool. Strip the text and collapse runs of whitespace. Defaults to ``True``.
        keep_accents: bool. Skip NFKD and the removal of combining marks. Defaults to ``False``.
        bos_token (str): Beginning-of-sequence token. Defaults to ``[CLS]``.
        eos_token (str): End-of-sequence token. Defaults to ``[SEP]``.
        unk_token (str): The token of unknown pieces. Defaults to ``<unk>``.
        sep_token (str): Separator after each text. Defaults to ``[SEP]``.
        pad_token (str): Padding token. Defaults to ``<pad>``.
        cls_token (str): The token before the first text. Defaults to ``[CLS]``.
        mask_token (str): The masked-LM token. Defaults to ``[MASK]``; it swallows the whitespace on its left,
            like HF's ``AddedToken(lstrip=True)``.
        additional_special_tokens: list of str. More tokens matched as whole tokens; tokens that are not in
            the SentencePiece vocabulary get ids ``vocab_size, vocab_size + 1, ...`` like HF's added tokens.
        sp_model_kwargs: dict. Passed to ``sentencepiece.SentencePieceProcessor`` (e.g. ``enable_sampling``,
            ``nbest_size``, ``alpha`` for subword regularisation).
        model_max_length: int. Used when truncation/``padding="max_length"`` is asked for without
            ``max_length``.
        clean_up_tokenization_spaces: bool. Default of the same-named :meth:`decode` argument (``False`` as in
            HF).
        model_proto: bytes. The serialized model, instead of ``vocab_file``.
        added_tokens: dict. Ids of special tokens that are not SentencePiece pieces (HF's
            ``added_tokens.json``); others get the next free ids.

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
        self.model_max_length = checked_max_length(model_max_length)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        tokens = (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token)
        self._special = {k: token_content(v) for k, v in zip(SPECIAL_TOKEN_ATTRIBUTES, tokens)}
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

    # === Vocabulary ===
    @property
    def vocab_size(self) -> int:
        """Number of SentencePiece pieces (without tokens added after the vocabulary)."""
        return self.sp_model.get_piece_size()

    def __len__(self) -> int:
        return self.vocab_size + sum(1 for i in self._added_decoder if i >= self.vocab_size)

    def get_vocab(self) -> dict[str, int]:
        vocab = {self.sp_model.id_to_piece(i): i for i in range(self.vocab_size)}
        vocab.update(self._added_encoder)
        return vocab

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
        check_text(text, "text")
        out: list[str] = []
        with unicode_checked({"text": [text]}, batched=False):
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

    def _id_to_token(self, index: int) -> str:
        if index in self._added_decoder:
            return self._added_decoder[index]
        if not 0 <= index < self.vocab_size:
            raise ValueError(f"token id {index} is out of range; this tokenizer has ids 0..{len(self) - 1}")
        return self.sp_model.id_to_piece(index)

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
        tokens = self.convert_ids_to_tokens(id_list(token_ids), skip_special_tokens=skip_special_tokens)
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

    # === Encoding ===
    def _encode_texts(self, texts: list[str], with_offsets: bool) -> list[tuple[list[int], Any]]:
        if with_offsets:
            return [self._tokenize_with_offsets(t) for t in texts]
        return [(ids, None) for ids in self._encode_many(texts)]
