"""The comparison as a markdown report (``report.md``)."""

from __future__ import annotations

from typing import Any

from evalkit.reports.table import summary_cells, unscored_notes

__all__ = ["render_markdown", "markdown_table"]


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(comparison: Any, *, title: str = "evalkit comparison") -> str:
    header, rows = summary_cells(comparison)
    parts = [f"# {title}", "", f"{comparison.n_items} items, {len(comparison.systems)} systems.", ""]
    parts += [markdown_table(header, rows), ""]
    notes = unscored_notes(comparison)
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    parts += ["## Signatures", ""]
    seen: dict[str, str] = {}
    for metric in comparison.metrics:
        for system in comparison.systems:
            sig = comparison.results[(system, metric)].signature
            if sig and metric not in seen:
                seen[metric] = sig
    parts += [f"- `{m}`: `{s}`" for m, s in seen.items()] + [""]
    return "\n".join(parts)
