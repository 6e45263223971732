"""Which rows make a batch, and the length it is padded to: the batches of a fine-tuning dataset (numpy).

`padded_lengths(...)` gives every row the length it is padded to (the shape policy of
`tf_albert.utils.shapes`: a few fitted lengths, or the row's own length rounded up); a batch is padded to
the largest of its rows'. `index_batches(...)` gives each epoch's batches of row indices in one of three
orders:

* in order (evaluation, `shuffle=False`): consecutive rows;
* shuffled (`group_by_length=False`): a fresh random order each epoch;
* length-grouped (the default for shuffled data): each epoch the rows are shuffled, then ordered by padded
  length, longest first, keeping the random order among rows of one length; the rows are cut into batches
  (`shapes.grouped_batches`) and the batches are shuffled. That is tf.data's `bucket_by_sequence_length`
  (random batches within a length) with the full batches of HF's `LengthGroupedSampler`: every row once per
  epoch, one short batch at most, and the same few batch shapes in every epoch.

Every order depends only on `seed` and the epoch, so a resumed run sees the batches an uninterrupted one
would have. Pure Python + numpy: `tf_albert.training.batches` turns these indices into padded numpy batches,
which a `keras.utils.PyDataset` feeds on any backend and tf.data on TensorFlow; the raw text that `fit`
takes (`tf_albert.model.text_inputs`) is batched by the same rules.
"""

from __future__ import annotations

import argparse

import numpy as np

from tf_albert.utils import shapes

#: `length_buckets` values: "auto" (fitted lengths), an int (that many fitted lengths), a list of lengths,
#: or None (each batch padded to its longest row, rounded up to `pad_to_multiple_of`).
AUTO = "auto"


def parse_length_buckets(text: str):
    """The value of a `--length-buckets` option: "auto", "none" (None), a count, or comma-separated lengths.

    >>> parse_length_buckets("auto"), parse_length_buckets("none"), parse_length_buckets("4")
    ('auto', None, 4)
    >>> parse_length_buckets("16,32,64")
    [16, 32, 64]
    """
    value = text.strip().lower()
    if value in (AUTO, "none"):
        return None if value == "none" else AUTO
    try:
        numbers = [int(v) for v in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes 'auto', 'none', a count or lengths like 16,32,64; got {text!r}"
        ) from None
    return numbers[0] if len(numbers) == 1 else numbers


def for_compiler(length_buckets, compiled: bool):
    """`length_buckets` for a step that is (`compiled`) or is not XLA-compiled: "auto" means a few fixed
    lengths only where each new shape costs a compilation; without XLA, each batch to its longest row.

    >>> for_compiler("auto", True), for_compiler("auto", False), for_compiler([16, 32], False)
    ('auto', None, [16, 32])
    """
    if isinstance(length_buckets, str) and length_buckets == AUTO and not compiled:
        return None
    return length_buckets


def padded_lengths(
    row_lengths,
    *,
    length_buckets=AUTO,
    pad_to_multiple_of: int | None = None,
    max_length: int | None = None,
    pad_to_max_length: bool = False,
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Per row, the length it is padded to; and the fixed lengths used (None when not bounded).

    Example:
    >>> lengths, fixed = padded_lengths([5, 9, 30, 31, 120], length_buckets=3)
    >>> lengths.tolist(), fixed
    ([16, 16, 32, 32, 120], (16, 32, 120))
    >>> padded_lengths([5, 9], length_buckets=None, pad_to_multiple_of=8)[0].tolist()
    [8, 16]
    """
    rows = np.asarray(row_lengths, np.int64)
    if pad_to_max_length:
        return np.full(rows.shape, int(max_length), np.int64), (int(max_length),)
    multiple = int(pad_to_multiple_of or 1)
    if length_buckets is None:
        out = -(-rows // multiple) * multiple
        return (np.minimum(out, max_length) if max_length else out), None
    if isinstance(length_buckets, str):
        if length_buckets != AUTO:
            raise ValueError(f"length_buckets must be 'auto', an int, a list of lengths or None, got "
                             f"{length_buckets!r}")
        length_buckets = shapes.DEFAULT_LENGTHS
    if isinstance(length_buckets, (int, np.integer)) and not isinstance(length_buckets, bool):
        fixed = shapes.fit_lengths(rows, int(length_buckets), multiple=pad_to_multiple_of or shapes.MULTIPLE,
                                   max_length=max_length)
    else:
        fixed = shapes.check_lengths(length_buckets)
        if rows.max() > fixed[-1]:
            raise ValueError(f"a row has {int(rows.max())} tokens but the longest of length_buckets is "
                             f"{fixed[-1]}: add a longer length (max_length is {max_length})")
    return np.array([shapes.padded_length(n, fixed) for n in rows], np.int64), fixed


def streamed_lengths(length_buckets, max_length: int) -> tuple[int, ...] | None:
    """The fixed lengths for data read as a stream (pretraining), whose rows are not known in advance:
    None (none), "auto" (the shape policy's ladder up to `max_length`) or a list (`max_length` added when
    the list stops short of it).

    >>> streamed_lengths("auto", 64), streamed_lengths([16, 32], 64)
    ((8, 16, 24, 32, 48, 64), (16, 32, 64))
    """
    if length_buckets is None:
        return None
    if isinstance(length_buckets, str) and length_buckets == AUTO:
        return shapes.length_ladder(max_length)
    if isinstance(length_buckets, (str, int)):
        raise ValueError(f"length_buckets of streamed data must be None, 'auto' or a list of lengths, got "
                         f"{length_buckets!r}")
    lengths = shapes.check_lengths(length_buckets)
    return lengths if lengths[-1] >= max_length else (*lengths, max_length)


def grouped_sizes(padded, *, batch_size: int | None = 32, max_tokens: int | None = None,
                  drop_remainder: bool = False) -> np.ndarray:
    """The row counts of a length-grouped epoch's batches, longest padded length first (the same in every
    epoch: they depend on how many rows each padded length holds, not on which).

    >>> grouped_sizes([8, 32, 8, 32, 8], batch_size=2).tolist()
    [2, 2, 1]
    """
    padded = np.asarray(padded, np.int64)
    plan = shapes.grouped_batches(padded, sorted(set(padded.tolist())),
                                  batch_size=None if max_tokens else batch_size, max_tokens=max_tokens,
                                  drop_remainder=drop_remainder)
    if not plan:
        raise ValueError(f"no full batch: {len(padded)} rows, batch_size {batch_size} and "
                         "drop_remainder=True")
    return np.array([size for size, _ in plan], np.int64)


def index_batches(
    padded,
    *,
    batch_size: int | None = 32,
    max_tokens: int | None = None,
    shuffle: bool = False,
    group_by_length: bool = False,
    seed: int | None = 0,
    epoch: int = 0,
    drop_remainder: bool = False,
    sizes=None,
) -> list[np.ndarray]:
    """Epoch `epoch`'s batches of row indices (int64 arrays; see the module docstring for the orders).

    The one definition of which rows make a batch: the numpy batches (`tf_albert.training.batches`) and
    through them both feeders (a `keras.utils.PyDataset`, tf.data) use it. A shuffled order depends only on
    `seed` and `epoch` (numpy's `default_rng([seed, epoch])`). `max_tokens` (length-grouped only) replaces
    `batch_size`: a batch padded to length L holds max(1, max_tokens // L) rows. `sizes` is
    `grouped_sizes(...)` when the caller has it already.

    Example:
    >>> [b.tolist() for b in index_batches([8, 32, 8, 32, 8], batch_size=2, group_by_length=True)]
    [[1, 3], [0, 2], [4]]
    >>> [b.tolist() for b in index_batches([8, 8, 8], batch_size=2)]
    [[0, 1], [2]]
    """
    padded = np.asarray(padded, np.int64)
    n = len(padded)
    if max_tokens is not None and not group_by_length:
        raise ValueError("max_tokens batches rows of similar length together: it needs group_by_length=True")
    rng = None
    if shuffle:
        rng = np.random.default_rng(None if seed is None else [int(seed) % 2**63, int(epoch)])
    rows = rng.permutation(n) if shuffle else np.arange(n)
    if not group_by_length:
        batches = [rows[start:start + batch_size] for start in range(0, n, batch_size)]
        if drop_remainder and batches and len(batches[-1]) < batch_size:
            batches.pop()
        if not batches:
            raise ValueError(f"no full batch: {n} rows, batch_size {batch_size} and drop_remainder=True")
        return batches
    if sizes is None:
        sizes = grouped_sizes(padded, batch_size=batch_size, max_tokens=max_tokens,
                              drop_remainder=drop_remainder)
    grouped = rows[np.argsort(-padded[rows], kind="stable")]  # longest first, random among equal lengths
    batches = np.split(grouped[:int(np.sum(sizes))], np.cumsum(sizes)[:-1])
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
