"""The --fail-if rule language: parsing (valid and invalid rules) and checks."""

from __future__ import annotations

import dataclasses

import pytest

from evalkit.errors import ConfigError
from evalkit.stats.gates import Gate, evaluate, failed, parse_rule, parse_rules


@pytest.mark.parametrize(
    "rule,metric,comparator,threshold,offset,alpha,system",
    [
        ("bleu < baseline - 0.5 (p<0.05)", "bleu", "<", None, -0.5, 0.05, None),
        ("bleu<baseline-0.5(p<0.05)", "bleu", "<", None, -0.5, 0.05, None),
        ("  bleu  <  baseline  -0.5  ", "bleu", "<", None, -0.5, None, None),
        ("ter > baseline + 1", "ter", ">", None, 1.0, None, None),
        ("ter >= baseline+.25", "ter", ">=", None, 0.25, None, None),
        ("chrf <= baseline", "chrf", "<=", None, 0.0, None, None),
        ("rougeL < 0.30", "rougeL", "<", 0.30, None, None, None),
        ("rougeLsum < 3e-1", "rougeLsum", "<", 0.30, None, None, None),
        ("win_rate < 0.45", "win_rate", "<", 0.45, None, None, None),
        ("position_consistency < 0.6", "position_consistency", "<", 0.6, None, None, None),
        ("system=gpt-4o-mini.v2: win_rate < 0.45", "win_rate", "<", 0.45, None, None, "gpt-4o-mini.v2"),
        ("system = new : bleu < baseline - 1 (p < .01)", "bleu", "<", None, -1.0, 0.01, "new"),
        ("my-plugin.metric > -2", "my-plugin.metric", ">", -2.0, None, None, None),
    ],
)
def test_valid_rules(rule, metric, comparator, threshold, offset, alpha, system):
    gate = parse_rule(rule)
    assert (gate.metric, gate.comparator, gate.threshold, gate.offset, gate.alpha, gate.system) == (
        metric,
        comparator,
        threshold,
        offset,
        alpha,
        system,
    )
    assert gate.rule == rule.strip()


@pytest.mark.parametrize(
    "rule,message",
    [
        ("", "empty gate rule"),
        ("   ", "empty gate rule"),
        ("bleu", "expected a comparator"),
        ("bleu 3", "expected a comparator (<, <=, >, >=), found '3'"),
        ("bleu == 3", "comparator '==' is not allowed"),
        ("bleu != 3", "comparator '!=' is not allowed"),
        ("bleu = 3", "comparator '=' is not allowed"),
        ("bleu ≤ 3", "write <= instead of '≤'"),
        ("< 3", "expected a metric name, found '<'"),
        ("baseline > bleu", "the metric comes first"),
        ("bleu <", "expected a number or 'baseline' after the comparator"),
        ("bleu < high", "expected a number or 'baseline'"),
        ("bleu < 45%", "percentages are not accepted"),
        ("bleu < 0.5.3", "'0.5.3' is not a number"),
        ("bleu < 3x", "'3x' is not a number"),
        ("bleu < baseline -", "expected a number after the sign, found the end of the rule"),
        ("bleu < baseline - -1", "one sign only"),
        ("bleu < baseline * 2", "unexpected character '*'"),
        ("bleu < 3 extra", "unexpected text after the rule"),
        ("bleu < 0.3 (p<0.05)", "needs a bound against the baseline"),
        ("bleu < baseline (p<2)", "between 0 and 1"),
        ("bleu < baseline (p<0)", "between 0 and 1"),
        ("bleu < baseline (p<0.05", "expected ')'"),
        ("bleu < baseline (q<0.05)", "expected 'p'"),
        ("bleu < baseline (p<=0.05)", "expected '<'"),
        ("system=: bleu < 1", "expected a system name"),
        ("system=new bleu < 1", "expected ':' after the system name"),
    ],
)
def test_invalid_rules_name_the_problem(rule, message):
    with pytest.raises(ConfigError) as excinfo:
        parse_rule(rule)
    text = str(excinfo.value)
    assert message in text
    assert "hint:" in text  # every message shows examples or the fix


def test_error_points_at_the_problem():
    with pytest.raises(ConfigError) as excinfo:
        parse_rule("bleu < baseline * 2")
    lines = str(excinfo.value).splitlines()
    rule_line, pointer = lines[1], lines[2]
    assert rule_line.strip() == "bleu < baseline * 2"
    assert rule_line[pointer.index("^")] == "*"


def test_parse_rules_accepts_one_string_or_a_list():
    assert parse_rules("bleu < 3") == [parse_rule("bleu < 3")]
    assert parse_rules(["bleu < 3", "chrf < 4"]) == [parse_rule("bleu < 3"), parse_rule("chrf < 4")]


VALUES = {
    "main": {"bleu": 31.2, "rougeL": 0.35, "ter": 50.0},
    "same": {"bleu": 31.2, "rougeL": 0.35, "ter": 50.0},
    "worse": {"bleu": 28.0, "rougeL": 0.25, "ter": 55.0},
    "noisy": {"bleu": 30.0, "rougeL": None, "ter": 49.0},
}
P = {("same", "bleu"): 1.0, ("worse", "bleu"): 0.001, ("noisy", "bleu"): 0.3}


def _check(rule, **kwargs):
    kwargs.setdefault("baseline", "main")
    kwargs.setdefault("p_values", P)
    outcomes = evaluate([parse_rule(rule)], values=VALUES, **kwargs)
    by_system = {o.system: o for o in outcomes}
    assert len(by_system) == len(outcomes), "one outcome per system"
    assert all(o.rule == rule for o in outcomes)
    return by_system


def test_significant_regression_fails_and_noise_does_not():
    out = _check("bleu < baseline - 0.5 (p<0.05)")
    assert set(out) == {"same", "worse", "noisy"}  # the baseline is not gated
    assert out["same"].passed
    assert not out["worse"].passed
    assert out["worse"].threshold == pytest.approx(30.7)
    assert out["worse"].observed == 28.0 and out["worse"].p_value == 0.001
    assert out["worse"].message.startswith("bleu of 'worse' = 28, bound < 30.7")
    assert out["worse"].message.endswith("p = 0.001 < 0.05: FAILED")
    # 30.0 is below 30.7, but p = 0.3: not significant, so it holds
    assert out["noisy"].passed and out["noisy"].p_value == 0.3
    assert out["noisy"].message.endswith("p = 0.3 >= 0.05: not significant, holds")
    assert out["same"].message.endswith("p = 1 >= 0.05: holds")


def test_without_significance_any_breach_fails():
    out = _check("bleu < baseline - 0.5")
    assert [out[s].passed for s in ("same", "worse", "noisy")] == [True, False, False]


def test_lower_is_better_metric():
    out = _check("ter > baseline + 1")
    assert [out[s].passed for s in ("same", "worse", "noisy")] == [True, False, True]


@pytest.mark.parametrize("comparator,expected", [("<", True), ("<=", False), (">", True), (">=", False)])
def test_equality_is_on_the_right_side_of_each_comparator(comparator, expected):
    out = _check(f"bleu {comparator} baseline")
    assert out["same"].passed is expected


def test_absolute_threshold_and_missing_value():
    out = _check("rougeL < 0.30")
    assert out["same"].passed and not out["worse"].passed
    assert not out["noisy"].passed and "no value" in out["noisy"].message
    assert (out["noisy"].observed, out["noisy"].threshold, out["noisy"].p_value) == (None, None, None)


def test_a_baseline_without_a_value_fails_a_baseline_bound():
    out = _check("rougeL < baseline - 0.1", baseline="noisy")
    assert [o.passed for o in out.values()] == [False, False, False]
    assert all("baseline 'noisy' has no value" in o.message for o in out.values())


def test_scope_limits_the_rule_to_one_system_even_the_baseline():
    out = _check("system=main: rougeL < 0.40")
    assert list(out) == ["main"] and not out["main"].passed


def test_no_baseline_gates_every_system():
    out = _check("rougeL < 0.30", baseline=None)
    assert list(out) == list(VALUES)


def test_missing_p_value_fails_only_when_breached():
    out = _check("ter > baseline + 1 (p<0.05)")  # no ter p-values given
    assert out["same"].passed and out["same"].p_value is None
    assert not out["worse"].passed and "significance cannot be checked" in out["worse"].message
    assert out["worse"].p_value is None


def test_judge_metrics_plug_in_as_values():
    values = {"main": {"bleu": 30.0}, "cand": {"bleu": 30.0, "win_rate": 0.40, "position_consistency": 0.7}}
    outcomes = evaluate(parse_rules(["win_rate < 0.45", "position_consistency < 0.6"]), values=values, baseline="main")
    assert [(o.system, o.passed) for o in outcomes] == [("cand", False), ("cand", True)]
    assert failed(outcomes) == [outcomes[0]]


@pytest.mark.parametrize(
    "rule,kwargs,message",
    [
        ("meteor < 3", {}, "no metric 'meteor' in this run"),
        ("bleu < baseline", {"baseline": None}, "compares with the baseline"),
        ("system=ghost: bleu < 3", {}, "no system 'ghost'"),
        ("bleu < 3", {"baseline": "ghost"}, "baseline 'ghost' is not one of the systems"),
    ],
)
def test_rules_that_cannot_apply_are_config_errors(rule, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        _check(rule, **kwargs)


def test_gate_is_frozen():
    gate = parse_rule("bleu < 3")
    assert isinstance(gate, Gate)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gate.metric = "chrf"
    assert gate.metric == "bleu"
