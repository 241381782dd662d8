"""The one error tree of evalkit.

Every error that evalkit raises on purpose derives from :class:`EvalkitError`;
the CLI turns it into one message on stderr and exit code 2. Anything else is a
bug.

    EvalkitError
    ├── InputError              a file or value given by the user is unusable
    │                           (missing file, bad UTF-8, bad JSONL line, count
    │                           mismatch, empty file); names file and line
    ├── ConfigError             a bad option, config file or command line
    │   ├── UnknownMetricError  a metric name that no registry entry knows
    │   └── TemplateError       a judge template file is unusable; names the file
    ├── MissingDependencyError  an optional extra is not installed; carries the
    │                           exact ``pip install`` line
    └── ServiceError            a remote service (an embeddings endpoint, a judge
        │                       server) failed in a way that stops the run
        ├── JudgeError          the judge server or its client failed
        │   └── ProtocolUnsupportedError  the server cannot do the chosen verdict
        │                                 protocol (probed before the run)
        └── EngineError         the Dask cluster cannot be reached, its workers
                                run other versions, or they keep failing

Exit codes of the ``evalkit`` command are :class:`ExitCode`.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "EvalkitError",
    "InputError",
    "ConfigError",
    "UnknownMetricError",
    "MissingDependencyError",
    "TemplateError",
    "ServiceError",
    "JudgeError",
    "ProtocolUnsupportedError",
    "EngineError",
    "ExitCode",
]


class ExitCode(IntEnum):
    """What the ``evalkit`` command's exit status means."""

    OK = 0
    #: a ``--fail-if`` gate failed
    GATE_FAILED = 1
    #: bad input, config or command line; a service that stops the run
    USAGE = 2
    #: the judge stopped before ``--max-cost`` would be passed (rerun to finish)
    BUDGET_STOPPED = 3
    #: interrupted (Ctrl-C); nothing half-written
    INTERRUPTED = 130


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


class TemplateError(ConfigError):
    """A judge template file is unusable; the message names the file."""


class MissingDependencyError(EvalkitError):
    """An optional dependency is absent; ``install`` is the pip line to run."""

    def __init__(self, what: str, *, install: str) -> None:
        super().__init__(f"{what} is not installed", hint=f"run: {install}")
        self.install = install


class ServiceError(EvalkitError):
    """A remote service failed in a way that stops the run."""


class JudgeError(ServiceError):
    """The judge's server or client failed in a way that stops the run."""


class ProtocolUnsupportedError(JudgeError):
    """The server does not support the chosen verdict protocol."""


class EngineError(ServiceError):
    """The Dask cluster that scores the metrics failed in a way that stops the run."""
