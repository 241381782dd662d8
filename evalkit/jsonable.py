"""Turn results into plain JSON values: one place for every writer."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: object) -> Any:
    """Mappings -> dicts with string keys, tuples -> lists, numpy scalars ->
    Python numbers, paths -> strings, and NaN/inf -> ``None`` (JSON has no
    such numbers, and a missing value must not read as one). Anything else
    is returned as it is, which is why the result is typed ``Any``.

    >>> import math
    >>> jsonable({"a": (1.5, math.nan), 2: {"b": math.inf}})
    {'a': [1.5, None], '2': {'b': None}}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    return value
