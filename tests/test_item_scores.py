"""Compact per-item data (evalkit.item_scores): the same numbers as the
tuples it replaces, in a fraction of the memory."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest

from evalkit.item_scores import ItemScores, compact_scores, compact_statistics, ordered_sum
from evalkit.result import MetricResult


def test_reads_back_as_the_tuple_it_replaces():
    scores = ItemScores.from_values([0.25, None, 1.0, -0.0])
    assert scores == (0.25, None, 1.0, -0.0) and scores == [0.25, None, 1.0, -0.0]
    assert scores != (0.25, None, 1.0) and scores != (0.25, 0.0, 1.0, -0.0)
    assert [type(v) for v in scores] == [float, type(None), float, float]
    assert (scores[0], scores[1], scores[-1], len(scores), scores.n_scored) == (0.25, None, -0.0, 4, 3)
    assert scores[1:3] == (None, 1.0)
    assert scores.scored_indices().tolist() == [0, 2, 3]
    assert np.isnan(scores.values[1]) and scores.scored.tolist() == [True, False, True, True]


def test_from_scored_places_scores_at_their_items():
    scores = ItemScores.from_scored(5, [1, 3], iter([0.5, 0.75]))
    assert scores == (None, 0.5, None, 0.75, None)


def test_is_read_only():
    scores = ItemScores.from_values([1.0, 2.0])
    with pytest.raises(ValueError):
        scores.values[0] = 5.0
    with pytest.raises(TypeError):
        scores[0] = 5.0  # type: ignore[index]


def test_pickles_to_two_arrays_and_back():
    scores = ItemScores.from_values([float(i) / 7 for i in range(10_000)] + [None])
    data = pickle.dumps(scores)
    assert pickle.loads(data) == scores and pickle.loads(data)[-1] is None
    assert len(data) < 10_001 * 9 + 1_000  # 8 bytes a value, 1 a flag, a header


def test_concat_joins_parts_in_order():
    parts = [ItemScores.from_values([1.0, None]), ItemScores.from_values([]), ItemScores.from_values([0.5])]
    assert ItemScores.concat(parts) == (1.0, None, 0.5)


def test_only_floats_are_made_compact():
    # ints (a judge's grades) would read back as floats and print as 7.0: kept as they are
    assert compact_scores([7, None, 9]) == (7, None, 9) and type(compact_scores([7, None, 9])) is tuple
    assert isinstance(compact_scores([7.0, None]), ItemScores)
    # numpy floats read back as Python floats (their repr in items.csv stays 0.5)
    assert [type(v) for v in compact_scores([np.float64(0.5)])] == [float]


def test_a_result_keeps_100k_scores_in_a_tenth_of_the_memory():
    values = [i / 100_003 for i in range(100_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        compact = MetricResult(metric="m", value=0.5, per_item=values)
        compact_bytes = tracemalloc.get_traced_memory()[0] - before
        before = tracemalloc.get_traced_memory()[0]
        as_tuple = tuple(v + 0.0 for v in values)  # new float objects, as a metric makes them
        tuple_bytes = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert compact.per_item == as_tuple and compact.n_scored == 100_000
    assert compact_bytes < 1_000_000 < 3_000_000 < tuple_bytes  # ~9 bytes an item against 32


def test_statistics_become_one_exact_integer_array():
    small = compact_statistics([[2**31 - 1, 2], [2**31 - 1, 4]])
    assert small.dtype == np.int32  # 4 bytes a count
    assert small.sum(axis=0).tolist() == [2**32 - 2, 6]  # summed in int64: no overflow
    big = 2**53 + 1  # not exact as a float64 and too big for int32: an int64 array keeps it
    array = compact_statistics([[big, 2], [3, 4]])
    assert array.dtype == np.int64 and array.tolist() == [[big, 2], [3, 4]]
    assert array.sum(axis=0).tolist() == [big + 3, 6]
    assert compact_statistics([[1.5, 2], [3, 4]]).dtype == np.float64
    assert compact_statistics([]).shape == (0, 0)
    with pytest.raises(ValueError, match="rows of equal length"):
        compact_statistics([[1, 2], [3]])
    with pytest.raises(ValueError):
        compact_statistics([[1, 2]])[0, 0] = 5


def test_ordered_sum_adds_as_python_sum_does():
    rng = np.random.default_rng(7)
    values = rng.random(100_001) * 10.0 ** rng.integers(-8, 8, 100_001)
    assert ordered_sum(values) == sum(values.tolist())  # bit for bit
    assert float(np.sum(values)) != sum(values.tolist())  # why np.sum is not used
    assert ordered_sum(np.zeros(0)) == 0.0


def test_iterates_across_blocks_in_order(monkeypatch):
    import evalkit.item_scores

    monkeypatch.setattr(evalkit.item_scores, "_BLOCK", 3)  # 10 items: blocks of 3, 3, 3, 1
    values = [float(i) if i % 4 else None for i in range(10)]
    assert list(ItemScores.from_values(values)) == values
