"""Parsing a panel of judges: ``--panel FILE.toml`` (a list of ``[[judge]]``
tables) or ``[[judge.panel]]`` entries in a config file.

Each entry holds :class:`~evalkit.judge.types.JudgeSettings` keys (and an
optional ``name``) over the run's shared settings, and is validated through
them: every judge setting works per judge. Paths in a panel file are
relative to that file; in a config file, to the config file.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from evalkit.errors import ConfigError
from evalkit.judge.types import JudgeSettings, Mode, PanelMember, PanelSettings
from evalkit.settings import setting_names, validate

__all__ = ["PANEL_KEYS", "panel_members", "panel_settings", "read_panel_file"]

#: Keys of the panel as a whole (``panel``, ``pool``, ``cascade_margin``).
PANEL_KEYS = frozenset(setting_names(PanelSettings))

Resolve = Callable[[Mapping[str, Any], pathlib.Path | None], dict[str, Any]]


def read_panel_file(path: pathlib.Path) -> list[dict[str, Any]]:
    """The ``[[judge]]`` entries of a panel file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if not path.is_file():
        raise ConfigError(f"{path}: panel file not found", hint="give a TOML file with [[judge]] entries")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    extra = [k for k in data if k != "judge"]
    entries = data.get("judge")
    if extra or not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(
            f"{path}: a panel file holds only [[judge]] entries" + (f" (unknown key {extra[0]!r})" if extra else ""),
            hint='e.g. [[judge]] judge = "local" template = "pairwise", then a second [[judge]]',
        )
    return entries


def panel_settings(values: Mapping[str, Any], *, mode: Mode, where: str) -> PanelSettings:
    """The panel's own settings, checked against ``mode``."""
    settings = validate(PanelSettings, {k: v for k, v in values.items() if k != "panel"}, where=where)
    if settings.pool == "cascade" and mode != "pairwise":
        raise ConfigError(f"{where}: pool = 'cascade' needs pairwise judging (it stops on a confident verdict)")
    return settings


def _entries(
    panel: object, *, base_dir: pathlib.Path | None, where: str
) -> tuple[list[dict[str, Any]], pathlib.Path | None, str]:
    """The entries, the folder their paths are relative to, and where they come from."""
    if isinstance(panel, str):
        path = pathlib.Path(panel)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return read_panel_file(path), path.parent, str(path)
    if isinstance(panel, list) and all(isinstance(e, Mapping) for e in panel):
        return [dict(e) for e in panel], base_dir, f"{where} [[judge.panel]]"
    raise ConfigError(f"{where}: panel must be a file name or a list of [[judge.panel]] tables")


def panel_members(
    panel: object,
    shared: Mapping[str, Any],
    *,
    mode: Mode,
    where: str,
    base_dir: pathlib.Path | None,
    resolve: Resolve,
) -> tuple[PanelMember, ...]:
    """The judges of a panel, each validated and checked like one judge:
    its entry's keys over ``shared`` (the run's settings); ``resolve`` makes
    an entry's paths relative to the folder its file is in."""
    from evalkit.judge.calls import check_settings
    from evalkit.judge.cli import PAIRWISE_ONLY
    from evalkit.judge.run import api_key_from_env
    from evalkit.judge.templates import load_template

    entries, folder, source = _entries(panel, base_dir=base_dir, where=where)
    if len(entries) < 2:
        raise ConfigError(f"{source}: a panel needs at least two judges, found {len(entries)}")
    members: list[PanelMember] = []
    for k, entry in enumerate(entries, 1):
        name = str(entry.pop("name", f"judge{k}"))
        entry_where = f"{source} judge #{k} ({name})"
        values = {**shared, **resolve(entry, folder)}
        if mode == "single":
            values = {key: v for key, v in values.items() if key not in PAIRWISE_ONLY}
        settings = validate(JudgeSettings, values, where=entry_where)
        template = load_template(settings.template or str(mode))
        try:
            protocol = check_settings(settings, mode=mode, template=template)
        except ConfigError as exc:
            raise ConfigError(f"{entry_where}: {exc.message}", hint=exc.hint) from None
        api_key_from_env(settings)
        members.append(PanelMember(name, settings, template, protocol))
    _check_names([m.name for m in members], source)
    return tuple(members)


def _check_names(names: Sequence[str], source: str) -> None:
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{source}: two judges are named {name!r}", hint="give each judge its own name")
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ConfigError(f"{source}: judge name {name!r} cannot name a report folder")
