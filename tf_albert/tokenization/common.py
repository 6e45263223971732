"""What the tokenizers that are not SentencePiece share: special tokens, `__call__`, `encode`, `decode`.

`AlbertTokenizerFast` (an HF `tokenizer.json`) and `AlbertWordPieceTokenizer` (a BERT `vocab.txt`) each
define how text becomes ids (`_encode_one`: ids and character offsets of one text) and how ids become text
(`_decode_ids`); this base turns that into the `AlbertTokenizer` interface: pairs with `[CLS] A [SEP] B
[SEP]`, truncation and padding (`encoding.build_batch`), `BatchEncoding`s, tokens and ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tf_albert.tokenization.encoding import (
    BatchEncoding,
    build_batch,
    num_special_tokens,
    resolve_options,
    special_tokens_mask,
    token_types,
    with_special_tokens,
)

DEFAULT_MODEL_MAX_LENGTH = 512
SPECIAL_TOKEN_ATTRIBUTES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)


def check_text(value, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a str (or a list of str for a batch), got {type(value).__name__}: {value!r:.80}"
        )


def text_list(value, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {type(value).__name__}: {value!r:.80}")
    for i, v in enumerate(value):
        check_text(v, f"{name}[{i}]")
    return list(value)


def id_list(value) -> list[int]:
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"expected ids as a list, numpy array or tensor, got {type(value).__name__}: {value!r:.80}"
        )
    for v in value:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"token ids must be ints, got {type(v).__name__}: {v!r}")
    return [int(v) for v in value]


class VocabTokenizerBase:
    """The `AlbertTokenizer` interface over a token↔id vocabulary; subclasses set `self._vocab` (token → id),
    `self._special` (special token attribute → token) and define `_encode_one` and `_decode_ids`."""

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def _init_vocab(self, vocab: dict, special: dict, model_max_length: int) -> None:
        self._vocab = dict(vocab)
        self._inverse = {i: t for t, i in self._vocab.items()}
        missing = {k: t for k, t in special.items() if t is not None and t not in self._vocab}
        if missing:
            raise ValueError(f"special tokens not in the vocabulary: {missing}")
        self._special = {k: t for k, t in special.items() if t is not None}
        if not isinstance(model_max_length, (int, np.integer)) or model_max_length <= 0:
            raise ValueError(f"model_max_length must be a positive int, got {model_max_length!r}")
        self.model_max_length = int(model_max_length)

    # === Vocabulary ===
    def __getattr__(self, name: str) -> Any:
        special = self.__dict__.get("_special")
        if special is not None:
            if name in SPECIAL_TOKEN_ATTRIBUTES:
                return special.get(name)
            if name.endswith("_id") and name[:-3] in SPECIAL_TOKEN_ATTRIBUTES:
                token = special.get(name[:-3])
                return None if token is None else self._vocab[token]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    @property
    def all_special_tokens(self) -> list[str]:
        out = []
        for key in SPECIAL_TOKEN_ATTRIBUTES:
            token = self._special.get(key)
            if token is not None and token not in out:
                out.append(token)
        return out

    @property
    def all_special_ids(self) -> list[int]:
        return [self._vocab[t] for t in self.all_special_tokens]

    @property
    def special_tokens_map(self) -> dict[str, str]:
        return dict(self._special)

    def convert_tokens_to_ids(self, tokens):
        """Id of a token (str) or ids of a list of tokens; unknown tokens give `unk_token_id`."""
        if isinstance(tokens, str):
            return self._vocab.get(tokens, self.unk_token_id)
        return [self.convert_tokens_to_ids(_token(t)) for t in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        if isinstance(ids, (int, np.integer)) and not isinstance(ids, bool):
            return self._token_of(int(ids))
        special = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._token_of(i) for i in id_list(ids) if i not in special]

    def _token_of(self, index: int) -> str:
        if index not in self._inverse:
            raise ValueError(f"token id {index} is out of range; this tokenizer has ids 0..{len(self) - 1}")
        return self._inverse[index]

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return num_special_tokens(pair)

    # === Text ===
    def tokenize(self, text: str) -> list[str]:
        """The tokens of `text` (no [CLS]/[SEP])."""
        check_text(text, "text")
        return [self._inverse[i] for i in self._encode_one(text)[0]]

    def decode(self, token_ids, skip_special_tokens: bool = False, **kwargs) -> str:
        """Text of a sequence of ids (list, numpy array or tensor)."""
        ids = id_list(token_ids)
        for i in ids:
            self._token_of(i)
        return self._decode_ids(ids, skip_special_tokens, **kwargs)

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        if hasattr(sequences, "numpy") and callable(sequences.numpy):
            sequences = sequences.numpy()
        return [
            self.decode(s, **kwargs)
            for s in (sequences.tolist() if isinstance(sequences, np.ndarray) else sequences)
        ]

    # === Special tokens ===
    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        return with_special_tokens(token_ids_0, token_ids_1, self.cls_token_id, self.sep_token_id)

    def get_special_tokens_mask(
        self, token_ids_0, token_ids_1=None, already_has_special_tokens: bool = False
    ):
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in id_list(token_ids_0)]
        return special_tokens_mask(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None):
        return token_types(len(token_ids_0), None if token_ids_1 is None else len(token_ids_1))

    # === Encoding ===
    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True, **kwargs):
        """Ids of one text (or pair)."""
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
        """Encode a text, a pair, or lists of them; the arguments are `AlbertTokenizer.__call__`'s."""
        batched = not isinstance(text, str)
        texts = text_list(text, "text")
        pairs = None
        if text_pair == "":  # HF's fast tokenizers read an empty second text as "no pair": [CLS] A [SEP]
            text_pair = None
        if text_pair is not None:
            if isinstance(text_pair, str) == batched:
                raise TypeError(
                    f"text and text_pair must both be str or both be lists, got "
                    f"{type(text).__name__} and {type(text_pair).__name__}"
                )
            pairs = text_list(text_pair, "text_pair")
            if len(pairs) != len(texts):
                raise ValueError(f"text has {len(texts)} items but text_pair has {len(pairs)}")
        padding, truncation, max_length = resolve_options(
            padding, truncation, max_length, return_tensors, self.model_max_length
        )

        def encoded(items):
            out = [self._encode_one(t) for t in items]
            return out if return_offsets_mapping else [(ids, None) for ids, _ in out]

        return build_batch(
            encoded(texts),
            encoded(pairs) if pairs is not None else None,
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

    def _encode_one(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        raise NotImplementedError

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool, **kwargs) -> str:
        raise NotImplementedError


def _token(token) -> str:
    if not isinstance(token, str):
        raise TypeError(f"tokens must be str, got {type(token).__name__}: {token!r}")
    return token
