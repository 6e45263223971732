"""The one data path of fine-tuning: encoded examples → numpy batches under the shape policy, on any backend.

`Batches` holds tokenized rows (lists of ids of different lengths) and their labels and makes each epoch's
batches as numpy arrays: which rows make a batch and in which order (`batching.index_batches`: seeded, a new
order per epoch, length-grouped by default when shuffled), and the length each batch is padded to (the
largest padded length of its rows, `batching.padded_lengths`: a few fitted lengths, or each batch's longest
row). Two feeders serve exactly these batches:

* `BatchDataset`, a `keras.utils.PyDataset`: any backend, TensorFlow installed or not;
* tf.data on TensorFlow (`tf_albert.training.datasets.make_dataset`): each epoch's row indices from
  `Batches.epoch_plan` (this code), the rows gathered and padded in the graph to the same arrays.

The batches form one endless stream: batch k is batch `k % steps` of epoch `k // steps`
(`Batches.batch_at(k)`), so a run resumed after `e` epochs starts the stream at `e * steps` and sees the
batches an uninterrupted run would have (`tf_albert.training.callbacks.fit_resumable`).

Example:
>>> rows = [[2, 7, 3], [2, 7, 7, 7, 7, 3], [2, 3], [2, 7, 7, 7, 7, 7, 7, 3]]
>>> batches = Batches({"input_ids": rows}, [0, 1, 0, 1], batch_size=2, group_by_length=True,
...                   length_buckets=[4, 8])
>>> [(x["input_ids"].shape, y.tolist()) for x, y in BatchDataset(batches)]
[((2, 8), [1, 1]), ((2, 4), [0, 0])]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import keras
import numpy as np

from tf_albert.model.losses import IGNORE_INDEX
from tf_albert.utils.batching import AUTO, grouped_sizes, index_batches, padded_lengths

#: The id features, in the order batches hold them.
FEATURES = ("input_ids", "token_type_ids", "attention_mask")


def _positive_int(name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class _Ragged:
    """Rows of ids of different lengths as one flat int32 array + row starts; `pad` cuts a batch of them."""

    def __init__(self, rows):
        self.lengths = np.array([len(r) for r in rows], np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.flat = (np.concatenate([np.asarray(r, np.int32).reshape(-1) for r in rows]) if len(rows)
                     else np.zeros([0], np.int32))

    def pad(self, rows: np.ndarray, length: int, value) -> np.ndarray:
        """Rows `rows` padded (or cut) to `length` with `value`: [len(rows), length]."""
        out = np.full((len(rows), length), value, np.int32)
        positions = np.arange(length)
        inside = positions[None, :] < self.lengths[rows][:, None]
        out[inside] = self.flat[(self.starts[rows][:, None] + positions[None, :])[inside]]
        return out


class Batches:
    """Encoded examples and the batches of every epoch, as numpy arrays.

    Args:
        features: {name: list of token lists} (`input_ids`, and `token_type_ids` / `attention_mask` when
            given); for multiple choice (`num_choices`), lists of per-choice token lists.
        labels: None; a list of scalars (class ids / floats); a list of equal-length vectors (multi-hot);
            a list of per-token lists (`per_token_labels=True`; padded with `label_pad_value`); or a dict
            of such lists (e.g. QA's `start_positions` / `end_positions`).
        batch_size: global batch size.
        shuffle, seed: a new order each epoch that depends only on `seed` and the epoch (None: a random seed,
            drawn once).
        pad_token_id: what `input_ids` are padded with (the other features with 0).
        label_pad_value: what per-token labels are padded with (-100: ignored by the loss).
        max_length: the longest row (the cap of the fitted lengths).
        pad_to_max_length: pad every batch to `max_length` (one static shape, for TPUs).
        pad_to_multiple_of: padded lengths are multiples of this.
        drop_remainder: drop the short batch (static batch dimension).
        num_choices: multiple choice: features hold `num_choices` rows per example; batches are
            [B, num_choices, L].
        per_token_labels: `labels` (the "labels" entry of a dict) are per-token lists.
        group_by_length: batch rows of similar length together (default: when shuffling). Each epoch the
            rows are shuffled, ordered by padded length, cut into batches and the batches shuffled
            (`tf_albert.utils.batching`); without shuffling, rows are sorted by length (`order` says
            which row each position holds).
        length_buckets: the lengths batches are padded to: an int (that many lengths that pad these rows
            least, `shapes.fit_lengths`), a list of lengths, or None: each batch padded to its longest row
            (rounded up to `pad_to_multiple_of`). "auto" (the default): 5 fitted lengths when grouping by
            length — with the one short batch at most 6 shapes for an XLA-compiled step — else None.
        max_tokens: with length grouping, batches of max_tokens // L rows at padded length L instead of
            `batch_size` rows (steady memory and step time).

    Attributes:
        steps: batches per epoch.
        length_buckets: the fixed lengths batches are padded to (None: each batch to its longest row).
        row_lengths, padded_lengths: per row, its length and the length it is padded to.
        order: for unshuffled data, the row each position of an epoch holds (sorted by length when grouped);
            None when shuffled.
    """

    def __init__(
        self,
        features: Mapping[str, list],
        labels=None,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = 0,
        pad_token_id: int = 0,
        label_pad_value=IGNORE_INDEX,
        max_length: int | None = None,
        pad_to_max_length: bool = False,
        pad_to_multiple_of: int | None = None,
        drop_remainder: bool = False,
        num_choices: int | None = None,
        per_token_labels: bool = False,
        group_by_length: bool | None = None,
        length_buckets=AUTO,
        max_tokens: int | None = None,
    ):
        self.batch_size = _positive_int("batch_size", batch_size)
        self.max_tokens = _positive_int("max_tokens", max_tokens, allow_none=True)
        if pad_to_max_length and not max_length:
            raise ValueError("pad_to_max_length needs max_length")
        n = len(features["input_ids"])
        if n == 0:
            raise ValueError("no examples to build a dataset from")
        if group_by_length is None:
            group_by_length = bool(shuffle) and not pad_to_max_length
        if isinstance(length_buckets, str) and length_buckets == AUTO and not group_by_length:
            length_buckets = None  # in order or plainly shuffled: each batch padded to its longest row
        if self.max_tokens is not None and not group_by_length:
            raise ValueError("max_tokens needs group_by_length=True (rows of one length share a batch)")
        self.shuffle, self.group_by_length = bool(shuffle), bool(group_by_length)
        self.drop_remainder = bool(drop_remainder)
        self.seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else int(seed)
        self.num_choices = int(num_choices) if num_choices else None
        self.row_lengths = np.array([max(len(c) for c in ex) if self.num_choices else len(ex)
                                     for ex in features["input_ids"]], np.int64)
        self.padded_lengths, self.length_buckets = padded_lengths(
            self.row_lengths, length_buckets=length_buckets, pad_to_multiple_of=pad_to_multiple_of,
            max_length=max_length, pad_to_max_length=pad_to_max_length,
        )
        self._features = {}
        for k in FEATURES:
            if k in features:
                rows = features[k]
                if self.num_choices:
                    rows = [c for ex in rows for c in ex]  # one row per choice, regrouped per example
                self._features[k] = _Ragged(rows)
        self._pad_values = {k: np.int32(pad_token_id if k == "input_ids" else 0) for k in self._features}
        self._labels, self._single_label = None, False
        if labels is not None:
            self._single_label = not isinstance(labels, Mapping)
            self._labels = {}
            for k, v in (labels if isinstance(labels, Mapping) else {"labels": labels}).items():
                if len(v) != n:
                    raise ValueError(f"{k} has {len(v)} entries for {n} examples")
                if per_token_labels and k == "labels":
                    self._labels[k] = _Ragged(v)
                else:
                    arr = np.asarray(v)
                    self._labels[k] = arr.astype(np.float32 if arr.dtype.kind == "f" else np.int32)
        self._label_pad = np.int32(label_pad_value)
        self._sizes = None
        if self.group_by_length:
            self._sizes = grouped_sizes(self.padded_lengths, batch_size=self.batch_size,
                                        max_tokens=self.max_tokens, drop_remainder=self.drop_remainder)
        self._epochs: dict[int, list] = {}
        self._lock = threading.Lock()
        self.steps = len(self.epoch(0))
        self.order = None
        if not self.shuffle:
            self.order = np.concatenate(self.epoch(0))

    def __len__(self) -> int:
        return self.steps

    @property
    def has_labels(self) -> bool:
        return self._labels is not None

    def epoch(self, epoch: int) -> list[np.ndarray]:
        """The row indices of each batch of epoch `epoch` (counting from 0)."""
        with self._lock:
            if epoch not in self._epochs:
                if len(self._epochs) >= 2:  # the stream moves forward: keep the last two epochs
                    del self._epochs[min(self._epochs)]
                self._epochs[epoch] = index_batches(
                    self.padded_lengths, batch_size=self.batch_size, max_tokens=self.max_tokens,
                    shuffle=self.shuffle, group_by_length=self.group_by_length, seed=self.seed, epoch=epoch,
                    drop_remainder=self.drop_remainder, sizes=self._sizes)
            return self._epochs[epoch]

    def epoch_plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Epoch `epoch`'s batches as (the row indices of all batches one after another, the batch sizes)."""
        rows = self.epoch(int(epoch))
        return np.concatenate(rows).astype(np.int64), np.array([len(r) for r in rows], np.int64)

    def columns(self) -> tuple:
        """The rows as flat arrays, for a feeder that pads in its own graph (tf.data): (features {name:
        (flat ids, row lengths, pad value)}, labels {name: ("ragged", flat, row lengths) or ("dense",
        array)} or None, the per-token label pad value, whether the labels are one array, not a dict)."""
        features = {k: (r.flat, r.lengths, self._pad_values[k]) for k, r in self._features.items()}
        labels = None
        if self._labels is not None:
            labels = {k: (("ragged", v.flat, v.lengths) if isinstance(v, _Ragged) else ("dense", v))
                      for k, v in self._labels.items()}
        return features, labels, self._label_pad, self._single_label

    def batch(self, rows) -> tuple | dict:
        """The batch of rows `rows`: `(x, y)`, or `x` without labels; x is {name: int32 [B, L]} ([B, C, L]
        for multiple choice), padded to the largest padded length of its rows."""
        rows = np.asarray(rows, np.int64)
        length = int(self.padded_lengths[rows].max())
        flat = rows
        if self.num_choices:
            flat = (rows[:, None] * self.num_choices + np.arange(self.num_choices)[None, :]).reshape(-1)
        x = {}
        for k, ragged in self._features.items():
            x[k] = ragged.pad(flat, length, self._pad_values[k])
            if self.num_choices:
                x[k] = x[k].reshape(len(rows), self.num_choices, length)
        if self._labels is None:
            return x
        y = {k: (v.pad(rows, length, self._label_pad) if isinstance(v, _Ragged) else v[rows])
             for k, v in self._labels.items()}
        return x, (y["labels"] if self._single_label else y)

    def batch_at(self, step: int) -> tuple | dict:
        """Batch `step` of the endless stream: batch `step % steps` of epoch `step // steps`."""
        epoch, index = divmod(int(step), self.steps)
        return self.batch(self.epoch(epoch)[index])

    def stream(self, start: int = 0, stop: int | None = None):
        """Batches `start`, `start + 1`, ... (up to `stop`, else endless) of the stream."""
        step = int(start)
        while stop is None or step < stop:
            yield self.batch_at(step)
            step += 1

    def signature(self) -> tuple:
        """`(x, y)` (or `x`) of `(shape, dtype)` pairs, None where a dimension varies between batches."""
        rows = self.batch_size if self.drop_remainder and self.max_tokens is None else None
        fixed = self.length_buckets
        length = fixed[0] if fixed is not None and len(fixed) == 1 else None
        choices = (self.num_choices,) if self.num_choices else ()
        x = {k: ((rows, *choices, length), "int32") for k in self._features}
        if self._labels is None:
            return x
        y = {}
        for k, v in self._labels.items():
            ragged = isinstance(v, _Ragged)
            y[k] = ((rows, length), "int32") if ragged else ((rows, *v.shape[1:]), v.dtype.name)
        return x, (y["labels"] if self._single_label else y)


class BatchDataset(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of `Batches`: what `model.fit` / `evaluate` / `predict` take on any backend.

    One epoch (`len(dataset)` batches); each complete pass that Keras ends moves to the next epoch's order.
    `endless=True` serves the stream from batch `start` on (what `fit_resumable` trains on: `steps_per_epoch`
    batches per epoch, resumed where a killed run stopped).

    Args:
        batches: the `Batches` to serve.
        start: the first batch of the stream (with `endless=True`).
        endless: serve the endless stream instead of one epoch per pass.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` (see `keras.utils.PyDataset`).
    """

    def __init__(self, batches: Batches, *, start: int = 0, endless: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.batches, self.start, self.endless = batches, int(start), bool(endless)
        self.epoch, self._served = 0, 0

    def __len__(self) -> int:
        return self.batches.steps

    @property
    def num_batches(self):
        return None if self.endless else self.batches.steps

    def __getitem__(self, index):
        if self.endless:
            return self.batches.batch_at(self.start + int(index))
        if not 0 <= index < self.batches.steps:
            raise IndexError(f"batch {index} of an epoch of {self.batches.steps}")
        self._served += 1
        return self.batches.batch(self.batches.epoch(self.epoch)[index])

    def on_epoch_begin(self):
        self._served = 0

    def on_epoch_end(self):
        # A pass of every batch moves to the next epoch's order; Keras' one-batch look before training
        # (to build the model) does not.
        if self._served >= self.batches.steps:
            self.epoch += 1
        self._served = 0
