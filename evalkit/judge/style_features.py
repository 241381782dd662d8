"""Style features of an answer, for length and style control: its length in
characters, and its markdown headers, list items and bold spans (the
features Arena-Hard's style control uses).

Markdown is counted outside fenced code blocks, so that a ``# comment`` in a
Python block is not a header. Pure functions of the text.

>>> text = "# Plan\\n\\n- **one**\\n- two\\n1. three\\n\\n```python\\n# not a header\\n```"
>>> style_features(text)
{'length': 62, 'headers': 1, 'list_items': 3, 'bold': 1}
>>> normalized_difference(30, 10), normalized_difference(0, 0)
(0.5, 0.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "STYLE_FEATURES",
    "answer_length",
    "bold_count",
    "header_count",
    "list_item_count",
    "normalized_difference",
    "style_features",
]

#: The features, in the order of the style-controlled model's coefficients.
STYLE_FEATURES: tuple[str, ...] = ("length", "headers", "list_items", "bold")

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?(?:^ {0,3}\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)
_HEADER = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)", re.MULTILINE)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)[^\n]*?\S\*\*|__(?=\S)[^\n]*?\S__|\*\*\S\*\*|__\S__")


def without_code(text: str) -> str:
    """``text`` without its fenced code blocks (an unclosed fence runs to the end)."""
    return _FENCE.sub("", text)


def answer_length(text: str) -> int:
    """The answer's length in characters (Unicode code points), code included:
    characters need no tokenizer and count every script alike."""
    return len(text)


def header_count(text: str) -> int:
    """ATX markdown headers (``#`` to ``######`` then a space) outside code blocks."""
    return len(_HEADER.findall(without_code(text)))


def list_item_count(text: str) -> int:
    """Bullet (``-``, ``*``, ``+``) and numbered (``1.``, ``1)``) list items outside code blocks."""
    return len(_LIST_ITEM.findall(without_code(text)))


def bold_count(text: str) -> int:
    """Bold spans (``**x**`` or ``__x__`` on one line) outside code blocks."""
    return len(_BOLD.findall(without_code(text)))


def style_features(text: str) -> dict[str, int]:
    """Every feature of :data:`STYLE_FEATURES` for one answer."""
    return {
        "length": answer_length(text),
        "headers": header_count(text),
        "list_items": list_item_count(text),
        "bold": bold_count(text),
    }


def normalized_difference(a: float, b: float) -> float:
    """``(a - b) / (a + b)``: in [-1, 1], 0 when both are 0. Scale-free, so
    a 100- against a 300-character answer weighs as much as 1,000 against
    3,000; bounded, like AlpacaEval's ``tanh`` of the length difference."""
    total = a + b
    return (a - b) / total if total else 0.0


def feature_differences(first: Mapping[str, int], second: Mapping[str, int]) -> tuple[float, ...]:
    """The normalised difference of every feature, first minus second."""
    return tuple(normalized_difference(first[name], second[name]) for name in STYLE_FEATURES)
