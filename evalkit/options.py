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
from typing import TYPE_CHECKING, Any, TypeVar

from evalkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel, ValidationError

__all__ = ["checked_options", "option_names", "parse_set_options", "validate_options"]


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


def _admits(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    return any(_admits(arg, kind) for arg in typing.get_args(annotation))


def _none_strings(cls: type, options: Mapping[str, object]) -> dict[str, object]:
    """``"none"`` / ``"null"`` -> ``None`` for options that admit ``None`` but
    no string (``mauve.max_text_length=none``); an option that takes strings
    keeps the string (``bleu.tokenize=none`` is sacrebleu's tokenizer)."""
    hints = _hints(cls)
    out = dict(options)
    for key, value in options.items():
        hint = hints.get(key)
        if isinstance(value, str) and value.lower() in ("none", "null") and hint is not None:
            if _admits(hint, type(None)) and not _admits(hint, str):
                out[key] = None
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


def _message(metric: str, exc: ValidationError, options: Mapping[str, object]) -> str:
    """``option mauve.num_buckets=1: input should be ... or input should be 'auto'``:
    the first bad option, with every alternative a union offered."""
    errors = exc.errors()
    key = str(errors[0]["loc"][0]) if errors[0]["loc"] else "?"
    wanted = dict.fromkeys(e["msg"][0].lower() + e["msg"][1:] for e in errors if e["loc"] and e["loc"][0] == key)
    return f"option {metric}.{key}={options.get(key)!r}: {' or '.join(wanted)}"


def validate_options(
    metric: str, cls: type, options: Mapping[str, object], *, strict: bool = False
) -> dict[str, object]:
    """Options for ``cls`` converted to their declared types; raises
    :class:`ConfigError` naming ``metric.option`` for an unknown option or a
    bad value. A class with ``options_model`` (a settings dataclass) is
    checked against that model. ``strict`` (options given from Python, see
    :func:`checked_options`) converts nothing: ``"3"`` for an ``int``, ``1``
    for a ``bool`` or ``2.5`` for an ``int`` is an error."""
    from pydantic import ValidationError

    known = option_names(cls)
    for key in options:
        if key not in known:
            raise ConfigError(
                f"unknown option {key!r} for metric {metric!r}", hint=f"its options are: {', '.join(known) or 'none'}"
            )
    settings_model = getattr(cls, "options_model", None)
    if settings_model is not None:
        from evalkit.settings import validate

        checked = validate(settings_model, options, where=f"metric {metric}", strict=strict)
        return {key: getattr(checked, key) for key in options}
    values = dict(options) if strict else _split_lists(cls, _none_strings(cls, options))
    try:
        model = _model(cls).model_validate(values, strict=strict)
    except ValidationError as exc:
        raise ConfigError(_message(metric, exc, options)) from None
    return {key: getattr(model, key) for key in values}


InitMethod = TypeVar("InitMethod", bound=Callable[..., None])


def checked_options(init: InitMethod) -> InitMethod:
    """Decorate a metric's ``__init__`` so that its options are validated
    against its own signature (types, defaults, ``Annotated`` constraints)
    however the metric is built: ``Mauve(num_buckets=1)`` fails as
    ``--set mauve.num_buckets=1`` does. From Python nothing is converted:
    ``Mauve(seeds="3")`` is a :class:`ConfigError` (the command line's
    ``--set mauve.seeds=3`` is converted before it gets here).

    >>> class Example:
    ...     name = "example"
    ...     @checked_options
    ...     def __init__(self, *, order: int = 4) -> None:
    ...         self.order = order
    >>> Example(order=3).order
    3
    >>> Example(order="3")
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: option example.order='3': input should be a valid integer
    """

    @functools.wraps(init)
    def wrapper(self: object, **options: object) -> None:
        # the class that declares this __init__, not a subclass that calls it
        cls = next(c for c in type(self).__mro__ if c.__dict__.get("__init__") is wrapper)
        init(self, **validate_options(str(getattr(cls, "name", cls.__name__)), cls, options, strict=True))

    return typing.cast(InitMethod, wrapper)


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
