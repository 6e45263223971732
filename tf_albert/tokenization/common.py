"""HF's tokenizer call surface, written once for every tokenizer of the package.

:class:`TokenizerBase` is what the SentencePiece ``AlbertTokenizer``, the ``tokenizer.json``
``AlbertTokenizerFast``, the WordPiece ``AlbertWordPieceTokenizer`` and the ``KerasHubAlbertTokenizer`` share:
``__call__`` (texts, pairs and batches of them, padding, truncation, tensors, offsets), ``encode``,
``encode_plus``, ``batch_encode_plus``, the special-token helpers and attributes, tokens ↔ ids. A tokenizer
class says only what differs: how one token and one id map to each other (``_token_to_id``,
``_id_to_token``), how texts become ids (``_encode_texts``), how ids become text (``decode``), and its files.
:class:`VocabTokenizerBase` does the first two for tokenizers whose vocabulary is a plain token → id dict.
Ids become model inputs in :mod:`tf_albert.tokenization.encoding`.

Example:

>>> from tf_albert.tokenization.tokenizer import AlbertTokenizer
>>> tok = AlbertTokenizer.from_pretrained("tests/fixtures/tokenizer")
>>> isinstance(tok, TokenizerBase)
True
>>> tok.encode_plus("a list", "of ids")["token_type_ids"]
[0, 0, 0, 0, 1, 1, 1, 1, 1]
>>> tok.batch_encode_plus([("a", "b"), ("c", "d")], padding=True)["input_ids"] == tok(["a", "c"], ["b", "d"],
...     padding=True)["input_ids"]
True
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from tf_albert.tokenization.config_files import (
    TOKENIZER_CONFIG_FILE,
    folder_file,
    read_config,
    saved_options,
    write_json,
)
from tf_albert.tokenization.encoding import (
    BatchEncoding,
    Encoded,
    build_batch,
    num_special_tokens,
    resolve_options,
    special_tokens_mask,
    token_types,
    with_special_tokens,
)
from tf_albert.utils.fileio import write_file_atomically

DEFAULT_MODEL_MAX_LENGTH = 512
#: HF's SPECIAL_TOKENS_ATTRIBUTES order: it decides `all_special_tokens` (and so the ids of added tokens).
SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
#: ALBERT's special tokens (those of every released SentencePiece model).
ALBERT_SPECIAL_TOKENS = {
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "unk_token": "<unk>",
    "sep_token": "[SEP]",
    "pad_token": "<pad>",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}


# === Argument checks ===
def check_text(value, name: str) -> None:
    """Raise a TypeError that names ``name`` unless ``value`` is a str."""
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a str (or a list of str for a batch), got {type(value).__name__}: {value!r:.80}"
        )


def text_list(value, name: str) -> list[str]:
    """``[value]`` for a str, the list itself for a list or tuple of str; anything else raises a TypeError."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {type(value).__name__}: {value!r:.80}")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(v).__name__}: {v!r:.80}")
    return list(value)


def as_list(value) -> list:
    """A list, numpy array or tensor as a Python list."""
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"expected a list, numpy array or tensor, got {type(value).__name__}: {value!r:.80}")


def as_id(value) -> int:
    """An id as an int; bools and non-integers raise a TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"token ids must be ints, got {type(value).__name__}: {value!r}")
    return int(value)


def id_list(value) -> list[int]:
    """Ids given as an int, a list, a numpy array or a tensor, as a list of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    return [as_id(v) for v in as_list(value)]


def checked_max_length(value) -> int:
    """``model_max_length`` as an int; anything but a positive int raises a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"model_max_length must be a positive int, got {value!r}")
    return int(value)


def check_special_names(special_tokens: dict[str, Any]) -> None:
    """Raise a TypeError for keyword arguments that are not special token names."""
    unknown = sorted(set(special_tokens) - set(SPECIAL_TOKEN_ATTRIBUTES))
    if unknown:
        raise TypeError(f"unknown argument(s) {unknown}; special tokens are {list(SPECIAL_TOKEN_ATTRIBUTES)}")


_SURROGATE = re.compile("[\ud800-\udfff]")


@contextlib.contextmanager
def unicode_checked(texts: dict[str, list[str]], batched: bool):
    """Turn a tokenizer's failure on a str that is not valid Unicode (a lone surrogate, left by decoding
    bytes with ``errors="surrogateescape"`` or ``"surrogatepass"``) into a ValueError that says where it is.
    The texts are searched only after such a failure, so valid text costs nothing."""
    try:
        yield
    except (TypeError, RuntimeError, UnicodeError):
        for name, values in texts.items():
            for i, text in enumerate(values):
                found = _SURROGATE.search(text)
                if found:
                    where = f"{name}[{i}]" if batched else name
                    raise ValueError(
                        f"{where} has a lone surrogate U+{ord(found.group()):04X} at character "
                        f"{found.start()}, which is not valid Unicode ({text!r:.60}); decode the bytes with "
                        "errors='replace', or remove it"
                    ) from None
        raise


class TokenizerBase:
    """HF's tokenizer interface over four methods that each tokenizer defines.

    A subclass sets ``self._special`` (special token attribute → token, for those it has) and
    ``self.model_max_length``, and defines ``_token_to_id``, ``_id_to_token``, ``_encode_texts``, ``tokenize``
    and ``decode``. Special tokens are read as attributes (``tok.mask_token``, ``tok.mask_token_id``).
    """

    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]
    #: HF's fast tokenizers read ``text_pair=""`` as no pair (``[CLS] A [SEP]``); its SentencePiece one
    #: does not.
    empty_pair_is_no_pair: ClassVar[bool] = False
    additional_special_tokens: list[str] = []

    # === What each tokenizer defines ===
    def _token_to_id(self, token: str) -> int:
        raise NotImplementedError

    def _id_to_token(self, index: int) -> str:
        raise NotImplementedError

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> list[Encoded]:
        """Each text's ids (no special tokens added) and, ``with_offsets``, its ``(start, end)`` per id."""
        raise NotImplementedError

    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs) -> str:
        raise NotImplementedError

    # === Special tokens ===
    def __getattr__(self, name: str) -> Any:
        # bos_token, ..., mask_token and their *_id variants (None when this tokenizer has no such token)
        special = self.__dict__.get("_special")
        if special is not None:
            if name in SPECIAL_TOKEN_ATTRIBUTES:
                return special.get(name)
            if name.endswith("_id") and name[:-3] in SPECIAL_TOKEN_ATTRIBUTES:
                token = special.get(name[:-3])
                return None if token is None else self._token_to_id(token)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def all_special_tokens(self) -> list[str]:
        """The special tokens in HF's order, each once (additional ones last)."""
        out: list[str] = []
        tokens = [self._special.get(k) for k in SPECIAL_TOKEN_ATTRIBUTES] + self.additional_special_tokens
        for token in tokens:
            if token is not None and token not in out:
                out.append(token)
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

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return num_special_tokens(pair)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None):
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        return with_special_tokens(token_ids_0, token_ids_1, self.cls_token_id, self.sep_token_id)

    def get_special_tokens_mask(
        self, token_ids_0, token_ids_1=None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """1 where :meth:`build_inputs_with_special_tokens` adds a token.

        With ``already_has_special_tokens``, 1 for every id in ``all_special_ids`` (which, as in HF, includes
        the unknown token's).
        """
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("token_ids_1 must be None when already_has_special_tokens=True")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in id_list(token_ids_0)]
        return special_tokens_mask(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None) -> list[int]:
        """0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``."""
        return token_types(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    # === Tokens and ids ===
    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Id of a token (str) or ids of a list of tokens; unknown tokens give ``unk_token_id``."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(_token(t)) for t in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False) -> str | list[str]:
        """Token of an id or tokens of a sequence of ids (``skip_special_tokens`` drops special ones)."""
        if isinstance(ids, (int, np.integer)):
            return self._id_to_token(as_id(ids))
        special = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token(i) for i in id_list(ids) if i not in special]

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        """:meth:`decode` of each row (a list of lists, a 2-D numpy array or tensor)."""
        return [self.decode(s, **kwargs) for s in as_list(sequences)]

    # === Encoding ===
    def encode(
        self, text: str, text_pair: str | None = None, add_special_tokens: bool = True, **kwargs
    ) -> list[int]:
        """Ids of one text (or pair); accepts the padding/truncation arguments of :meth:`__call__`."""
        check_text(text, "text")
        if text_pair is not None:
            check_text(text_pair, "text_pair")
        return self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            return_attention_mask=False,
            return_token_type_ids=False,
            **kwargs,
        )["input_ids"]

    def encode_plus(self, text, text_pair=None, **kwargs) -> BatchEncoding:
        """:meth:`__call__` of one text (or pair)."""
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs, **kwargs) -> BatchEncoding:
        """:meth:`__call__` of a list of texts or of ``(text, text_pair)`` tuples."""
        items = as_list(batch_text_or_text_pairs)
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
        """Encode a text, a pair, a batch of texts or a batch of pairs, as HF's tokenizers do.

        Args:
            text: A str, or a list of str for a batch.
            text_pair: The second texts of pairs: a str with a str ``text``, a list as long as a list
                ``text``.
            add_special_tokens: Add ``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]``.
            padding: ``True``/``"longest"``, ``"max_length"`` or ``False`` (right side).
            truncation: ``True``/``"longest_first"``, ``"only_first"``, ``"only_second"`` or ``False`` (right
                side); ``None`` truncates when ``max_length`` is given without padding.
            max_length: The length to truncate or pad to; ``model_max_length`` when truncation or
                ``padding="max_length"`` needs one.
            pad_to_multiple_of: Round padded lengths up to a multiple of this.
            return_tensors: ``None`` (lists), ``"np"`` (int64 arrays) or ``"tf"`` (int32 tensors).
            return_token_type_ids: Return ``token_type_ids`` (default ``True``).
            return_attention_mask: Return ``attention_mask`` (default ``True``).
            return_special_tokens_mask: Return ``special_tokens_mask``.
            return_offsets_mapping: Return ``offset_mapping``: ``(start, end)`` character positions in the
                original text, ``(0, 0)`` for added special tokens and padding.
            return_length: Return each row's ``length``.

        Returns:
            A :class:`~tf_albert.tokenization.encoding.BatchEncoding`: each output's list (one row for a str
            ``text``, a list of rows for a batch) or tensor.

        Raises:
            TypeError: ``text``/``text_pair`` are not str or lists of str, or one is a str and the other a
                list.
            ValueError: An option is not one of the allowed values, the batch sizes differ, or a text is not
                valid Unicode.
        """
        batched = not isinstance(text, str)
        texts = text_list(text, "text")
        pairs = None
        if self.empty_pair_is_no_pair and isinstance(text_pair, str) and text_pair == "":
            text_pair = None
        if text_pair is not None:
            if isinstance(text_pair, str) == batched:
                raise TypeError(
                    f"text and text_pair must both be str or both be lists, got {type(text).__name__} "
                    f"and {type(text_pair).__name__}"
                )
            pairs = text_list(text_pair, "text_pair")
            if len(pairs) != len(texts):
                raise ValueError(f"text has {len(texts)} items but text_pair has {len(pairs)}")
        padding, truncation, max_length = resolve_options(
            padding, truncation, max_length, return_tensors, self.model_max_length
        )
        with unicode_checked({"text": texts, "text_pair": pairs or []}, batched):
            encoded = self._encode_texts(texts + (pairs or []), return_offsets_mapping)
        return build_batch(
            encoded[: len(texts)],
            encoded[len(texts) :] if pairs is not None else None,
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


class VocabTokenizerBase(TokenizerBase):
    """:class:`TokenizerBase` over a token → id dict (``self._vocab``).

    A subclass calls :meth:`_init_vocab` and defines ``_encode_one`` (ids and character offsets of one text)
    and ``_decode_ids`` (text of ids already checked).
    """

    empty_pair_is_no_pair: ClassVar[bool] = True

    def _init_vocab(self, vocab: dict, special: dict, model_max_length: int) -> None:
        self._vocab = dict(vocab)
        self._inverse = {i: t for t, i in self._vocab.items()}
        missing = {k: t for k, t in special.items() if t is not None and t not in self._vocab}
        if missing:
            raise ValueError(f"special tokens not in the vocabulary: {missing}")
        self._special = {k: t for k, t in special.items() if t is not None}
        self.model_max_length = checked_max_length(model_max_length)

    # === Files ===
    @staticmethod
    def _read_folder(path, file_name: str, option_keys: Iterable[str], overrides: dict) -> tuple[str, dict]:
        """The prelude of ``from_pretrained``: the tokenizer's file (``path`` itself or ``path/file_name``)
        and the options saved beside it in ``tokenizer_config.json`` among ``option_keys``, with
        ``overrides`` (the caller's keyword arguments) applied."""
        file = folder_file(path, file_name)
        options = saved_options(read_config(os.path.dirname(file)), option_keys)
        options.update(overrides)
        return file, options

    def _save_folder(self, save_directory: str, files: dict[str, str], config: dict) -> tuple[str, ...]:
        """The body of ``save_pretrained``: ``files`` (name → text), then ``tokenizer_config.json`` holding
        ``config``, ``model_max_length`` and the special tokens; each written atomically."""
        os.makedirs(save_directory, exist_ok=True)
        written = tuple(
            write_file_atomically(os.path.join(save_directory, name), text) for name, text in files.items()
        )
        config = {**config, "model_max_length": self.model_max_length, **self._special}
        return written + (write_json(save_directory, TOKENIZER_CONFIG_FILE, config),)

    # === Vocabulary ===
    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    def _token_to_id(self, token: str) -> int:
        index = self._vocab.get(token)
        if index is None:
            unk = self._special.get("unk_token")
            return None if unk is None else self._vocab[unk]
        return index

    def _id_to_token(self, index: int) -> str:
        if index not in self._inverse:
            raise ValueError(f"token id {index} is out of range; this tokenizer has ids 0..{len(self) - 1}")
        return self._inverse[index]

    # === Text ===
    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` (no ``[CLS]``/``[SEP]``)."""
        check_text(text, "text")
        return [self._inverse[i] for i in self._encode_one(text)[0]]

    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs) -> str:
        """Text of a sequence of ids (list, numpy array or tensor)."""
        ids = id_list(token_ids)
        for i in ids:
            self._id_to_token(i)
        return self._decode_ids(ids, skip_special_tokens, **kwargs)

    def _encode_texts(self, texts: list[str], with_offsets: bool) -> list[Encoded]:
        out = [self._encode_one(t) for t in texts]
        return out if with_offsets else [(ids, None) for ids, _ in out]

    def _encode_one(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        raise NotImplementedError

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool, **kwargs) -> str:
        raise NotImplementedError


def _token(token) -> str:
    if not isinstance(token, str):
        raise TypeError(f"tokens must be str, got {type(token).__name__}: {token!r}")
    return token
