"""Metric options: read from a class's keyword-only ``__init__`` arguments,
converted from strings (``--set bleu.tokenize=intl``) and checked."""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any, Literal, Union

from evalkit.errors import ConfigError

__all__ = ["coerce_options", "option_types", "parse_set_options"]

_MISSING = object()


def option_types(cls: type) -> dict[str, Any]:
    """``{option: annotation}`` for the keyword arguments of ``cls.__init__``."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:
        hints = {}
    out: dict[str, Any] = {}
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        out[param.name] = hints.get(param.name, Any)
    return out


def _convert(value: Any, annotation: Any) -> Any:
    """Convert ``value`` to ``annotation``; raise ValueError when it cannot be."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin is Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        args = typing.get_args(annotation)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or f"cannot use {value!r}")
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"must be one of {', '.join(map(repr, choices))}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError("must be true or false")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ValueError("must be an integer")
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError("must be a number")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ValueError("must be a string")
    if origin in (tuple, list):
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a list")
        return origin(_convert(v, item_type) for v in value)
    return value


def coerce_options(metric: str, types: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in options.items():
        if key not in types:
            known = ", ".join(sorted(types)) or "none"
            raise ConfigError(f"unknown option {key!r} for metric {metric!r}", hint=f"its options are: {known}")
        try:
            out[key] = _convert(value, types[key])
        except ValueError as exc:
            raise ConfigError(f"option {metric}.{key}={value!r}: {exc}") from None
    return out


def parse_set_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """Parse ``["rouge.use_stemmer=true", ...]`` into ``{"rouge": {"use_stemmer": "true"}}``.

    A value written as JSON (``[1, 2]``, ``"x"``) is decoded; anything else
    stays a string for the option's type to convert.

    >>> parse_set_options(["rouge.use_stemmer=true", "bleu.tokenize=intl"])
    {'rouge': {'use_stemmer': 'true'}, 'bleu': {'tokenize': 'intl'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        metric, dot, option = key.partition(".")
        if not sep or not dot or not metric or not option:
            raise ConfigError(
                f"--set {item!r} is not METRIC.OPTION=VALUE", hint="for example: --set rouge.use_stemmer=true"
            )
        if value[:1] in ("[", "{", '"'):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        out.setdefault(metric.strip(), {})[option.strip()] = value
    return out
