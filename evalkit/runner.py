"""The pure runner: inputs in, typed results out. No printing, no exits.

>>> import evalkit
>>> c = evalkit.compare({"a": ["the cat sat on the mat"], "b": ["a dog ran"]},
...                     references=["the cat sat on the mat"], metrics=["bleu"])
>>> [round(c.result(s, "bleu").value, 1) for s in c.systems]
[100.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

from evalkit.errors import ConfigError, InputError
from evalkit.metrics import registry
from evalkit.metrics.base import (
    JointMetric,
    Metric,
    PairedMetric,
    PromptedMetric,
    ReferencesInput,
    has_capability,
    normalize_references,
)
from evalkit.result import MetricResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Comparison", "available_metrics", "compare", "score", "score_many"]

Options = Mapping[str, Mapping[str, object]]
Predictions = Sequence[str | None]


def available_metrics() -> list[str]:
    """Every metric name evalkit knows, plugins included."""
    return registry.available()


def _as_list(metrics: str | Sequence[str]) -> list[str]:
    if isinstance(metrics, str):
        return list(metrics.split(","))
    return list(metrics)


def build_metrics(names: Sequence[str], options: Options) -> list[Metric]:
    """Metric objects for ``names`` (groups already expanded) with their options."""
    known = set(names) | {g for g, members in registry.GROUPS.items() if set(members) & set(names)}
    for key in options:
        if key not in known:
            raise ConfigError(
                f"options were given for {key!r}, which is not among the metrics run ({', '.join(names)})"
            )
    return [registry.create_metric(n, **registry.split_options(n, options)) for n in names]


@dataclass(frozen=True)
class _Inputs:
    """What one system's scoring sees besides its predictions."""

    references: ReferencesInput | None
    prompts: Predictions | None = None
    baseline: Predictions | None = None
    system: str = "system"
    baseline_name: str | None = None


def _check(result: object, metric: Metric) -> MetricResult:
    if not isinstance(result, MetricResult):
        raise ConfigError(
            f"metric {getattr(metric, 'name', '?')!r} returned a {type(result).__name__}, not an evalkit MetricResult"
        )
    return result


def _baseline_result(metric: Metric, baseline: str) -> MetricResult:
    """A paired metric's row for the baseline itself: compared with nothing."""
    return MetricResult(
        metric=metric.name, value=None, details={"baseline": baseline}, n_scored=0, n_unscored=0, signature=""
    )


def _score_one(metric: Metric, predictions: Predictions, inputs: _Inputs) -> MetricResult:
    if has_capability(metric, "paired"):
        if inputs.baseline is None or inputs.baseline_name is None:
            raise ConfigError(
                f"metric {metric.name!r} compares each system with a baseline, but none is named",
                hint='add --baseline NAME (or baseline = "NAME" in [run])',
            )
        if inputs.system == inputs.baseline_name:
            return _baseline_result(metric, inputs.baseline_name)
        return cast(PairedMetric, metric).score_pair(
            predictions=predictions,
            baseline=inputs.baseline,
            prompts=inputs.prompts,
            references=inputs.references,
            system=inputs.system,
            baseline_name=inputs.baseline_name,
        )
    if has_capability(metric, "prompts"):
        if inputs.prompts is None:
            raise ConfigError(
                f"metric {metric.name!r} needs the prompts", hint='give --prompts FILE (or prompts = "FILE")'
            )
        return cast(PromptedMetric, metric).score_with_prompts(
            predictions=predictions, prompts=inputs.prompts, references=inputs.references
        )
    return metric.score(predictions=predictions, references=inputs.references)


def _score_all(metrics: Sequence[Metric], predictions: Predictions, inputs: _Inputs) -> list[MetricResult]:
    """Score every metric; metrics that declare joint scoring and share a
    ``joint_key`` are scored in one pass."""
    results: dict[int, MetricResult] = {}
    groups: dict[object, list[int]] = {}
    for i, metric in enumerate(metrics):
        key = cast(JointMetric, metric).joint_key() if has_capability(metric, "joint_scoring") else ("solo", i)
        groups.setdefault(key, []).append(i)
    for indices in groups.values():
        members = [metrics[i] for i in indices]
        if len(members) > 1:
            joint = type(cast(JointMetric, members[0])).score_jointly(
                [cast(JointMetric, m) for m in members], predictions=predictions, references=inputs.references
            )
        else:
            joint = [_score_one(members[0], predictions, inputs)]
        for i, result in zip(indices, joint):
            results[i] = _check(result, metrics[i])
    return [results[i] for i in range(len(metrics))]


def score(
    metric: str,
    *,
    predictions: Predictions,
    references: ReferencesInput | None = None,
    prompts: Predictions | None = None,
    **options: Any,
) -> MetricResult:
    """Score ``predictions`` with one metric.

    ``references`` has one entry per prediction: a string, or a list of
    strings for several references. ``prompts`` are needed by metrics that
    judge an answer to its question (``judge``). Options are the metric's own
    (``use_stemmer=True``, ``tokenize="intl"``...). A group name such as
    ``rouge`` stands for several metrics: use :func:`score_many` for it.

    >>> round(score("rouge1", predictions=["a b"], references=["a b c"]).value, 3)
    0.8
    """
    names = registry.expand([metric])
    if len(names) != 1:
        raise ConfigError(
            f"{metric!r} stands for several metrics ({', '.join(names)})",
            hint="use evalkit.score_many(...) or name one of them",
        )
    results = score_many(
        names, predictions=predictions, references=references, prompts=prompts, options={metric: options}
    )
    return results[names[0]]


def score_many(
    metrics: str | Sequence[str],
    *,
    predictions: Predictions,
    references: ReferencesInput | None = None,
    prompts: Predictions | None = None,
    options: Options | None = None,
) -> dict[str, MetricResult]:
    """Score with several metrics (groups expanded); ``options`` maps a metric
    or group name to its options: ``{"rouge": {"use_stemmer": True}}``.

    >>> sorted(score_many("rouge", predictions=["a"], references=["a"]))
    ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']
    """
    names = registry.expand(_as_list(metrics))
    built = build_metrics(names, options or {})
    return dict(zip(names, _score_all(built, predictions, _Inputs(references, prompts))))


@dataclass(frozen=True)
class Comparison:
    """Every system scored with every metric on the same items.

    ``results[(system, metric)]`` is a :class:`MetricResult`. The inputs and
    the metric objects are kept so that statistics (bootstrap, paired tests)
    resample what scoring produced, without building the metrics again.
    """

    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    results: Mapping[tuple[str, str], MetricResult]
    n_items: int
    predictions: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)
    references: tuple[tuple[str, ...], ...] | None = None
    options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    prompts: tuple[str | None, ...] | None = None
    baseline: str | None = None
    metric_objects: Mapping[str, Metric] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))

    def result(self, system: str, metric: str) -> MetricResult:
        return self.results[(system, metric)]

    def to_records(self) -> list[dict[str, object]]:
        """One JSON-ready dict per (system, metric), in table order."""
        return [{"system": s, **self.results[(s, m)].to_dict()} for s in self.systems for m in self.metrics]

    def to_pandas(self) -> pd.DataFrame:
        """Long form: one row per system and metric (system, metric, value,
        n_scored, n_unscored, signature)."""
        import pandas as pd

        rows = [{k: v for k, v in record.items() if k != "details"} for record in self.to_records()]
        return pd.DataFrame(rows, columns=["system", "metric", "value", "n_scored", "n_unscored", "signature"])

    def items_to_pandas(self) -> pd.DataFrame:
        """One row per item, system and metric (item, system, metric, value);
        ``value`` is NaN for an unscored item. Metrics without per-item scores
        (MAUVE) have no rows."""
        import pandas as pd

        return pd.DataFrame(self.item_rows(), columns=["item", "system", "metric", "value"])

    def item_rows(self) -> list[dict[str, object]]:
        """One dict per item, system and metric (see :meth:`iter_item_rows`)."""
        return [{"item": i, "system": s, "metric": m, "value": v} for i, s, m, v in self.iter_item_rows()]

    def iter_item_rows(self) -> Iterator[tuple[int, str, str, float | None]]:
        """(item, system, metric, value) one at a time, in table order:
        nothing of the size of all rows is built."""
        for s in self.systems:
            for m in self.metrics:
                for i, v in enumerate(self.results[(s, m)].per_item):
                    yield i, s, m, v


def _item_count(systems: Mapping[str, Predictions]) -> int:
    lengths = {name: len(preds) for name, preds in systems.items()}
    n_items = next(iter(lengths.values()))
    if any(n != n_items for n in lengths.values()):
        raise InputError(
            "systems have different numbers of items: " + ", ".join(f"{k}={v}" for k, v in lengths.items())
        )
    return n_items


def compare(
    systems: Mapping[str, Predictions] | pd.DataFrame | Any,
    *,
    references: ReferencesInput | str | None = None,
    metrics: str | Sequence[str],
    options: Options | None = None,
    prompts: Predictions | str | None = None,
    baseline: str | None = None,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
    partition_size: int = 50_000,
) -> Comparison:
    """Score every system with every metric.

    ``baseline`` names the system that paired metrics (``judge_pairwise``)
    compare the others with. ``systems`` may be a pandas or Dask DataFrame:
    then ``references`` (and ``prompts``) name its columns, and every other
    column is a system. ``engine="dask"`` scores partitions of
    ``partition_size`` items on the Dask cluster at ``scheduler`` (default: a
    LocalCluster), with the numbers one process gives (docs/scale.md).

    >>> c = compare({"x": ["a b"]}, references=["a b"], metrics="rouge1,chrf")
    >>> c.metrics
    ('rouge1', 'chrf')
    """
    from evalkit.frames import frame_lists, is_frame

    if engine == "dask":
        if prompts is not None:
            raise ConfigError(
                "engine='dask' takes no prompts: the judge metrics that need them run with engine='local'"
            )
        if isinstance(partition_size, bool) or not isinstance(partition_size, int) or partition_size < 1:
            raise ConfigError(f"partition_size must be a positive integer, not {partition_size!r}")
        return _compare_on_dask(systems, references, metrics, options, baseline, scheduler, partition_size)
    if is_frame(systems):
        systems, references, prompts = frame_lists(
            systems, references=cast("str | None", references), prompts=cast("str | None", prompts)
        )
    return _compare_lists(systems, references, metrics, options, prompts, baseline)


def _compare_on_dask(
    systems: Any,
    references: Any,
    metrics: str | Sequence[str],
    options: Options | None,
    baseline: str | None,
    scheduler: str | None,
    partition_size: int,
) -> Comparison:
    from evalkit.dask_engine import DaskSetup, compare_frame
    from evalkit.frames import is_frame

    setup = DaskSetup(scheduler, partition_size, options or {}, baseline)
    if not is_frame(systems):
        import pandas as pd

        n_items = _item_count(systems) if systems else 0
        refs = normalize_references(references, n_items, metric="references") if references is not None else None
        columns = {str(k): list(v) for k, v in systems.items()}
        if "\0references" in columns:
            raise ConfigError("a system may not be named '\\0references'")
        systems = pd.DataFrame({**columns, **({"\0references": refs} if refs is not None else {})})
        references = "\0references" if refs is not None else None
    return compare_frame(systems, references=references, metrics=_as_list(metrics), setup=setup)


def _compare_lists(
    systems: Mapping[str, Predictions],
    references: ReferencesInput | None,
    metrics: str | Sequence[str],
    options: Options | None,
    prompts: Predictions | None,
    baseline: str | None,
) -> Comparison:
    if not systems:
        raise ConfigError("no system to compare", hint="give at least one system")
    if baseline is not None and baseline not in systems:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems", hint=f"systems: {', '.join(systems)}")
    names = registry.expand(_as_list(metrics))
    built = build_metrics(names, options or {})
    n_items = _item_count(systems)
    refs = tuple(normalize_references(references, n_items, metric=names[0])) if references is not None else None
    if prompts is not None and len(prompts) != n_items:
        raise InputError(f"{len(prompts)} prompts but {n_items} items: give one prompt per item, in the same order")
    results: dict[tuple[str, str], MetricResult] = {}
    for system, preds in systems.items():
        inputs = _Inputs(refs, prompts, systems[baseline] if baseline else None, system, baseline)
        for metric_name, result in zip(names, _score_all(built, preds, inputs)):
            results[(system, metric_name)] = result
    return Comparison(
        systems=tuple(systems),
        metrics=tuple(names),
        results=results,
        n_items=n_items,
        predictions={k: tuple(v) for k, v in systems.items()},
        references=refs,
        options={k: dict(v) for k, v in (options or {}).items()},
        prompts=tuple(prompts) if prompts is not None else None,
        baseline=baseline,
        metric_objects=dict(zip(names, built)),
    )
