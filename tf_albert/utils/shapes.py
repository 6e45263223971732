"""The one shape policy: the lengths (and row counts) that batches of variable-length rows are padded to.

XLA compiles one program per input shape — about 4.5 s per new shape for an albert-base training step on a
2-core CPU, 1.2 s at inference — while every padded position costs as much compute as a real token. So
every place where rows of different lengths meet a compiled function pads them to one of a few lengths,
chosen here:

* `length_ladder(max_length)`: a fixed set for rows not known in advance (pipelines, `model.predict` on
  ragged inputs, TF Serving exports): powers of two and the points halfway between them (x1.5), in
  multiples of 8 — 8, 16, 24, 32, 48, 64, 96, 128, ..., `max_length` — so a row is padded to less than
  twice its length, usually much less.
* `lengths_for(max_length, compiled)`: the ladder under XLA; without XLA, where shapes cost no compilation,
  every multiple of 8 (the least padding).
* `fit_lengths(row_lengths, count)`: for a dataset known up front (fine-tuning, where every epoch sees the
  same rows): the `count` lengths that pad these rows least.
* `padded_length(n, lengths)`: the length a row (or a batch whose longest row has n tokens) is padded to.
* `grouped_batches(...)`: the batches of a length-grouped training epoch; `sorted_batches(...)`: the batches
  of an inference pass (rows sorted by length, each length cut into batches).
* `padded_rows(rows, batch_size)`: the batch dimension under XLA (a power of two).

Pure Python + numpy (no TensorFlow): the model core, the pipelines and the training data all import it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Lengths are multiples of this (the width of the vector units a padded length should fill).
MULTIPLE = 8
#: Distinct padded lengths a fine-tuning dataset uses by default; with its one partial batch that is at most
#: `DEFAULT_LENGTHS + 1` shapes for an XLA-compiled training step.
DEFAULT_LENGTHS = 5


def round_up(n: int, multiple: int) -> int:
    """`n` rounded up to a multiple of `multiple`.

    >>> round_up(13, 8), round_up(16, 8)
    (16, 16)
    """
    return -(-int(n) // int(multiple)) * int(multiple)


def _check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def length_ladder(max_length: int, *, multiple: int = MULTIPLE, per_octave: int = 2,
                  smallest: int | None = None) -> tuple[int, ...]:
    """The fixed padded lengths up to `max_length` (always the last).

    Powers of two and, with `per_octave=2`, the points halfway between them (x1.5), rounded up to
    `multiple`, from `smallest` (default: `multiple`) on.

    >>> length_ladder(128)
    (8, 16, 24, 32, 48, 64, 96, 128)
    >>> length_ladder(512, per_octave=1, smallest=16)
    (16, 32, 64, 128, 256, 512)
    >>> length_ladder(100, multiple=1, per_octave=1)
    (1, 2, 4, 8, 16, 32, 64, 100)
    """
    max_length, multiple = _check_positive("max_length", max_length), _check_positive("multiple", multiple)
    if per_octave not in (1, 2):
        raise ValueError(f"per_octave must be 1 (powers of two) or 2 (and the points x1.5 between), got "
                         f"{per_octave!r}")
    smallest = multiple if smallest is None else _check_positive("smallest", smallest)
    out, power = set(), 1
    while power < max_length:
        for point in ((power, power * 3 // 2) if per_octave == 2 and power > 1 else (power,)):
            length = round_up(point, multiple)
            if smallest <= length < max_length:
                out.add(length)
        power *= 2
    return tuple(sorted(out)) + (max_length,)


def lengths_for(max_length: int, *, compiled: bool, multiple: int = MULTIPLE) -> tuple[int, ...]:
    """The lengths rows not known in advance are padded to: with XLA (`compiled`) the ladder, a bounded
    number of compilations; without XLA every multiple of `multiple` — the least padding, since a graph
    traced for unknown lengths runs any length without retracing.

    >>> lengths_for(64, compiled=True)
    (8, 16, 24, 32, 48, 64)
    >>> lengths_for(40, compiled=False)
    (8, 16, 24, 32, 40)
    """
    if compiled:
        return length_ladder(max_length, multiple=multiple)
    max_length, multiple = _check_positive("max_length", max_length), _check_positive("multiple", multiple)
    return tuple(range(multiple, max_length, multiple)) + (max_length,)


def fit_lengths(row_lengths: Sequence[int], count: int = DEFAULT_LENGTHS, *, multiple: int = MULTIPLE,
                max_length: int | None = None) -> tuple[int, ...]:
    """The at most `count` padded lengths (multiples of `multiple`, capped at `max_length`) that pad these
    rows least; the longest row's padded length is always the last.

    An exact dynamic program over the rows' distinct rounded lengths (at most max_length / multiple of
    them), minimising the padded positions when each row is padded to the smallest length that holds it.

    >>> fit_lengths([5, 6, 7, 9, 30, 31, 120], count=3)
    (8, 32, 120)
    >>> fit_lengths([3, 3, 3])
    (8,)
    """
    count, multiple = _check_positive("count", count), _check_positive("multiple", multiple)
    lengths = np.asarray(row_lengths, np.int64).reshape(-1)
    if lengths.size == 0:
        raise ValueError("fit_lengths needs at least one row length")
    if lengths.min() < 1:
        raise ValueError(f"row lengths must be >= 1, got {int(lengths.min())}")
    cap = None if max_length is None else _check_positive("max_length", max_length)
    if cap is not None and lengths.max() > cap:
        raise ValueError(f"a row has {int(lengths.max())} tokens, more than max_length={cap}")
    rounded = -(-lengths // multiple) * multiple
    if cap is not None:
        rounded = np.minimum(rounded, cap)
    values, index = np.unique(rounded, return_inverse=True)
    if len(values) <= count:
        return tuple(int(v) for v in values)
    rows = np.bincount(index, minlength=len(values)).astype(np.float64)
    tokens = np.bincount(index, weights=lengths, minlength=len(values))
    rows_before = np.concatenate([[0.0], np.cumsum(rows)])
    tokens_before = np.concatenate([[0.0], np.cumsum(tokens)])

    def padding(i, j):  # rows of values[i+1..j] padded to values[j]
        rows, tokens = rows_before[j + 1] - rows_before[i + 1], tokens_before[j + 1] - tokens_before[i + 1]
        return values[j] * rows - tokens

    m = len(values)
    best = np.full((count + 1, m), np.inf)
    came_from = np.zeros((count + 1, m), np.int64)
    for j in range(m):
        best[1, j] = padding(-1, j)
    for k in range(2, count + 1):
        for j in range(k - 1, m):
            costs = [best[k - 1, i] + padding(i, j) for i in range(k - 2, j)]
            i = int(np.argmin(costs))
            best[k, j], came_from[k, j] = costs[i], i + k - 2
    chosen, j = [], m - 1
    for k in range(count, 0, -1):
        chosen.append(int(values[j]))
        j = int(came_from[k, j])
    return tuple(sorted(chosen))


def padded_length(n: int, lengths: Sequence[int]) -> int:
    """The smallest of the ascending `lengths` that holds `n` tokens.

    >>> padded_length(20, (8, 16, 24, 32))
    24
    """
    for length in lengths:
        if length >= n:
            return int(length)
    raise ValueError(f"a row has {n} tokens, more than the longest padded length {lengths[-1]}")


def check_lengths(lengths, name: str = "length_buckets") -> tuple[int, ...]:
    """`lengths` as an ascending tuple of distinct positive ints, or a ValueError that names `name`."""
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Sequence) or not lengths:
        raise ValueError(f"{name} must be a non-empty list of positive ints, got {lengths!r}")
    for value in lengths:
        _check_positive(name, value)
    return tuple(sorted({int(v) for v in lengths}))


def grouped_batches(row_lengths: Sequence[int], lengths: Sequence[int], *, batch_size: int | None = None,
                    max_tokens: int | None = None, drop_remainder: bool = False) -> list[tuple[int, int]]:
    """The batches of a length-grouped epoch as `(rows, padded length)`, in the order they take the rows.

    The rows are taken longest padded length first (rows of one padded length in any order — a training
    epoch shuffles them), in runs of `batch_size` rows, or with `max_tokens` as many as fit
    rows x padded length <= max_tokens; each batch is padded to its first row's length. Only the last
    batch can be short, so an epoch has at most `len(lengths) + 1` distinct shapes, and the same ones in
    every epoch (they depend on how many rows each length holds, not on which).

    >>> grouped_batches([5, 30, 7, 31, 6], (8, 32), batch_size=2)
    [(2, 32), (2, 8), (1, 8)]
    >>> grouped_batches([5, 30, 7, 31, 6], (8, 32), max_tokens=64)
    [(2, 32), (3, 8)]
    """
    if (batch_size is None) == (max_tokens is None):
        raise ValueError("give exactly one of batch_size and max_tokens")
    if batch_size is not None:
        batch_size = _check_positive("batch_size", batch_size)
    else:
        max_tokens = _check_positive("max_tokens", max_tokens)
    padded = sorted((padded_length(n, lengths) for n in row_lengths), reverse=True)
    out, start = [], 0
    while start < len(padded):
        length = padded[start]
        rows = batch_size if max_tokens is None else max(1, max_tokens // length)
        taken = min(rows, len(padded) - start)
        if taken < rows and drop_remainder:
            break
        out.append((taken, length))
        start += taken
    return out


def sorted_batches(row_lengths: Sequence[int], lengths: Sequence[int],
                   batch_size: int) -> list[tuple[list, int]]:
    """Inference batches: `(row indices, padded length)`, rows sorted by length (ties in input order), each
    padded length's rows cut into batches of at most `batch_size`; shortest first.

    >>> sorted_batches([30, 5, 7, 6], (8, 32), batch_size=2)
    [([1, 3], 8), ([2], 8), ([0], 32)]
    """
    batch_size = _check_positive("batch_size", batch_size)
    order = sorted(range(len(row_lengths)), key=lambda i: row_lengths[i])
    groups: dict[int, list] = {}
    for i in order:
        groups.setdefault(padded_length(row_lengths[i], lengths), []).append(i)
    return [(rows[start:start + batch_size], length)
            for length, rows in sorted(groups.items()) for start in range(0, len(rows), batch_size)]


def padded_rows(rows: int, batch_size: int) -> int:
    """The batch dimension `rows` rows are padded to under XLA: the next power of two, at most `batch_size`
    (and never fewer than `rows`), so leftover batches compile a handful of shapes.

    >>> padded_rows(3, 32), padded_rows(20, 32), padded_rows(40, 32)
    (4, 32, 40)
    """
    return max(int(rows), min(int(batch_size), 1 << max(int(rows) - 1, 0).bit_length()))


def padding_waste(real_tokens: int, padded_tokens: int) -> float:
    """The share of computed positions that are padding: 1 - real / padded.

    >>> padding_waste(75, 100)
    0.25
    """
    return 0.0 if padded_tokens <= 0 else 1.0 - real_tokens / padded_tokens
