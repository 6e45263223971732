"""`predict` and `evaluate` on ragged inputs: rows of different lengths, batched by the shape policy.

`model.predict([[2, 48, 3], [2, 48, 99, 17, 3]])` — lists of id lists of different lengths, a dict of them
(`input_ids`, optional `attention_mask` / `token_type_ids` alike), or a `tf.RaggedTensor` — no longer needs
the caller to pad: the rows are sorted by length and padded to the lengths of
`tf_albert.utils.shapes.lengths_for` (under XLA a few: 8, 16, 24, 32, 48, 64, 96, 128, ...; without XLA
every multiple of 8), in batches of at most `batch_size` rows (under XLA the batch dimension too is padded
to a power of two). `predict` returns the outputs in input order, per-token outputs zero past each row's
length and as long as the longest row; `evaluate` runs Keras' loop over the same batches (labels: one per
row, or one per token — padded with -100).

Backend-neutral: numpy padding and the model's own `predict_on_batch` / `evaluate`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import keras
import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.utils import shapes

_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def _is_ragged_tensor(value) -> bool:
    tf = sys.modules.get("tensorflow")  # a tf.RaggedTensor exists only once TensorFlow is imported
    return tf is not None and isinstance(value, tf.RaggedTensor)


def _uneven(value) -> bool:
    """A list of rows that are lists of different lengths (at any depth: choices of multiple choice too)."""
    if not isinstance(value, (list, tuple)) or not value or isinstance(value[0], (str, bytes)):
        return False
    if not all(isinstance(row, (list, tuple, np.ndarray)) for row in value):
        return False
    if len({len(row) for row in value}) > 1:
        return True
    return any(_uneven(list(row)) for row in value)


def is_ragged(x) -> bool:
    """True for inputs whose rows have different lengths (what `model(x)` refuses without padding)."""
    ids = x.get("input_ids") if isinstance(x, Mapping) else x
    return _is_ragged_tensor(ids) or _uneven(ids)


def _as_rows(value) -> list:
    """Nested Python lists (rows, or for multiple choice rows of choices) of a list, array or RaggedTensor."""
    if _is_ragged_tensor(value) or hasattr(value, "tolist"):
        return value.to_list() if _is_ragged_tensor(value) else value.tolist()
    return [_as_rows(item) if isinstance(item, (list, tuple, np.ndarray)) else item for item in value]


def _row_length(row, rank: int) -> int:
    return max(len(choice) for choice in row) if rank == 3 else len(row)


def _inputs(model, x) -> dict[str, list]:
    named = dict(x) if isinstance(x, Mapping) else {"input_ids": x}
    unknown = sorted(set(named) - set(_NAMES))
    if unknown:
        raise ValueError(f"ragged inputs take {list(_NAMES)}; got also {unknown}")
    rows = {name: _as_rows(value) for name, value in named.items() if value is not None}
    n = len(rows["input_ids"])
    for name, values in rows.items():
        if len(values) != n:
            raise ValueError(f"{name} has {len(values)} rows but input_ids has {n}")
    limit = model.config.max_position_embeddings
    for i, row in enumerate(rows["input_ids"]):
        length = _row_length(row, model.input_rank)
        if length > limit or length < 1:
            raise ValueError(f"input_ids row {i} has {length} tokens; every row needs 1 to {limit} "
                             "(max_position_embeddings)")
    return rows


def _pad(rows: list, length: int, rank: int, value, dtype, total_rows: int) -> np.ndarray:
    if rank == 3:
        out = np.full((total_rows, len(rows[0]), length), value, dtype)
        for r, row in enumerate(rows):
            for c, choice in enumerate(row):
                out[r, c, :len(choice)] = choice
    else:
        out = np.full((total_rows, length), value, dtype)
        for r, row in enumerate(rows):
            out[r, :len(row)] = row
    return out


def _labels(labels, rows: dict, rank: int):
    """Labels as a list per row, and whether they are per token (one per input token of the row)."""
    values = labels.to_list() if _is_ragged_tensor(labels) else list(labels)
    if len(values) != len(rows["input_ids"]):
        raise ValueError(f"y has {len(values)} rows but x has {len(rows['input_ids'])}")
    per_token = rank == 2 and all(np.ndim(v) == 1 and len(v) == len(row)
                                  for v, row in zip(values, rows["input_ids"]))
    return values, per_token


def padded_batch(model, rows: dict, index, length: int, total: int | None = None) -> dict:
    """The model inputs of rows `index` of `rows` ({name: list of id lists}), padded to `length` tokens and
    (under XLA) to `total` rows: filler rows of padding that attend to their first token."""
    rank = model.input_rank
    total = len(index) if total is None else total
    ids = [rows["input_ids"][i] for i in index]
    if "attention_mask" in rows:
        mask = [rows["attention_mask"][i] for i in index]
    else:
        mask = [[[1] * len(c) for c in row] if rank == 3 else [1] * len(row) for row in ids]
    batch = {"input_ids": _pad(ids, length, rank, model.config.pad_token_id, np.int32, total),
             "attention_mask": _pad(mask, length, rank, 0, np.int32, total)}
    batch["attention_mask"][len(index):, ..., 0] = 1  # filler rows attend to one token, like a real row
    if "token_type_ids" in rows:
        types = [rows["token_type_ids"][i] for i in index]
        batch["token_type_ids"] = _pad(types, length, rank, 0, np.int32, total)
    return batch


def _batches(model, rows: dict, batch_size: int | None, labels=None, per_token=False, pad_rows=True):
    """Yields (row indices, padded inputs, labels or None) per batch; `pad_rows`: under XLA, filler rows up
    to a power of two (their outputs are dropped; not for evaluation, where they would count)."""
    rank, compiled = model.input_rank, model.jit_compile is True
    batch_size = int(batch_size or 32)
    lengths = [_row_length(row, rank) for row in rows["input_ids"]]
    fixed = shapes.lengths_for(model.config.max_position_embeddings, compiled=compiled)
    for index, length in shapes.sorted_batches(lengths, fixed, batch_size):
        total = shapes.padded_rows(len(index), batch_size) if compiled and pad_rows else len(index)
        batch = padded_batch(model, rows, index, length, total)
        target = None
        if labels is not None:
            picked = [labels[i] for i in index]
            if per_token:
                target = _pad(picked, length, 2, IGNORE_INDEX, np.int32, len(index))
            else:
                target = np.asarray(picked)
        yield index, batch, target


def _sequence_axes(model, rows: dict) -> dict:
    """Output name → the axes that run over the sequence: those that change when the rows get one token
    longer (found symbolically, without computing; concrete lengths, which every backend traces alike)."""
    if not model.built:  # every weight from the config first: a symbolic call must not build half the model
        model.build()

    def spec(length):
        shape = (1, len(rows["input_ids"][0]), length) if model.input_rank == 3 else (1, length)
        names = ("input_ids", "attention_mask", *rows)
        return model.compute_output_spec({name: keras.KerasTensor(shape, dtype="int32") for name in names})

    short, longer = spec(2), spec(3)
    return {name: {a for a in range(1, len(t.shape)) if t.shape[a] != longer[name].shape[a]}
            for name, t in short.items()}


def predict(model, x, batch_size: int | None = None) -> dict:
    """The model's outputs for ragged `x` (see the module docstring), numpy arrays in input order."""
    rows = _inputs(model, x)
    lengths = [_row_length(row, model.input_rank) for row in rows["input_ids"]]
    longest = max(lengths)
    axes = _sequence_axes(model, rows)
    result = {}
    for index, batch, _ in _batches(model, rows, batch_size):
        for name, value in model.predict_on_batch(batch).items():
            value = np.asarray(value)
            if name not in result:
                dims = [longest if k in axes[name] else value.shape[k] for k in range(1, value.ndim)]
                result[name] = np.zeros((len(lengths), *dims), value.dtype)
            for r, i in enumerate(index):
                cut = tuple(slice(0, lengths[i]) if k in axes[name] else slice(None)
                            for k in range(1, value.ndim))
                result[name][(i, *cut)] = value[(r, *cut)]
    return result


def evaluation_data(model, x, y, batch_size: int | None = None):
    """The batches of ragged `x` (and labels `y`) as something Keras' `evaluate` reads: a `tf.data.Dataset`
    on TensorFlow (its shapes say which dimensions vary), a `keras.utils.PyDataset` elsewhere."""
    rows = _inputs(model, x)
    labels, per_token = _labels(y, rows, model.input_rank) if y is not None else (None, False)
    batches = [(b, t) if labels is not None else b
               for _, b, t in _batches(model, rows, batch_size, labels, per_token, pad_rows=False)]
    tf = sys.modules.get("tensorflow")
    if keras.backend.backend() == "tensorflow" and tf is not None:
        signature = keras.tree.map_structure(
            lambda v: tf.TensorSpec([None] * v.ndim, tf.as_dtype(v.dtype)), batches[0])
        dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=signature)
        return dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
    return _Batches(batches)


class _Batches(keras.utils.PyDataset):
    def __init__(self, batches: list):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.batches[i]
