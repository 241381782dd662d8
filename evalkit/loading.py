"""Turn file specs (path + optional field) into predictions and references,
with errors that name the files and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import ConfigError, InputError
from evalkit.inputs import Segment, read_segments

__all__ = [
    "InputSpec",
    "check_prediction_count",
    "check_reference_counts",
    "check_reference_nulls",
    "join_references",
    "load_references",
    "load_systems",
    "load_texts",
    "parse_named_path",
    "parse_named_paths",
]


@dataclass(frozen=True)
class InputSpec:
    path: Path
    field: str | None = None
    format: str | None = None


def parse_named_path(text: str, *, option: str = "--system") -> tuple[str, str]:
    """``NAME=PATH`` -> ``(NAME, PATH)``: the one parser of every such option.

    >>> parse_named_path("base=out/base.txt")
    ('base', 'out/base.txt')
    """
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ConfigError(
            f"{option} {text!r} is not NAME=FILE", hint=f"for example: {option} baseline=outputs/base.txt"
        )
    return name.strip(), path.strip()


def parse_named_paths(items: Sequence[str], *, option: str = "--system") -> dict[str, str]:
    """Several ``NAME=PATH`` values; a name given twice is an error."""
    out: dict[str, str] = {}
    for item in items:
        name, path = parse_named_path(item, option=option)
        if name in out:
            raise ConfigError(f"{option}: the name {name!r} is given twice", hint=f"give each {option} a distinct NAME")
        out[name] = path
    return out


def load_texts(spec: InputSpec, *, what: str = "prompt") -> list[str | None]:
    """One text per item (prompts, sources): a ``null`` JSONL value is a
    missing text; a list is an error."""
    segments = read_segments(spec.path, field=spec.field, format=spec.format)
    out: list[str | None] = []
    for i, seg in enumerate(segments):
        if seg is not None and not isinstance(seg, str):
            raise InputError(f"the {what} of item {i + 1} is a list, not one text", path=str(spec.path))
        out.append(seg)
    return out


def load_references(specs: list[InputSpec]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Read one or more reference files into one tuple of references per item.

    A JSONL field may hold a list of references (their number may vary).
    Returns the references and the file names, for messages.
    """
    streams = []
    for spec in specs:
        segments = read_segments(spec.path, field=spec.field, format=spec.format, allow_lists=True)
        check_reference_nulls(str(spec.path), segments)
        streams.append(segments)
    counts = {str(s.path): len(stream) for s, stream in zip(specs, streams)}
    check_reference_counts(counts)
    return join_references(streams), list(counts)


def check_reference_counts(counts: dict[str, int]) -> None:
    """Every reference file has the same number of segments (``counts``: file -> number)."""
    if len(set(counts.values())) > 1:
        raise InputError(
            "reference files have different numbers of segments: "
            + ", ".join(f"{p} has {n}" for p, n in counts.items()),
            hint="every reference file needs one line per item, in the same order",
        )


def join_references(streams: Sequence[Sequence[Segment]]) -> list[tuple[str, ...]]:
    """One tuple of references per item from several files' segments (a
    segment may be a list of references)."""
    refs = []
    for entries in zip(*streams):
        item: list[str] = []
        for entry in entries:
            item.extend([entry] if isinstance(entry, str) else (entry or []))
        refs.append(tuple(item))
    return refs


def check_reference_nulls(path: str, segments: Sequence[Segment], *, first: int = 0) -> None:
    """A reference may not be null (``first``: the item number of ``segments[0]``)."""
    for i, seg in enumerate(segments):
        if seg is None:
            raise InputError(f"the reference of item {first + i + 1} is null", path=path)


def check_prediction_count(name: str, path: str, n: int, n_references: int, reference_files: Sequence[str]) -> None:
    if n != n_references:
        raise InputError(
            f"{n} predictions in {path} (system {name!r}) but "
            f"{n_references} references in {', '.join(reference_files)}",
            hint="give one prediction per reference, in the same order",
        )


def load_systems(
    specs: dict[str, InputSpec], *, n_references: int | None = None, reference_files: Sequence[str] = ()
) -> dict[str, list[str | None]]:
    systems: dict[str, list[str | None]] = {}
    for name, spec in specs.items():
        segments = read_segments(spec.path, field=spec.field, format=spec.format)
        if n_references is not None:
            check_prediction_count(name, str(spec.path), len(segments), n_references, reference_files)
        systems[name] = segments  # type: ignore[assignment]
    return systems
