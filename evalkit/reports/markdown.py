"""The comparison as the first section of ``report.md``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.formatting import markdown_escape, markdown_table
from evalkit.reports.table import summary_cells, unscored_notes

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["render_markdown"]


def render_markdown(comparison: Comparison, *, title: str = "evalkit comparison") -> str:
    parts = [f"# {title}", "", f"{comparison.n_items} items, {len(comparison.systems)} systems.", ""]
    parts += [markdown_table(*summary_cells(comparison)), ""]
    notes = unscored_notes(comparison)
    if notes:
        parts += ["## Notes", ""] + [f"- {markdown_escape(n)}" for n in notes] + [""]
    parts += ["## Signatures", ""]
    seen: dict[str, str] = {}
    for metric in comparison.metrics:
        for system in comparison.systems:
            sig = comparison.results[(system, metric)].signature
            if sig and metric not in seen:
                seen[metric] = sig
    parts += [f"- `{m}`: `{s}`" for m, s in seen.items()] + [""]
    return "\n".join(parts)
