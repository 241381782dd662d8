"""Regression gates: ``--fail-if RULE`` rules, parsed and checked.

A rule states when the run **fails**. Grammar (whitespace is free)::

    rule         := [scope ":"] metric comparator bound [significance]
    scope        := "system" "=" NAME
    metric       := NAME                  a metric id: bleu, rougeL, chrf, ter,
                                          mauve, win_rate, position_consistency,
                                          agreement (the judge against human labels)
    comparator   := "<" | "<=" | ">" | ">="
    bound        := NUMBER
                  | "baseline" [("+" | "-") NUMBER]
    significance := "(" "p" "<" NUMBER ")"
    NAME         := letters, digits, "_", "-", "."
    NUMBER       := a decimal number (12, 0.30, -1.5, 1e-3)

Examples::

    bleu < baseline - 0.5 (p<0.05)     fail when BLEU drops more than 0.5 below
                                       the baseline AND the drop is significant
    rougeL < 0.30                      fail when ROUGE-L is under 0.30
    ter > baseline + 1                 TER is lower-is-better: fail when it rises
    system=candidate: win_rate < 0.45  only for the system named "candidate"

Numbers are on the metric's own scale, as printed (BLEU 0-100, ROUGE 0-1).
Without a scope a rule applies to every system except the baseline (the
baseline is what the others are held to); with ``system=NAME:`` it applies to
that system only, baseline included. ``(p<alpha)`` needs a ``baseline`` bound:
the p-value is that of the paired test of the system against the baseline
(H0: no difference). A gate whose value is missing (no item scored) or whose
p-value is missing fails: a gate that cannot be checked does not pass.

>>> gate = parse_rule("bleu < baseline - 0.5 (p<0.05)")
>>> (gate.metric, gate.comparator, gate.offset, gate.alpha)
('bleu', '<', -0.5, 0.05)
>>> [o.passed for o in evaluate([gate], values={"main": {"bleu": 31.2}, "new": {"bleu": 30.0}},
...                              baseline="main", p_values={("new", "bleu"): 0.001})]
[False]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from evalkit.errors import ConfigError
from evalkit.formatting import format_compact

__all__ = ["Gate", "GateOutcome", "evaluate", "failed", "parse_rule", "parse_rules"]

_EXAMPLES = 'for example: "bleu < baseline - 0.5 (p<0.05)", "rougeL < 0.30", "system=new: win_rate < 0.45"'

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z0-9_.\-])
      | (?P<cmp><=|>=|<|>|==|!=|=<|=>|=)
      | (?P<punct>[():+\-%])
      | (?P<baseline>baseline)(?=[\s+\-(]|$)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""",
    re.VERBOSE,
)
_COMPARATORS = {"<", "<=", ">", ">="}


@dataclass(frozen=True)
class Gate:
    """One parsed rule. ``threshold`` is set for a number bound; ``offset`` for
    a ``baseline ± offset`` bound (``offset`` 0 for plain ``baseline``)."""

    rule: str
    metric: str
    comparator: str
    threshold: float | None = None
    offset: float | None = None
    alpha: float | None = None
    system: str | None = None

    @property
    def against_baseline(self) -> bool:
        return self.offset is not None


@dataclass(frozen=True)
class GateOutcome:
    """The check of one gate on one system."""

    rule: str
    system: str
    passed: bool
    observed: float | None
    threshold: float | None
    p_value: float | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Tokens:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        text = rule.rstrip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                pos += len(text[pos:]) - len(text[pos:].lstrip())
                char = text[pos]
                if char.isdigit() or char == ".":
                    found = re.match(r"[0-9A-Za-z_.]+", text[pos:])
                    bad = found.group(0) if found else char
                    self.fail(f"{bad!r} is not a number", pos)
                if char in "≤≥":
                    self.fail(f"write {'<=' if char == '≤' else '>='} instead of {char!r}", pos)
                self.fail(f"unexpected character {char!r}", pos)
            kind = match.lastgroup or ""
            self.items.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.index = 0

    def fail(self, what: str, pos: int | None = None) -> NoReturn:
        if pos is None:
            pos = self.items[self.index][2] if self.index < len(self.items) else len(self.rule.rstrip())
        pointer = f"\n    {self.rule}\n    {' ' * pos}^"
        raise ConfigError(f"bad gate rule {self.rule!r}: {what}{pointer}", hint=_EXAMPLES)

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def take(self, kind: str | None = None, value: str | None = None, expected: str = "") -> str:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            found = "the end of the rule" if token is None else repr(token[1])
            self.fail(f"expected {expected or value or kind}, found {found}")
        self.index += 1
        return token[1]

    def at_signed_number(self) -> bool:
        token = self.peek()
        return token is not None and token[0] == "number" and token[1][:1] in "+-"

    def at(self, kind: str, value: str | None = None) -> bool:
        token = self.peek()
        return token is not None and token[0] == kind and (value is None or token[1] == value)


def _number(tokens: _Tokens, what: str) -> float:
    # "0.5" after "-" arrives as a number token of its own; a sign glued to it
    # ("baseline -0.5") is accepted too.
    text = tokens.take("number", expected=what)
    value = float(text)
    if tokens.at("punct", "%"):
        tokens.fail("percentages are not accepted: write the value on the metric's own scale (0.45, not 45%)")
    if not math.isfinite(value):
        tokens.fail(f"{text} is not a finite number")
    return value


def _scope(tokens: _Tokens) -> str | None:
    """``system=NAME:`` at the start of a rule, if any."""
    if not (tokens.at("name", "system") and len(tokens.items) > 1 and tokens.items[1][1] == "="):
        return None
    tokens.take("name")
    tokens.take("cmp", "=")
    system = tokens.take("name", expected="a system name after 'system='")
    tokens.take("punct", ":", expected="':' after the system name")
    return system


def _bound_tokens(tokens: _Tokens) -> tuple[float | None, float | None]:
    """``(threshold, offset)``: a number, or ``baseline [± number]``."""
    if tokens.at("number"):
        return _number(tokens, "a number"), None
    if not tokens.at("baseline"):
        tokens.fail("expected a number or 'baseline' after the comparator")
    tokens.take("baseline")
    if tokens.at("punct", "+") or tokens.at("punct", "-"):
        sign = -1.0 if tokens.take("punct") == "-" else 1.0
        if tokens.at_signed_number():
            tokens.fail("one sign only")
        return None, sign * _number(tokens, "a number after the sign")
    if tokens.at_signed_number():
        return None, _number(tokens, "a number")
    return None, 0.0


def _significance(tokens: _Tokens, rule: str, offset: float | None) -> float | None:
    """``(p<ALPHA)`` at the end of a rule, if any."""
    if not tokens.at("punct", "("):
        return None
    tokens.take("punct")
    tokens.take("name", "p", expected="'p' in '(p<0.05)'")
    tokens.take("cmp", "<", expected="'<' in '(p<0.05)'")
    alpha = _number(tokens, "a significance level such as 0.05")
    if not 0 < alpha < 1:
        tokens.fail(f"the significance level must be between 0 and 1, got {alpha:g}", tokens.items[tokens.index - 1][2])
    tokens.take("punct", ")", expected="')'")
    if offset is None:
        raise ConfigError(
            f"bad gate rule {rule!r}: (p<{alpha:g}) needs a bound against the baseline",
            hint='write e.g. "bleu < baseline - 0.5 (p<0.05)"; an absolute threshold has no p-value',
        )
    return alpha


def parse_rule(rule: str) -> Gate:
    """Parse one ``--fail-if`` rule; raise :class:`ConfigError` naming the
    position of the problem.

    >>> gate = parse_rule("system=new: rougeL < 0.3")
    >>> (gate.system, gate.metric, gate.comparator, gate.threshold, gate.offset, gate.alpha)
    ('new', 'rougeL', '<', 0.3, None, None)
    """
    if not isinstance(rule, str) or not rule.strip():
        raise ConfigError("empty gate rule", hint=_EXAMPLES)
    tokens = _Tokens(rule)
    system = _scope(tokens)
    if tokens.at("baseline"):
        tokens.fail("the metric comes first: write 'bleu < baseline - 0.5'")
    metric = tokens.take("name", expected="a metric name")
    comparator = tokens.take("cmp", expected="a comparator (<, <=, >, >=)")
    if comparator not in _COMPARATORS:
        tokens.fail(f"comparator {comparator!r} is not allowed: use <, <=, > or >=", tokens.items[tokens.index - 1][2])
    threshold, offset = _bound_tokens(tokens)
    alpha = _significance(tokens, rule, offset)
    if tokens.peek() is not None:
        tokens.fail("unexpected text after the rule")
    return Gate(rule.strip(), metric, comparator, threshold, offset, alpha, system)


def parse_rules(rules: Iterable[str]) -> list[Gate]:
    """Parse every rule (from ``--fail-if`` or a config's ``fail_if`` list)."""
    if isinstance(rules, str):
        rules = [rules]
    return [parse_rule(r) for r in rules]


def _holds(observed: float, comparator: str, bound: float) -> bool:
    return {
        "<": observed < bound,
        "<=": observed <= bound,
        ">": observed > bound,
        ">=": observed >= bound,
    }[comparator]


Values = Mapping[str, Mapping[str, float | None]]


def _targets(gate: Gate, values: Values, baseline: str | None, known_metrics: list[str]) -> list[str]:
    """The systems ``gate`` applies to; a rule that cannot apply raises."""
    systems = list(values)
    if gate.metric not in known_metrics:
        raise ConfigError(
            f"gate {gate.rule!r}: no metric {gate.metric!r} in this run",
            hint=f"metrics in this run: {', '.join(known_metrics) or 'none'}",
        )
    if gate.against_baseline and baseline is None:
        raise ConfigError(f"gate {gate.rule!r} compares with the baseline", hint="name it with --baseline NAME")
    if gate.system is None:
        return [s for s in systems if s != baseline]
    if gate.system not in values:
        raise ConfigError(f"gate {gate.rule!r}: no system {gate.system!r}", hint=f"systems: {', '.join(systems)}")
    return [gate.system]


def _check_reachable(gate: Gate, system: str, min_p_values: Mapping[tuple[str, str], float]) -> None:
    """A ``(p<alpha)`` gate on a test that can never reach ``alpha`` is refused."""
    if gate.alpha is None:
        return
    smallest = min_p_values.get((system, gate.metric))
    if smallest is not None and smallest >= gate.alpha:
        raise ConfigError(
            f"gate {gate.rule!r}: the paired test of {gate.metric} for {system!r} cannot reach p < {gate.alpha:g} "
            f"(its smallest attainable p-value is {smallest:.4g}), so the gate could never fail",
            hint="give the test more data (for MAUVE: more seeds), or drop the (p<...) part of the rule",
        )


def evaluate(
    gates: Sequence[Gate],
    *,
    values: Values,
    baseline: str | None = None,
    p_values: Mapping[tuple[str, str], float | None] | None = None,
    min_p_values: Mapping[tuple[str, str], float] | None = None,
) -> list[GateOutcome]:
    """Check every gate on every system it applies to.

    ``values`` maps system -> metric -> headline value, for the scored metrics
    and the judge's metrics alike (``win_rate``...); ``p_values`` maps
    ``(system, metric)`` to the paired test's p-value against ``baseline`` and
    ``min_p_values`` to the smallest p-value that test can attain. Rules that
    cannot apply (an unknown metric or system, a baseline bound without a
    baseline, a significance level the test cannot reach) raise
    :class:`ConfigError`.
    """
    if baseline is not None and baseline not in values:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(values)}")
    known_metrics = sorted({m for per in values.values() for m in per}, key=str.lower)
    outcomes: list[GateOutcome] = []
    for gate in gates:
        for system in _targets(gate, values, baseline, known_metrics):
            _check_reachable(gate, system, min_p_values or {})
            outcomes.append(_check(gate, system, values, baseline, p_values or {}))
    return outcomes


def _bound(gate: Gate, system: str, values: Values, baseline: str | None) -> tuple[float | None, str]:
    """The threshold a value is held to, and how to say it."""
    if not gate.against_baseline or baseline is None:
        threshold = gate.threshold
        return threshold, format_compact(threshold)
    base_value = values[baseline].get(gate.metric)
    if base_value is None:
        return None, ""
    offset = gate.offset or 0.0
    threshold = base_value + offset
    where = f"baseline {baseline!r} {format_compact(base_value)}" + (
        f" {'+' if offset >= 0 else '-'} {format_compact(abs(offset))}" if offset else ""
    )
    return threshold, f"{format_compact(threshold)} ({where})"


def _check(
    gate: Gate, system: str, values: Values, baseline: str | None, p_values: Mapping[tuple[str, str], float | None]
) -> GateOutcome:
    def outcome(
        passed: bool, observed: float | None, threshold: float | None, p: float | None, message: str
    ) -> GateOutcome:
        return GateOutcome(gate.rule, system, passed, observed, threshold, p, message)

    observed = values[system].get(gate.metric)
    label = f"{gate.metric} of {system!r}"
    if observed is None:
        return outcome(False, None, None, None, f"{label} has no value (nothing scored): the gate cannot pass")
    threshold, bound_text = _bound(gate, system, values, baseline)
    if threshold is None:
        message = f"{gate.metric} of the baseline {baseline!r} has no value: the gate cannot pass"
        return outcome(False, observed, None, None, message)
    breached = _holds(observed, gate.comparator, threshold)
    statement = f"{label} = {format_compact(observed)}, bound {gate.comparator} {bound_text}"
    if gate.alpha is None:
        return outcome(not breached, observed, threshold, None, f"{statement}: {'FAILED' if breached else 'holds'}")
    p = p_values.get((system, gate.metric))
    if p is None:
        if not breached:
            return outcome(True, observed, threshold, None, f"{statement}: holds")
        message = f"{statement}: no paired test for this metric, significance cannot be checked"
        return outcome(False, observed, threshold, None, message)
    significant = p < gate.alpha
    shown = format_compact(p) if p >= 1e-4 else f"{p:.1e}"
    p_text = f"p = {shown} {'<' if significant else '>='} {format_compact(gate.alpha)}"
    if breached and significant:
        return outcome(False, observed, threshold, p, f"{statement}; {p_text}: FAILED")
    verdict = "not significant, holds" if breached else "holds"
    return outcome(True, observed, threshold, p, f"{statement}; {p_text}: {verdict}")


def failed(outcomes: Iterable[GateOutcome]) -> list[GateOutcome]:
    """The outcomes that failed, in order."""
    return [o for o in outcomes if not o.passed]
