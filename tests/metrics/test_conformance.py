"""One conformance test over every registered metric: the protocol, the
result's shape, unscored items and option errors."""

from __future__ import annotations

import dataclasses

import pytest

import evalkit
from evalkit.metrics import registry
from evalkit.metrics.base import CAPABILITIES, capabilities
from evalkit.options import option_names
from evalkit.result import MetricResult

# small but varied; MAUVE needs a few texts on each side
PREDICTIONS = [
    "the council voted to repair the old bridge",
    None,
    "",
    "researchers found that temperatures rose by two degrees",
    "the team won the final match of the season",
    "prices fell sharply as investors sold shares",
    "doctors treated forty patients at the new hospital",
    "the school opened a library for the city",
] * 3
REFERENCES = [
    "the city council voted to repair the bridge",
    "a reference for a missing prediction",
    "something",
    ["temperatures rose two degrees, researchers found", "a second reference"],
    "the national team won the final",
    "market prices fell sharply",
    "the hospital treated forty patients",
    "a new library opened at the school",
] * 3

# options that keep the slow metrics quick without changing what is checked
FAST = {"mauve": {"seeds": 1, "num_buckets": 2, "kmeans_num_redo": 1}}

NAMES = [n for n in registry.available() if n not in registry.GROUPS]


def test_every_builtin_is_registered():
    assert {"rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "chrf", "ter", "mauve"} <= set(NAMES)


# The judge metrics need prompts and a judge server: tests/judge/test_judge_metric.py
# scores them against the scripted server and the local judge.
PLAIN = [n for n in NAMES if not capabilities(registry.get_metric_class(n)[0]) & {"prompts", "paired"}]


def test_the_judge_metrics_are_the_only_ones_set_aside():
    assert sorted(set(NAMES) - set(PLAIN)) == ["judge", "judge_pairwise"]


@pytest.mark.parametrize("name", PLAIN)
def test_metric_conforms(name):
    cls, fixed = registry.get_metric_class(name)
    metric = registry.create_metric(name, **FAST.get(name, {}))
    assert isinstance(metric, evalkit.metrics.base.Metric)
    assert isinstance(cls.needs_references, bool)
    result = metric.score(predictions=PREDICTIONS, references=REFERENCES)
    assert isinstance(result, MetricResult)
    assert result.metric == name
    assert result.signature
    n = len(PREDICTIONS)
    assert result.n_scored + result.n_unscored == n
    # a missing prediction is unscored with a reason, never a zero
    assert result.n_unscored >= 3 and all(i in result.unscored for i in (1, 9, 17))
    if result.per_item:
        assert len(result.per_item) == n
        assert all(result.per_item[i] is None for i in result.unscored)
        assert all(isinstance(v, float) for i, v in enumerate(result.per_item) if i not in result.unscored)
    assert isinstance(result.value, float)
    # frozen, and the JSON record has the documented keys
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.0  # type: ignore[misc]
    assert set(result.to_dict()) == {"metric", "value", "details", "n_scored", "n_unscored", "signature"}


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_a_config_error(name):
    with pytest.raises(evalkit.ConfigError, match="unknown option 'no_such_option'"):
        registry.create_metric(name, no_such_option=1)


@pytest.mark.parametrize("name", NAMES)
def test_options_are_keyword_only_and_typed(name):
    cls, fixed = registry.get_metric_class(name)
    names = [k for k in option_names(cls) if k not in fixed]
    assert names, f"{name} declares no option"
    if getattr(cls, "options_model", None) is not None:
        return  # options declared by a settings class, validated by it
    import inspect

    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name != "self":
            assert param.kind is param.KEYWORD_ONLY, (name, param.name)


#: The methods each capability promises (evalkit.metrics.base's sub-protocols).
CAPABILITY_METHODS = {
    "corpus_statistics": ("item_statistics", "value_from_statistics"),
    "joint_scoring": ("joint_key", "score_jointly"),
    "prompts": ("score_with_prompts",),
    "paired": ("score_pair",),
    "partitioned": ("merge_parts",),
}


def test_capability_table_covers_every_capability():
    assert set(CAPABILITY_METHODS) == set(CAPABILITIES)


@pytest.mark.parametrize("name", NAMES)
def test_capabilities_are_declared_exactly(name):
    """A metric declares a capability if and only if it implements it: a
    method nobody declared is a hidden contract."""
    cls, _ = registry.get_metric_class(name)
    declared = capabilities(cls)
    assert declared <= set(CAPABILITIES), declared
    for capability, methods in CAPABILITY_METHODS.items():
        implemented = all(callable(getattr(cls, m, None)) for m in methods)
        assert implemented == (capability in declared), (name, capability)
