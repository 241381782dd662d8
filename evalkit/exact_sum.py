"""Exact sums of float64 values, so that a mean merged from parts is the
one-pass mean bit for bit, however the items were split.

:func:`exact_sum` returns the sum of the values with no rounding at all, as
a :class:`~fractions.Fraction` (sums of parts add up exactly);
``float(total / n)`` is then the correctly rounded mean. Each value is its
53-bit integer significand times a power of two (``numpy.frexp``); the
significands, cut in two halves of 27 and 26 bits, are summed per exponent
by ``numpy.bincount`` in float64, exact while a sum stays below 2**53 (a
chunk holds at most 2**25 values), and the few sums per exponent are joined
in Python integers.

>>> values = np.array([0.1, 0.2, 0.3])
>>> exact_sum(values) == sum(map(Fraction, [0.1, 0.2, 0.3]))
True
>>> float(exact_sum(values[:1]) + exact_sum(values[1:])) == float(exact_sum(values))
True
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["exact_sum"]

_CHUNK = 1 << 25  # values summed at a time: 2**25 halves below 2**27 stay below 2**52
_LOW_BITS = 26


def exact_sum(values: np.ndarray) -> Fraction:
    """The exact sum of finite float64 ``values``."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(values).all():
        raise ValueError("exact_sum needs finite values")
    total = Fraction(0)
    for start in range(0, len(values), _CHUNK):
        total += _chunk_sum(values[start : start + _CHUNK])
    return total


def _chunk_sum(values: np.ndarray) -> Fraction:
    if not len(values):
        return Fraction(0)
    mantissa, exponent = np.frexp(values)  # value = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    significand = np.ldexp(mantissa, 53).astype(np.int64)  # exact: a 53-bit integer
    least = int(exponent.min())
    group = (exponent - least).astype(np.intp)  # exponents span at most 2,100 values: no sort
    size = int(group.max()) + 1
    high = np.bincount(group, weights=(significand >> _LOW_BITS).astype(np.float64), minlength=size)
    low = np.bincount(group, weights=(significand & ((1 << _LOW_BITS) - 1)).astype(np.float64), minlength=size)
    numerator = 0
    for shift, (h, lo) in enumerate(zip(high.tolist(), low.tolist())):
        if h or lo:
            numerator += ((int(h) << _LOW_BITS) + int(lo)) << shift
    return Fraction(numerator) * Fraction(2) ** (least - 53)
