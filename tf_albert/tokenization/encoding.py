"""Ids to model-ready batches: special tokens, truncation, padding, tensors (HF's rules, right side only).

:class:`~tf_albert.tokenization.AlbertTokenizer` turns each text into ids (and character offsets); the
functions here turn those into what a model takes: ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]`` with
token type ids ``0…0 1…1``, truncated to ``max_length``, padded, and gathered in a :class:`BatchEncoding`, as
lists, numpy arrays or TensorFlow tensors. Nothing here knows about SentencePiece or text.

Example:

>>> batch = build_batch([([7, 8, 9], None), ([7], None)], cls_id=2, sep_id=3, pad_id=0, padding="longest")
>>> batch["input_ids"], batch["attention_mask"]
([[2, 7, 8, 9, 3], [2, 7, 3, 0, 0]], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
>>> pair = build_batch([([7, 8], None)], [([9], None)], cls_id=2, sep_id=3, pad_id=0, batched=False)
>>> pair["input_ids"], pair["token_type_ids"]
([2, 7, 8, 3, 9, 3], [0, 0, 0, 0, 1, 1])
>>> truncated_lengths(10, 4, budget=9, strategy="longest_first")
(5, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
RETURN_TENSORS = (None, "np", "tf")
# What padding adds to each output of a row.
PAD_VALUES = {"token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1, "offset_mapping": (0, 0)}

#: One encoded text: its ids and, when offsets were asked for, one ``(start, end)`` per id (else ``None``).
Encoded = tuple[list[int], list[tuple[int, int]] | None]


# === Outputs ===
class BatchEncoding(dict):
    """The dict returned by :meth:`AlbertTokenizer.__call__`; keys are also readable as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getstate__(self):
        return dict(self)

    def __setstate__(self, state):
        self.update(state)


# === Arguments ===
def resolve_options(
    padding, truncation, max_length, return_tensors, model_max_length: int
) -> tuple[str, str, int | None]:
    """HF's ``padding``/``truncation``/``max_length`` arguments as ``(padding strategy, truncation strategy,
    max_length)``, with the errors HF gives; ``return_tensors`` is only checked."""
    if max_length is not None and (not isinstance(max_length, (int, np.integer)) or max_length <= 0):
        raise ValueError(f"max_length must be a positive int, got {max_length!r}")
    if padding is True:
        padding = "longest"
    elif padding is False or padding is None:
        padding = "do_not_pad"
    if padding not in PADDING_STRATEGIES:
        raise ValueError(f"padding must be True, False or one of {PADDING_STRATEGIES}, got {padding!r}")
    if truncation is None:
        # HF: max_length without padding or truncation implies longest_first truncation
        truncation = "longest_first" if max_length is not None and padding == "do_not_pad" else False
    if truncation is True:
        truncation = "longest_first"
    elif truncation is False:
        truncation = "do_not_truncate"
    if truncation not in TRUNCATION_STRATEGIES:
        raise ValueError(
            f"truncation must be True, False or one of {TRUNCATION_STRATEGIES}, got {truncation!r}"
        )
    if max_length is None and (truncation != "do_not_truncate" or padding == "max_length"):
        max_length = model_max_length
    if return_tensors not in RETURN_TENSORS:
        raise ValueError(f"return_tensors must be None, 'np' or 'tf', got {return_tensors!r}")
    return padding, truncation, max_length


# === Special tokens ===
def num_special_tokens(pair: bool) -> int:
    """How many tokens :func:`with_special_tokens` adds: ``[CLS]``, ``[SEP]`` (and a second ``[SEP]``)."""
    return 3 if pair else 2


def with_special_tokens(ids_a, ids_b, cls_id: int, sep_id: int) -> list[int]:
    """``[CLS] A [SEP]`` or, with ``ids_b``, ``[CLS] A [SEP] B [SEP]``."""
    if ids_b is None:
        return [cls_id] + list(ids_a) + [sep_id]
    return [cls_id] + list(ids_a) + [sep_id] + list(ids_b) + [sep_id]


def special_tokens_mask(len_a: int, len_b: int | None) -> list[int]:
    """1 where :func:`with_special_tokens` puts a token, 0 on the sequences' own."""
    if len_b is None:
        return [1] + [0] * len_a + [1]
    return [1] + [0] * len_a + [1] + [0] * len_b + [1]


def token_types(len_a: int, len_b: int | None) -> list[int]:
    """Token type ids of :func:`with_special_tokens`'s output: 0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``."""
    first = [0] * (len_a + 2)
    return first if len_b is None else first + [1] * (len_b + 1)


# === Truncation ===
def truncated_lengths(la: int, lb: int | None, budget: int, strategy: str) -> tuple[int, int | None]:
    """Lengths after HF's right-side truncation so that ``la + lb <= budget``."""
    remove = la + (lb or 0) - budget
    if remove <= 0:
        return la, lb
    if strategy == "only_second" and lb is None:
        raise ValueError("truncation='only_second' needs a text_pair")
    if strategy == "only_first" or (strategy == "longest_first" and lb is None):
        if la <= remove:
            raise ValueError(
                f"cannot truncate: {remove} tokens must go but the first sequence has {la} "
                f"(budget {budget} after special tokens); use another truncation strategy"
            )
        return la - remove, lb
    if strategy == "only_second":
        if lb <= remove:
            raise ValueError(
                f"cannot truncate: {remove} tokens must go but the second sequence has {lb} "
                f"(budget {budget} after special tokens); use another truncation strategy"
            )
        return la, lb - remove
    if budget < 0:
        raise ValueError(f"max_length is too small for the special tokens (budget {budget})")
    # longest_first, as HF: equalise the lengths, then split the rest (the second loses more)
    first = min(abs(lb - la), remove)
    second = remove - first
    if la > lb:
        return la - first - second // 2, lb - (second - second // 2)
    return la - second // 2, lb - first - (second - second // 2)


# === Rows and batches ===
def build_batch(
    first: Sequence[Encoded],
    second: Sequence[Encoded] | None = None,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    add_special_tokens: bool = True,
    padding: str = "do_not_pad",
    truncation: str = "do_not_truncate",
    max_length: int | None = None,
    pad_to_multiple_of: int | None = None,
    return_tensors: str | None = None,
    return_token_type_ids: bool | None = None,
    return_attention_mask: bool | None = None,
    return_special_tokens_mask: bool = False,
    return_length: bool = False,
    batched: bool = True,
) -> BatchEncoding:
    """The :class:`BatchEncoding` of encoded texts (and of their pairs, ``second``).

    ``padding``/``truncation``/``max_length`` are resolved strategies (see :func:`resolve_options`); the
    ``return_*`` flags are :meth:`AlbertTokenizer.__call__`'s, and ``offset_mapping`` is returned when the
    texts come with offsets. ``batched=False`` returns the single row's lists instead of a list of them.
    """
    want_types = True if return_token_type_ids is None else return_token_type_ids
    want_mask = True if return_attention_mask is None else return_attention_mask
    rows = []
    for k, (ids_a, off_a) in enumerate(first):
        ids_b, off_b = second[k] if second is not None else (None, None)
        if truncation != "do_not_truncate" and max_length is not None:
            n_special = num_special_tokens(ids_b is not None) if add_special_tokens else 0
            na, nb = truncated_lengths(
                len(ids_a), None if ids_b is None else len(ids_b), max_length - n_special, truncation
            )
            ids_a, off_a = ids_a[:na], off_a[:na] if off_a is not None else None
            if ids_b is not None:
                ids_b, off_b = ids_b[:nb], off_b[:nb] if off_b is not None else None
        len_b = None if ids_b is None else len(ids_b)
        row = {}
        if add_special_tokens:
            row["input_ids"] = with_special_tokens(ids_a, ids_b, cls_id, sep_id)
            types = token_types(len(ids_a), len_b)
            special_mask = special_tokens_mask(len(ids_a), len_b)
            offsets = None
            if off_a is not None:
                offsets = [(0, 0)] + off_a + [(0, 0)] + ((off_b + [(0, 0)]) if off_b is not None else [])
        else:
            row["input_ids"] = list(ids_a) + (list(ids_b) if ids_b is not None else [])
            types = [0] * len(ids_a) + ([1] * len_b if ids_b is not None else [])
            special_mask = [0] * len(row["input_ids"])
            offsets = (off_a + off_b) if off_b is not None else off_a
        if want_types:
            row["token_type_ids"] = types
        if want_mask:
            row["attention_mask"] = [1] * len(row["input_ids"])
        if return_special_tokens_mask:
            row["special_tokens_mask"] = special_mask
        if offsets is not None:
            row["offset_mapping"] = offsets
        if return_length:
            row["length"] = len(row["input_ids"])
        rows.append(row)

    pad_rows(rows, padding, max_length, pad_to_multiple_of, pad_id)
    if rows:
        keys = list(rows[0])
    else:  # an empty batch has the keys (and, as tensors, the [0, width] shapes) of a non-empty one
        keys = ["input_ids"] + [k for k, wanted in (
            ("token_type_ids", want_types), ("attention_mask", want_mask),
            ("special_tokens_mask", return_special_tokens_mask), ("length", return_length)) if wanted]
    out = BatchEncoding({k: [r[k] for r in rows] for k in keys})
    if not batched:
        out = BatchEncoding({k: v[0] for k, v in out.items()})
    if return_tensors is not None:
        width = max_length if padding == "max_length" and max_length else 0
        out = BatchEncoding({k: to_tensor(v if batched else [v], k, return_tensors, width)
                             for k, v in out.items()})
    return out


def pad_rows(
    rows: list[dict], padding: str, max_length: int | None, multiple: int | None, pad_id: int
) -> None:
    """Pad every row's lists in place (on the right) to the longest row or to ``max_length``, rounded up to
    a multiple of ``multiple``."""
    if padding == "do_not_pad" or not rows:
        return
    target = max(len(r["input_ids"]) for r in rows) if padding == "longest" else max_length
    if multiple:
        target = -(-target // multiple) * multiple
    fill = {"input_ids": pad_id, **PAD_VALUES}
    for r in rows:
        n = target - len(r["input_ids"])
        if n > 0:
            for k, v in fill.items():
                if k in r:
                    r[k] = r[k] + [v] * n


def to_tensor(rows, key: str, kind: str, width: int = 0):
    """The rows of output ``key`` as an int64 numpy array (``kind="np"``) or an int32 ``tf.Tensor``
    (``"tf"``); rows of different lengths raise. No rows give shape ``[0, width]``."""
    lengths = {len(r) for r in rows} if key != "length" else set()
    if len(lengths) > 1:
        raise ValueError(
            f"cannot make a {kind!r} tensor of {key!r}: sequences have lengths {sorted(lengths)}; "
            "pass padding=True or padding='max_length'"
        )
    if key == "length":
        arr = np.asarray(rows, dtype=np.int64)
    else:
        arr = np.asarray(rows, dtype=np.int64).reshape(
            (len(rows), -1 if rows else width) + ((2,) if key == "offset_mapping" else ())
        )
    if kind == "np":
        return arr
    import tensorflow as tf  # only for return_tensors="tf": the Python tokenizer runs without TensorFlow

    return tf.constant(arr, dtype=tf.int32)
