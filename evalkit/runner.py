"""The pure runner: inputs in, typed results out. No printing, no exits.

>>> import evalkit
>>> c = evalkit.compare({"a": ["the cat sat on the mat"], "b": ["a dog ran"]},
...                     references=["the cat sat on the mat"], metrics=["bleu"])
>>> [round(c.result(s, "bleu").value, 1) for s in c.systems]
[100.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evalkit.errors import ConfigError, InputError
from evalkit.metrics import registry
from evalkit.metrics.base import ReferencesInput, normalize_references
from evalkit.result import MetricResult

__all__ = ["Comparison", "available_metrics", "compare", "score", "score_many"]

Options = Mapping[str, Mapping[str, Any]]


def available_metrics() -> list[str]:
    """Every metric name evalkit knows, plugins included."""
    return registry.available()


def _as_list(metrics: str | Sequence[str]) -> list[str]:
    if isinstance(metrics, str):
        return [m for m in metrics.split(",")]
    return list(metrics)


def _build(names: list[str], options: Options) -> list[Any]:
    known = set(names) | {g for g, members in registry.GROUPS.items() if set(members) & set(names)}
    for key in options:
        if key not in known:
            raise ConfigError(
                f"options were given for {key!r}, which is not among the metrics run ({', '.join(names)})"
            )
    return [registry.create_metric(n, **registry.split_options(n, dict(options))) for n in names]


def _score_all(metrics: list[Any], predictions: Sequence[str | None], references: Any) -> list[MetricResult]:
    """Score every metric; metrics sharing a ``joint_key`` are scored in one pass."""
    results: list[MetricResult | None] = [None] * len(metrics)
    groups: dict[Any, list[int]] = {}
    for i, metric in enumerate(metrics):
        key = metric.joint_key() if hasattr(metric, "joint_key") else ("solo", i)
        groups.setdefault(key, []).append(i)
    for indices in groups.values():
        members = [metrics[i] for i in indices]
        if len(members) > 1:
            joint = type(members[0]).score_jointly(members, predictions=predictions, references=references)
        else:
            joint = [members[0].score(predictions=predictions, references=references)]
        for i, result in zip(indices, joint):
            if not isinstance(result, MetricResult):
                raise ConfigError(
                    f"metric {getattr(metrics[i], 'name', '?')!r} returned a "
                    f"{type(result).__name__}, not an evalkit MetricResult"
                )
            results[i] = result
    return results  # type: ignore[return-value]


def score(
    metric: str,
    *,
    predictions: Sequence[str | None],
    references: ReferencesInput | None = None,
    **options: Any,
) -> MetricResult:
    """Score ``predictions`` with one metric.

    ``references`` has one entry per prediction: a string, or a list of
    strings for several references. Options are the metric's own
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
    return score_many(names, predictions=predictions, references=references, options={metric: options})[names[0]]


def score_many(
    metrics: str | Sequence[str],
    *,
    predictions: Sequence[str | None],
    references: ReferencesInput | None = None,
    options: Options | None = None,
) -> dict[str, MetricResult]:
    """Score with several metrics (groups expanded); ``options`` maps a metric
    or group name to its options: ``{"rouge": {"use_stemmer": True}}``.

    >>> sorted(score_many("rouge", predictions=["a"], references=["a"]))
    ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']
    """
    names = registry.expand(_as_list(metrics))
    built = _build(names, options or {})
    return dict(zip(names, _score_all(built, predictions, references)))


@dataclass(frozen=True)
class Comparison:
    """Every system scored with every metric on the same items.

    ``results[(system, metric)]`` is a :class:`MetricResult`. The inputs are
    kept so that statistics (bootstrap, paired tests) can resample them.
    """

    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    results: Mapping[tuple[str, str], MetricResult]
    n_items: int
    predictions: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)
    references: tuple[tuple[str, ...], ...] | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))

    def result(self, system: str, metric: str) -> MetricResult:
        return self.results[(system, metric)]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per (system, metric), in table order."""
        return [{"system": s, **self.results[(s, m)].to_dict()} for s in self.systems for m in self.metrics]

    def to_pandas(self) -> Any:
        """Long form: one row per system and metric (system, metric, value,
        n_scored, n_unscored, signature)."""
        import pandas as pd

        rows = [{k: v for k, v in record.items() if k != "details"} for record in self.to_records()]
        return pd.DataFrame(rows, columns=["system", "metric", "value", "n_scored", "n_unscored", "signature"])

    def items_to_pandas(self) -> Any:
        """One row per item, system and metric (item, system, metric, value);
        ``value`` is NaN for an unscored item. Metrics without per-item scores
        (MAUVE) have no rows."""
        import pandas as pd

        return pd.DataFrame(self.item_rows(), columns=["item", "system", "metric", "value"])

    def item_rows(self) -> list[dict[str, Any]]:
        rows = []
        for s in self.systems:
            for m in self.metrics:
                for i, v in enumerate(self.results[(s, m)].per_item):
                    rows.append({"item": i, "system": s, "metric": m, "value": v})
        return rows


def compare(
    systems: Mapping[str, Sequence[str | None]],
    *,
    references: ReferencesInput | None = None,
    metrics: str | Sequence[str],
    options: Options | None = None,
) -> Comparison:
    """Score every system with every metric.

    >>> c = compare({"x": ["a b"]}, references=["a b"], metrics="rouge1,chrf")
    >>> c.metrics
    ('rouge1', 'chrf')
    """
    if not systems:
        raise ConfigError("no system to compare", hint="give at least one system")
    names = registry.expand(_as_list(metrics))
    built = _build(names, options or {})
    lengths = {name: len(preds) for name, preds in systems.items()}
    n_items = next(iter(lengths.values()))
    for name, n in lengths.items():
        if n != n_items:
            raise InputError(
                "systems have different numbers of items: " + ", ".join(f"{k}={v}" for k, v in lengths.items())
            )
    refs = None
    if references is not None:
        refs = tuple(normalize_references(references, n_items, metric=names[0]))
    results: dict[tuple[str, str], MetricResult] = {}
    for system, preds in systems.items():
        for metric_name, result in zip(names, _score_all(built, preds, refs)):
            results[(system, metric_name)] = result
    return Comparison(
        systems=tuple(systems),
        metrics=tuple(names),
        results=results,
        n_items=n_items,
        predictions={k: tuple(v) for k, v in systems.items()},
        references=refs,
        options={k: dict(v) for k, v in (options or {}).items()},
    )
