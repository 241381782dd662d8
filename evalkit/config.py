"""The settings of a run, and ``evalkit run CONFIG.toml``: a comparison as one
file under version control.

::

    out = "reports/demo"               # optional; relative to this file
    metrics = ["rouge", "bleu", "chrf", "ter"]
    prompts = "prompts.txt"            # optional: for judge metric columns

    [references]
    paths = ["references.txt", "references_alt.txt"]   # or: path = "..."
    # field = "reference"              # for .jsonl / .csv / .tsv

    [systems]
    strong = "system_strong.txt"
    weak = { path = "weak.jsonl", field = "output" }

    [options.rouge]                    # per metric or group
    use_stemmer = true

    [run]                              # statistics and gates: CheckSettings
    baseline = "strong"
    fail_if = ["bleu < baseline - 1 (p<0.05)"]

Paths are relative to the config file's folder. A ``[judge]`` table runs the
LLM judge as well (see docs/judge.md). The command line fills the same
:class:`CheckSettings` as the ``[run]`` table and wins over it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Literal

from annotated_types import Ge

from evalkit.errors import ConfigError
from evalkit.loading import InputSpec
from evalkit.settings import path_settings, setting, validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "ENGINE_SETTINGS",
    "FORMATS",
    "CheckSettings",
    "RunSettings",
    "check_settings",
    "load_config",
    "load_toml",
    "resolve_paths",
    "with_command_line",
]

#: sacrebleu's defaults, so that our numbers line up (``evalkit.stats`` uses them).
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345
FORMATS = ("table", "markdown", "csv", "json")
Format = Literal["table", "markdown", "csv", "json"]


@dataclass(frozen=True)
class CheckSettings:
    """Statistics and CI gates: the ``[run]`` table and the command line
    (``docs/ci.md``)."""

    baseline: str | None = setting(None, help="compare every other system with this one", metavar="NAME")
    fail_if: tuple[str, ...] = setting(
        (),
        help='fail (exit 1) when RULE holds, e.g. "bleu < baseline - 0.5 (p<0.05)" or "rougeL < 0.30" (repeatable)',
        metavar="RULE",
    )
    bootstrap: Annotated[int, Ge(0)] = setting(
        DEFAULT_RESAMPLES, help="bootstrap resamples for intervals (0: no statistics)", metavar="N"
    )
    seed: int = setting(DEFAULT_SEED, help="seed of every resampling", metavar="N")
    paired_test: Literal["ar", "bootstrap"] = setting("ar", help="paired test against the baseline")
    github_summary: bool = setting(False, help="append the results to $GITHUB_STEP_SUMMARY")
    junit: Path | None = setting(None, help="write one JUnit test case per gate to FILE", metavar="FILE", path=True)
    html: bool = setting(True, help="write report.html")
    judge_summary: Path | None = setting(
        None,
        help="a judge summary.json from another run: its win rates and position consistency become gate metrics",
        metavar="FILE",
        path=True,
    )
    engine: Literal["local", "dask"] = setting(
        "local", help="where the metrics are scored: this process, or a Dask cluster (docs/scale.md)"
    )
    scheduler: str | None = setting(
        None,
        help="the Dask scheduler's address, tcp://HOST:PORT (default: a LocalCluster, one worker per core)",
        metavar="ADDRESS",
    )
    partition_size: Annotated[int, Ge(1)] = setting(
        50_000, help="items per Dask partition: a worker thread scores one at a time", metavar="N"
    )


#: the settings of CheckSettings that choose where the metrics are scored
ENGINE_SETTINGS = ("engine", "scheduler", "partition_size")


@dataclass(frozen=True)
class RunSettings:
    """Everything :func:`evalkit.evaluation.evaluate` needs: what to score,
    how, where to write, and the statistics and gates."""

    metrics: tuple[str, ...] = ()
    systems: Mapping[str, InputSpec] = field(default_factory=dict)
    references: tuple[InputSpec, ...] = ()
    prompts: InputSpec | None = None
    options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    out: Path | None = None
    format: Format = "table"
    checks: CheckSettings = field(default_factory=CheckSettings)
    #: the ``[judge]`` table as written (the judge package validates it), and
    #: the folder its relative paths start from
    judge: Mapping[str, object] | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    #: where these settings came from, for messages
    source: str = "the command line"


@dataclass(frozen=True)
class _FileTable:
    path: str
    field: str | None = None
    format: Literal["text", "jsonl", "csv", "tsv"] | None = None


@dataclass(frozen=True)
class _References:
    path: str | None = None
    paths: tuple[str, ...] = ()
    field: str | None = None
    format: Literal["text", "jsonl", "csv", "tsv"] | None = None


@dataclass(frozen=True)
class _ConfigFile:
    """The top level of a config file, as written."""

    out: str | None = setting(None, help="the report folder", path=True)
    metrics: tuple[str, ...] | str = setting((), help="metric names")
    prompts: str | _FileTable | None = setting(None, help="one prompt per item")
    references: str | _References | None = setting(None, help="reference files")
    systems: dict[str, str | _FileTable] = setting(default_factory=dict, help="NAME = FILE")
    options: dict[str, dict[str, object]] = setting(default_factory=dict, help="per metric or group")
    format: Format | None = setting(None, help="what to print")
    run: dict[str, object] = setting(default_factory=dict, help="statistics and gates")
    judge: dict[str, object] | None = setting(None, help="the LLM judge")


def load_toml(path: Path) -> dict[str, object]:
    """A TOML file as a dict; one clear error for a missing or bad file."""
    try:
        data: dict[str, object] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return data


def _join(base: Path, relative: str | os.PathLike[str]) -> Path:
    # normpath: "../../reports/demo" reads better than "datasets/demo/../../reports/demo"
    return Path(os.path.normpath(base / relative))


def resolve_paths(values: Mapping[str, object], cls: type, base: Path) -> dict[str, object]:
    """``values`` with the settings of ``cls`` marked ``path=True`` made
    relative to ``base`` (a config file's folder)."""
    out = dict(values)
    for name in path_settings(cls):
        value = out.get(name)
        if isinstance(value, (str, os.PathLike)):
            out[name] = _join(base, value)
    return out


def _spec(value: str | _FileTable, base: Path, field_name: str | None = None) -> InputSpec:
    if isinstance(value, str):
        return InputSpec(_join(base, value), field_name)
    return InputSpec(_join(base, value.path), value.field or field_name, value.format)


def _references(value: str | _References | None, base: Path, where: str) -> tuple[InputSpec, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (InputSpec(_join(base, value)),)
    paths = value.paths or ((value.path,) if value.path else ())
    if not paths:
        raise ConfigError(f"{where}: [references] needs 'path' or 'paths'")
    return tuple(InputSpec(_join(base, p), value.field, value.format) for p in paths)


def check_settings(table: Mapping[str, object], *, base: Path, where: str) -> CheckSettings:
    """The ``[run]`` table as :class:`CheckSettings` (paths relative to ``base``)."""
    values = dict(table)
    if isinstance(values.get("fail_if"), str):
        values["fail_if"] = [values["fail_if"]]
    return validate(CheckSettings, resolve_paths(values, CheckSettings, base), where=where)


def load_config(path: str | Path) -> RunSettings:
    """Read ``evalkit run``'s config file into :class:`RunSettings`."""
    path = Path(path)
    raw = validate(_ConfigFile, load_toml(path), where=str(path))
    base = Path(os.path.normpath(path.parent))
    metrics = raw.metrics.split(",") if isinstance(raw.metrics, str) else raw.metrics
    metrics = tuple(m.strip() for m in metrics if m.strip())
    if metrics and not raw.systems:
        raise ConfigError(f"{path}: no [systems] given", hint='add e.g. [systems] mine = "outputs.txt"')
    if not metrics and raw.judge is None:
        raise ConfigError(f"{path}: nothing to run: give 'metrics' or a [judge] table")
    return RunSettings(
        metrics=metrics,
        systems={name: _spec(value, base) for name, value in raw.systems.items()},
        references=_references(raw.references, base, str(path)),
        prompts=_spec(raw.prompts, base) if raw.prompts is not None else None,
        options=raw.options,
        out=_join(base, raw.out) if raw.out else None,
        format=raw.format or "table",
        checks=check_settings(raw.run, base=base, where=f"{path} [run]"),
        judge=raw.judge,
        base_dir=base,
        source=str(path),
    )


def with_command_line(settings: CheckSettings, given: Mapping[str, object]) -> CheckSettings:
    """``settings`` with what the command line gave (it wins; ``--fail-if``
    rules add to the config's)."""
    values = dict(given)
    extra = values.get("fail_if")
    if isinstance(extra, (list, tuple)):
        values["fail_if"] = (*settings.fail_if, *extra)
    current = {f.name: getattr(settings, f.name) for f in fields(CheckSettings)}
    return validate(CheckSettings, {**current, **values}, where="the command line")
