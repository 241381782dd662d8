"""Judge templates: TOML data files that users copy and edit.

A template holds the system and user messages with placeholders, the verdict
format and its labels (or score scale), the output instructions for each
verdict protocol and a version that enters the cache key and the signature.
``judges/README.md`` documents the format.

>>> t = load_template("mt-bench-pairwise")
>>> (t.mode, t.labels)
('pairwise', ('A', 'B', 'C'))
"""

from __future__ import annotations

import pathlib
import re
import sys
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Ge, MinLen

from evalkit.errors import TemplateError
from evalkit.judge.types import PROTOCOLS, Mode, Template, VerdictProtocol, template_fields
from evalkit.settings import setting, validate

__all__ = ["Template", "TemplateError", "load_template", "available_templates", "parse_template", "PROTOCOLS"]

_PLACEHOLDERS = {
    "single": {"question", "answer", "reference", "format_instructions", "conversation", "reference_conversation"},
    "pairwise": {
        "question",
        "answer_a",
        "answer_b",
        "reference",
        "format_instructions",
        "conversation_a",
        "conversation_b",
        "reference_conversation",
    },
}
#: What a template must show: the answers, or the conversations (multi-turn).
_REQUIRED = {"single": {"answer"}, "pairwise": {"answer_a", "answer_b"}}
_REQUIRED_CONVERSATION = {"single": {"conversation"}, "pairwise": {"conversation_a", "conversation_b"}}
_HEADING_LINE = re.compile(r"^\s*(\[[^\[\]{}\n]+\])\s*$", re.MULTILINE)
_NonEmpty = Annotated[str, MinLen(1)]
#: a nested table rejects unknown keys too
_NO_EXTRA = {"extra": "forbid"}


# -- the file's schema: one declaration per key, checked by pydantic ---------------------


@dataclass(frozen=True)
class _Messages:
    __pydantic_config__ = _NO_EXTRA
    user: str = setting(help="the user message, with placeholders")
    system: str = setting("", help="the system message (optional)")


@dataclass(frozen=True)
class _Labels:
    __pydantic_config__ = _NO_EXTRA
    first: _NonEmpty = setting(help="the label for: the answer shown first is better")
    second: _NonEmpty = setting(help="the label for: the answer shown second is better")
    tie: _NonEmpty | None = setting(None, help="the label for a tie (optional)")


@dataclass(frozen=True)
class _VerdictTable:
    __pydantic_config__ = _NO_EXTRA
    format: str = setting(help="how a verdict is written; {verdict} once")
    pattern: str | None = setting(None, help="a regex with one group; derived from format by default")
    labels: _Labels | None = setting(None, help="pairwise: the labels of first, second and tie")
    scale: Annotated[list[int], MinLen(2)] | None = setting(None, help="single: [LOW, HIGH]")


@dataclass(frozen=True)
class _Instructions:
    __pydantic_config__ = _NO_EXTRA
    text: str | None = setting(None, help="output instructions for the text protocol")
    grammar: str | None = setting(None, help="... for the grammar protocol (default: the logprobs ones)")
    logprobs: str | None = setting(None, help="... for the logprobs protocol")


@dataclass(frozen=True)
class TemplateFile:
    """The keys of a template file (``judges/README.md`` documents them)."""

    __pydantic_config__ = _NO_EXTRA
    name: str = setting(help="shown in reports")
    version: str | int | float = setting(help="enters the cache key and the signature")
    mode: Mode = setting(help="single or pairwise")
    messages: _Messages = setting(help="[messages] system and user")
    verdict: _VerdictTable = setting(help="[verdict] format, pattern, labels or scale")
    description: str = setting("", help="optional")
    protocol: VerdictProtocol = setting("text", help="default verdict protocol")
    max_tokens: Annotated[int, Ge(1)] = setting(512, help="answer limit for the text protocol")
    instructions: _Instructions | None = setting(None, help="[instructions] per protocol")
    headings: list[_NonEmpty] | None = setting(None, help="headings to escape inside values")


def available_templates() -> list[str]:
    """Names of the shipped templates (the ``judges/*.toml`` files)."""
    from evalkit.resources import judges_dir

    return sorted(p.stem for p in judges_dir().glob("*.toml"))


def load_template(name_or_path: str | pathlib.Path) -> Template:
    """Load a shipped template by name or any template file by path.

    Raises :class:`TemplateError` (a ConfigError) naming the file and the
    problem.
    """
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = pathlib.Path(text)
        if not path.is_file():
            raise TemplateError(f"{path}: template file not found")
    else:
        from evalkit.resources import judges_dir

        path = judges_dir() / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(available_templates()) or "none"
            raise TemplateError(
                f"unknown judge template {text!r}", hint=f"shipped templates: {known}; or pass a path to a .toml file"
            )
    return parse_template(path.read_bytes(), path=path)


def _load_toml(data: bytes, path: pathlib.Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: invalid TOML: {exc}") from None


def _derived_pattern(verdict_format: str, path: pathlib.Path) -> str:
    if verdict_format.count("{verdict}") != 1:
        raise TemplateError(f"{path}: verdict.format must contain {{verdict}} exactly once: {verdict_format!r}")
    prefix, suffix = verdict_format.split("{verdict}")
    if not suffix.strip():
        raise TemplateError(
            f"{path}: verdict.format {verdict_format!r} has nothing after {{verdict}}",
            hint="end the format with a closing mark such as ]] or give verdict.pattern (a regex with one group)",
        )

    def loose(part: str) -> str:
        # Let the judge vary whitespace around the fixed parts of the format.
        return r"\s*".join(re.escape(p) for p in part.split()) if part.strip() else ""

    pre = loose(prefix)
    return (pre + r"\s*" if pre else "") + r"([^\n]*?)" + r"\s*" + loose(suffix)


def _placeholders(raw: TemplateFile, path: pathlib.Path) -> set[str]:
    messages = raw.messages
    try:
        used = template_fields(messages.system) | template_fields(messages.user)
    except ValueError as exc:
        raise TemplateError(
            f"{path}: bad placeholder in messages ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    bad = used - _PLACEHOLDERS[raw.mode]
    if bad:
        raise TemplateError(
            f"{path}: unknown placeholder(s) {', '.join('{' + b + '}' for b in sorted(bad))} in messages",
            hint=f"a {raw.mode} template may use: {', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS[raw.mode]))}",
        )
    missing = _REQUIRED[raw.mode] - used
    if missing and not _REQUIRED_CONVERSATION[raw.mode] - used:
        missing = set()
    if missing:
        raise TemplateError(f"{path}: messages lack {', '.join('{' + m + '}' for m in sorted(missing))}")
    return used


def _pattern(verdict: _VerdictTable, path: pathlib.Path) -> re.Pattern[str]:
    try:
        pattern = re.compile(verdict.pattern or _derived_pattern(verdict.format, path))
    except re.error as exc:
        raise TemplateError(f"{path}: verdict.pattern is not a valid regex: {exc}") from None
    if pattern.groups != 1:
        raise TemplateError(f"{path}: verdict.pattern must have exactly one group, it has {pattern.groups}")
    return pattern


def _values(raw: TemplateFile, path: pathlib.Path) -> dict[str, Any]:
    """Label -> meaning: the integer score (single) or the role (pairwise)."""
    verdict = raw.verdict
    if raw.mode == "single":
        scale = verdict.scale
        if scale is None or len(scale) != 2 or scale[0] >= scale[1]:
            raise TemplateError(
                f"{path}: verdict.scale must be [LOW, HIGH] with integers LOW < HIGH, not {scale!r}",
                hint="a single template grades on a scale, e.g. scale = [1, 10]",
            )
        return {str(v): v for v in range(scale[0], scale[1] + 1)}
    if verdict.labels is None:
        raise TemplateError(
            f"{path}: verdict.labels is missing", hint='a pairwise template needs labels = {first = "A", second = "B"}'
        )
    values: dict[str, Any] = {}
    for role in ("first", "second", "tie"):
        label = getattr(verdict.labels, role)
        if label is None:
            continue
        if label in values:
            raise TemplateError(f"{path}: verdict.labels uses {label!r} twice")
        values[label] = role
    return values


def parse_template(data: bytes, *, path: pathlib.Path) -> Template:
    """Validate a template's TOML bytes; ``path`` is used in messages.

    The keys and their types are checked by :class:`TemplateFile`; what
    pydantic cannot know (placeholders, the verdict pattern, labels used
    twice) is checked here. Errors are :class:`TemplateError` naming the file
    and the key.
    """
    raw = validate(TemplateFile, _load_toml(data, path), where=str(path), error=TemplateError)
    used = _placeholders(raw, path)
    instructions = {k: v for k, v in vars(raw.instructions).items() if v is not None} if raw.instructions else {}
    if instructions and "format_instructions" not in used:
        raise TemplateError(f"{path}: [instructions] given but no {{format_instructions}} placeholder in messages")
    values = _values(raw, path)
    system, user = raw.messages.system, raw.messages.user
    headings = raw.headings if raw.headings is not None else _HEADING_LINE.findall(system + "\n" + user)
    return Template(
        name=raw.name,
        version=str(raw.version),
        mode=raw.mode,
        path=path,
        system=system,
        user=user,
        verdict_format=raw.verdict.format,
        pattern=_pattern(raw.verdict, path),
        labels=tuple(values),
        values=values,
        instructions=instructions,
        headings=tuple(headings),
        protocol=raw.protocol,
        max_tokens=raw.max_tokens,
        description=raw.description,
    )
