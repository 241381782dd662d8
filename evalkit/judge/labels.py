"""Human labels for a judge run: read, checked and typed.

A labels file (``--labels FILE``, or ``labels = "FILE"`` in ``[judge]``) is
JSONL, CSV or TSV with one row per item per annotator (several annotators:
several rows for the same item). Fields:

- ``item``: the 0-based index of the prompt, or, when ``--id-field NAME`` is
  given, the value of that field of the prompts file;
- pairwise: ``system_a``, ``system_b`` and ``winner`` (one of the two system
  names, or ``tie``); a row for (B, A) labels the judged pair (A, B) too;
- single: ``system`` and ``score`` (a number on the template's scale);
- optional: ``annotator`` (a name; rows without one count as distinct
  annotators) and ``category`` (one per item; the agreement is broken down
  by it). Other fields are ignored.

Every problem is an :class:`~evalkit.errors.InputError` naming the file and
line. The agreement itself is computed by :mod:`evalkit.judge.agreement`.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
>>> _ = open(path, "w").write("item,system_a,system_b,winner\\n0,x,y,y\\n1,y,x,tie\\n")
>>> labels = load_labels(path, mode="pairwise", n_items=2, systems=["x", "y"])
>>> labels.for_pair("x", "y")
{0: ['b'], 1: ['tie']}
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evalkit.errors import InputError
from evalkit.inputs import read_records
from evalkit.judge.types import Mode

__all__ = ["HumanLabels", "PairLabel", "ScoreLabel", "load_labels", "load_prompt_ids"]

_PAIRWISE_FIELDS = ("item", "system_a", "system_b", "winner")
_SINGLE_FIELDS = ("item", "system", "score")


def load_prompt_ids(prompts: str, id_field: str) -> list[str]:
    """The value of ``id_field`` of every prompt (as text), in order; ids must be distinct."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for line, record in read_records(prompts):
        value = record.get(id_field)
        if value is None or value == "" or isinstance(value, (dict, list, bool)):
            raise InputError(
                f"no usable id in field {id_field!r}", path=prompts, line=line, hint="give every prompt an id"
            )
        key = str(value)
        if key in seen:
            raise InputError(f"id {key!r} is used twice (also line {seen[key]})", path=prompts, line=line)
        seen[key] = line
        ids.append(key)
    return ids


def load_labels(
    path: str,
    *,
    mode: Mode,
    n_items: int,
    systems: Sequence[str],
    ids: Sequence[str] | None = None,
) -> HumanLabels:
    """Read and check the labels file ``path`` for a run of ``mode`` over
    ``n_items`` prompts and ``systems``; ``ids`` are the prompts' ids when
    labels name items by id (``--id-field``)."""
    reader = _RowReader(path, n_items, tuple(systems), {k: i for i, k in enumerate(ids)} if ids is not None else None)
    records = read_records(path)
    if not records:
        raise InputError("the file has no labels", path=path)
    if mode == "pairwise":
        pairs = tuple(reader.pair(line, record) for line, record in records)
        _check_unique(path, [(p.item, frozenset((p.system_a, p.system_b)), p.annotator, p.line) for p in pairs])
        _check_categories(path, [(p.item, frozenset((p.system_a, p.system_b)), p.category, p.line) for p in pairs])
        return HumanLabels(mode, path, pairs=pairs)
    scores = tuple(reader.score(line, record) for line, record in records)
    _check_unique(path, [(s.item, s.system, s.annotator, s.line) for s in scores])
    _check_categories(path, [(s.item, s.system, s.category, s.line) for s in scores])
    return HumanLabels(mode, path, scores=scores)


def _check_unique(path: str, keys: Sequence[tuple[int, object, str | None, int]]) -> None:
    seen: dict[tuple[int, object, str], int] = {}
    for item, what, annotator, line in keys:
        if annotator is None:
            continue
        key = (item, what, annotator)
        if key in seen:
            raise InputError(
                f"annotator {annotator!r} labels item {item} twice (also line {seen[key]})",
                path=path,
                line=line,
                hint="keep one label per item per annotator",
            )
        seen[key] = line


def _check_categories(path: str, keys: Sequence[tuple[int, object, str | None, int]]) -> None:
    seen: dict[tuple[int, object], tuple[str | None, int]] = {}
    for item, what, category, line in keys:
        if (item, what) in seen and seen[item, what][0] != category:
            first, first_line = seen[item, what]
            raise InputError(
                f"item {item} has category {category!r} here and {first!r} on line {first_line}",
                path=path,
                line=line,
                hint="give each item one category",
            )
        seen.setdefault((item, what), (category, line))


class _RowReader:
    """Turns one record into a typed label, or an :class:`InputError` at its line."""

    def __init__(self, path: str, n_items: int, systems: tuple[str, ...], ids: Mapping[str, int] | None) -> None:
        self.path, self.n_items, self.systems, self.ids = path, n_items, systems, ids

    def fail(self, line: int, message: str, hint: str | None = None) -> InputError:
        return InputError(message, path=self.path, line=line, hint=hint)

    def fields(self, line: int, record: Mapping[str, object], names: Sequence[str]) -> None:
        missing = [n for n in names if record.get(n) is None or record.get(n) == ""]
        if missing:
            raise self.fail(
                line,
                f"no {', '.join(map(repr, missing))} (a label needs {', '.join(names)})",
                hint="see docs/judge.md, 'Human labels', for the format",
            )

    def item(self, line: int, value: object) -> int:
        if self.ids is not None:
            key = str(value)
            if key not in self.ids:
                raise self.fail(line, f"item {key!r} is not the id of any prompt", hint="check --id-field and the ids")
            return self.ids[key]
        index = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.strip().isdigit():
            index = int(value)
        if index is None or not 0 <= index < self.n_items:
            raise self.fail(
                line,
                f"item {value!r} is not a prompt index (0 to {self.n_items - 1})",
                hint="item is the 0-based index of the prompt; name prompts by id with --id-field",
            )
        return index

    def system(self, line: int, value: object) -> str:
        name = str(value)
        if name not in self.systems:
            raise self.fail(line, f"system {name!r} is not judged in this run (systems: {', '.join(self.systems)})")
        return name

    def optional(self, record: Mapping[str, object], name: str) -> str | None:
        value = record.get(name)
        return None if value is None or value == "" else str(value)

    def pair(self, line: int, record: Mapping[str, object]) -> PairLabel:
        self.fields(line, record, _PAIRWISE_FIELDS)
        a, b = self.system(line, record["system_a"]), self.system(line, record["system_b"])
        if a == b:
            raise self.fail(line, f"system_a and system_b are both {a!r}")
        winner = str(record["winner"])
        if winner.lower() == "tie":
            winner = "tie"
        elif winner not in (a, b):
            raise self.fail(line, f"winner {winner!r} is neither {a!r}, {b!r} nor 'tie'")
        item = self.item(line, record["item"])
        return PairLabel(
            item, a, b, winner, self.optional(record, "annotator"), self.optional(record, "category"), line
        )

    def score(self, line: int, record: Mapping[str, object]) -> ScoreLabel:
        self.fields(line, record, _SINGLE_FIELDS)
        raw = record["score"]
        try:
            score = float(raw) if not isinstance(raw, bool) else math.nan  # type: ignore[arg-type]
        except (TypeError, ValueError):
            score = math.nan
        if not math.isfinite(score):
            raise self.fail(line, f"score {raw!r} is not a number")
        item, system = self.item(line, record["item"]), self.system(line, record["system"])
        return ScoreLabel(
            item, system, score, self.optional(record, "annotator"), self.optional(record, "category"), line
        )


# -- types ------------------------------------------------------------------------


@dataclass(frozen=True)
class PairLabel:
    """One annotator's pairwise label: ``winner`` is ``system_a``, ``system_b`` or ``"tie"``."""

    item: int
    system_a: str
    system_b: str
    winner: str
    annotator: str | None = None
    category: str | None = None
    line: int = 0


@dataclass(frozen=True)
class ScoreLabel:
    """One annotator's score of one system's answer."""

    item: int
    system: str
    score: float
    annotator: str | None = None
    category: str | None = None
    line: int = 0


@dataclass(frozen=True)
class HumanLabels:
    """The labels of one file; ``pairs`` in pairwise mode, ``scores`` in single mode."""

    mode: Mode
    path: str
    pairs: tuple[PairLabel, ...] = ()
    scores: tuple[ScoreLabel, ...] = ()

    def for_pair(self, system_a: str, system_b: str) -> dict[int, list[str]]:
        """item -> each annotator's label seen from ``system_a``'s side:
        ``"a"`` (system_a wins), ``"b"`` or ``"tie"``; rows for
        (system_b, system_a) are flipped."""
        out: dict[int, list[str]] = {}
        for label in self.pairs:
            if {label.system_a, label.system_b} != {system_a, system_b}:
                continue
            side = "tie" if label.winner == "tie" else ("a" if label.winner == system_a else "b")
            out.setdefault(label.item, []).append(side)
        return out

    def categories(self, system_a: str, system_b: str | None = None) -> dict[int, str]:
        """item -> category, for the labels of a pair (or of one system, ``system_b`` None)."""
        out: dict[int, str] = {}
        if system_b is None:
            for s in self.scores:
                if s.system == system_a and s.category is not None:
                    out[s.item] = s.category
            return out
        for p in self.pairs:
            if {p.system_a, p.system_b} == {system_a, system_b} and p.category is not None:
                out[p.item] = p.category
        return out

    def for_system(self, system: str | None) -> dict[tuple[int, str], list[float]]:
        """(item, system) -> each annotator's score, for ``system`` (every system when None)."""
        out: dict[tuple[int, str], list[float]] = {}
        for s in self.scores:
            if system is None or s.system == system:
                out.setdefault((s.item, s.system), []).append(s.score)
        return out

    def n_annotators(self, system_a: str | None, system_b: str | None = None) -> int:
        """How many annotators labelled the pair (``system_b`` given) or the
        system (every system when ``system_a`` is None): the distinct names
        when every row has one, else the most labels any item has."""
        rows: Sequence[PairLabel | ScoreLabel]
        if system_b is not None:
            rows = [p for p in self.pairs if {p.system_a, p.system_b} == {system_a, system_b}]
        else:
            rows = [s for s in self.scores if system_a is None or s.system == system_a]
        names = {r.annotator for r in rows}
        if rows and None not in names:
            return len(names)
        per_item = Counter((r.item, r.system if isinstance(r, ScoreLabel) else "") for r in rows)
        return max(per_item.values(), default=0)
