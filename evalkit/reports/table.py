"""The comparison as rows of formatted cells, and as a plain-text table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.formatting import format_number, text_table
from evalkit.result import MetricResult

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["format_value", "metric_header", "render_table", "summary_cells", "unscored_notes"]


def format_value(result: MetricResult) -> str:
    """``0.4123`` for 0-1 metrics, ``31.20`` for 0-100 ones, ``n/a`` when
    unscored, ``baseline`` for a paired metric's baseline row."""
    if result.value is None and result.details.get("baseline") is not None:
        return "baseline"
    text = format_number(result.value, result.scale)
    std = result.details.get("std")  # spread over seeds (MAUVE); None with one seed
    if result.value is not None and isinstance(std, float):
        text += f" ± {format_number(std, result.scale)}"
    return text


def metric_header(comparison: Comparison, metric: str) -> str:
    first = comparison.results[(comparison.systems[0], metric)]
    return metric if first.higher_is_better else f"{metric} (lower is better)"


def summary_cells(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and one row per system: the system, then one cell per metric."""
    header = ["system"] + [metric_header(comparison, m) for m in comparison.metrics]
    rows = [
        [system] + [format_value(comparison.results[(system, m)]) for m in comparison.metrics]
        for system in comparison.systems
    ]
    return header, rows


def render_table(comparison: Comparison) -> str:
    """A table for the terminal (split into blocks that fit 100 columns)."""
    notes = unscored_notes(comparison)
    return text_table(*summary_cells(comparison)) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")


def unscored_notes(comparison: Comparison) -> list[str]:
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
