"""Seeded bootstrap confidence intervals.

Intervals are **percentile** intervals: the ``alpha/2`` and ``1 - alpha/2``
quantiles (numpy's default linear interpolation) of the metric recomputed on
``n_resamples`` bootstrap resamples of the items. The point estimate is the
metric on all items, not the mean of the resamples. (sacrebleu's own
``--confidence`` prints ``mean ± half-width`` of roughly the same order
statistics; we keep the two ends because intervals of bounded metrics are
often lopsided.) A percentile interval never leaves the metric's range: its
ends are values of the metric. The Student-t interval over seeds can, so
:func:`seed_interval` takes the range (``bounds``) and keeps within it.

>>> import numpy as np
>>> scores = np.random.default_rng(0).uniform(size=200)
>>> ci = bootstrap_ci(scores, n_resamples=500, seed=1)
>>> ci.low < ci.value < ci.high
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.stats.resample import (
    ItemStatistics,
    MeanStatistics,
    SeedStatistics,
    SumStatistics,
    bootstrap_indices,
)

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "Bounds",
    "Interval",
    "as_statistics",
    "bootstrap_ci",
    "difference_bounds",
    "seed_interval",
]

DEFAULT_RESAMPLES = 1000
#: sacrebleu's default seed (``SACREBLEU_SEED``), so that our numbers line up.
DEFAULT_SEED = 12345

#: A metric's range ``(lowest, highest)``, e.g. ``(0.0, 1.0)`` for MAUVE;
#: ``None`` when it is unbounded or unknown.
Bounds = tuple[float, float] | None


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval.

    ``low``/``high`` are NaN when no interval can be computed (a single seed).
    ``method`` says how it was made; ``n_resamples`` and ``seed`` reproduce it.

    >>> str(Interval(0.5, 0.4, 0.6, level=0.95, method="percentile bootstrap", n_resamples=1000, seed=1))
    '0.5 [0.4, 0.6]'
    """

    value: float
    low: float
    high: float
    level: float
    method: str
    n_resamples: int
    seed: int | None

    def __str__(self) -> str:
        return f"{self.value:g} [{self.low:g}, {self.high:g}]"

    @property
    def available(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))

    def to_dict(self) -> dict[str, float | int | str | None]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "value": self.value,
            "low": num(self.low),
            "high": num(self.high),
            "level": self.level,
            "method": self.method,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
        }


def as_statistics(statistics: ItemStatistics | np.ndarray | Sequence[float]) -> ItemStatistics:
    """Accept a plain array of per-item scores as :class:`MeanStatistics`."""
    if isinstance(statistics, (SumStatistics, MeanStatistics, SeedStatistics)):
        return statistics
    return MeanStatistics(np.asarray(statistics, dtype=np.float64))


def _check(n_resamples: int, alpha: float) -> None:
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")


def bootstrap_ci(
    statistics: ItemStatistics | np.ndarray | Sequence[float],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
    alpha: float = 0.05,
    indices: np.ndarray | None = None,
    bounds: Bounds = None,
) -> Interval:
    """Percentile bootstrap interval of a metric over its items.

    ``statistics`` says how the metric is recomputed on a resample (see
    :mod:`evalkit.stats.resample`); a 1-D array means per-item scores whose
    mean is the metric. Seed statistics (MAUVE) get :func:`seed_interval`,
    kept within the metric's range ``bounds``; a percentile interval needs no
    bounds (its ends are values of the metric).
    ``indices`` lets several systems share one set of resamples (pass
    :func:`~evalkit.stats.resample.bootstrap_indices`); otherwise they are
    drawn from ``seed``.

    >>> bootstrap_ci([1.0, 0.0, 1.0, 1.0], n_resamples=200, seed=3).value
    0.75
    """
    _check(n_resamples, alpha)
    stats = as_statistics(statistics)
    if isinstance(stats, SeedStatistics):
        return seed_interval(stats.values, alpha=alpha, bounds=bounds)
    if stats.n_items == 0:
        raise ValueError("no scored items to resample")
    if indices is None:
        indices = bootstrap_indices(stats.n_items, n_resamples=n_resamples, seed=seed)
    values = stats.resampled_values(indices)
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(
        value=stats.value(),
        low=float(low),
        high=float(high),
        level=1 - alpha,
        method="percentile bootstrap",
        n_resamples=int(indices.shape[0]),
        seed=seed,
    )


def seed_interval(values: np.ndarray | Sequence[float], *, alpha: float = 0.05, bounds: Bounds = None) -> Interval:
    """Student-t interval of the mean over per-seed scores (MAUVE), within the
    metric's range ``bounds`` (``(low, high)``, or ``None`` for no range).

    It covers clustering noise only: items are not resampled. One seed gives
    no interval (NaN ends). With few seeds the t-interval is wide and can
    reach past the range (0.86 +- 0.19 for a score bounded by 1): it is then
    intersected with the range, and the method says so. Intersecting an
    interval with the parameter space keeps its coverage: whenever the
    t-interval covers the true mean, so does the intersection, because the
    true mean lies in the range. Only impossible values are removed.

    >>> ci = seed_interval([0.90, 0.92, 0.91, 0.93])
    >>> round(ci.value, 3), ci.low < 0.915 < ci.high
    (0.915, True)
    >>> ci = seed_interval([0.60, 0.99, 0.99, 0.70, 1.0], bounds=(0.0, 1.0))
    >>> ci.high, ci.method
    (1.0, 't over 5 seeds, intersected with [0, 1]')
    """
    vals = np.asarray(values, dtype=np.float64)
    k = int(vals.size)
    if k == 0:
        raise ValueError("no seed values")
    _check_bounds(vals, bounds)
    mean = float(vals.mean())
    if k < 2:
        return Interval(mean, math.nan, math.nan, 1 - alpha, "one seed: no interval", 0, None)
    half = _t_quantile(1 - alpha / 2, k - 1) * float(vals.std(ddof=1)) / math.sqrt(k)
    low, high = mean - half, mean + half
    method = f"t over {k} seeds"
    if bounds is not None and (low < bounds[0] or high > bounds[1]):
        low, high = max(low, bounds[0]), min(high, bounds[1])
        method += f", intersected with [{bounds[0]:g}, {bounds[1]:g}]"
    return Interval(mean, low, high, 1 - alpha, method, k, None)


def difference_bounds(bounds: Bounds) -> Bounds:
    """The range of a difference of two values in ``bounds``.

    >>> difference_bounds((0.0, 1.0))
    (-1.0, 1.0)
    """
    if bounds is None:
        return None
    return (bounds[0] - bounds[1], bounds[1] - bounds[0])


def _check_bounds(values: np.ndarray, bounds: Bounds) -> None:
    if bounds is None:
        return
    low, high = bounds
    if not low < high:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    outside = values[(values < low) | (values > high)]
    if outside.size:
        raise ValueError(f"seed value {float(outside[0])!r} is outside the metric's range [{low:g}, {high:g}]")


def _t_quantile(q: float, df: int) -> float:
    try:
        from scipy.stats import t
    except ImportError:  # MAUVE's extra brings scipy; plain installs never reach here
        from evalkit.errors import MissingDependencyError

        raise MissingDependencyError(
            "scipy (for MAUVE seed intervals)", install="pip install 'evalkit[mauve]'"
        ) from None
    return float(t.ppf(q, df))
