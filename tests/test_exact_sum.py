"""exact_sum: no rounding, whatever the values and however they are split."""

from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit import exact_sum as module
from evalkit.exact_sum import exact_sum

_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(0, 1),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, sys.float_info.max, -sys.float_info.max, 1.0, 1 / 3]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(values=st.lists(_FLOATS, max_size=60), cut=st.integers(0, 60))
def test_the_sum_is_exact_and_parts_add_up(values, cut):
    expected = sum(map(Fraction, values), Fraction(0))
    array = np.array(values, dtype=np.float64)
    assert exact_sum(array) == expected
    assert exact_sum(array[:cut]) + exact_sum(array[cut:]) == expected


def test_means_of_parts_equal_the_one_pass_mean_bit_for_bit(monkeypatch):
    rng = np.random.default_rng(3)
    values = rng.random(200_001) / rng.integers(1, 50, 200_001)  # ROUGE-like precisions
    whole = float(exact_sum(values) / len(values))
    parts = sum((exact_sum(values[a : a + 9_999]) for a in range(0, len(values), 9_999)), Fraction(0))
    assert float(parts / len(values)) == whole
    assert whole == float(sum(map(Fraction, values.tolist())) / len(values))  # correctly rounded
    monkeypatch.setattr(module, "_CHUNK", 1_000)  # chunked sums give the same
    assert exact_sum(values) == exact_sum(values[:100_000]) + exact_sum(values[100_000:])


def test_empty_and_non_finite():
    assert exact_sum(np.zeros(0)) == 0
    with pytest.raises(ValueError, match="finite"):
        exact_sum(np.array([1.0, float("nan")]))
    with pytest.raises(ValueError, match="finite"):
        exact_sum(np.array([float("inf")]))
