"""The lazy registry of metric names.

Built-in metrics are ``"module:Class"`` strings, imported only when used, with
fixed constructor arguments where one class serves several names (the ROUGE
types). Third-party metrics register through the ``evalkit.metrics``
entry-point group::

    [project.entry-points."evalkit.metrics"]
    my_metric = "my_package.metrics:MyMetric"
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint

from evalkit.errors import ConfigError, UnknownMetricError
from evalkit.metrics.base import Metric
from evalkit.options import validate_options

__all__ = ["GROUPS", "available", "create_metric", "expand", "get_metric_class", "split_options"]

ENTRY_POINT_GROUP = "evalkit.metrics"

# name -> (target, fixed constructor arguments)
_BUILTIN: dict[str, tuple[str, dict[str, object]]] = {
    "rouge1": ("evalkit.metrics.rouge:Rouge", {"rouge_type": "rouge1"}),
    "rouge2": ("evalkit.metrics.rouge:Rouge", {"rouge_type": "rouge2"}),
    "rougeL": ("evalkit.metrics.rouge:Rouge", {"rouge_type": "rougeL"}),
    "rougeLsum": ("evalkit.metrics.rouge:Rouge", {"rouge_type": "rougeLsum"}),
    "bleu": ("evalkit.metrics.sacrebleu_metrics:BLEU", {}),
    "chrf": ("evalkit.metrics.sacrebleu_metrics:CHRF", {}),
    "ter": ("evalkit.metrics.sacrebleu_metrics:TER", {}),
    "mauve": ("evalkit.metrics.mauve:Mauve", {}),
    "judge": ("evalkit.metrics.judge:JudgeScore", {}),
    "judge_pairwise": ("evalkit.metrics.judge:JudgePairwise", {}),
}

#: Names that stand for several metrics.
GROUPS: dict[str, tuple[str, ...]] = {
    "rouge": ("rouge1", "rouge2", "rougeL", "rougeLsum"),
}


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Every metric name: built-ins, groups and installed plugins."""
    return sorted(set(_BUILTIN) | set(GROUPS) | set(_entry_points()), key=str.lower)


def expand(names: Iterable[str]) -> list[str]:
    """Expand group names, keep order, drop repeats; unknown names raise.

    >>> expand(["bleu", "rouge", "rougeL"])
    ['bleu', 'rouge1', 'rouge2', 'rougeL', 'rougeLsum']
    """
    out: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        members = GROUPS.get(name, (name,))
        for member in members:
            _lookup(member)  # validate early, with the list of known names
            if member not in out:
                out.append(member)
    if not out:
        raise ConfigError("no metric given", hint=f"choose from: {', '.join(available())}")
    return out


def _lookup(name: str) -> tuple[str | EntryPoint, dict[str, object]]:
    if name in _BUILTIN:
        return _BUILTIN[name]
    eps = _entry_points()
    if name in eps:
        return eps[name], {}
    raise UnknownMetricError(f"unknown metric {name!r}", hint=f"known metrics: {', '.join(available())}")


def get_metric_class(name: str) -> tuple[type[Metric], dict[str, object]]:
    """The class behind ``name`` and the fixed arguments it is built with."""
    target, fixed = _lookup(name)
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
    else:  # an entry point
        try:
            cls = target.load()
        except Exception as exc:  # a broken plugin must not look like our bug
            raise ConfigError(f"metric plugin {name!r} ({target.value}) failed to load: {exc}") from exc
    return cls, dict(fixed)


def split_options(name: str, options: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """Options for metric ``name`` from a ``{key: {option: value}}`` mapping,
    where ``key`` is the metric or a group it belongs to (``rouge.use_stemmer``
    applies to all ROUGE types; the metric's own key wins)."""
    merged: dict[str, object] = {}
    for group, members in GROUPS.items():
        if name in members and group in options:
            merged.update(options[group])
    merged.update(options.get(name, {}))
    return merged


def create_metric(name: str, **options: object) -> Metric:
    """Build metric ``name`` with ``options`` checked against its declared
    options (strings from ``--set`` or a config file are converted)."""
    cls, fixed = get_metric_class(name)
    clash = set(options) & set(fixed)
    if clash:
        raise ConfigError(f"option {sorted(clash)[0]!r} is fixed by the metric name {name!r}")
    values = validate_options(name, cls, {**fixed, **options})
    metric: Metric = cls(**values)
    return metric
