"""Statistics on a :class:`~evalkit.runner.Comparison`: a confidence interval
for every (system, metric), a paired test and a paired interval of the
difference against a baseline, and the values that ``--fail-if`` gates check.

Pure: a comparison in, an :class:`Analysis` out; the CLI calls it after
``runner.compare``. How each metric is resampled:

* BLEU, chrF, TER (any metric class with ``item_statistics`` and
  ``value_from_statistics``): corpus score recomputed from summed per-item
  sufficient statistics on every resample;
* metrics whose headline is the mean of ``per_item`` (ROUGE, plugins): the
  per-item scores;
* MAUVE: the spread over its k-means seeds (``details["per_seed"]``);
* judge metrics: per-item scores when given (``judge_items``), where an item's
  score already combines both presentation orders.

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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.errors import ConfigError
from evalkit.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    DEFAULT_TRIALS,
    METHODS,
    Interval,
    MeanStatistics,
    PairedTestResult,
    SeedStatistics,
    SumStatistics,
    bootstrap_ci,
    difference_ci,
    paired_test,
)

__all__ = ["Analysis", "MetricStats", "analyze", "judge_metrics_from_pairs"]

# A headline further than this from the mean of per_item is not a mean-type
# metric, and resampling per-item scores would put an interval on the wrong
# number.
_MEAN_TOLERANCE = 1e-9


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

    def to_dict(self) -> dict[str, Any]:
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
    """Everything :func:`analyze` computed, keyed by ``(system, metric)``."""

    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    baseline: str | None
    method: str
    n_resamples: int
    n_trials: int
    seed: int | None
    alpha: float
    stats: Mapping[tuple[str, str], MetricStats]
    judge: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    judge_pairs: tuple[Mapping[str, Any], ...] = ()

    def stat(self, system: str, metric: str) -> MetricStats:
        return self.stats[(system, metric)]

    @property
    def signature(self) -> str:
        """How to reproduce the numbers: ``ci:percentile|bs:1000|seed:12345|test:ar|trials:10000``."""
        return (
            f"ci:percentile|level:{1 - self.alpha:g}|bs:{self.n_resamples}|seed:{self.seed}"
            f"|test:{self.method}|trials:{self.n_trials}"
        )

    @property
    def judge_metrics(self) -> tuple[str, ...]:
        """Names of the judge's metrics, in first-seen order."""
        seen: dict[str, None] = {}
        for per in self.judge.values():
            for name in per:
                seen.setdefault(name)
        return tuple(seen)

    def gate_values(self) -> dict[str, dict[str, float | None]]:
        """``{system: {metric: value}}`` for the gates: scored and judge metrics."""
        out: dict[str, dict[str, float | None]] = {s: {} for s in self.systems}
        for (system, metric), st in self.stats.items():
            out[system][metric] = st.value
        for system, per in self.judge.items():
            out.setdefault(system, {}).update(per)
        return out

    def p_values(self) -> dict[tuple[str, str], float | None]:
        return {key: st.test.p_value for key, st in self.stats.items() if st.test is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "signature": self.signature,
            "alpha": self.alpha,
            "stats": [st.to_dict() for st in self.stats.values()],
            "judge": {s: dict(v) for s, v in self.judge.items()},
        }


# -- building the statistics of one metric -------------------------------------


@dataclass
class _Source:
    """How to get one system's statistics on a chosen set of items."""

    kind: str
    build: Callable[[str, np.ndarray], Any] | None  # (system, item indices) -> statistics
    scored: dict[str, np.ndarray]  # system -> indices of its scored items
    note: str = ""
    seeds: dict[str, tuple] | None = None  # system -> its seeds (seed statistics only)


def _uses_sacrebleu(metric: Any) -> bool:
    try:
        from evalkit.metrics.sacrebleu_metrics import BLEU, CHRF, TER
    except ImportError:  # pragma: no cover - the core always ships them
        return False
    return isinstance(metric, (BLEU, CHRF, TER))


def _corpus_source(comparison: Any, name: str) -> _Source | None:
    from evalkit.errors import EvalkitError
    from evalkit.metrics import registry

    try:
        cls, _ = registry.get_metric_class(name)
    except EvalkitError:  # a result built by hand, not by a registered metric
        return None
    if not (hasattr(cls, "item_statistics") and hasattr(cls, "value_from_statistics")):
        return None
    if comparison.references is None or not comparison.predictions:
        return None
    metric = registry.create_metric(name, **registry.split_options(name, dict(comparison.options)))
    scored: dict[str, np.ndarray] = {}
    rows: dict[str, np.ndarray] = {}
    for system in comparison.systems:
        preds = comparison.predictions[system]
        idx = np.array([i for i, p in enumerate(preds) if p is not None], dtype=np.int64)
        scored[system] = idx
        stats = comparison.results[(system, name)].item_statistics
        if stats is None or len(stats) != len(idx):  # a result not built by this metric class
            stats = metric.item_statistics(
                predictions=[preds[i] for i in idx], references=[comparison.references[i] for i in idx]
            )
        rows[system] = np.asarray(stats) if len(idx) else np.zeros((0, 1))
    position = {s: {int(item): k for k, item in enumerate(idx)} for s, idx in scored.items()}
    compatible = _uses_sacrebleu(metric)

    def from_sums(sums: Any) -> float:
        return metric.value_from_statistics([sums])

    def build(system: str, items: np.ndarray) -> SumStatistics:
        take = [position[system][int(i)] for i in items]
        return SumStatistics(rows[system][take], from_sums, sacrebleu_compatible=compatible)

    return _Source("corpus statistics", build, scored)


def _mean_source(comparison: Any, name: str) -> _Source:
    scored: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    for system in comparison.systems:
        result = comparison.results[(system, name)]
        per_item = result.per_item
        if len(per_item) != comparison.n_items or result.value is None:
            return _Source("none", None, {}, "no per-item scores: no interval")
        idx = np.array([i for i, v in enumerate(per_item) if v is not None], dtype=np.int64)
        values = np.array([per_item[i] for i in idx], dtype=np.float64)
        if len(values) and abs(values.mean() - result.value) > _MEAN_TOLERANCE * max(1.0, abs(result.value)):
            return _Source("none", None, {}, "the headline is not the mean of per-item scores: no interval")
        scored[system] = idx
        full = np.full(comparison.n_items, np.nan)
        full[idx] = values
        scores[system] = full

    def build(system: str, items: np.ndarray) -> MeanStatistics:
        return MeanStatistics(scores[system][items])

    return _Source("per-item mean", build, scored)


def _seed_source(comparison: Any, name: str) -> _Source | None:
    seeds: dict[str, tuple] = {}
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


def _source(comparison: Any, name: str) -> _Source:
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


def _check_settings(comparison: Any, baseline: str | None, method: str, n_resamples: Any, alpha: Any) -> None:
    if baseline is not None and baseline not in comparison.systems:
        raise ConfigError(
            f"baseline {baseline!r} is not one of the systems",
            hint=f"systems: {', '.join(comparison.systems)}",
        )
    if method not in METHODS:
        raise ConfigError(f"unknown paired test {method!r}", hint=f"choose one of: {', '.join(METHODS)}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ConfigError(f"the number of bootstrap resamples must be a positive integer, got {n_resamples!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha!r}")


def analyze(
    comparison: Any,
    *,
    baseline: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
    paired_test_method: str = "ar",
    n_trials: int | None = None,
    alpha: float = 0.05,
    judge: Mapping[str, Mapping[str, float | None]] | None = None,
    judge_items: Mapping[str, Mapping[str, Sequence[float | None]]] | None = None,
    judge_pairs: Sequence[Mapping[str, Any]] = (),
) -> Analysis:
    """Intervals for every result of ``comparison``; with ``baseline``, paired
    tests and difference intervals of every other system against it.

    ``paired_test_method`` is ``"ar"`` (approximate randomization, default;
    ``n_trials`` defaults to 10,000) or ``"bootstrap"`` (sacrebleu's paired
    bootstrap; ``n_trials`` defaults to ``n_resamples``). ``judge`` maps system
    -> judge metric -> value (e.g. from :func:`judge_metrics_from_pairs`);
    ``judge_items`` optionally gives per-item scores for their intervals;
    ``judge_pairs`` are the judge's pair records, kept for the HTML figures.
    """
    _check_settings(comparison, baseline, paired_test_method, n_resamples, alpha)
    trials = (
        n_trials
        if n_trials is not None
        else (n_resamples if paired_test_method == "bootstrap" else DEFAULT_TRIALS["ar"])
    )
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"the number of trials must be a positive integer, got {trials!r}")

    stats: dict[tuple[str, str], MetricStats] = {}
    for metric in comparison.metrics:
        source = _source(comparison, metric)
        for system in comparison.systems:
            stats[(system, metric)] = _one(
                comparison, source, system, metric, baseline, paired_test_method, n_resamples, trials, seed, alpha
            )

    judge_values = {s: dict(v) for s, v in (judge or {}).items()}
    for system, per in (judge_items or {}).items():
        for metric, items in per.items():
            values = np.array([v for v in items if v is not None], dtype=np.float64)
            if values.size:
                judge_values.setdefault(system, {})
                judge_values[system].setdefault(metric, float(values.mean()))
                interval = bootstrap_ci(values, n_resamples=n_resamples, seed=seed, alpha=alpha)
                stats[(system, metric)] = MetricStats(
                    system,
                    metric,
                    judge_values[system][metric],
                    interval,
                    "per-item mean",
                    n_excluded=len(items) - int(values.size),
                )
    return Analysis(
        systems=tuple(comparison.systems),
        metrics=tuple(comparison.metrics),
        baseline=baseline,
        method=paired_test_method,
        n_resamples=n_resamples,
        n_trials=trials,
        seed=seed,
        alpha=float(alpha),
        stats=stats,
        judge=judge_values,
        judge_pairs=tuple(judge_pairs),
    )


def _one(comparison, source, system, metric, baseline, method, n_resamples, trials, seed, alpha) -> MetricStats:
    result = comparison.results[(system, metric)]
    common = dict(
        system=system,
        metric=metric,
        value=result.value,
        higher_is_better=result.higher_is_better,
        scale=result.scale,
    )
    if source.build is None:
        return MetricStats(interval=None, kind=source.kind, note=source.note, **common)
    items = source.scored[system]
    interval = None
    note = source.note
    if len(items):
        interval = bootstrap_ci(source.build(system, items), n_resamples=n_resamples, seed=seed, alpha=alpha)
    else:
        note = "no scored item: no interval"
    if baseline is None or system == baseline:
        return MetricStats(interval=interval, kind=source.kind, note=note, **common)

    if source.seeds is not None and source.seeds[system] != source.seeds[baseline]:
        return MetricStats(
            interval=interval, kind=source.kind, note="different seeds than the baseline: no paired test", **common
        )
    paired = np.intersect1d(items, source.scored[baseline])
    union = np.union1d(items, source.scored[baseline])
    excluded = int(len(union) - len(paired)) if source.kind != "seeds" else 0
    if not len(paired):
        return MetricStats(
            interval=interval,
            kind=source.kind,
            n_excluded=excluded,
            note="no item scored in both this system and the baseline: no test",
            **common,
        )
    sys_stats, base_stats = source.build(system, paired), source.build(baseline, paired)
    test = paired_test(sys_stats, base_stats, method=method, n_resamples=trials, seed=seed)
    delta = difference_ci(sys_stats, base_stats, n_resamples=n_resamples, seed=seed, alpha=alpha)
    if excluded:
        note = (note + "; " if note else "") + (
            f"{excluded} item(s) unscored in this system or the baseline left out of the paired test"
        )
    return MetricStats(
        interval=interval,
        kind=source.kind,
        delta=delta,
        test=test,
        n_paired=int(len(paired)),
        n_excluded=excluded,
        note=note,
        **common,
    )


def judge_metrics_from_pairs(
    pairs: Sequence[Mapping[str, Any]], *, baseline: str | None
) -> dict[str, dict[str, float | None]]:
    """Judge metrics per system from the judge's pair records (``summary.json``
    ``pairs``: ``system_a``, ``system_b``, ``win_rate``,
    ``position_consistency``, ``first_position_rate``...).

    A system's ``win_rate`` is its win rate against ``baseline`` (read from
    either side of the pair); without a baseline, against its only opponent.

    >>> judge_metrics_from_pairs([{"system_a": "new", "system_b": "main", "win_rate": 0.4,
    ...                            "position_consistency": 0.7}], baseline="main")
    {'new': {'win_rate': 0.4, 'position_consistency': 0.7}}
    """
    opponents: dict[str, list[tuple[str, Mapping[str, Any], bool]]] = {}
    for pair in pairs:
        a, b = pair.get("system_a"), pair.get("system_b")
        if a is None or b is None:
            continue
        opponents.setdefault(a, []).append((b, pair, False))
        opponents.setdefault(b, []).append((a, pair, True))
    out: dict[str, dict[str, float | None]] = {}
    for system, against in opponents.items():
        if system == baseline:
            continue
        chosen = [x for x in against if x[0] == baseline] if baseline is not None else against
        if len(chosen) != 1:
            continue
        _, pair, flipped = chosen[0]
        values: dict[str, float | None] = {}
        for key in ("win_rate", "decisive_win_rate", "mean_p_win"):
            if key in pair:
                v = pair[key]
                values[key] = None if v is None else (1.0 - v if flipped else float(v))
        for key in ("position_consistency", "first_position_rate"):
            if key in pair:
                values[key] = None if pair[key] is None else float(pair[key])
        out[system] = values
    return out
