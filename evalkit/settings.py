"""Settings declared once: a frozen dataclass field with its type, default and help.

The command line, a config file's table and the Python API fill the same
classes. Declaring a setting is light (no pydantic at import, so that
``evalkit --help`` stays fast); :func:`validate` loads pydantic when values are
checked and turns its errors into one :class:`~evalkit.errors.ConfigError`
that names the file or table, the key, the bad value and what is expected.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     seed: int = setting(12345, help="seed of every resampling")
...     fast: bool = setting(False, help="go fast")
>>> validate(Demo, {"seed": "7"}, where="demo.toml [run]")
Demo(seed=7, fast=False)
>>> validate(Demo, {"seed": "x"}, where="demo.toml [run]")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
evalkit.errors.ConfigError: demo.toml [run]: seed = 'x': Input should be a valid integer...
>>> validate(Demo, {"sed": 1}, where="demo.toml [run]")
Traceback (most recent call last):
...
evalkit.errors.ConfigError: demo.toml [run]: unknown key 'sed'
  hint: known keys: fast, seed
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import types
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from evalkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import TypeAdapter, ValidationError

__all__ = [
    "add_arguments",
    "arguments_given",
    "keyword_signature",
    "path_settings",
    "setting",
    "setting_names",
    "subset",
    "validate",
]

T = TypeVar("T")

_NO_DEFAULT: Any = dataclasses.MISSING


def setting(
    default: Any = _NO_DEFAULT,
    *,
    help: str,
    flag: str | None = None,
    metavar: str | None = None,
    cli: bool = True,
    path: bool = False,
    default_factory: Any = _NO_DEFAULT,
) -> Any:
    """A dataclass field that is a setting.

    ``help`` is the one description (``--help``, the docs' tables, error
    hints); ``flag`` overrides the command-line name (default
    ``--name-with-dashes``); ``cli=False`` keeps it out of the command line;
    ``path=True`` marks a path that a config file gives relative to itself.
    """
    metadata = {"help": help, "flag": flag, "metavar": metavar, "cli": cli, "path": path}
    if default_factory is not _NO_DEFAULT:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def setting_names(cls: type) -> list[str]:
    """The names of the settings of ``cls``, in declaration order."""
    return [f.name for f in dataclasses.fields(cls)]


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any]:
    """One pydantic adapter per settings class, built when first needed."""
    if cls not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def _message(exc: ValidationError, values: Mapping[str, object], where: str) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    key = str(first["loc"][0]) if first["loc"] else ""
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    if first["type"] == "missing":
        return f"{where}: missing key {location!r}{tail}"
    if first["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"{where}: unknown key {location!r}{tail}"
    shown = f" = {values[key]!r}" if key in values else ""
    if location != key:
        # a nested table: show the value at the nested key, not the whole table
        value = first.get("input")
        short = not isinstance(value, Mapping) and len(repr(value)) <= 80
        shown = f" = {value!r}" if short else ""
        key = location
    return f"{where}: {key}{shown}: {first['msg']}{tail}"


_STRICT: dict[type, Any] = {}


def _strict_model(cls: type) -> Any:
    """A pydantic model of the settings of ``cls`` (their types, no defaults
    checked), to validate values given from Python without converting them."""
    if cls not in _STRICT:
        from pydantic import ConfigDict, create_model

        hints = typing.get_type_hints(cls, include_extras=True)
        fields: dict[str, Any] = {f.name: (hints[f.name], None) for f in dataclasses.fields(cls)}
        config = ConfigDict(arbitrary_types_allowed=True)
        _STRICT[cls] = create_model(f"{cls.__name__}Values", __config__=config, **fields)
    return _STRICT[cls]


def validate(
    cls: type[T],
    values: Mapping[str, object],
    *,
    where: str,
    error: type[ConfigError] = ConfigError,
    strict: bool = False,
) -> T:
    """Build ``cls`` from ``values``, converting and checking every value.

    Unknown keys and bad values raise :class:`ConfigError` (or its subclass
    ``error``) naming ``where`` (a file and table, or the command line) and
    the key; a nested table's key is named with dots (``verdict.labels.first``).
    A nested dataclass that sets ``__pydantic_config__ = {"extra": "forbid"}``
    rejects unknown keys too. ``strict`` (values given from Python) converts
    nothing: ``"7"`` for an ``int`` is an error, as is ``1`` for a ``bool``.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     seed: int = setting(12345, help="seed")
    >>> validate(Demo, {"seed": "7"}, where="Demo(...)", strict=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: Demo(...): seed = '7': Input should be a valid integer
    """
    from pydantic import ValidationError

    names = setting_names(cls)
    unknown = [key for key in values if key not in names]
    if unknown:
        raise error(f"{where}: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(sorted(names))}")
    try:
        if strict:
            _strict_model(typing.cast(type, cls)).model_validate(dict(values), strict=True)
        result: T = _adapter(typing.cast(type, cls)).validate_python(dict(values))
    except ValidationError as exc:
        raise error(_message(exc, values, where)) from None
    return result


def keyword_signature(cls: type) -> inspect.Signature:
    """A keyword-only signature with one parameter per setting of ``cls``
    (its type and default): give it to a class whose ``__init__(**options)``
    validates through ``cls``, so that tools reading signatures (the metric
    options layer, ``help()``) see the settings.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     seed: int = setting(12345, help="seed")
    >>> keyword_signature(Demo)
    <Signature (self, *, seed: int = 12345)>
    """
    hints = typing.get_type_hints(cls)
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        params.append(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hints[f.name])
        )
    return inspect.Signature(params)


def subset(cls: type, *, exclude: Iterable[str], name: str) -> type:
    """A settings class with the settings of ``cls`` except ``exclude``: the
    same declarations (type, default, help), not a copy to keep in step."""
    hints = typing.get_type_hints(cls, include_extras=True)
    dropped = set(exclude)
    kept = [(f.name, hints[f.name], _copy_field(f)) for f in dataclasses.fields(cls) if f.name not in dropped]
    made = dataclasses.make_dataclass(name, kept, frozen=True)
    made.__module__ = cls.__module__
    return made


def _copy_field(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=f.default_factory, metadata=f.metadata)
    return dataclasses.field(default=f.default, metadata=f.metadata)


# -- the command line -----------------------------------------------------------


def _choices(annotation: Any) -> tuple[object, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return None


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin in (list, tuple)


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or (
        typing.get_origin(annotation) in (typing.Union, types.UnionType) and bool in typing.get_args(annotation)
    )


def _flag(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("flag") or "--" + field.name.replace("_", "-"))


def _default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is dataclasses.MISSING or field.default is None or field.default == ():
        return ""
    value = field.default
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f" (default: {value})"


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> None:
    """Add one option per setting of ``cls`` to ``parser``.

    Every option defaults to ``None`` (not given), so that a config file's
    value stands unless the command line names it; :func:`arguments_given`
    collects what was given. Booleans get ``--x`` / ``--no-x``; lists are
    repeatable options.
    """
    hints = typing.get_type_hints(cls)
    wanted = set(only) if only is not None else None
    for field in dataclasses.fields(cls):
        if not field.metadata.get("cli", True) or field.name in exclude:
            continue
        if wanted is not None and field.name not in wanted:
            continue
        annotation = hints[field.name]
        text = str(field.metadata.get("help", "")) + _default_text(field)
        kwargs: dict[str, Any] = {"dest": field.name, "default": None, "help": text}
        if _is_bool(annotation):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["metavar"] = field.metadata.get("metavar") or field.name.upper()
            choices = _choices(annotation)
            if choices and all(isinstance(c, str) for c in choices):
                kwargs["choices"] = choices
                kwargs.pop("metavar")
            if _is_list(annotation):
                kwargs["action"] = "append"
        parser.add_argument(_flag(field), **kwargs)


def arguments_given(args: argparse.Namespace, cls: type) -> dict[str, object]:
    """The settings of ``cls`` that the command line gave (not ``None``)."""
    out: dict[str, object] = {}
    for name in setting_names(cls):
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


def path_settings(cls: type) -> list[str]:
    """The settings of ``cls`` marked ``path=True``."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("path")]
