"""The one number formatter and the one table renderer of every writer.

Numbers: a 0-100 metric (BLEU, chrF, TER) prints with 2 decimals, a 0-1
metric (ROUGE, MAUVE, win rates) with 4; ``n/a`` stands for a missing value.
Tables: :func:`text_table` for the terminal and :func:`markdown_table` for
``report.md``, the judge's section and ``$GITHUB_STEP_SUMMARY``, both through
``tabulate``. Cells are untrusted text (system names, model outputs): a
markdown cell escapes ``|``, newlines and the ``<`` that would open an HTML
tag, so that it can neither break the table nor carry HTML.

>>> format_number(31.234, "0-100"), format_number(0.41234, "0-1"), format_number(None, "0-1")
('31.23', '0.4123', 'n/a')
>>> print(markdown_table(["system", "bleu"], [["a|b", "1.00"]]))
| system   |   bleu |
|:---------|-------:|
| a\\|b     |   1.00 |
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = [
    "TERMINAL_WIDTH",
    "digits",
    "format_compact",
    "format_number",
    "format_p",
    "format_signed",
    "markdown_escape",
    "markdown_table",
    "text_table",
]


def digits(scale: str) -> int:
    """Decimals for a value on ``scale`` ("0-100" or "0-1")."""
    return 2 if scale == "0-100" else 4


def format_number(value: float | None, scale: str) -> str:
    """``31.23`` (0-100), ``0.4123`` (0-1); ``n/a`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits(scale)}f}"


def format_compact(value: float | None) -> str:
    """Up to 4 decimals without trailing zeros (gate messages): ``0.45``, ``31.2``."""
    if value is None:
        return "n/a"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


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


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def markdown_escape(cell: str) -> str:
    r"""A cell that cannot break a markdown table or open an HTML tag
    (``<`` before a letter, ``/``, ``!`` or ``?`` becomes ``&lt;``).

    >>> markdown_escape("a|b <script>x</script>\nnext p<0.05")
    'a\\|b &lt;script>x&lt;/script> next p<0.05'
    """
    flat = " ".join(cell.replace("\\", "\\\\").replace("|", "\\|").splitlines())
    return _TAG_START.sub("&lt;", flat)


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


#: The width the terminal tables fit in.
TERMINAL_WIDTH = 100


def _simple(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    from tabulate import tabulate

    return str(tabulate(rows, headers=header, tablefmt="simple", colalign=_aligns(header, rows), disable_numparse=True))


def _blocks(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[list[int]]:
    """Column indices of each block: the first column, then as many of the
    others as fit in ``width``."""
    sizes = [max(len(str(c)) for c in [header[i], *(row[i] for row in rows)]) + 2 for i in range(len(header))]
    blocks: list[list[int]] = []
    current: list[int] = []
    used = sizes[0]
    for i in range(1, len(header)):
        if current and used + sizes[i] > width:
            blocks.append(current)
            current, used = [], sizes[0]
        current.append(i)
        used += sizes[i]
    return blocks + [current] if current else blocks or [[]]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, width: int = TERMINAL_WIDTH) -> str:
    """A fixed-width table for the terminal; newlines in a cell become spaces.
    A table wider than ``width`` is split into blocks of columns, each
    repeating the first column, rather than wrapped by the terminal."""

    def flat(cell: str) -> str:
        return " ".join(str(cell).splitlines())

    head = [flat(h) for h in header]
    body = [[flat(c) for c in row] for row in rows]
    parts = []
    for block in _blocks(head, body, width):
        columns = [0, *block]
        parts.append(_simple([head[i] for i in columns], [[row[i] for i in columns] for row in body]))
    return "\n\n".join(parts)
