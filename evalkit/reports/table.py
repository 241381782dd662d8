"""The comparison as rows of formatted cells, and as a plain-text table."""

from __future__ import annotations

from typing import Any

from evalkit.result import MetricResult

__all__ = ["format_value", "summary_cells", "render_table"]


def format_value(result: MetricResult) -> str:
    """``0.4123`` for 0-1 metrics, ``31.20`` for 0-100 ones, ``n/a`` when unscored."""
    if result.value is None:
        return "n/a"
    digits = 2 if result.scale == "0-100" else 4
    text = f"{result.value:.{digits}f}"
    std = result.details.get("std")  # spread over seeds (MAUVE); None with one seed
    if isinstance(std, float):
        text += f" ± {std:.{digits}f}"
    return text


def metric_header(comparison: Any, metric: str) -> str:
    first = comparison.results[(comparison.systems[0], metric)]
    return metric if first.higher_is_better else f"{metric} (lower is better)"


def summary_cells(comparison: Any) -> tuple[list[str], list[list[str]]]:
    """Header and one row per system: the system, then one cell per metric."""
    header = ["system"] + [metric_header(comparison, m) for m in comparison.metrics]
    rows = [
        [system] + [format_value(comparison.results[(system, m)]) for m in comparison.metrics]
        for system in comparison.systems
    ]
    return header, rows


def render_table(comparison: Any) -> str:
    """A fixed-width table for the terminal."""
    header, rows = summary_cells(comparison)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    notes = unscored_notes(comparison)
    return "\n".join(out + ([""] + notes if notes else [])) + "\n"


def unscored_notes(comparison: Any) -> list[str]:
    """Unscored counts per system and metric, then each distinct warning once
    with the systems it concerns."""
    notes = []
    warned: dict[tuple[str, str], list[str]] = {}
    for system in comparison.systems:
        for metric in comparison.metrics:
            r = comparison.results[(system, metric)]
            if r.n_unscored:
                notes.append(f"{system} / {metric}: {r.n_unscored} of {r.n_scored + r.n_unscored} items unscored")
            for warning in r.details.get("warnings", ()) or ():
                warned.setdefault((metric, str(warning)), []).append(system)
    for (metric, warning), systems in warned.items():
        who = "all systems" if len(systems) == len(comparison.systems) > 1 else ", ".join(systems)
        notes.append(f"{metric} ({who}): warning: {warning}")
    return notes
