"""``summary.csv`` (one row per system and metric) and ``items.csv`` (one row
per item, system and metric)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["summary_csv", "items_csv"]


def _render(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: object) -> object:
    # repr-exact floats; an unscored value is an empty cell, never 0
    return "" if value is None else repr(value) if isinstance(value, float) else value


def summary_csv(comparison: Comparison) -> str:
    header = ["system", "metric", "value", "n_scored", "n_unscored", "signature"]
    rows = [
        [r["system"], r["metric"], _cell(r["value"]), r["n_scored"], r["n_unscored"], r["signature"]]
        for r in comparison.to_records()
    ]
    return _render(header, rows)


def items_csv(comparison: Comparison) -> str:
    rows = [[r["item"], r["system"], r["metric"], _cell(r["value"])] for r in comparison.item_rows()]
    return _render(["item", "system", "metric", "value"], rows)
