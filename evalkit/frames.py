"""pandas and Dask DataFrames as inputs of :func:`evalkit.compare`: named
columns hold the references (and prompts); every other column is a system.

A missing value (``None``, ``NaN``, ``pd.NA``) in a system's column is a
missing prediction (left unscored); a reference cell may hold a list of
references.

>>> import pandas as pd
>>> frame = pd.DataFrame({"ref": ["a b", "c"], "x": ["a b", None]})
>>> frame_lists(frame, references="ref", prompts=None)
({'x': ['a b', None]}, [('a b',), ('c',)], None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.errors import InputError

__all__ = ["FrameColumns", "frame_columns", "frame_lists", "is_frame", "part_inputs"]


def is_frame(value: object) -> bool:
    """Whether ``value`` is a pandas or Dask DataFrame (without importing either)."""
    module = type(value).__module__
    return module.split(".")[0] in ("pandas", "dask") and hasattr(value, "columns")


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def frame_columns(frame: Any, *, references: str | Sequence[str] | None, prompts: str | None) -> FrameColumns:
    """Which columns are systems, references and prompts; a named column
    that the frame lacks is an :class:`InputError`."""
    ref_columns, prompt_columns = _names(references), _names(prompts)
    present = [str(c) for c in frame.columns]
    for column in (*ref_columns, *prompt_columns):
        if column not in present:
            raise InputError(
                f"the frame has no column {column!r} (columns: {', '.join(present)})",
                hint="references= and prompts= name columns of the frame; every other column is a system",
            )
    systems = tuple(c for c in present if c not in ref_columns and c not in prompt_columns)
    if not systems:
        raise InputError("the frame has no system column: every column is a reference or prompt column")
    return FrameColumns(systems, ref_columns, prompt_columns[0] if prompt_columns else None)


def _texts(column: Any) -> list[str | None]:
    """A column's values with pandas' missing values (None, NaN, pd.NA) as None."""
    import pandas as pd

    out: list[str | None] = []
    for value in column.tolist():
        out.append(None if not isinstance(value, str) and pd.isna(value) else value)
    return out


def _references(part: Any, columns: Sequence[str]) -> list[tuple[str, ...]]:
    refs = []
    for row in zip(*(part[c].tolist() for c in columns)):
        item: list[str] = []
        for entry in row:
            item.extend([entry] if isinstance(entry, str) else list(entry))
        refs.append(tuple(item))
    return refs


def part_inputs(
    part: Any, columns: FrameColumns
) -> tuple[dict[str, list[str | None]], list[tuple[str, ...]] | None, list[str | None] | None]:
    """The systems' predictions, the references and the prompts of a pandas frame."""
    systems = {name: _texts(part[name]) for name in columns.systems}
    refs = _references(part, columns.references) if columns.references else None
    prompts = _texts(part[columns.prompts]) if columns.prompts else None
    return systems, refs, prompts


def frame_lists(
    frame: Any, *, references: str | Sequence[str] | None, prompts: str | None
) -> tuple[dict[str, list[str | None]], list[tuple[str, ...]] | None, list[str | None] | None]:
    """A whole frame (a Dask one computed here) as :func:`evalkit.compare`'s lists."""
    columns = frame_columns(frame, references=references, prompts=prompts)
    if type(frame).__module__.split(".")[0] == "dask":
        frame = frame.compute()
    return part_inputs(frame, columns)


@dataclass(frozen=True)
class FrameColumns:
    """The columns of a frame: one per system, the references', the prompts'."""

    systems: tuple[str, ...]
    references: tuple[str, ...]
    prompts: str | None = None
