"""``summary.csv`` (one row per system and metric) and ``items.csv`` (one row
per item, system and metric)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["ROWS_PER_PIECE", "summary_csv", "items_csv"]

#: rows of items.csv rendered at a time
ROWS_PER_PIECE = 10_000


def _render(header: list[str] | None, rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
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


def items_csv(comparison: Comparison) -> Iterator[str]:
    """The text of ``items.csv`` in pieces of :data:`ROWS_PER_PIECE` rows, as
    the rows are read: a run of millions of items never holds them all as
    Python rows or as one string."""
    yield _render(["item", "system", "metric", "value"], [])
    rows = ([i, s, m, _cell(v)] for i, s, m, v in comparison.iter_item_rows())
    while piece := list(islice(rows, ROWS_PER_PIECE)):
        yield _render(None, piece)
