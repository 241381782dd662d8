"""Metric options: declared once, as a metric class's keyword-only ``__init__``
arguments (types, ``Annotated`` constraints and defaults), or as a settings
dataclass named by the class's ``options_model``; converted from strings
(``--set bleu.tokenize=intl``) and checked by pydantic.

A value that is a legal choice of the library reaches it unchanged: the string
``"none"`` stays ``"none"`` (sacrebleu's ``tokenize="none"``); only a real
``None`` (TOML has none; JSON ``null`` in ``--set``) means "not set".

>>> class Example:
...     def __init__(self, *, tokenize: str | None = None, order: int = 4) -> None: ...
>>> validate_options("example", Example, {"tokenize": "none", "order": "3"})
{'tokenize': 'none', 'order': 3}
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from evalkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

__all__ = ["option_names", "parse_set_options", "validate_options"]


def _init(cls: type) -> Callable[..., None]:
    """``cls.__init__``, found along the MRO."""
    init: Callable[..., None] = next(c.__dict__["__init__"] for c in cls.__mro__ if "__init__" in c.__dict__)
    return init


def _parameters(cls: type) -> list[inspect.Parameter]:
    return [
        p
        for p in inspect.signature(_init(cls)).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def option_names(cls: type) -> list[str]:
    """The options of metric class ``cls``, in declaration order."""
    model = getattr(cls, "options_model", None)
    if model is not None:
        from evalkit.settings import setting_names

        return setting_names(model)
    return [p.name for p in _parameters(cls)]


@functools.cache
def _model(cls: type) -> type[BaseModel]:
    """A pydantic model of ``cls.__init__``'s keyword arguments."""
    from pydantic import ConfigDict, create_model

    try:
        hints = typing.get_type_hints(_init(cls), include_extras=True)
    except (NameError, TypeError):  # a plugin whose annotations do not resolve: accept what it is given
        hints = {}
    fields: dict[str, Any] = {}
    for param in _parameters(cls):
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), default)
    config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")
    return create_model(f"{cls.__name__}Options", __config__=config, **fields)


def _split_lists(cls: type, options: Mapping[str, object]) -> dict[str, object]:
    """``"a,b"`` -> ``["a", "b"]`` for list- or tuple-typed options (``--set``)."""
    hints = _hints(cls)
    out = dict(options)
    for key, value in options.items():
        if isinstance(value, str) and _is_sequence(hints.get(key)):
            out[key] = [v for v in value.split(",") if v]
    return out


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(_init(cls))
    except (NameError, TypeError):
        return {}


def _is_sequence(annotation: Any) -> bool:
    if annotation is None:
        return False
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return True
    return any(_is_sequence(arg) for arg in typing.get_args(annotation) if origin is not None)


def validate_options(metric: str, cls: type, options: Mapping[str, object]) -> dict[str, object]:
    """Options for ``cls`` converted to their declared types; raises
    :class:`ConfigError` naming ``metric.option`` for an unknown option or a
    bad value. A class with ``options_model`` validates its options itself."""
    from pydantic import ValidationError

    known = option_names(cls)
    for key in options:
        if key not in known:
            raise ConfigError(
                f"unknown option {key!r} for metric {metric!r}", hint=f"its options are: {', '.join(known) or 'none'}"
            )
    if getattr(cls, "options_model", None) is not None:
        return dict(options)
    values = _split_lists(cls, options)
    try:
        model = _model(cls).model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"option {metric}.{key}={options.get(key)!r}: {first['msg']}") from None
    return {key: getattr(model, key) for key in values}


def parse_set_options(items: list[str]) -> dict[str, dict[str, object]]:
    """Parse ``["rouge.use_stemmer=true", ...]`` into ``{"rouge": {"use_stemmer": "true"}}``.

    A value written as JSON (``[1, 2]``, ``"x"``, ``null``) is decoded; anything
    else stays a string for the option's type to convert.

    >>> parse_set_options(["rouge.use_stemmer=true", "bleu.tokenize=none"])
    {'rouge': {'use_stemmer': 'true'}, 'bleu': {'tokenize': 'none'}}
    """
    out: dict[str, dict[str, object]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        metric, dot, option = key.partition(".")
        if not sep or not dot or not metric or not option:
            raise ConfigError(
                f"--set {item!r} is not METRIC.OPTION=VALUE", hint="for example: --set rouge.use_stemmer=true"
            )
        value: object = text
        if text[:1] in ("[", "{", '"') or text == "null":
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                pass
        out.setdefault(metric.strip(), {})[option.strip()] = value
    return out
