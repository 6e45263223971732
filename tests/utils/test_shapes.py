"""The shape policy (tf_albert/utils/shapes.py): ladders, fitted lengths, batch plans, padded rows."""

import itertools

import numpy as np
import pytest

from tf_albert.utils import shapes

# A real length mix: short texts with a long tail (lognormal around ~18 tokens, cut at 128).
MIX = np.clip(np.random.default_rng(0).lognormal(2.9, 0.55, 1000).astype(int) + 2, 3, 128)


def test_ladder_steps_by_at_most_one_and_a_half_and_ends_at_max_length():
    ladder = shapes.length_ladder(512)
    assert ladder == (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
    assert all(b / a <= 2.0 for a, b in zip(ladder, ladder[1:]))
    assert all(b / a <= 1.5 for a, b in zip(ladder[2:], ladder[3:]))  # past 16: a row is padded < 1.5x
    assert shapes.length_ladder(300)[-2:] == (256, 300) and shapes.length_ladder(5) == (5,)
    with pytest.raises(ValueError, match="per_octave must be 1"):
        shapes.length_ladder(128, per_octave=3)


def test_the_export_buckets_are_the_ladder_with_one_length_per_octave():
    from tf_albert.export.signatures import length_buckets

    assert length_buckets(512) == [16, 32, 64, 128, 256, 512]
    assert length_buckets(20) == [16, 20] and length_buckets(10) == [10]


def test_lengths_for_is_bounded_under_xla_and_fine_without():
    assert len(shapes.lengths_for(512, compiled=True)) == 12
    fine = shapes.lengths_for(512, compiled=False)
    assert len(fine) == 64 and all(n % 8 == 0 for n in fine)


def _padding(rows, lengths):
    return sum(shapes.padded_length(n, lengths) - n for n in rows)


def test_fit_lengths_is_the_exact_optimum():
    rng = np.random.default_rng(1)
    for _ in range(5):
        rows = rng.integers(1, 70, 40)
        got = shapes.fit_lengths(rows, 3, max_length=70)
        top = min(shapes.round_up(rows.max(), 8), 70)
        candidates = sorted({min(shapes.round_up(n, 8), 70) for n in rows} - {top})
        best = min(_padding(rows, (*c, top)) for c in itertools.combinations(candidates, 2))
        assert got[-1] == top and len(got) == 3 and _padding(rows, got) == best


def test_fit_lengths_on_a_real_mix_pads_far_less_than_rounding_each_batch():
    fitted = shapes.fit_lengths(MIX, 5, max_length=128)
    assert len(fitted) == 5 and fitted[-1] == shapes.round_up(MIX.max(), 8)
    assert all(n % 8 == 0 for n in fitted)
    waste = shapes.padding_waste(MIX.sum(), sum(shapes.padded_length(n, fitted) for n in MIX))
    ladder_waste = shapes.padding_waste(MIX.sum(), sum(shapes.padded_length(n, shapes.length_ladder(128))
                                                       for n in MIX))
    assert waste < 0.25 and waste < ladder_waste + 0.05  # 5 lengths do almost as well as the ladder's 8
    with pytest.raises(ValueError, match="129 tokens, more than max_length=128"):
        shapes.fit_lengths([129], max_length=128)


def test_grouped_batches_take_every_row_once_in_at_most_one_shape_per_length_plus_one():
    fitted = shapes.fit_lengths(MIX, 5, max_length=128)
    plan = shapes.grouped_batches(MIX, fitted, batch_size=32)
    assert sum(rows for rows, _ in plan) == len(MIX) and len(plan) == -(-len(MIX) // 32)
    assert len(set(plan)) <= len(fitted) + 1
    assert [rows for rows, _ in plan].count(32) == len(plan) - 1  # one short batch, the last
    budget = shapes.grouped_batches(MIX, fitted, max_tokens=2048)
    assert all(rows * length <= 2048 for rows, length in budget) and len(set(budget)) <= len(fitted) + 1
    assert sum(rows for rows, _ in budget) == len(MIX)
    dropped = shapes.grouped_batches(MIX, fitted, batch_size=32, drop_remainder=True)
    assert {rows for rows, _ in dropped} == {32}
    with pytest.raises(ValueError, match="exactly one of batch_size and max_tokens"):
        shapes.grouped_batches(MIX, fitted)


def test_sorted_batches_and_padded_rows():
    plan = shapes.sorted_batches([9, 3, 30, 4, 10], (8, 16, 32), batch_size=2)
    assert plan == [([1, 3], 8), ([0, 4], 16), ([2], 32)]
    assert [shapes.padded_rows(n, 32) for n in (1, 3, 5, 17, 32)] == [1, 4, 8, 32, 32]
    with pytest.raises(ValueError, match="40 tokens, more than the longest padded length 32"):
        shapes.padded_length(40, (8, 16, 32))
