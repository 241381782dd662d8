"""Confidence intervals, differences from the baseline and gate outcomes as
text: markdown for ``report.md`` and ``$GITHUB_STEP_SUMMARY``, fixed-width
for the terminal (split into blocks that fit 100 columns).

A difference cell reads ``▲ +1.23 [+0.40, +2.10] p=0.002``: the signed
difference system minus baseline, its paired 95% interval, the paired test's
p-value; ``▲``/``▼`` mark a significant improvement/regression (the direction
accounts for lower-is-better metrics such as TER), ``·`` no significant
difference.

>>> format_delta(1.234, -0.1, 2.5, p_value=0.2, alpha=0.05, higher_is_better=True, scale="0-100")
'· +1.23 [-0.10, +2.50] p=0.20'
>>> format_delta(-3.0, -4.0, -2.0, p_value=0.0001, alpha=0.05, higher_is_better=False, scale="0-100")
'▲ -3.00 [-4.00, -2.00] p<0.001'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

from evalkit.formatting import TERMINAL_WIDTH, format_number, format_p, format_signed, markdown_table, text_table
from evalkit.stats.analysis import Analysis, MetricStats
from evalkit.stats.gates import GateOutcome

__all__ = [
    "delta_cells",
    "format_delta",
    "format_value_ci",
    "interval_cells",
    "render_gates_markdown",
    "render_gates_text",
    "render_stats_markdown",
    "render_stats_text",
]

BETTER, WORSE, SAME = "▲", "▼", "·"


def format_value_ci(value: float | None, low: float | None, high: float | None, *, scale: str) -> str:
    """``31.20 [30.10, 32.35]``; the value alone when there is no interval.

    >>> format_value_ci(0.41234, 0.4, 0.42, scale="0-1")
    '0.4123 [0.4000, 0.4200]'
    """
    if value is None:
        return "n/a"
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return format_number(value, scale)
    return f"{format_number(value, scale)} [{format_number(low, scale)}, {format_number(high, scale)}]"


def format_delta(
    difference: float,
    low: float | None,
    high: float | None,
    *,
    p_value: float | None,
    alpha: float,
    higher_is_better: bool,
    scale: str,
) -> str:
    """One difference-from-baseline cell (see the module docstring)."""
    mark = SAME
    if p_value is not None and p_value < alpha and difference != 0:
        improved = difference > 0 if higher_is_better else difference < 0
        mark = BETTER if improved else WORSE
    text = f"{mark} {format_signed(difference, scale)}"
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" [{format_signed(low, scale)}, {format_signed(high, scale)}]"
    return f"{text} {format_p(p_value)}"


def _header(analysis: Analysis, metric: str) -> str:
    stats = [st for (_, m), st in analysis.stats.items() if m == metric]
    lower = bool(stats) and not stats[0].higher_is_better
    return f"{metric} (lower is better)" if lower else metric


def _interval_cell(st: MetricStats) -> str:
    ci = st.interval
    return format_value_ci(st.value, ci.low if ci else None, ci.high if ci else None, scale=st.scale)


def interval_cells(analysis: Analysis) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each system's value with its interval, per metric."""
    header = ["system"] + [_header(analysis, m) for m in analysis.metrics]
    rows = []
    for system in analysis.systems:
        label = f"{system} (baseline)" if system == analysis.baseline else system
        rows.append([label] + [_interval_cell(analysis.stat(system, m)) for m in analysis.metrics])
    return header, rows


def _delta_cell(st: MetricStats, alpha: float) -> str:
    if st.test is None:
        return "n/a"
    if st.test.min_p_value >= alpha:
        return f"{format_signed(st.test.difference, st.scale)} (untestable: p >= {st.test.min_p_value:.3g})"
    delta = st.delta
    return format_delta(
        st.test.difference,
        delta.low if delta else None,
        delta.high if delta else None,
        p_value=st.test.p_value,
        alpha=alpha,
        higher_is_better=st.higher_is_better,
        scale=st.scale,
    )


def delta_cells(analysis: Analysis) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each non-baseline system's difference from the baseline."""
    header = ["system"] + [_header(analysis, m) for m in analysis.metrics]
    rows = [
        [system] + [_delta_cell(analysis.stat(system, m), analysis.alpha) for m in analysis.metrics]
        for system in analysis.systems
        if system != analysis.baseline
    ]
    return header, rows


def judge_cells(analysis: Analysis) -> tuple[list[str], list[list[str]]]:
    """Header and rows: the judge's values with their intervals."""
    names = list(analysis.judge_metrics)
    systems = [s for s in analysis.systems if any((s, n) in analysis.stats for n in names)]
    systems += sorted({s for (s, n) in analysis.stats if n in names and s not in systems})
    rows = [[s] + [_judge_cell(analysis, s, n) for n in names] for s in systems]
    return ["system", *names], rows


def _judge_cell(analysis: Analysis, system: str, name: str) -> str:
    st = analysis.stats.get((system, name))
    return "n/a" if st is None else _interval_cell(st)


def _method_text(analysis: Analysis) -> str:
    if analysis.method == "ar":
        return f"paired approximate randomization test, {analysis.n_trials:,} trials"
    return f"paired bootstrap test (sacrebleu's --paired-bs), {analysis.n_trials:,} resamples"


def _legend(analysis: Analysis) -> str:
    level = f"{(1 - analysis.alpha) * 100:g}%"
    return (
        f"[low, high]: {level} percentile bootstrap interval ({analysis.n_resamples:,} resamples, "
        f"seed {analysis.seed}). {BETTER} / {WORSE}: significantly better / worse than the baseline "
        f"({_method_text(analysis)}, p < {analysis.alpha:g}); {SAME}: no significant difference; "
        f"untestable: the test cannot reach p < {analysis.alpha:g} with this design."
    )


def _notes(analysis: Analysis) -> list[str]:
    """Each distinct note once, with the systems it concerns."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for (system, metric), st in analysis.stats.items():
        if st.note and metric in analysis.metrics:
            grouped.setdefault((metric, st.note), []).append(system)
    notes = []
    for (metric, note), systems in grouped.items():
        who = "all systems" if len(systems) == len(analysis.systems) > 1 else ", ".join(systems)
        notes.append(f"{metric} ({who}): {note}")
    return notes


def render_gates_markdown(outcomes: Sequence[GateOutcome]) -> str:
    """A bullet per gate outcome, failures first."""
    if not outcomes:
        return ""
    n_failed = sum(1 for o in outcomes if not o.passed)
    head = (
        f"**{n_failed} of {len(outcomes)} gate checks failed.**"
        if n_failed
        else f"All {len(outcomes)} gate checks hold."
    )
    lines = [head, ""]
    for o in sorted(outcomes, key=lambda o: o.passed):
        mark = "✅" if o.passed else "❌"
        lines.append(f"- {mark} `{o.rule}` on **{o.system}**: {o.message}")
    return "\n".join(lines)


def render_gates_text(outcomes: Sequence[GateOutcome]) -> list[str]:
    """A line per gate outcome, failures first."""
    return [
        f"  {'ok  ' if o.passed else 'FAIL'} {o.rule} [{o.system}]: {o.message}"
        for o in sorted(outcomes, key=lambda o: o.passed)
    ]


def render_stats_markdown(analysis: Analysis, gates: Sequence[GateOutcome] = (), *, heading_level: int = 2) -> str:
    """The statistics section of ``report.md`` and the GitHub step summary."""
    h = "#" * heading_level
    parts = [f"{h} Confidence intervals", "", markdown_table(*interval_cells(analysis)), ""]
    if analysis.baseline is not None and len(analysis.systems) > 1:
        parts += [f"{h} Difference from the baseline ({analysis.baseline})", ""]
        parts += [markdown_table(*delta_cells(analysis)), ""]
    parts += [_legend(analysis), ""]
    if analysis.judge_metrics:
        parts += [f"{h} Judge", "", markdown_table(*judge_cells(analysis)), ""]
    if gates:
        parts += [f"{h} Gates", "", render_gates_markdown(gates), ""]
    notes = _notes(analysis)
    if notes:
        parts += [f"{h} Statistics notes", ""] + [f"- {n}" for n in notes] + [""]
    parts += [f"Statistics signature: `{analysis.signature}`", ""]
    return "\n".join(parts)


def render_stats_text(analysis: Analysis, gates: Sequence[GateOutcome] = ()) -> str:
    """The same for the terminal: tables that fit 100 columns, then the gates."""
    out = ["", "Confidence intervals", text_table(*interval_cells(analysis))]
    if analysis.baseline is not None and len(analysis.systems) > 1:
        out += ["", f"Difference from the baseline ({analysis.baseline})", text_table(*delta_cells(analysis))]
    out += ["", textwrap.fill(_legend(analysis), TERMINAL_WIDTH)]
    if analysis.judge_metrics:
        out += ["", "Judge", text_table(*judge_cells(analysis))]
    out += [textwrap.fill(f"note: {note}", TERMINAL_WIDTH, subsequent_indent="  ") for note in _notes(analysis)]
    if gates:
        out += ["", "Gates", *render_gates_text(gates)]
    return "\n".join(out) + "\n"
