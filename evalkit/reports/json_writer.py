"""The JSON document that ``--format json`` prints and ``summary.json`` holds::

    {"evalkit_version": "0.1.0", "n_items": 120,
     "results": [{"system", "metric", "value", "details", "n_scored",
                  "n_unscored", "signature"}, ...]}

``value`` is ``null`` when no item could be scored.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["results_document", "render_json"]


def results_document(comparison: Any) -> dict[str, Any]:
    from evalkit import __version__

    return {"evalkit_version": __version__, "n_items": comparison.n_items, "results": comparison.to_records()}


def render_json(comparison: Any) -> str:
    return json.dumps(results_document(comparison), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
