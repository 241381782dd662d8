"""The JSON document that ``--format json`` prints and ``summary.json`` holds::

    {"evalkit_version": "0.1.0", "n_items": 120,
     "results": [{"system", "metric", "value", "details", "n_scored",
                  "n_unscored", "signature"}, ...]}

``value`` is ``null`` when no item could be scored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.runner import Comparison

__all__ = ["results_document", "render_json"]


def results_document(comparison: Comparison) -> dict[str, object]:
    from evalkit import __version__

    return {"evalkit_version": __version__, "n_items": comparison.n_items, "results": comparison.to_records()}


def render_json(comparison: Comparison) -> str:
    return json.dumps(results_document(comparison), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
