"""Seeded bootstrap confidence intervals.

Intervals are **percentile** intervals: the ``alpha/2`` and ``1 - alpha/2``
quantiles (numpy's default linear interpolation) of the metric recomputed on
``n_resamples`` bootstrap resamples of the items. The point estimate is the
metric on all items, not the mean of the resamples. (sacrebleu's own
``--confidence`` prints ``mean ± half-width`` of roughly the same order
statistics; we keep the two ends because intervals of bounded metrics are
often lopsided.)

>>> import numpy as np
>>> scores = np.random.default_rng(0).uniform(size=200)
>>> ci = bootstrap_ci(scores, n_resamples=500, seed=1)
>>> ci.low < ci.value < ci.high
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalkit.stats.resample import (
    ItemStatistics,
    MeanStatistics,
    SeedStatistics,
    bootstrap_indices,
)

__all__ = ["DEFAULT_RESAMPLES", "DEFAULT_SEED", "Interval", "as_statistics", "bootstrap_ci", "seed_interval"]

DEFAULT_RESAMPLES = 1000
#: sacrebleu's default seed (``SACREBLEU_SEED``), so that our numbers line up.
DEFAULT_SEED = 12345


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

    def to_dict(self) -> dict:
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


def as_statistics(statistics: ItemStatistics | np.ndarray | list) -> ItemStatistics:
    """Accept a plain array of per-item scores as :class:`MeanStatistics`."""
    if isinstance(statistics, (np.ndarray, list, tuple)):
        return MeanStatistics(np.asarray(statistics, dtype=np.float64))
    return statistics


def _check(n_resamples: int, alpha: float) -> None:
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")


def bootstrap_ci(
    statistics: ItemStatistics | np.ndarray,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
    alpha: float = 0.05,
    indices: np.ndarray | None = None,
) -> Interval:
    """Percentile bootstrap interval of a metric over its items.

    ``statistics`` says how the metric is recomputed on a resample (see
    :mod:`evalkit.stats.resample`); a 1-D array means per-item scores whose
    mean is the metric. Seed statistics (MAUVE) get :func:`seed_interval`.
    ``indices`` lets several systems share one set of resamples (pass
    :func:`~evalkit.stats.resample.bootstrap_indices`); otherwise they are
    drawn from ``seed``.

    >>> bootstrap_ci([1.0, 0.0, 1.0, 1.0], n_resamples=200, seed=3).value
    0.75
    """
    _check(n_resamples, alpha)
    stats = as_statistics(statistics)
    if isinstance(stats, SeedStatistics):
        return seed_interval(stats.values, alpha=alpha)
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


def seed_interval(values, *, alpha: float = 0.05) -> Interval:
    """Student-t interval of the mean over per-seed scores (MAUVE).

    It covers clustering noise only: items are not resampled. One seed gives
    no interval (NaN ends).

    >>> ci = seed_interval([0.90, 0.92, 0.91, 0.93])
    >>> round(ci.value, 3), ci.low < 0.915 < ci.high
    (0.915, True)
    """
    vals = np.asarray(values, dtype=np.float64)
    k = int(vals.size)
    if k == 0:
        raise ValueError("no seed values")
    mean = float(vals.mean())
    if k < 2:
        return Interval(mean, math.nan, math.nan, 1 - alpha, "one seed: no interval", 0, None)
    half = _t_quantile(1 - alpha / 2, k - 1) * float(vals.std(ddof=1)) / math.sqrt(k)
    return Interval(mean, mean - half, mean + half, 1 - alpha, f"t over {k} seeds", k, None)


def _t_quantile(q: float, df: int) -> float:
    try:
        from scipy.stats import t
    except ImportError:  # MAUVE's extra brings scipy; plain installs never reach here
        from evalkit.errors import MissingDependencyError

        raise MissingDependencyError(
            "scipy (for MAUVE seed intervals)", install="pip install 'evalkit[mauve]'"
        ) from None
    return float(t.ppf(q, df))
