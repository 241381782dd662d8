"""The one error tree of evalkit.

Every error that evalkit raises on purpose derives from :class:`EvalkitError`;
the CLI turns it into one message on stderr and exit code 2. Anything else is a
bug.

    EvalkitError
    ├── InputError              a file or value given by the user is unusable
    │                           (missing file, bad UTF-8, bad JSONL line, count
    │                           mismatch, empty file); names file and line
    ├── ConfigError             a bad option, config file or command line
    │   └── UnknownMetricError  a metric name that no registry entry knows
    ├── MissingDependencyError  an optional extra is not installed; carries the
    │                           exact ``pip install`` line
    └── JudgeError              the judge server or its client failed in a way
        │                       that stops the run
        └── ProtocolUnsupportedError  the server cannot do the chosen verdict
                                      protocol (probed before the run)
"""

from __future__ import annotations

__all__ = [
    "EvalkitError",
    "InputError",
    "ConfigError",
    "UnknownMetricError",
    "MissingDependencyError",
    "JudgeError",
    "ProtocolUnsupportedError",
]


class EvalkitError(Exception):
    """Base of every error evalkit raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(EvalkitError):
    """An input file or value cannot be used.

    ``path`` and ``line`` (1-based) locate the problem when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        location = ""
        if path is not None:
            location = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(location + message, hint=hint)
        self.path = path
        self.line = line


class ConfigError(EvalkitError):
    """A bad option, config file or command-line value."""


class UnknownMetricError(ConfigError):
    """A metric name that is not registered."""


class MissingDependencyError(EvalkitError):
    """An optional dependency is absent; ``install`` is the pip line to run."""

    def __init__(self, what: str, *, install: str) -> None:
        super().__init__(f"{what} is not installed", hint=f"run: {install}")
        self.install = install


class JudgeError(EvalkitError):
    """The judge's server or client failed in a way that stops the run."""


class ProtocolUnsupportedError(JudgeError):
    """The server does not support the chosen verdict protocol."""
