"""Where the shipped judge templates and demo data live.

In a checkout (or an editable install) they are the top-level ``judges/`` and
``datasets/`` folders; in an installed wheel they are package data under
``evalkit/_data/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["judges_dir", "datasets_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"evalkit's {name}/ folder is missing from this installation")


def judges_dir() -> Path:
    """The folder of shipped judge templates (``*.toml``)."""
    return _find("judges")


def datasets_dir() -> Path:
    """The folder of shipped data sets (``demo/``)."""
    return _find("datasets")
