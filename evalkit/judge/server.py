"""Where a judge run sends its calls, and the embedded local judge started
lazily and shared.

:class:`JudgeServers` is handed to every run of a process (``evalkit judge``,
the ``[judge]`` table of ``evalkit run``, the judge metrics). A run asks it
for an :class:`~evalkit.judge.send.Endpoint` only when it has a call to send
(nothing is in the cache yet): so a run served from the cache never starts
the local judge, and several runs share one local server. The server stops
when the provider is closed (the ``with`` block ends, also on Ctrl-C).

>>> from evalkit.judge.types import JudgeSettings
>>> with JudgeServers() as servers:
...     servers.endpoint(JudgeSettings(base_url="http://127.0.0.1:8000/v1", model="m"), protocol="text")
Endpoint(base_url='http://127.0.0.1:8000/v1', model='m')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from evalkit.judge.calls import local_model
from evalkit.judge.send import Endpoint
from evalkit.judge.types import JudgeSettings, LocalModel

__all__ = ["JudgeServers", "LocalServer"]


class LocalServer(Protocol):
    """What a started local judge offers (:class:`evalkit.judge.local_server.LocalJudge`)."""

    logits_all: bool

    @property
    def base_url(self) -> str: ...

    @property
    def model(self) -> str: ...

    def stop(self) -> None: ...


def _start_local_judge(logits_all: bool, model: LocalModel | None = None) -> LocalServer:
    from evalkit.judge.local_server import LocalJudge

    return LocalJudge(logits_all=logits_all, model=model).start()


class JudgeServers:
    """Endpoints for judge runs; the local judge starts on first need (and
    again when a run needs another ``--local-model``).

    ``logits_all`` starts the local server ready for the logprobs protocol
    (evalkit's last-position server, :mod:`evalkit.judge.last_token_server`,
    which serves text and grammar too); a logprobs run that finds the plain
    llama.cpp server started restarts the local judge as that one.
    ``on_start`` is called before a start (the CLI prints a line);
    ``start_local`` replaces the real server (tests).
    """

    def __init__(
        self,
        *,
        logits_all: bool = False,
        on_start: Callable[[], None] | None = None,
        start_local: Callable[..., LocalServer] = _start_local_judge,
    ) -> None:
        self.logits_all = logits_all
        self.on_start = on_start
        self._start_local = start_local
        self._local: LocalServer | None = None
        self._local_model: LocalModel | None = None
        #: how many times a local server was started
        self.starts = 0

    def endpoint(self, settings: JudgeSettings, *, protocol: str) -> Endpoint:
        """Where a run with ``settings`` sends its calls (starting the local judge if needed)."""
        if not settings.local:
            return Endpoint(settings.base_url or "", settings.model or "")
        needs_logits = protocol == "logprobs"
        model = local_model(settings)
        stale = self._local is not None and (
            (needs_logits and not self._local.logits_all) or model != self._local_model
        )
        if stale:
            self.close()
        if self._local is None:
            if self.on_start is not None:
                self.on_start()
            flag = self.logits_all or needs_logits
            # a --local-model is handed over only when given: a replacement start_local may take the flag alone
            self._local = self._start_local(flag) if model is None else self._start_local(flag, model)
            self._local_model = model
            self.starts += 1
        return Endpoint(self._local.base_url, self._local.model)

    def close(self) -> None:
        """Stop the local judge if it was started."""
        local, self._local = self._local, None
        if local is not None:
            local.stop()

    def __enter__(self) -> JudgeServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
