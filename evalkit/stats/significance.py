"""Paired significance tests of a system against a baseline.

Two tests, both two-sided, both on the same items of both systems (pairing):

* ``"ar"``, approximate randomization (the default): in each of ``n_resamples``
  trials every item's two outputs are swapped between the systems with
  probability 1/2; p is the share of trials whose absolute score difference
  reaches the observed one, ``(count + 1) / (trials + 1)``. Under the null it
  rejects at the nominal rate (measured: see ``docs/ci.md``).
* ``"bootstrap"``, the paired bootstrap of sacrebleu's ``--paired-bs``: the
  absolute differences on bootstrap resamples, centred on their mean, are
  compared with the observed difference. This is sacrebleu's formula kept for
  parity; because it folds the difference before centring it behaves like a
  one-sided test, and under the null it rejects about twice as often as
  ``alpha`` (11.4% at alpha = 0.05 in the simulation of
  ``tests/stats/test_simulation.py``, quoted in ``docs/ci.md``). Prefer
  ``"ar"`` for gates.

Resamples are drawn exactly as in sacrebleu 2.6.0, so for BLEU, chrF and TER
(:class:`~evalkit.stats.resample.SumStatistics` with
``sacrebleu_compatible=True``) the p-values equal sacrebleu's for the same seed
and number of resamples. Two deliberate differences, both documented in
``docs/ci.md``:

* when both systems have identical statistics on every item, p = 1 (sacrebleu
  reports ``1 / (n + 1)``, i.e. "significant", for a system against itself);
* for every other metric a trial that *ties* the observed difference counts
  as reaching it (sacrebleu counts only strictly larger ones). Per-item scores
  of judges and exact-match metrics take few values, and ties are common
  there; not counting them would make the test reject too often.

MAUVE-like :class:`~evalkit.stats.resample.SeedStatistics` are tested by an
exact sign-flip test on the per-seed differences, whichever method is asked.

Every result carries the smallest p-value its design can reach
(``min_p_value``): 2/32 = 0.0625 for five seeds, so a five-seed test can never
be significant at 0.05, whatever the scores.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> base = rng.uniform(size=300)
>>> better = np.clip(base + 0.1, 0, 1)
>>> paired_test(better, base, method="ar", seed=1).p_value < 0.01
True
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.stats.bootstrap import DEFAULT_SEED, Bounds, Interval, as_statistics, difference_bounds, seed_interval
from evalkit.stats.resample import (
    ItemStatistics,
    MeanStatistics,
    SeedStatistics,
    SumStatistics,
    bootstrap_indices,
    randomization_masks,
)

__all__ = ["DEFAULT_TRIALS", "METHODS", "PairedTestResult", "difference_ci", "paired_test"]

METHODS = ("ar", "bootstrap")
#: sacrebleu's defaults: 10,000 AR trials, 1,000 bootstrap resamples.
DEFAULT_TRIALS = {"ar": 10_000, "bootstrap": 1_000}

#: Up to this many seeds the sign-flip test enumerates all 2**k flips.
_EXACT_SEEDS = 16

# Relative slack when counting ties: the observed and the permuted differences
# are the same number computed in a different order.
_TIE_TOLERANCE = 1e-9

Method = Literal["ar", "bootstrap"]


@dataclass(frozen=True)
class PairedTestResult:
    """The outcome of one paired test.

    ``difference`` is system minus baseline on the paired items (signed);
    ``p_value`` is two-sided. ``min_p_value`` is the smallest p-value the
    test's design can give, whatever the data: ``2 / 2**k`` for the exact
    sign-flip test over k seeds (the observed signs and their mirror image
    always reach the observed difference), ``1 / (n_resamples + 1)`` for
    approximate randomization, the paired bootstrap and the sampled sign-flip
    test (no trial reaches the observed difference: ``(0 + 1) / (trials + 1)``).
    A test that cannot reach ``alpha`` (:meth:`can_reach`) says nothing at
    that level: "not significant" would be a foregone conclusion.

    >>> r = paired_test(SeedStatistics([0.05, 0.06, 0.05, 0.04, 0.05]), SeedStatistics([1.0] * 5))
    >>> r.p_value, r.min_p_value, r.can_reach(0.05)
    (0.0625, 0.0625, False)
    """

    method: str
    p_value: float
    difference: float
    system_value: float
    baseline_value: float
    n_items: int
    n_resamples: int
    seed: int | None
    min_p_value: float

    def can_reach(self, alpha: float) -> bool:
        """Whether this design can give ``p < alpha`` at all (a gate's
        ``(p<alpha)`` is strict)."""
        return self.min_p_value < alpha

    def to_dict(self) -> dict[str, str | float | int | None]:
        return dict(self.__dict__)


def _p_value(null: np.ndarray, observed: float, *, strict: bool) -> float:
    if strict:
        count = int(np.sum(null > observed))
    else:
        count = int(np.sum(null >= observed - _TIE_TOLERANCE * max(1.0, abs(observed))))
    return (count + 1) / (len(null) + 1)


def _identical(system: ItemStatistics, baseline: ItemStatistics) -> bool:
    if isinstance(system, SumStatistics) and isinstance(baseline, SumStatistics):
        return system.rows.shape == baseline.rows.shape and bool(np.array_equal(system.rows, baseline.rows))
    if isinstance(system, MeanStatistics) and isinstance(baseline, MeanStatistics):
        return bool(np.array_equal(system.scores, baseline.scores))
    if isinstance(system, SeedStatistics) and isinstance(baseline, SeedStatistics):
        return bool(np.array_equal(system.values, baseline.values))
    return False


def _paired(
    system: ItemStatistics | np.ndarray | Sequence[float],
    baseline: ItemStatistics | np.ndarray | Sequence[float],
    method: str,
    n_resamples: int | None,
) -> tuple[ItemStatistics, ItemStatistics, int]:
    """Both sides as statistics of the same kind and size, and the number of
    trials/resamples; ValueError/TypeError for what cannot be paired."""
    if method not in METHODS:
        raise ValueError(f"unknown paired test {method!r}: use one of {', '.join(METHODS)}")
    sys_stats, base_stats = as_statistics(system), as_statistics(baseline)
    if type(sys_stats) is not type(base_stats):
        raise TypeError(f"cannot pair {type(sys_stats).__name__} with {type(base_stats).__name__}")
    if sys_stats.n_items != base_stats.n_items:
        raise ValueError(f"paired test needs the same items: {sys_stats.n_items} vs {base_stats.n_items}")
    if sys_stats.n_items == 0:
        raise ValueError("no items scored in both systems")
    n = n_resamples if n_resamples is not None else DEFAULT_TRIALS[method]
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n!r}")
    return sys_stats, base_stats, n


def paired_test(
    system: ItemStatistics | np.ndarray | Sequence[float],
    baseline: ItemStatistics | np.ndarray | Sequence[float],
    *,
    method: Method = "ar",
    n_resamples: int | None = None,
    seed: int | None = DEFAULT_SEED,
) -> PairedTestResult:
    """Two-sided paired test of ``system`` against ``baseline``.

    Both must be statistics of the same kind over the same items, in the same
    order (remove items unscored in either system first). ``n_resamples`` is
    the number of AR trials or bootstrap resamples (default 10,000 / 1,000,
    as in sacrebleu). Identical inputs and seed give identical p-values.

    >>> paired_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]).p_value
    1.0
    """
    sys_stats, base_stats, n = _paired(system, baseline, method, n_resamples)
    sys_value, base_value = sys_stats.value(), base_stats.value()

    def result(p: float, used: int, min_p: float, name: str = method) -> PairedTestResult:
        return PairedTestResult(
            method=name,
            p_value=float(p),
            difference=sys_value - base_value,
            system_value=sys_value,
            baseline_value=base_value,
            n_items=sys_stats.n_items,
            n_resamples=used,
            seed=seed,
            min_p_value=min_p,
        )

    if isinstance(sys_stats, SeedStatistics) and isinstance(base_stats, SeedStatistics):
        k = sys_stats.n_items
        p, used = _sign_flip_p(sys_stats.values - base_stats.values, n_resamples=n, seed=seed)
        return result(p, used, 2 / 2**k if k <= _EXACT_SEEDS else 1 / (n + 1), "sign-flip over seeds")
    if _identical(sys_stats, base_stats):
        return result(1.0, n, 1 / (n + 1))
    return result(_item_p_value(sys_stats, base_stats, method, n, seed), n, 1 / (n + 1))


def _item_p_value(system: ItemStatistics, baseline: ItemStatistics, method: str, n: int, seed: int | None) -> float:
    """The AR or paired-bootstrap p-value of item (sum or mean) statistics."""
    strict = isinstance(system, SumStatistics) and system.sacrebleu_compatible
    observed = abs(baseline.value() - system.value())
    if method == "bootstrap":
        indices = bootstrap_indices(system.n_items, n_resamples=n, seed=seed)
        sample_diffs = np.abs(_resampled(system, indices) - _resampled(baseline, indices))
        null = sample_diffs - sample_diffs.mean()
    else:
        masks = randomization_masks(system.n_items, n_trials=n, seed=seed)
        first, second = _swapped(baseline, system, masks)
        null = np.abs(first - second)
    return _p_value(null, observed, strict=strict)


def _resampled(statistics: ItemStatistics, indices: np.ndarray) -> np.ndarray:
    if isinstance(statistics, SeedStatistics):
        raise TypeError("seed statistics have no items to resample")
    return statistics.resampled_values(indices)


def _swapped(first: ItemStatistics, second: ItemStatistics, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(first, SumStatistics) and isinstance(second, SumStatistics):
        return first.swapped_values(second, masks)
    if isinstance(first, MeanStatistics) and isinstance(second, MeanStatistics):
        return first.swapped_values(second, masks)
    raise TypeError(f"cannot swap items between {type(first).__name__} and {type(second).__name__}")


def _sign_flip_p(differences: np.ndarray, *, n_resamples: int, seed: int | None) -> tuple[float, int]:
    """Exact (k <= 16) or sampled sign-flip test of mean(differences) == 0."""
    d = np.asarray(differences, dtype=np.float64)
    observed = abs(d.mean())
    if np.all(d == 0):
        return 1.0, 0
    k = d.size
    if k <= _EXACT_SEEDS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=k)))
        null = np.abs(signs @ d) / k
        # Exact: the identity flip is among the 2**k patterns, no +1 needed.
        count = int(np.sum(null >= observed - _TIE_TOLERANCE * max(1.0, observed)))
        return count / len(null), len(null)
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(n_resamples, k))
    return _p_value(np.abs(signs @ d) / k, observed, strict=False), n_resamples


def difference_ci(
    system: ItemStatistics | np.ndarray | Sequence[float],
    baseline: ItemStatistics | np.ndarray | Sequence[float],
    *,
    n_resamples: int = 1000,
    seed: int | None = DEFAULT_SEED,
    alpha: float = 0.05,
    indices: np.ndarray | None = None,
    bounds: Bounds = None,
) -> Interval:
    """Percentile interval of (system - baseline) over paired bootstrap
    resamples: both systems are recomputed on the same resampled items.

    Seed statistics (MAUVE) get the t-interval of the per-seed differences
    (:func:`~evalkit.stats.bootstrap.seed_interval`), kept within the range a
    difference can take when the metric's range is ``bounds``: ``(low - high,
    high - low)``. (A percentile interval needs no bounds.)

    >>> ci = difference_ci([0.6, 0.7, 0.8, 0.9], [0.5, 0.6, 0.7, 0.8], n_resamples=100)
    >>> round(ci.value, 6), round(ci.low, 6), round(ci.high, 6)
    (0.1, 0.1, 0.1)
    """
    sys_stats, base_stats = as_statistics(system), as_statistics(baseline)
    if type(sys_stats) is not type(base_stats):
        raise TypeError(f"cannot pair {type(sys_stats).__name__} with {type(base_stats).__name__}")
    if isinstance(sys_stats, SeedStatistics) and isinstance(base_stats, SeedStatistics):
        ci = seed_interval(sys_stats.values - base_stats.values, alpha=alpha, bounds=difference_bounds(bounds))
        return Interval(
            sys_stats.value() - base_stats.value(), ci.low, ci.high, ci.level, ci.method, ci.n_resamples, None
        )
    if sys_stats.n_items != base_stats.n_items:
        raise ValueError(f"paired interval needs the same items: {sys_stats.n_items} vs {base_stats.n_items}")
    if indices is None:
        indices = bootstrap_indices(sys_stats.n_items, n_resamples=n_resamples, seed=seed)
    diffs = _resampled(sys_stats, indices) - _resampled(base_stats, indices)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return Interval(
        value=sys_stats.value() - base_stats.value(),
        low=float(low),
        high=float(high),
        level=1 - alpha,
        method="paired percentile bootstrap",
        n_resamples=int(indices.shape[0]),
        seed=seed,
    )
