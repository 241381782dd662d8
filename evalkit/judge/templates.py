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
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import TemplateError

__all__ = ["Template", "TemplateError", "load_template", "available_templates", "PROTOCOLS"]

PROTOCOLS = ("text", "grammar", "logprobs")

_PLACEHOLDERS = {
    "single": {"question", "answer", "reference", "format_instructions"},
    "pairwise": {"question", "answer_a", "answer_b", "reference", "format_instructions"},
}
_REQUIRED = {"single": {"answer"}, "pairwise": {"answer_a", "answer_b"}}
_TOP_KEYS = {
    "name",
    "version",
    "mode",
    "description",
    "protocol",
    "max_tokens",
    "messages",
    "verdict",
    "instructions",
    "headings",
}
_HEADING_LINE = re.compile(r"^\s*(\[[^\[\]{}\n]+\])\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Template:
    """A loaded, validated judge template.

    ``labels`` are the verdict strings the judge may answer: for a pairwise
    template (first, second[, tie]), for a single template the scale's
    integers as strings. ``values`` maps each label to its meaning: "first",
    "second", "tie" (pairwise) or the integer score (single).
    """

    name: str
    version: str
    mode: str
    path: pathlib.Path
    system: str
    user: str
    verdict_format: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    values: Mapping[str, Any]
    instructions: Mapping[str, str] = field(default_factory=dict)
    headings: tuple[str, ...] = ()
    protocol: str = "text"
    max_tokens: int = 512
    description: str = ""

    @property
    def needs_reference(self) -> bool:
        return "reference" in _fields(self.system) | _fields(self.user)

    @property
    def id(self) -> str:
        """``name@version``: what the cache key and the signature carry."""
        return f"{self.name}@{self.version}"

    def instructions_for(self, protocol: str) -> str:
        """The output instructions for ``protocol``.

        The grammar protocol constrains the answer to a bare label, as the
        logprobs protocol reads one: without its own instructions it uses
        the logprobs ones, then the text ones.
        """
        if protocol in self.instructions:
            return self.instructions[protocol]
        if protocol == "grammar":
            for fallback in ("logprobs", "text"):
                if fallback in self.instructions:
                    return self.instructions[fallback]
        if not self.instructions:
            return ""
        raise TemplateError(
            f'{self.path}: template {self.name!r} has no [instructions] {protocol} = "..."',
            hint=f"add the output instructions for the {protocol} protocol, or choose another --protocol",
        )

    def verdict_text(self, label: str) -> str:
        """The answer text the template asks for, e.g. ``[[A]]``."""
        return self.verdict_format.replace("{verdict}", label)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


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
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: invalid TOML: {exc}") from None


def _need(table: Mapping[str, Any], key: str, kind: type, path: pathlib.Path, where: str = "") -> Any:
    if key not in table:
        raise TemplateError(f"{path}: missing key {where}{key!r}")
    value = table[key]
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool) and key == "version":
        value = str(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise TemplateError(f"{path}: {where}{key} must be a {kind.__name__}, not {type(value).__name__}")
    return value


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


def parse_template(data: bytes, *, path: pathlib.Path) -> Template:
    """Validate a template's TOML bytes; ``path`` is used in messages."""
    raw = _load_toml(data, path)
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise TemplateError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}", hint=f"known keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    name = _need(raw, "name", str, path)
    version = _need(raw, "version", str, path)
    mode = _need(raw, "mode", str, path)
    if mode not in _PLACEHOLDERS:
        raise TemplateError(f"{path}: mode must be 'single' or 'pairwise', not {mode!r}")
    protocol = raw.get("protocol", "text")
    if protocol not in PROTOCOLS:
        raise TemplateError(f"{path}: protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    max_tokens = raw.get("max_tokens", 512)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise TemplateError(f"{path}: max_tokens must be a positive integer")

    messages = _need(raw, "messages", dict, path)
    system = messages.get("system", "")
    user = _need(messages, "user", str, path, "messages.")
    if not isinstance(system, str):
        raise TemplateError(f"{path}: messages.system must be a string")
    try:
        used = _fields(system) | _fields(user)
    except ValueError as exc:
        raise TemplateError(
            f"{path}: bad placeholder in messages ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    bad = used - _PLACEHOLDERS[mode]
    if bad:
        raise TemplateError(
            f"{path}: unknown placeholder(s) {', '.join('{' + b + '}' for b in sorted(bad))} in messages",
            hint=f"a {mode} template may use: {', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS[mode]))}",
        )
    missing = _REQUIRED[mode] - used
    if missing:
        raise TemplateError(f"{path}: messages lack {', '.join('{' + m + '}' for m in sorted(missing))}")

    verdict = _need(raw, "verdict", dict, path)
    verdict_format = _need(verdict, "format", str, path, "verdict.")
    pattern_text = verdict.get("pattern") or _derived_pattern(verdict_format, path)
    try:
        pattern = re.compile(pattern_text)
    except re.error as exc:
        raise TemplateError(f"{path}: verdict.pattern is not a valid regex: {exc}") from None
    if pattern.groups != 1:
        raise TemplateError(f"{path}: verdict.pattern must have exactly one group, it has {pattern.groups}")

    values: dict[str, Any] = {}
    if mode == "single":
        scale = _need(verdict, "scale", list, path, "verdict.")
        if (
            len(scale) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
            or scale[0] >= scale[1]
        ):
            raise TemplateError(f"{path}: verdict.scale must be [LOW, HIGH] with integers LOW < HIGH, not {scale!r}")
        for v in range(scale[0], scale[1] + 1):
            values[str(v)] = v
    else:
        labels = _need(verdict, "labels", dict, path, "verdict.")
        for role in ("first", "second", "tie"):
            if role not in labels:
                if role == "tie":
                    continue
                raise TemplateError(f'{path}: verdict.labels needs {role} = "..."')
            label = labels[role]
            if not isinstance(label, str) or not label.strip():
                raise TemplateError(f"{path}: verdict.labels.{role} must be a non-empty string")
            if label in values:
                raise TemplateError(f"{path}: verdict.labels uses {label!r} twice")
            values[label] = role
        extra = set(labels) - {"first", "second", "tie"}
        if extra:
            raise TemplateError(f"{path}: verdict.labels has unknown role(s) {', '.join(sorted(extra))}")

    instructions = raw.get("instructions", {})
    if not isinstance(instructions, dict) or not all(
        k in PROTOCOLS and isinstance(v, str) for k, v in instructions.items()
    ):
        raise TemplateError(f"{path}: [instructions] must map protocols ({', '.join(PROTOCOLS)}) to strings")
    if instructions and "format_instructions" not in used:
        raise TemplateError(f"{path}: [instructions] given but no {{format_instructions}} placeholder in messages")

    headings = raw.get("headings")
    if headings is None:
        headings = [m for m in _HEADING_LINE.findall(system + "\n" + user)]
    if not isinstance(headings, list) or not all(isinstance(h, str) and h for h in headings):
        raise TemplateError(f"{path}: headings must be a list of strings")

    return Template(
        name=name,
        version=version,
        mode=mode,
        path=path,
        system=system,
        user=user,
        verdict_format=verdict_format,
        pattern=pattern,
        labels=tuple(values),
        values=values,
        instructions=dict(instructions),
        headings=tuple(headings),
        protocol=protocol,
        max_tokens=max_tokens,
        description=str(raw.get("description", "")),
    )
