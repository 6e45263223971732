"""Which rows make a batch, and the length it is padded to: the batches of a fine-tuning dataset as `tf.data`.

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

Every order depends only on `seed` (and the epoch), so a resumed run sees the batches an uninterrupted one
would have.
"""

from __future__ import annotations

import argparse

import numpy as np

from tf_albert.utils import shapes
from tf_albert.utils.backends import import_tensorflow

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


def index_batches(
    padded,
    *,
    batch_size: int | None = 32,
    max_tokens: int | None = None,
    shuffle: bool = False,
    group_by_length: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
):
    """`tf.data` of int64 row-index vectors, one per batch (see the module docstring for the orders).

    `max_tokens` (length-grouped only) replaces `batch_size`: a batch padded to length L holds
    max(1, max_tokens // L) rows.

    Example:
    >>> ds = index_batches([8, 32, 8, 32, 8], batch_size=2, group_by_length=True)
    >>> [b.numpy().tolist() for b in ds]
    [[1, 3], [0, 2], [4]]
    """
    tf = import_tensorflow("tf.data")

    padded = np.asarray(padded, np.int64)
    n = len(padded)
    if max_tokens is not None and not group_by_length:
        raise ValueError("max_tokens batches rows of similar length together: it needs group_by_length=True")
    rows = tf.data.Dataset.range(n)
    if shuffle:
        rows = rows.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if not group_by_length:
        return rows.batch(batch_size, drop_remainder=drop_remainder)
    rows_per_batch = None if max_tokens else batch_size
    plan = shapes.grouped_batches(padded, sorted(set(padded.tolist())), batch_size=rows_per_batch,
                                  max_tokens=max_tokens, drop_remainder=drop_remainder)
    if not plan:
        raise ValueError(f"no full batch: {n} rows, batch_size {batch_size} and drop_remainder=True")
    sizes = tf.constant([size for size, _ in plan], tf.int64)
    used = sum(size for size, _ in plan)
    longest_first = tf.constant(-padded)
    order = tf.data.Dataset.range(len(plan))
    if shuffle:
        batch_seed = None if seed is None else seed + 1  # not the rows' seed: an independent order
        order = order.shuffle(len(plan), seed=batch_seed, reshuffle_each_iteration=True)

    def cut(permutation, batch_order):
        grouped = tf.gather(permutation, tf.argsort(tf.gather(longest_first, permutation), stable=True))
        batches = tf.RaggedTensor.from_row_lengths(grouped[:used], sizes, validate=False)
        return tf.gather(batches, batch_order)

    ds = tf.data.Dataset.zip((rows.batch(n), order.batch(len(plan)))).map(cut).unbatch()
    return ds.apply(tf.data.experimental.assert_cardinality(len(plan)))
