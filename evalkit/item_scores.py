"""Compact per-item data of a :class:`~evalkit.result.MetricResult`.

A million items of six metrics as Python objects (a float per score in a
tuple, a tuple of ints per row of statistics) take gigabytes; the same
numbers in numpy arrays take a few bytes each. :class:`ItemScores` keeps the
scores in one float64 array and a scored mask and still behaves as the tuple
it replaces: it yields ``float | None`` item by item, compares equal to a
tuple of the same values and pickles as two arrays.

>>> scores = ItemScores.from_values([0.5, None, 1.0])
>>> list(scores), scores == (0.5, None, 1.0), scores[1], scores.n_scored
([0.5, None, 1.0], True, None, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

__all__ = ["ItemScores", "compact_scores", "compact_statistics", "ordered_sum"]


_INT32 = np.iinfo(np.int32)
_BLOCK = 65_536  # items turned into Python floats at a time


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class ItemScores(Sequence[float | None]):
    """Per-item scores: ``values`` (float64, NaN where unscored) and the
    ``scored`` mask. Read-only; an unscored item reads as ``None``."""

    __slots__ = ("_scored", "_values")

    def __init__(self, values: np.ndarray, scored: np.ndarray) -> None:
        self._own(np.array(values, dtype=np.float64), np.array(scored, dtype=np.bool_))

    def _own(self, values: np.ndarray, scored: np.ndarray) -> None:
        """Take ``values`` and ``scored`` (new arrays, no one else's) as they are."""
        if values.shape != scored.shape or values.ndim != 1:
            raise ValueError("values and scored must be 1-D arrays of one length")
        values[~scored] = np.nan
        self._values = _read_only(values)
        self._scored = _read_only(scored)

    @classmethod
    def _owning(cls, values: np.ndarray, scored: np.ndarray) -> ItemScores:
        """Without the copy ``__init__`` makes (of a million items: 9 MB)."""
        scores = cls.__new__(cls)
        scores._own(values, scored)
        return scores

    @classmethod
    def from_values(cls, values: Iterable[float | None]) -> ItemScores:
        """From Python values, ``None`` for an unscored item."""
        items = list(values)
        scored = np.fromiter((v is not None for v in items), dtype=np.bool_, count=len(items))
        floats = np.fromiter((np.nan if v is None else v for v in items), dtype=np.float64, count=len(items))
        return cls._owning(floats, scored)

    @classmethod
    def from_scored(cls, n_items: int, indices: Sequence[int] | np.ndarray, scores: Iterable[float]) -> ItemScores:
        """``n_items`` items, of which those at ``indices`` have ``scores`` (in order)."""
        values = np.full(n_items, np.nan)
        scored = np.zeros(n_items, dtype=np.bool_)
        where = np.asarray(indices, dtype=np.int64)
        values[where] = np.fromiter(scores, dtype=np.float64, count=len(where))
        scored[where] = True
        return cls._owning(values, scored)

    @classmethod
    def concat(cls, parts: Sequence[ItemScores]) -> ItemScores:
        """The scores of consecutive parts, in order."""
        if not parts:
            return cls._owning(np.zeros(0), np.zeros(0, dtype=np.bool_))
        return cls._owning(np.concatenate([p._values for p in parts]), np.concatenate([p._scored for p in parts]))

    @property
    def values(self) -> np.ndarray:
        """All scores, NaN where unscored (read-only)."""
        return self._values

    @property
    def scored(self) -> np.ndarray:
        """True where the item has a score (read-only)."""
        return self._scored

    @property
    def n_scored(self) -> int:
        return int(np.count_nonzero(self._scored))

    def scored_indices(self) -> np.ndarray:
        """Item numbers of the scored items, in order (int64)."""
        return np.flatnonzero(self._scored).astype(np.int64, copy=False)

    def scored_values(self) -> np.ndarray:
        """The scores of the scored items, in item order."""
        return self._values[self._scored]

    def __len__(self) -> int:
        return int(self._values.shape[0])

    @overload
    def __getitem__(self, index: int) -> float | None: ...

    @overload
    def __getitem__(self, index: slice) -> ItemScores: ...

    def __getitem__(self, index: int | slice) -> float | None | ItemScores:
        if isinstance(index, slice):
            return ItemScores(self._values[index], self._scored[index])
        return float(self._values[index]) if self._scored[index] else None

    def __iter__(self) -> Iterator[float | None]:
        # tolist() gives Python floats and bools in one call, not one per
        # item; a block at a time, so that no list of every item is built
        for start in range(0, len(self), _BLOCK):
            values = self._values[start : start + _BLOCK].tolist()
            for value, scored in zip(values, self._scored[start : start + _BLOCK].tolist()):
                yield value if scored else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ItemScores):
            return bool(
                np.array_equal(self._scored, other._scored)
                and np.array_equal(self.scored_values(), other.scored_values(), equal_nan=True)
            )
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, so not hashable like them

    def __repr__(self) -> str:
        return f"ItemScores({tuple(self)!r})"

    def __reduce__(self) -> tuple[type[ItemScores], tuple[np.ndarray, np.ndarray]]:
        return ItemScores, (self._values, self._scored)


def compact_scores(values: Sequence[float | None]) -> Sequence[float | None]:
    """``values`` as :class:`ItemScores` when every score is a float (so it
    reads back the same); otherwise (ints, say a judge's grades, which print
    as ints) as a tuple, unchanged."""
    if isinstance(values, ItemScores):
        return values
    items = tuple(values)
    if all(v is None or (isinstance(v, float)) for v in items):
        return ItemScores.from_values(items)
    return items


def compact_statistics(rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Rows of per-item statistics as one read-only 2-D array: integers
    (BLEU's and chrF's counts) as int32 when every one fits (half the memory
    of int64; numpy sums int32 columns in int64, so sums stay exact), else
    int64; float64 otherwise (TER's edit counts and lengths)."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.dtype in (np.int32, np.float64):
        return _read_only(rows if not rows.flags.writeable else rows.copy())
    try:
        array = np.array(rows)  # a copy: the result's own
    except ValueError:  # ragged rows
        raise ValueError("item statistics must be rows of equal length") from None
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 0)
    if array.ndim != 2:
        raise ValueError("item statistics must be rows of equal length")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"item statistics must be numbers, not {array.dtype}")
    if array.dtype.kind in "iu":
        small = array.size == 0 or (int(array.min()) >= _INT32.min and int(array.max()) <= _INT32.max)
        array = array.astype(np.int32 if small else np.int64, copy=False)
    else:
        array = array.astype(np.float64, copy=False)
    return _read_only(array)


def ordered_sum(values: np.ndarray) -> float:
    """The sum of ``values`` added one after the other from the first, as
    Python's ``sum`` over a list of floats adds them (before Python 3.12),
    without the list: a one-pass mean and a mean merged from parts agree bit
    for bit. (``np.sum`` adds pairwise: other last bits.)

    >>> ordered_sum(np.array([0.1, 0.2, 0.3])) == 0.1 + 0.2 + 0.3
    True
    """
    return float(np.cumsum(values, dtype=np.float64)[-1]) if len(values) else 0.0
