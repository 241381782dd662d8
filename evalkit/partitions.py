"""Input files cut into partitions of items, each read on its own (the Dask
engine's workers read them; the client only plans).

Planning reads no text: for text, JSONL, CSV and TSV it scans the file's
bytes for line breaks (numpy, a few MB at a time) and keeps the byte offset
where every partition starts; for Parquet it reads the row-group metadata.
Reading partition ``k`` then decodes and parses those bytes alone (the
Parquet row groups that hold its rows), with the same rules and messages as
:func:`evalkit.inputs.read_segments`, and line numbers of the whole file.

With partitions, every line of a JSONL, CSV or TSV file is one item: a blank
line, or a CSV record that spans lines (a quoted line break), is an error
naming the line, where the one-process reader would skip or join it.

>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
>>> _ = open(p, "w").write("a\\nb\\nc\\n")
>>> plan = plan_file(p, field=None, format=None, size=2)
>>> plan.n_items, [read_part(plan, k) for k in range(plan.n_parts)]
(3, [['a', 'b'], ['c']])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.errors import InputError
from evalkit.inputs import Segment, detect_format, parquet_column, parquet_rows, parse_text

__all__ = ["FilePlan", "plan_file", "read_part"]

_BLOCK = 8 << 20  # bytes scanned at a time
_BOM = b"\xef\xbb\xbf"


def _newlines(path: str, start: int) -> tuple[list[int], int]:
    """Offsets just after every ``\\n`` from ``start``, and the file's size."""
    import numpy as np

    ends: list[int] = []
    with open(path, "rb") as handle:
        handle.seek(start)
        base = start
        while block := handle.read(_BLOCK):
            ends.extend((np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + base + 1).tolist())
            base += len(block)
    return ends, base


def _text_plan(path: str, fmt: str, field: str | int | None, size: int) -> FilePlan:
    try:
        with open(path, "rb") as handle:
            head = handle.read(3)
    except FileNotFoundError:
        raise InputError("no such file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path) from None
    start = 3 if head == _BOM else 0
    ends, total = _newlines(path, start)
    # every line starts at `start` or after a "\n"; a final newline starts nothing
    starts = [start, *ends]
    if starts[-1] == total:
        starts.pop()
    header = None
    if fmt in ("csv", "tsv"):
        if not starts:
            raise InputError("the file is empty", path=path)
        with open(path, "rb") as handle:
            handle.seek(start)
            header = handle.read((ends[0] if ends else total) - start).decode("utf-8", errors="replace")
        starts.pop(0)
    if not starts:
        raise InputError("the file is empty" if header is None else "the file has a header but no rows", path=path)
    n = len(starts)
    bounds = (*starts[::size], total)
    return FilePlan(path, fmt, field, n, bounds, size, header.rstrip("\r\n") if header is not None else None)


def plan_file(path: str | os.PathLike[str], *, field: str | int | None, format: str | None, size: int) -> FilePlan:
    """Where each partition of ``size`` items of ``path`` starts."""
    path = os.fspath(path)
    fmt = format or detect_format(path)
    if fmt == "parquet":
        from evalkit.inputs import _parquet_file

        column = parquet_column(path, field)
        n = int(_parquet_file(path).metadata.num_rows)
        if n == 0:
            raise InputError("the file has no rows", path=path)
        return FilePlan(path, fmt, column, n, (*range(0, n, size), n), size)
    if fmt not in ("text", "jsonl", "csv", "tsv"):
        raise InputError(f"unknown format {fmt!r}; use text, jsonl, csv, tsv or parquet", path=path)
    return _text_plan(path, fmt, field, size)


def read_part(plan: FilePlan, k: int, *, allow_lists: bool = False) -> list[Segment]:
    """The items of partition ``k`` of ``plan``'s file."""
    start, stop = plan.bounds[k], plan.bounds[k + 1]
    if plan.format == "parquet":
        return parquet_rows(plan.path, str(plan.field), start, stop, allow_lists=allow_lists)
    with open(plan.path, "rb") as handle:
        handle.seek(start)
        data = handle.read(stop - start)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = plan.first_line(k) + data.count(b"\n", 0, exc.start)
        raise InputError(f"invalid UTF-8: {exc.reason}", path=plan.path, line=line) from None
    first = plan.first_line(k)
    if plan.header is not None:
        text = plan.header + "\n" + text
    segments = parse_text(
        plan.path, text, fmt=plan.format, field=plan.field, allow_lists=allow_lists, first_line=first, part=True
    )
    expected = plan.part_size(k)
    if len(segments) != expected:
        raise InputError(
            f"{expected} lines from line {first} hold {len(segments)} items: a blank line or a record that spans "
            "lines, which --engine dask cannot split",
            path=plan.path,
            hint="remove blank lines, or give the file as JSONL or Parquet",
        )
    return segments


@dataclass(frozen=True)
class FilePlan:
    """One input file cut into partitions: ``bounds[k]`` is where partition
    ``k`` starts (a byte offset, or a row number for Parquet) and
    ``bounds[-1]`` where the last ends."""

    path: str
    format: str
    #: the field or column (for Parquet, the column's name, checked)
    field: str | int | None
    n_items: int
    bounds: Sequence[int]
    #: items per partition (the last may hold fewer)
    size: int = 1
    #: a CSV/TSV file's header line, put before every part
    header: str | None = None

    @property
    def n_parts(self) -> int:
        return len(self.bounds) - 1

    def part_size(self, k: int) -> int:
        """Items in partition ``k``."""
        return min(self.size, self.n_items - k * self.size)

    def first_line(self, k: int) -> int:
        """The 1-based line (row, for Parquet) of partition ``k``'s first item."""
        return k * self.size + (2 if self.header is not None else 1)
