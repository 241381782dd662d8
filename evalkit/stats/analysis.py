"""Statistics on a :class:`~evalkit.runner.Comparison`: a confidence interval
for every (system, metric), a paired test and a paired interval of the
difference against a baseline, and the values that ``--fail-if`` gates check.

Pure: a comparison in, an :class:`Analysis` out; :func:`evalkit.evaluation.evaluate`
calls it after scoring. It works from the metric objects and the per-item
statistics that scoring produced, never by building metrics again. How each
metric is resampled:

* metrics that declare ``corpus_statistics`` (BLEU, chrF, TER): corpus score
  recomputed from summed per-item sufficient statistics on every resample;
* metrics whose headline is the mean of ``per_item`` (ROUGE, plugins): the
  per-item scores;
* MAUVE: the spread over its k-means seeds (``details["per_seed"]``);
* judge columns (:class:`JudgeColumn`, from a ``[judge]`` run): their per-item
  scores, where an item's score already combines both presentation orders.

Items unscored in a system are left out of its interval; items unscored in
either of two systems are left out of their paired test (``n_excluded`` says
how many). A metric that can be resampled none of these ways gets no interval,
with a note saying why.

>>> import evalkit
>>> c = evalkit.compare({"base": ["a b c d", "e f g"], "new": ["a b c d", "e f x"]},
...                     references=["a b c d", "e f g"], metrics="rouge1")
>>> a = analyze(c, baseline="base", n_resamples=200)
>>> a.stat("new", "rouge1").test.method
'ar'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

import numpy as np

from evalkit.errors import ConfigError
from evalkit.item_scores import ItemScores
from evalkit.metrics.base import CorpusStatisticsMetric, has_capability
from evalkit.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, Interval, bootstrap_ci
from evalkit.stats.resample import ItemStatistics, MeanStatistics, SeedStatistics, Sums, SumStatistics
from evalkit.stats.significance import (
    DEFAULT_TRIALS,
    METHODS,
    Method,
    PairedTestResult,
    difference_ci,
    paired_test,
)

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["Analysis", "JudgeColumn", "MetricStats", "analyze"]

# A headline further than this from the mean of per_item is not a mean-type
# metric, and resampling per-item scores would put an interval on the wrong
# number.
_MEAN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class JudgeColumn:
    """A value of a ``[judge]`` run shown and gated beside the metrics: one
    system's ``win_rate`` against the baseline, its ``position_consistency``...

    ``per_item`` holds the per-item scores the value is the mean of (a pair's
    item outcomes from both orders: win 1, tie 0.5, loss 0; ``None`` unscored),
    so that the value gets a bootstrap interval; ``None`` when the value is
    not a mean over items (no interval).
    """

    system: str
    metric: str
    value: float | None
    per_item: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class MetricStats:
    """Statistics of one system on one metric.

    ``interval`` is ``None`` when the metric cannot be resampled (``note``
    says why). ``delta``/``test`` compare with the baseline on the items
    scored in both (``n_paired``; ``n_excluded`` were left out); they are
    ``None`` for the baseline itself and without a baseline.
    """

    system: str
    metric: str
    value: float | None
    interval: Interval | None
    kind: str
    higher_is_better: bool = True
    scale: str = "0-1"
    delta: Interval | None = None
    test: PairedTestResult | None = None
    n_paired: int = 0
    n_excluded: int = 0
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "metric": self.metric,
            "value": self.value,
            "kind": self.kind,
            "interval": self.interval.to_dict() if self.interval else None,
            "delta": self.delta.to_dict() if self.delta else None,
            "p_value": self.test.p_value if self.test else None,
            "test": self.test.method if self.test else None,
            "n_paired": self.n_paired,
            "n_excluded": self.n_excluded,
            "note": self.note,
        }


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze` computed, keyed by ``(system, metric)``;
    judge columns are keyed the same way and listed in ``judge_metrics``."""

    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    baseline: str | None
    method: str
    n_resamples: int
    n_trials: int
    seed: int | None
    alpha: float
    stats: Mapping[tuple[str, str], MetricStats]
    judge_metrics: tuple[str, ...] = ()

    def stat(self, system: str, metric: str) -> MetricStats:
        return self.stats[(system, metric)]

    @property
    def signature(self) -> str:
        """How to reproduce the numbers: ``ci:percentile|bs:1000|seed:12345|test:ar|trials:10000``."""
        return (
            f"ci:percentile|level:{1 - self.alpha:g}|bs:{self.n_resamples}|seed:{self.seed}"
            f"|test:{self.method}|trials:{self.n_trials}"
        )

    def gate_values(self) -> dict[str, dict[str, float | None]]:
        """``{system: {metric: value}}`` for the gates: scored and judge metrics."""
        out: dict[str, dict[str, float | None]] = {s: {} for s in self.systems}
        for (system, metric), st in self.stats.items():
            out.setdefault(system, {})[metric] = st.value
        return out

    def p_values(self) -> dict[tuple[str, str], float | None]:
        return {key: st.test.p_value for key, st in self.stats.items() if st.test is not None}

    def tests(self) -> dict[tuple[str, str], PairedTestResult]:
        return {key: st.test for key, st in self.stats.items() if st.test is not None}

    def to_dict(self) -> dict[str, object]:
        judge: dict[str, dict[str, float | None]] = {}
        for (system, metric), st in self.stats.items():
            if metric in self.judge_metrics:
                judge.setdefault(system, {})[metric] = st.value
        return {
            "baseline": self.baseline,
            "signature": self.signature,
            "alpha": self.alpha,
            "stats": [st.to_dict() for st in self.stats.values()],
            "judge": judge,
        }


# -- building the statistics of one metric -------------------------------------

Build = Callable[[str, np.ndarray], ItemStatistics]


@dataclass
class _Source:
    """How to get one system's statistics on a chosen set of items."""

    kind: str
    build: Build | None  # (system, item indices) -> statistics
    scored: dict[str, np.ndarray]  # system -> indices of its scored items
    note: str = ""
    seeds: dict[str, tuple[object, ...]] | None = None  # system -> its seeds (seed statistics only)


def _uses_sacrebleu(metric: object) -> bool:
    from evalkit.metrics.sacrebleu_metrics import BLEU, CHRF, TER

    return isinstance(metric, (BLEU, CHRF, TER))


def _corpus_source(comparison: Comparison, name: str) -> _Source | None:
    metric = comparison.metric_objects.get(name)
    if metric is None or not has_capability(metric, "corpus_statistics"):
        return None
    corpus = cast(CorpusStatisticsMetric, metric)
    scored: dict[str, np.ndarray] = {}
    rows: dict[str, np.ndarray] = {}
    for system in comparison.systems:
        result = comparison.results[(system, name)]
        idx = _scored_indices(result.per_item)
        stats = result.item_statistics
        if stats is None or len(stats) != len(idx):
            return None  # a result not made by this metric's scoring
        scored[system] = idx
        rows[system] = np.asarray(stats) if len(idx) else np.zeros((0, 1))
    compatible = _uses_sacrebleu(metric)

    def from_sums(sums: Sums) -> float:
        return corpus.value_from_statistics([list(sums)])

    def build(system: str, items: np.ndarray) -> SumStatistics:
        return SumStatistics(rows[system][_rows_of(scored[system], items)], from_sums, sacrebleu_compatible=compatible)

    return _Source("corpus statistics", build, scored)


def _scored_indices(per_item: Sequence[float | None]) -> np.ndarray:
    """Item numbers of the scored items, in order."""
    if isinstance(per_item, ItemScores):
        return per_item.scored_indices()
    return np.array([i for i, v in enumerate(per_item) if v is not None], dtype=np.int64)


def _rows_of(scored: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The statistics rows of ``items`` (item numbers, all scored) when
    ``scored`` (sorted) lists the scored items row by row: a search, not a
    dict of every item."""
    items = np.asarray(items, dtype=np.int64)
    rows = np.searchsorted(scored, items)
    if len(items) and (rows.max() >= len(scored) or not np.array_equal(scored[rows], items)):
        raise KeyError("an item without statistics (not scored) was asked for")
    return rows


def _scored_scores(per_item: Sequence[float | None], n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the scored items, and all scores with NaN where unscored."""
    if isinstance(per_item, ItemScores) and len(per_item) == n_items:
        return per_item.scored_indices(), per_item.values.copy()
    idx = _scored_indices(per_item)
    full = np.full(n_items, np.nan)
    full[idx] = [per_item[i] for i in idx]
    return idx, full


def _mean_source(comparison: Comparison, name: str) -> _Source:
    scored: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    for system in comparison.systems:
        result = comparison.results[(system, name)]
        if result.details.get("baseline") is not None and not result.per_item:
            continue  # a paired metric's baseline row: compared with nothing
        if len(result.per_item) != comparison.n_items or result.value is None:
            return _Source("none", None, {}, "no per-item scores: no interval")
        idx, full = _scored_scores(result.per_item, comparison.n_items)
        if len(idx) and abs(full[idx].mean() - result.value) > _MEAN_TOLERANCE * max(1.0, abs(result.value)):
            return _Source("none", None, {}, "the headline is not the mean of per-item scores: no interval")
        scored[system], scores[system] = idx, full

    def build(system: str, items: np.ndarray) -> MeanStatistics:
        return MeanStatistics(scores[system][items])

    return _Source("per-item mean", build, scored)


def _seed_source(comparison: Comparison, name: str) -> _Source | None:
    seeds: dict[str, tuple[object, ...]] = {}
    values: dict[str, list[float]] = {}
    for system in comparison.systems:
        details = comparison.results[(system, name)].details
        per_seed = details.get("per_seed")
        if not per_seed:
            return None
        values[system] = [float(v) for v in per_seed]
        seeds[system] = tuple(details.get("seeds", range(len(per_seed))))
    scored = {s: np.arange(len(v)) for s, v in values.items()}

    def build(system: str, items: np.ndarray) -> SeedStatistics:
        return SeedStatistics(np.asarray(values[system])[items])

    note = "interval over k-means seeds only (clustering noise, items not resampled)"
    return _Source("seeds", build, scored, note, seeds)


def _source(comparison: Comparison, name: str) -> _Source:
    corpus = _corpus_source(comparison, name)
    if corpus is not None:
        return corpus
    first = comparison.results[(comparison.systems[0], name)]
    if not first.per_item:
        seeds = _seed_source(comparison, name)
        if seeds is not None:
            return seeds
    return _mean_source(comparison, name)


# -- the analysis ---------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The resampling settings of one analysis, checked."""

    baseline: str | None
    method: Method
    n_resamples: int
    n_trials: int
    seed: int | None
    alpha: float


def _plan(
    comparison: Comparison,
    baseline: str | None,
    method: str,
    n_resamples: int,
    n_trials: int | None,
    seed: int | None,
    alpha: float,
) -> _Plan:
    if baseline is not None and baseline not in comparison.systems:
        raise ConfigError(
            f"baseline {baseline!r} is not one of the systems", hint=f"systems: {', '.join(comparison.systems)}"
        )
    if method not in METHODS:
        raise ConfigError(f"unknown paired test {method!r}", hint=f"choose one of: {', '.join(METHODS)}")
    trials = n_trials if n_trials is not None else (n_resamples if method == "bootstrap" else DEFAULT_TRIALS["ar"])
    for what, number in (("bootstrap resamples", n_resamples), ("trials", trials)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ConfigError(f"the number of {what} must be a positive integer, got {number!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha!r}")
    return _Plan(baseline, cast(Method, method), n_resamples, trials, seed, float(alpha))


def analyze(
    comparison: Comparison,
    *,
    baseline: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
    paired_test_method: str = "ar",
    n_trials: int | None = None,
    alpha: float = 0.05,
    judge: Sequence[JudgeColumn] = (),
) -> Analysis:
    """Intervals for every result of ``comparison``; with ``baseline``, paired
    tests and difference intervals of every other system against it.

    ``paired_test_method`` is ``"ar"`` (approximate randomization, default;
    ``n_trials`` defaults to 10,000) or ``"bootstrap"`` (sacrebleu's paired
    bootstrap; ``n_trials`` defaults to ``n_resamples``). ``judge`` adds the
    values of ``[judge]`` runs, each with a bootstrap interval over its
    per-item verdicts.
    """
    plan = _plan(comparison, baseline, paired_test_method, n_resamples, n_trials, seed, alpha)
    stats: dict[tuple[str, str], MetricStats] = {}
    for metric in comparison.metrics:
        source = _source(comparison, metric)
        for system in comparison.systems:
            stats[(system, metric)] = _one(comparison, source, system, metric, plan)
    for column in judge:
        stats[(column.system, column.metric)] = _judge_stats(column, plan)
    return Analysis(
        systems=tuple(comparison.systems),
        metrics=tuple(comparison.metrics),
        baseline=plan.baseline,
        method=plan.method,
        n_resamples=plan.n_resamples,
        n_trials=plan.n_trials,
        seed=plan.seed,
        alpha=plan.alpha,
        stats=stats,
        judge_metrics=tuple(dict.fromkeys(c.metric for c in judge)),
    )


def _judge_stats(column: JudgeColumn, plan: _Plan) -> MetricStats:
    if column.per_item is None:
        return MetricStats(column.system, column.metric, column.value, None, "judge", note="not a mean over items")
    values = np.array([v for v in column.per_item if v is not None], dtype=np.float64)
    excluded = len(column.per_item) - int(values.size)
    if not values.size:
        return MetricStats(column.system, column.metric, None, None, "per-item mean", n_excluded=excluded)
    interval = bootstrap_ci(values, n_resamples=plan.n_resamples, seed=plan.seed, alpha=plan.alpha)
    return MetricStats(
        column.system, column.metric, float(values.mean()), interval, "per-item mean", n_excluded=excluded
    )


def _one(comparison: Comparison, source: _Source, system: str, metric: str, plan: _Plan) -> MetricStats:
    result = comparison.results[(system, metric)]
    common = MetricStats(
        system=system,
        metric=metric,
        value=result.value,
        interval=None,
        kind=source.kind,
        higher_is_better=result.higher_is_better,
        scale=result.scale,
        note=source.note,
    )
    if source.build is None or system not in source.scored:
        return common
    items = source.scored[system]
    if not len(items):
        return replace(common, note="no scored item: no interval")
    interval = bootstrap_ci(
        source.build(system, items),
        n_resamples=plan.n_resamples,
        seed=plan.seed,
        alpha=plan.alpha,
        bounds=result.bounds,
    )
    with_interval = replace(common, interval=interval)
    if plan.baseline is None or system == plan.baseline or plan.baseline not in source.scored:
        return with_interval
    return _paired(with_interval, source, plan.baseline, plan, result.bounds)


def _paired(
    stats: MetricStats, source: _Source, baseline: str, plan: _Plan, bounds: tuple[float, float] | None
) -> MetricStats:
    """Add the paired test and difference interval against the baseline."""
    system, build = stats.system, cast(Build, source.build)
    if source.seeds is not None and source.seeds[system] != source.seeds[baseline]:
        return replace(stats, note="different seeds than the baseline: no paired test")
    items = source.scored[system]
    paired = np.intersect1d(items, source.scored[baseline])
    union = np.union1d(items, source.scored[baseline])
    excluded = int(len(union) - len(paired)) if source.kind != "seeds" else 0
    if not len(paired):
        return replace(stats, n_excluded=excluded, note="no item scored in both this system and the baseline: no test")
    sys_stats, base_stats = build(system, paired), build(baseline, paired)
    test = paired_test(sys_stats, base_stats, method=plan.method, n_resamples=plan.n_trials, seed=plan.seed)
    delta = difference_ci(
        sys_stats, base_stats, n_resamples=plan.n_resamples, seed=plan.seed, alpha=plan.alpha, bounds=bounds
    )
    note = stats.note
    if excluded:
        note = (note + "; " if note else "") + (
            f"{excluded} item(s) unscored in this system or the baseline left out of the paired test"
        )
    return replace(stats, delta=delta, test=test, n_paired=int(len(paired)), n_excluded=excluded, note=note)
