"""The one number formatter and the one table renderer of every writer.

Numbers: a 0-100 metric (BLEU, chrF, TER) prints with 2 decimals, a 0-1
metric (ROUGE, MAUVE, win rates) with 4; ``n/a`` stands for a missing value.
Tables: :func:`text_table` for the terminal and :func:`markdown_table` for
``report.md``, the judge's section and ``$GITHUB_STEP_SUMMARY``, both through
``tabulate``. Cells are untrusted text (system names, model outputs): a
markdown cell escapes ``|``, ``<``, ``>`` and newlines so that it can neither
break the table nor carry HTML.

>>> format_number(31.234, "0-100"), format_number(0.41234, "0-1"), format_number(None, "0-1")
('31.23', '0.4123', 'n/a')
>>> print(markdown_table(["system", "bleu"], [["a|b", "1.00"]]))
| system   |   bleu |
|:---------|-------:|
| a\\|b     |   1.00 |
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["digits", "format_number", "format_p", "format_signed", "markdown_escape", "markdown_table", "text_table"]


def digits(scale: str) -> int:
    """Decimals for a value on ``scale`` ("0-100" or "0-1")."""
    return 2 if scale == "0-100" else 4


def format_number(value: float | None, scale: str) -> str:
    """``31.23`` (0-100), ``0.4123`` (0-1); ``n/a`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits(scale)}f}"


def format_signed(value: float, scale: str) -> str:
    """``+1.23`` / ``-0.0120``: a difference, always with its sign."""
    return f"{value:+.{digits(scale)}f}"


def format_p(p: float | None) -> str:
    """``p=0.023``, ``p<0.001``; ``p=n/a`` when there is no test."""
    if p is None:
        return "p=n/a"
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.3f}" if p < 0.01 else f"p={p:.2f}"


def markdown_escape(cell: str) -> str:
    """A cell that cannot break a markdown table or carry HTML."""
    return (
        cell.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r\n", " ")
        .replace("\n", " ")
        .replace("\r", " ")
    )


def _is_numeric(column: Sequence[str]) -> bool:
    return all(_looks_numeric(cell) for cell in column if cell not in ("", "n/a", "–"))


def _looks_numeric(cell: str) -> bool:
    head = cell.split(" ", 1)[0].lstrip("▲▼·+-±")
    try:
        float(head)
    except ValueError:
        return False
    return True


def _aligns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    columns = [[row[i] for row in rows] for i in range(len(header))]
    return ["left" if i == 0 or not _is_numeric(col) else "right" for i, col in enumerate(columns)]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; text left, numbers right."""
    from tabulate import tabulate

    head = [markdown_escape(h) for h in header]
    body = [[markdown_escape(c) for c in row] for row in rows]
    return str(tabulate(body, headers=head, tablefmt="pipe", colalign=_aligns(head, body), disable_numparse=True))


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width table for the terminal; newlines in a cell become spaces."""
    from tabulate import tabulate

    def flat(cell: str) -> str:
        return " ".join(cell.splitlines())

    head = [flat(h) for h in header]
    body = [[flat(c) for c in row] for row in rows]
    return str(tabulate(body, headers=head, tablefmt="simple", colalign=_aligns(head, body), disable_numparse=True))
