"""``evalkit run CONFIG.toml``: a comparison as one file under version control.

::

    out = "reports/demo"               # optional; relative to this file
    metrics = ["rouge", "bleu", "chrf", "ter"]

    [references]
    paths = ["references.txt", "references_alt.txt"]   # or: path = "..."
    # field = "reference"              # for .jsonl / .csv / .tsv

    [systems]
    strong = "system_strong.txt"
    weak = { path = "weak.jsonl", field = "output" }

    [options.rouge]                    # per metric or group
    use_stemmer = true

Paths are relative to the config file's folder. A ``[judge]`` table runs the
LLM judge as well (see docs/judge.md).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.loading import InputSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["RunConfig", "load_config"]

_TOP_KEYS = {"out", "metrics", "references", "systems", "options", "judge", "format", "run"}


@dataclass(frozen=True)
class RunConfig:
    path: Path
    metrics: list[str]
    systems: dict[str, InputSpec]
    references: list[InputSpec]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: Path | None = None
    judge: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _join(base: Path, relative: str) -> Path:
    return Path(os.path.normpath(base / relative))


def _spec(where: str, value: Any, base: Path, default_field: str | None = None) -> InputSpec:
    if isinstance(value, str):
        return InputSpec(_join(base, value), default_field)
    if isinstance(value, dict):
        unknown = set(value) - {"path", "field", "format"}
        if unknown or "path" not in value:
            raise ConfigError(
                f"{where}: expected a path or {{ path = ..., field = ..., format = ... }}"
                + (f"; unknown key {sorted(unknown)[0]!r}" if unknown else "; 'path' is missing")
            )
        return InputSpec(_join(base, value["path"]), value.get("field", default_field), value.get("format"))
    raise ConfigError(f"{where}: expected a path string or a table, not {type(value).__name__}")


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    # normpath: "../../reports/demo" reads better than "datasets/demo/../../reports/demo"
    base = Path(os.path.normpath(path.parent))
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {sorted(unknown)[0]!r}", hint=f"known keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    judge = raw.get("judge")
    metrics = raw.get("metrics", [])
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",")]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"{path}: 'metrics' must be a list of metric names")
    systems_raw = raw.get("systems", {})
    if not isinstance(systems_raw, dict):
        raise ConfigError(f"{path}: [systems] must be a table of NAME = PATH")
    if metrics and not systems_raw:
        raise ConfigError(f"{path}: no [systems] given", hint='add e.g. [systems] mine = "outputs.txt"')
    if not metrics and judge is None:
        raise ConfigError(f"{path}: nothing to run: give 'metrics' or a [judge] table")
    systems = {name: _spec(f"{path}: systems.{name}", v, base) for name, v in systems_raw.items()}
    refs_raw = raw.get("references")
    references: list[InputSpec] = []
    if refs_raw is not None:
        if isinstance(refs_raw, str):
            references = [InputSpec(_join(base, refs_raw))]
        elif isinstance(refs_raw, dict):
            paths = refs_raw.get("paths", [refs_raw["path"]] if "path" in refs_raw else [])
            if not paths:
                raise ConfigError(f"{path}: [references] needs 'path' or 'paths'")
            references = [
                _spec(
                    f"{path}: references",
                    {**{k: v for k, v in refs_raw.items() if k not in ("paths", "path")}, "path": p},
                    base,
                )
                for p in paths
            ]
        else:
            raise ConfigError(f"{path}: 'references' must be a path or a table")
    options = raw.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise ConfigError(f"{path}: [options] must hold one table per metric, e.g. [options.rouge]")
    out = _join(base, raw["out"]) if "out" in raw else None
    extra = {k: raw[k] for k in ("format", "run") if k in raw}
    return RunConfig(path, metrics, systems, references, options, out, judge, extra)
