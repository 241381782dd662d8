"""Statistics for comparing systems: bootstrap confidence intervals and paired
significance tests, for every kind of metric.

Pure functions on arrays; the runner and the CLI call them through
:mod:`evalkit.stats.analysis`.

>>> import numpy as np
>>> from evalkit.stats import bootstrap_ci, paired_test
>>> rng = np.random.default_rng(0)
>>> baseline = rng.uniform(size=200)
>>> candidate = baseline - 0.05
>>> paired_test(candidate, baseline).p_value < 0.05
True
"""

from evalkit.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, Interval, bootstrap_ci, seed_interval
from evalkit.stats.resample import (
    ItemStatistics,
    MeanStatistics,
    SeedStatistics,
    SumStatistics,
    bootstrap_indices,
    randomization_masks,
    verdict_scores,
)
from evalkit.stats.significance import DEFAULT_TRIALS, METHODS, PairedTestResult, difference_ci, paired_test

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "DEFAULT_TRIALS",
    "METHODS",
    "Interval",
    "ItemStatistics",
    "MeanStatistics",
    "PairedTestResult",
    "SeedStatistics",
    "SumStatistics",
    "bootstrap_ci",
    "bootstrap_indices",
    "difference_ci",
    "paired_test",
    "randomization_masks",
    "seed_interval",
    "verdict_scores",
]
