"""Reading predictions and references from files.

Formats, chosen by extension unless given:

- plain text (any other extension): one segment per line; lines split on
  ``\\n`` only, a trailing ``\\r`` is dropped, a final newline adds no
  segment, an empty line is an (empty) segment;
- ``.jsonl``: one JSON object per line, the text in ``field``; a ``null``
  value is a missing prediction (left unscored); a list of strings gives
  several references for that item; blank lines are skipped;
- ``.csv`` / ``.tsv``: a header row, the text in column ``field`` (a header
  name, or a 0-based index);
- ``.parquet``: the text in column ``field`` (a string column, or a list of
  strings for several references; null is a missing prediction), read one
  row group at a time (pyarrow, the ``dask`` extra).

A leading UTF-8 byte-order mark (``\\ufeff``, written by some Windows editors
and by Excel's "CSV UTF-8") is dropped in every format: it is not text, and
kept it would end up in the first segment or the first column's name.

Every problem raises :class:`~evalkit.errors.InputError` naming the file and
line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import InputError

__all__ = [
    "read_segments",
    "detect_format",
    "read_records",
    "parse_text",
    "parquet_column",
    "parquet_rows",
    "Segment",
    "DEFAULT_FIELDS",
]

#: A prediction (str or None) or a reference entry (str or list of str).
Segment = str | None | list[str]

#: Field (JSONL) / column (CSV, TSV) looked up when none is given, in order.
DEFAULT_FIELDS = ("text", "prediction", "output", "response", "reference", "target")

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}


def detect_format(path: str | os.PathLike[str]) -> str:
    return _FORMATS.get(Path(path).suffix.lower(), "text")


def _decode(path: str, data: bytes) -> str:
    """UTF-8 text without a leading byte-order mark (the one place every
    format goes through)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1)
        raise InputError(
            f"invalid UTF-8 at byte {exc.start} (byte {column} of the line): {exc.reason}",
            path=path,
            line=line,
            hint="save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from None


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline adds no segment
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_segments(
    path: str | os.PathLike[str],
    *,
    field: str | int | None = None,
    format: str | None = None,
    allow_lists: bool = False,
) -> list[Segment]:
    """Read one segment per item from ``path``.

    ``allow_lists`` accepts a JSON list of strings as one item's entry (several
    references). Raises :class:`InputError` for a missing, empty, non-UTF-8 or
    malformed file.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("first\\n\\nthird\\n")
    >>> read_segments(p)
    ['first', '', 'third']
    """
    path = os.fspath(path)
    fmt = format or detect_format(path)
    if fmt not in ("text", "jsonl", "csv", "tsv", "parquet"):
        raise InputError(f"unknown format {fmt!r}; use text, jsonl, csv, tsv or parquet", path=path)
    if fmt == "parquet":
        return _read_parquet(path, field, allow_lists)
    text = _decode(path, _read_bytes(path))
    if text == "":
        raise InputError("the file is empty", path=path, hint="give a file with one segment per line")
    return parse_text(path, text, fmt=fmt, field=field, allow_lists=allow_lists)


def parse_text(
    path: str,
    text: str,
    *,
    fmt: str,
    field: str | int | None,
    allow_lists: bool = False,
    first_line: int = 1,
    part: bool = False,
) -> list[Segment]:
    """The segments of ``text``: a whole file, or (``part``) a part of one
    whose first line is line ``first_line`` of ``path``; a CSV part starts
    with the header, and a record in it may not span lines."""
    if fmt == "text":
        if field is not None:
            raise InputError(
                f"a field/column ({field!r}) was given for a plain-text file",
                path=path,
                hint="use a .jsonl, .csv, .tsv or .parquet file, or drop the field",
            )
        return list(_split_lines(text))
    if fmt == "jsonl":
        return _read_jsonl(path, text, field, allow_lists, first_line)
    return _read_table(path, text, field, "\t" if fmt == "tsv" else ",", first_line, part)


def _check_value(path: str, line: int, key: object, value: object, allow_lists: bool) -> Segment:
    if value is None or isinstance(value, str):
        return value
    if allow_lists and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    wanted = "a string or a non-empty list of strings" if allow_lists else "a string or null"
    raise InputError(f"field {key!r} is {json.dumps(value)[:60]}, expected {wanted}", path=path, line=line)


def _jsonl_objects(path: str, text: str, first_line: int = 1) -> Iterator[tuple[int, dict[str, object]]]:
    """Each non-blank line's JSON object, with its line number; anything else is an error naming the line."""
    for number, line in enumerate(_split_lines(text), start=first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=number) from None
        if not isinstance(record, dict):
            raise InputError("each line must be a JSON object", path=path, line=number)
        yield number, record


def _read_jsonl(path: str, text: str, field: str | int | None, allow_lists: bool, first_line: int) -> list[Segment]:
    out: list[Segment] = []
    for number, record in _jsonl_objects(path, text, first_line):
        key = field if field is not None else next((f for f in DEFAULT_FIELDS if f in record), None)
        if key is None or key not in record:
            wanted = repr(field) if field is not None else " or ".join(map(repr, DEFAULT_FIELDS))
            raise InputError(
                f"the object has no field {wanted} (its fields: {', '.join(map(str, record)) or 'none'})",
                path=path,
                line=number,
                hint="name the field with --prediction-field / --reference-field (or 'field' in the config)",
            )
        out.append(_check_value(path, number, key, record[key], allow_lists))
    if not out:
        raise InputError("the file has no JSON lines", path=path)
    return out


def _read_table(
    path: str, text: str, field: str | int | None, delimiter: str, first_line: int, part: bool = False
) -> list[Segment]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise InputError("the file is empty", path=path) from None
    if field is None:
        index = next((header.index(f) for f in DEFAULT_FIELDS if f in header), None)
    elif isinstance(field, int) or (isinstance(field, str) and field.isdigit()):
        index = int(field)
    else:
        index = header.index(field) if field in header else None
    if index is None or index >= len(header):
        wanted = repr(field) if field is not None else " or ".join(map(repr, DEFAULT_FIELDS))
        raise InputError(
            f"no column {wanted} in the header (columns: {', '.join(header)})",
            path=path,
            line=1,
            hint="name the column with --prediction-field / --reference-field (or 'field' in the config)",
        )
    out: list[Segment] = []
    shift = first_line - 1 if first_line == 1 else first_line - 2  # a part's line 1 is the header
    try:
        for row in rows:
            line = rows.line_num + shift
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"{len(row)} columns, the header has {len(header)}", path=path, line=line)
            if part and any("\n" in cell or "\r" in cell for cell in row):
                raise InputError(
                    "a record spans lines (a quoted line break), which --engine dask cannot split",
                    path=path,
                    line=line,
                    hint="give the file as JSONL or Parquet, or score it with --engine local",
                )
            out.append(row[index])
    except csv.Error as exc:
        raise InputError(
            f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}", path=path, line=rows.line_num + shift
        ) from None
    if not out:
        raise InputError("the file has a header but no rows", path=path)
    return out


def read_records(path: str | os.PathLike[str]) -> list[tuple[int, dict[str, object]]]:
    """Every record of a ``.jsonl``, ``.csv`` or ``.tsv`` file with its
    1-based line: a JSONL object as parsed, a CSV/TSV row as a header ->
    value mapping (strings). For files of several fields per item (human
    labels, ids), where :func:`read_segments` reads one.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.csv")
    >>> _ = open(p, "w").write("item,winner\\n0,tie\\n")
    >>> read_records(p)
    [(2, {'item': '0', 'winner': 'tie'})]
    """
    path = os.fspath(path)
    fmt = detect_format(path)
    if fmt == "text":
        raise InputError("not a .jsonl, .csv or .tsv file", path=path, hint="give the records as JSONL, CSV or TSV")
    text = _decode(path, _read_bytes(path))
    if not text.strip():
        raise InputError("the file is empty", path=path)
    if fmt == "jsonl":
        return list(_jsonl_objects(path, text))
    return _read_rows(path, text, "\t" if fmt == "tsv" else ",")


def _read_rows(path: str, text: str, delimiter: str) -> list[tuple[int, dict[str, object]]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, dict[str, object]]] = []
    try:
        header = next(rows)
        for row in rows:
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"{len(row)} columns, the header has {len(header)}", path=path, line=rows.line_num)
            out.append((rows.line_num, dict(zip(header, row))))
    except csv.Error as exc:
        raise InputError(
            f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}", path=path, line=rows.line_num
        ) from None
    return out


def parquet_column(path: str, field: str | int | None) -> str:
    """The column of a Parquet file that holds the text (``field``, or the
    first of :data:`DEFAULT_FIELDS`), checked against its schema; reads no data."""
    names = _parquet_file(path).schema_arrow.names
    if isinstance(field, int) or (isinstance(field, str) and field.isdigit() and field not in names):
        if int(field) < len(names):
            return str(names[int(field)])
        field = str(field)
    column = field if field is not None else next((f for f in DEFAULT_FIELDS if f in names), None)
    if column is None or column not in names:
        wanted = repr(field) if field is not None else " or ".join(map(repr, DEFAULT_FIELDS))
        raise InputError(
            f"no column {wanted} (columns: {', '.join(names)})",
            path=path,
            hint="name the column with --prediction-field / --reference-field (or 'field' in the config)",
        )
    return str(column)


def _parquet_file(path: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from evalkit.errors import MissingDependencyError

        raise MissingDependencyError("pyarrow (for Parquet files)", install="pip install 'evalkit[dask]'") from None
    _read_bytes_check(path)
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a file that is not Parquet
        raise InputError(f"not a readable Parquet file: {exc}", path=path) from None


def _read_bytes_check(path: str) -> None:
    target = Path(path)
    if not target.exists():
        raise InputError("no such file", path=path, hint="check the path")
    if target.is_dir():
        raise InputError("is a folder, not a file", path=path)


def parquet_rows(path: str, column: str, start: int, stop: int, *, allow_lists: bool) -> list[Segment]:
    """Rows ``start``..``stop`` of ``column``, reading only the row groups
    that hold them (one at a time)."""
    parquet = _parquet_file(path)
    out: list[Segment] = []
    first = 0
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if first + size > start and first < stop:
            values = parquet.read_row_group(group, columns=[column]).column(0).to_pylist()
            for offset, value in enumerate(values[max(0, start - first) : stop - first]):
                row = first + max(0, start - first) + offset + 1
                out.append(_check_value(path, row, column, value, allow_lists))
        first += size
    return out


def _read_parquet(path: str, field: str | int | None, allow_lists: bool) -> list[Segment]:
    column = parquet_column(path, field)
    rows = int(_parquet_file(path).metadata.num_rows)
    if rows == 0:
        raise InputError("the file has no rows", path=path)
    return parquet_rows(path, column, 0, rows, allow_lists=allow_lists)
