"""Confidence intervals, differences from the baseline and gate outcomes as
text: markdown for ``report.md`` and ``$GITHUB_STEP_SUMMARY``, fixed-width
for the terminal.

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
from collections.abc import Sequence
from typing import Any

__all__ = [
    "format_delta",
    "format_p",
    "format_value_ci",
    "interval_cells",
    "delta_cells",
    "render_stats_markdown",
    "render_stats_text",
    "render_gates_markdown",
]

BETTER, WORSE, SAME = "▲", "▼", "·"


def _digits(scale: str) -> int:
    return 2 if scale == "0-100" else 4


def format_p(p: float | None) -> str:
    """``p=0.023``, ``p<0.001``; ``p=n/a`` when there is no test."""
    if p is None:
        return "p=n/a"
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.3f}" if p < 0.01 else f"p={p:.2f}"


def format_value_ci(value: float | None, low: float | None, high: float | None, *, scale: str) -> str:
    """``31.20 [30.10, 32.35]``; the value alone when there is no interval.

    >>> format_value_ci(0.41234, 0.4, 0.42, scale="0-1")
    '0.4123 [0.4000, 0.4200]'
    """
    if value is None:
        return "n/a"
    d = _digits(scale)
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.{d}f}"
    return f"{value:.{d}f} [{low:.{d}f}, {high:.{d}f}]"


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
    d = _digits(scale)
    mark = SAME
    if p_value is not None and p_value < alpha and difference != 0:
        improved = difference > 0 if higher_is_better else difference < 0
        mark = BETTER if improved else WORSE
    text = f"{mark} {difference:+.{d}f}"
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:+.{d}f}, {high:+.{d}f}]"
    return f"{text} {format_p(p_value)}"


def _header(analysis: Any, metric: str) -> str:
    stats = [st for (s, m), st in analysis.stats.items() if m == metric]
    lower = stats and not stats[0].higher_is_better
    return f"{metric} (lower is better)" if lower else metric


def interval_cells(analysis: Any) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each system's value with its interval, per metric."""
    header = ["system"] + [_header(analysis, m) for m in analysis.metrics]
    rows = []
    for system in analysis.systems:
        label = f"{system} (baseline)" if system == analysis.baseline else system
        row = [label]
        for metric in analysis.metrics:
            st = analysis.stat(system, metric)
            ci = st.interval
            row.append(format_value_ci(st.value, ci.low if ci else None, ci.high if ci else None, scale=st.scale))
        rows.append(row)
    return header, rows


def delta_cells(analysis: Any) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each non-baseline system's difference from the baseline."""
    header = ["system"] + [_header(analysis, m) for m in analysis.metrics]
    rows = []
    for system in analysis.systems:
        if system == analysis.baseline:
            continue
        row = [system]
        for metric in analysis.metrics:
            st = analysis.stat(system, metric)
            if st.test is None:
                row.append("n/a")
                continue
            delta = st.delta
            row.append(
                format_delta(
                    st.test.difference,
                    delta.low if delta else None,
                    delta.high if delta else None,
                    p_value=st.test.p_value,
                    alpha=analysis.alpha,
                    higher_is_better=st.higher_is_better,
                    scale=st.scale,
                )
            )
        rows.append(row)
    return header, rows


def _method_text(analysis: Any) -> str:
    if analysis.method == "ar":
        return f"paired approximate randomization test, {analysis.n_trials:,} trials"
    return f"paired bootstrap test (sacrebleu's --paired-bs), {analysis.n_trials:,} resamples"


def _legend(analysis: Any) -> str:
    level = f"{(1 - analysis.alpha) * 100:g}%"
    return (
        f"[low, high]: {level} percentile bootstrap interval ({analysis.n_resamples:,} resamples, "
        f"seed {analysis.seed}). {BETTER} / {WORSE}: significantly better / worse than the baseline "
        f"({_method_text(analysis)}, p < {analysis.alpha:g}); {SAME}: no significant difference."
    )


def _notes(analysis: Any) -> list[str]:
    notes = []
    for (system, metric), st in analysis.stats.items():
        if st.note and metric in analysis.metrics:
            notes.append(f"{system} / {metric}: {st.note}")
    return notes


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |"]
    lines.append("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_gates_markdown(outcomes: Sequence[Any]) -> str:
    """A bullet per gate outcome, failures first."""
    if not outcomes:
        return ""
    ordered = sorted(outcomes, key=lambda o: o.passed)
    n_failed = sum(1 for o in outcomes if not o.passed)
    head = (
        f"**{n_failed} of {len(outcomes)} gate checks failed.**"
        if n_failed
        else f"All {len(outcomes)} gate checks hold."
    )
    lines = [head, ""]
    for o in ordered:
        mark = "✅" if o.passed else "❌"
        lines.append(f"- {mark} `{o.rule}` on **{o.system}**: {o.message}")
    return "\n".join(lines)


def render_stats_markdown(analysis: Any, gates: Sequence[Any] = (), *, heading_level: int = 2) -> str:
    """The statistics section of ``report.md`` and the GitHub step summary."""
    h = "#" * heading_level
    parts = [f"{h} Confidence intervals", ""]
    header, rows = interval_cells(analysis)
    parts += [_md_table(header, rows), ""]
    if analysis.baseline is not None and len(analysis.systems) > 1:
        parts += [f"{h} Difference from the baseline ({analysis.baseline})", ""]
        header, rows = delta_cells(analysis)
        parts += [_md_table(header, rows), ""]
    parts += [_legend(analysis), ""]
    if analysis.judge:
        names = list(analysis.judge_metrics)
        parts += [
            f"{h} Judge",
            "",
            _md_table(
                ["system"] + names,
                [[s] + [_judge_cell(analysis, s, n) for n in names] for s in analysis.judge],
            ),
            "",
        ]
    if gates:
        parts += [f"{h} Gates", "", render_gates_markdown(gates), ""]
    notes = _notes(analysis)
    if notes:
        parts += [f"{h} Statistics notes", ""] + [f"- {n}" for n in notes] + [""]
    parts += [f"Statistics signature: `{analysis.signature}`", ""]
    return "\n".join(parts)


def _judge_cell(analysis: Any, system: str, name: str) -> str:
    value = analysis.judge.get(system, {}).get(name)
    st = analysis.stats.get((system, name))
    if st is not None and st.interval is not None:
        return format_value_ci(value, st.interval.low, st.interval.high, scale="0-1")
    return format_value_ci(value, None, None, scale="0-1")


def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def render_stats_text(analysis: Any, gates: Sequence[Any] = ()) -> str:
    """The same for the terminal: fixed-width tables, then the gates."""
    out = ["", "Confidence intervals"]
    out += _text_table(*interval_cells(analysis))
    if analysis.baseline is not None and len(analysis.systems) > 1:
        out += ["", f"Difference from the baseline ({analysis.baseline})"]
        out += _text_table(*delta_cells(analysis))
    out += ["", _legend(analysis)]
    if analysis.judge:
        names = list(analysis.judge_metrics)
        out += ["", "Judge"]
        out += _text_table(
            ["system"] + names, [[s] + [_judge_cell(analysis, s, n) for n in names] for s in analysis.judge]
        )
    for note in _notes(analysis):
        out.append(f"note: {note}")
    if gates:
        out += ["", "Gates"]
        for o in sorted(gates, key=lambda o: o.passed):
            out.append(f"  {'ok  ' if o.passed else 'FAIL'} {o.rule} [{o.system}]: {o.message}")
    return "\n".join(out) + "\n"
