"""How each kind of metric is resampled.

A metric's score is a function of its items. To put a confidence interval on
it, or to test it against a baseline, we need to recompute it on resampled
(bootstrap) or shuffled (approximate randomization) sets of items. How that is
done depends on the metric:

* :class:`SumStatistics`: corpus metrics (BLEU, chrF, TER). Each item has a row
  of sufficient statistics (n-gram matches, lengths, edits); a resample sums
  its rows and the metric's own formula turns the sums into a score. A corpus
  score is never an average of sentence scores.
* :class:`MeanStatistics`: mean-type metrics (ROUGE, judge win rates, any
  metric whose headline is the mean of ``per_item``). A judge item carries the
  verdicts of both presentation orders in one score, so both orders move
  together (see :func:`verdict_scores`).
* :class:`SeedStatistics`: distribution-level metrics with no per-item score
  (MAUVE); the only spread we can measure is across the k-means seeds.

Resampling indices are drawn exactly as sacrebleu 2.6.0's ``significance.py``
draws them, so that our p-values for BLEU/chrF/TER equal sacrebleu's
``--paired-bs`` / ``--paired-ar`` for the same seed.

>>> import numpy as np
>>> stats = MeanStatistics(np.array([0.2, 0.4, 0.9]))
>>> round(stats.value(), 4)
0.5
>>> stats.resampled_values(bootstrap_indices(3, n_resamples=2, seed=1)).shape
(2,)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ItemStatistics",
    "MeanStatistics",
    "SeedStatistics",
    "SumStatistics",
    "bootstrap_indices",
    "randomization_masks",
    "verdict_scores",
]

#: The column sums a corpus metric turns into its score: Python numbers for
#: the score on all items (as sacrebleu passes them), a numpy vector for each
#: resample or randomization trial.
Sums = list[float] | np.ndarray

#: Upper bound on the number of array cells one vectorised step touches, so a
#: large test set does not allocate gigabytes at once.
_CHUNK_CELLS = 4_000_000


def bootstrap_indices(n_items: int, *, n_resamples: int, seed: int | None) -> np.ndarray:
    """``(n_resamples, n_items)`` item indices drawn with replacement.

    Drawn in one call, as sacrebleu does (``default_rng(seed).choice``):
    drawing in chunks would change the random stream.

    >>> bootstrap_indices(4, n_resamples=2, seed=12345).shape
    (2, 4)
    """
    rng = np.random.default_rng(seed)
    return rng.choice(n_items, size=(n_resamples, n_items), replace=True)


def randomization_masks(n_items: int, *, n_trials: int, seed: int | None) -> np.ndarray:
    """``(n_trials, n_items)`` booleans: True where an item's outputs are swapped
    between the two systems (sacrebleu's ``pos_sel``; False keeps them)."""
    rng = np.random.default_rng(seed)
    return rng.integers(2, size=(n_trials, n_items), dtype=bool)


def _mask_product(masks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``masks @ values`` for boolean masks, through float64 BLAS in blocks
    of trials (bounded memory); integer values give exact integer sums."""
    out = np.empty((masks.shape[0],) + values.shape[1:], dtype=np.float64)
    step = max(1, _CHUNK_CELLS // max(1, masks.shape[1]))
    as_float = values.astype(np.float64)
    for start in range(0, masks.shape[0], step):
        out[start : start + step] = masks[start : start + step].astype(np.float64) @ as_float
    if np.issubdtype(values.dtype, np.integer):
        return np.rint(out).astype(np.int64)
    return out


def _blocks(indices: np.ndarray, cells_per_index: int) -> Iterator[tuple[int, np.ndarray]]:
    """Consecutive row blocks of ``indices`` of bounded size: (start, block)."""
    step = max(1, _CHUNK_CELLS // max(1, indices.shape[1] * cells_per_index))
    for start in range(0, indices.shape[0], step):
        yield start, indices[start : start + step]


@dataclass(frozen=True, eq=False)
class SumStatistics:
    """Per-item sufficient statistics (``rows``: n_items x k) of a corpus metric.

    ``from_sums`` turns the column sums into the corpus score (for sacrebleu
    metrics: ``metric._compute_score_from_stats(sums).score``).

    With ``sacrebleu_compatible=True`` resamples are summed in float32 and
    p-values count strictly larger differences, exactly as sacrebleu 2.6.0
    does (float32 is exact for integer counts below 2**24 per resample).

    >>> import numpy as np
    >>> s = SumStatistics(np.array([[1, 2], [3, 4]]), lambda v: v[0] / v[1])
    >>> s.value()
    0.6666666666666666
    """

    rows: np.ndarray
    from_sums: Callable[[Sums], float]
    sacrebleu_compatible: bool = False

    def __post_init__(self) -> None:
        rows = np.asarray(self.rows)
        if rows.ndim != 2:
            raise ValueError(f"sufficient statistics must be 2-D (items x k), got shape {rows.shape}")
        object.__setattr__(self, "rows", rows)

    @property
    def n_items(self) -> int:
        return int(self.rows.shape[0])

    def value(self) -> float:
        # .tolist() hands Python numbers to the metric, as sacrebleu's own
        # sum_of_lists does, so the score equals the library's corpus score.
        return float(self.from_sums(self.rows.sum(axis=0).tolist()))

    def subset(self, keep: np.ndarray) -> SumStatistics:
        return SumStatistics(self.rows[keep], self.from_sums, self.sacrebleu_compatible)

    def resampled_values(self, indices: np.ndarray) -> np.ndarray:
        rows = self.rows.astype(np.float32) if self.sacrebleu_compatible else self.rows.astype(np.float64)
        scores: list[float] = []
        for _, block in _blocks(indices, rows.shape[1]):
            # Summing the gathered rows along axis 1 adds them in index order,
            # as sacrebleu's per-resample ``_s.sum(0)`` does.
            scores.extend(self.from_sums(vector) for vector in rows[block].sum(axis=1))
        # No dtype: a metric that scores float32 sums in float32 (chrF) keeps
        # float32 here, as in sacrebleu, so differences round the same way.
        return np.array(scores)

    def swapped_values(self, other: SumStatistics, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the two pseudo-systems of each randomization trial: the
        first keeps this system's row where the mask is True and takes
        ``other``'s elsewhere; the second gets the rest."""
        mine, theirs = np.asarray(self.rows), np.asarray(other.rows)
        keep, swap = masks, ~masks
        if np.issubdtype(mine.dtype, np.integer) and np.issubdtype(theirs.dtype, np.integer):
            # Counts (BLEU, chrF): numpy's integer matmul has no BLAS path and
            # took ~9 s for 10,000 trials x 20,000 items; float64 BLAS in
            # blocks of trials is exact (integer sums below 2**53) and fast.
            first = _mask_product(keep, mine) + _mask_product(swap, theirs)
            second = _mask_product(swap, mine) + _mask_product(keep, theirs)
        else:
            # Unchunked on purpose: the same matrix products as sacrebleu's
            # (pos_sel @ baseline + neg_sel @ system) give bit-identical sums
            # for float statistics (TER).
            first = keep @ mine + swap @ theirs
            second = swap @ mine + keep @ theirs
        a = np.array([self.from_sums(v) for v in first])
        b = np.array([self.from_sums(v) for v in second])
        return a, b


@dataclass(frozen=True, eq=False)
class MeanStatistics:
    """Per-item scores of a metric whose headline is their mean.

    Unscored items must be removed before (see ``evalkit.stats.analysis``): a
    ``NaN`` here is a bug, not a zero.

    >>> import numpy as np
    >>> MeanStatistics(np.array([1.0, 0.0])).value()
    0.5
    """

    scores: np.ndarray

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.ndim != 1:
            raise ValueError(f"per-item scores must be 1-D, got shape {scores.shape}")
        if np.isnan(scores).any():
            raise ValueError("per-item scores contain NaN: drop unscored items first")
        object.__setattr__(self, "scores", scores)

    @property
    def n_items(self) -> int:
        return int(self.scores.shape[0])

    def value(self) -> float:
        return float(self.scores.mean())

    def subset(self, keep: np.ndarray) -> MeanStatistics:
        return MeanStatistics(self.scores[keep])

    def resampled_values(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty(indices.shape[0], dtype=np.float64)
        for start, block in _blocks(indices, 1):
            out[start : start + block.shape[0]] = self.scores[block].mean(axis=1)
        return out

    def swapped_values(self, other: MeanStatistics, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`SumStatistics.swapped_values`, for means."""
        n = self.n_items
        # mean(where(mask, self, other)) without building (trials x n) floats:
        # (sum(other) + mask @ (self - other)) / n, in blocks of trials.
        moved = _mask_product(masks, self.scores - other.scores)
        return (other.scores.sum() + moved) / n, (self.scores.sum() - moved) / n


@dataclass(frozen=True, eq=False)
class SeedStatistics:
    """One score per random seed of a metric that has no per-item scores
    (MAUVE's k-means seeds). Its spread measures clustering noise only, not
    the sampling of items.

    >>> round(SeedStatistics([0.91, 0.93, 0.92]).value(), 6)
    0.92
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError("seed values must be a non-empty 1-D sequence")
        object.__setattr__(self, "values", values)

    @property
    def n_items(self) -> int:
        return int(self.values.shape[0])

    def value(self) -> float:
        return float(self.values.mean())


ItemStatistics = SumStatistics | MeanStatistics | SeedStatistics


_VERDICT_SCORE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def verdict_scores(verdicts: Sequence[Sequence[str | None]]) -> list[float | None]:
    """Per-item win scores of a candidate from its judge verdicts.

    ``verdicts[i]`` holds the candidate's outcome in each presentation order of
    item ``i`` (``"win"``, ``"tie"``, ``"loss"``, or ``None`` when that order
    could not be judged). An item's score is the mean over its judged orders,
    so both orders of an item stay together when items are resampled; an item
    with no judged order is unscored (``None``), never a loss.

    >>> verdict_scores([("win", "win"), ("win", "loss"), (None, "tie"), (None, None)])
    [1.0, 0.5, 0.5, None]
    """
    out: list[float | None] = []
    for i, orders in enumerate(verdicts):
        judged = []
        for outcome in orders:
            if outcome is None:
                continue
            if outcome not in _VERDICT_SCORE:
                raise ValueError(f"item {i}: verdict {outcome!r} is not one of win, tie, loss, None")
            judged.append(_VERDICT_SCORE[outcome])
        out.append(sum(judged) / len(judged) if judged else None)
    return out
