"""The human-labelled pairwise sets shipped with evalkit (``datasets/human/``),
which ``evalkit judge certify --set NAME`` runs a judge over.

Each set is a folder with a ``set.toml`` naming its files (prompts, the two
answers as systems, the labels) and its counts, source and licence. Nothing
is downloaded: the files are in the checkout and in the wheel.

>>> sorted(shipped_sets())
['llmbar-natural', 'pandalm-test']
>>> labelled_set("llmbar-natural").annotators
1
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.resources import datasets_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["LabelledSet", "labelled_set", "set_names", "shipped_sets"]


_SHAPE = (
    "give name, description, prompts, labels, items, label_rows, annotators, licence, source "
    "and a [systems] table of two NAME = FILE (see datasets/human/*/set.toml)"
)


def _read(path: Path) -> LabelledSet:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    folder = path.parent
    systems = {name: folder / file for name, file in raw["systems"].items()}
    if len(systems) != 2:
        raise ValueError(f"[systems] names {len(systems)} systems, not two")
    return LabelledSet(
        name=raw["name"],
        description=raw["description"],
        folder=folder,
        prompts=folder / raw["prompts"],
        systems=systems,
        labels=folder / raw["labels"],
        items=int(raw["items"]),
        label_rows=int(raw["label_rows"]),
        annotators=int(raw["annotators"]),
        licence=raw["licence"],
        source=raw["source"],
    )


def shipped_sets() -> dict[str, LabelledSet]:
    """Every shipped set by name."""
    root = datasets_dir() / "human"
    return {s.name: s for s in (_read(p) for p in sorted(root.glob("*/set.toml")))}


def set_names() -> list[str]:
    """The shipped sets' names, for ``--help`` and messages."""
    return sorted(shipped_sets())


def labelled_set(name: str) -> LabelledSet:
    """The shipped set ``name``, or the set in the folder ``name`` (one with
    a ``set.toml`` of the same shape: your own labelled set); an unknown name
    is a :class:`ConfigError` listing the shipped sets."""
    own = Path(name) / "set.toml"
    if own.is_file():
        try:
            return _read(own)
        except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{own}: not a labelled set's set.toml ({exc})", hint=_SHAPE) from None
    sets = shipped_sets()
    if name not in sets:
        listing = "; ".join(f"{s.name} ({s.description})" for s in sets.values())
        raise ConfigError(f"--set {name!r}: no such human-labelled set", hint=f"choose one of: {listing}")
    return sets[name]


@dataclass(frozen=True)
class LabelledSet:
    """A shipped human-labelled pairwise set: paths are absolute."""

    name: str
    description: str
    folder: Path
    prompts: Path
    systems: Mapping[str, Path]
    labels: Path
    items: int
    label_rows: int
    annotators: int
    licence: str
    source: str

    @property
    def pair(self) -> tuple[str, str]:
        """The two systems, in the order the labels name them (system_a, system_b)."""
        first, second = self.systems
        return first, second
