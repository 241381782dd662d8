"""Sending a run's calls: the capability probe, bounded concurrency, the cost
budget, parsing each answer and storing the parsed ones in the cache.

The HTTP is :mod:`evalkit.judge.client`'s; this module decides what is sent
and turns each answer into a :class:`~evalkit.judge.types.CallRecord`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evalkit.judge.cache import JudgeCache
from evalkit.judge.calls import Messages, estimate_tokens
from evalkit.judge.client import CallOutcome, JudgeClient
from evalkit.judge.logprob_method import resolve
from evalkit.judge.protocols import parse_verdict
from evalkit.judge.types import CallRecord, JudgeSettings, LabelTokens, Progress, Template, Verdict
from evalkit.retry import RetryPolicy

__all__ = ["Endpoint", "SendResult", "make_client", "resolve_logprobs", "send_calls"]


@dataclass(frozen=True)
class Endpoint:
    """Where the calls go: an OpenAI-compatible base URL and the model name."""

    base_url: str
    model: str


@dataclass(frozen=True)
class SendResult:
    """The records of the calls sent (or not sent: the budget) and the HTTP counters."""

    records: Mapping[str, CallRecord] = field(default_factory=dict)
    requests_sent: int = 0
    retries: int = 0
    probe_requests: int = 0
    #: why the run stopped early (``"max-cost"``), or ``None``
    stopped: str | None = None


class _Budget:
    """The run's cost so far and what the calls in flight may still cost."""

    def __init__(self, settings: JudgeSettings, max_tokens: int) -> None:
        self.price = settings.price
        self.limit = settings.max_cost
        self.max_tokens = max_tokens
        self.spent = 0.0
        self.reserved = 0.0
        self.stopped = False

    def reserve(self, messages: Messages) -> float | None:
        """The reserved estimate, or ``None`` when sending would pass the limit."""
        if self.limit is None or self.price is None:
            return 0.0
        estimate = self.price.cost(estimate_tokens(messages), self.max_tokens)
        if self.spent + self.reserved + estimate > self.limit:
            self.stopped = True
            return None
        self.reserved += estimate
        return estimate

    def settle(self, estimate: float, usage: Mapping[str, int]) -> None:
        self.reserved -= estimate
        if self.price is not None:
            self.spent += self.price.cost(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))


@dataclass
class _Run:
    client: JudgeClient
    settings: JudgeSettings
    template: Template
    protocol: str
    params: Mapping[str, Any]
    cache: JudgeCache
    progress: Progress
    budget: _Budget
    slots: asyncio.Semaphore
    records: dict[str, CallRecord] = field(default_factory=dict)
    aborted: list[BaseException] = field(default_factory=list)
    #: cache key -> parameters for the calls that do not send ``params`` (repeats)
    call_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tokens: LabelTokens | None = None

    def record(self, key: str, messages: Messages, outcome: CallOutcome) -> CallRecord:
        if outcome.error is not None:
            verdict = Verdict(unscored=outcome.error)
        else:
            backend = self.settings.grammar_backend
            response = outcome.response or {}
            verdict = parse_verdict(self.template, self.protocol, response, backend=backend, tokens=self.tokens)
            if verdict.ok:
                latency = round(outcome.latency_s, 4)
                self.cache.put(key, {"response": outcome.response, "usage": outcome.usage, "latency_s": latency})
        return CallRecord(
            key, messages, verdict, outcome.response, outcome.usage, outcome.latency_s, outcome.attempts, cached=False
        )

    async def one(self, key: str, messages: Messages) -> None:
        async with self.slots:
            if self.aborted:  # a fatal error (auth, quota) stops the run: send nothing more
                return
            estimate = self.budget.reserve(messages)
            if estimate is None:
                unscored = f"not sent: --max-cost {self.settings.max_cost:g} would be passed"
                self.records[key] = CallRecord(key, messages, Verdict(unscored=unscored))
                self.progress.update("failed")
                return
            try:
                outcome = await self.client.complete(messages, self.call_params.get(key, self.params))
            except BaseException as exc:
                self.aborted.append(exc)
                raise
            self.budget.settle(estimate, outcome.usage)
        # Parsing and storing happen after the slot is freed: the next request
        # need not wait for them.
        record = self.record(key, messages, outcome)
        self.records[key] = record
        self.progress.update("done" if record.verdict.ok else "failed")


def make_client(endpoint: Endpoint, api_key: str | None, settings: JudgeSettings) -> JudgeClient:
    """The HTTP client for ``endpoint`` under ``settings`` (resolved)."""
    return JudgeClient(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=api_key or "no-key-needed",
        timeout=settings.timeout or 60.0,
        policy=RetryPolicy(max_retries=settings.max_retries, backoff_base=settings.backoff_base),
        concurrency=settings.concurrency or 1,
    )


async def resolve_logprobs(
    endpoint: Endpoint, api_key: str | None, settings: JudgeSettings, template: Template
) -> tuple[LabelTokens, int]:
    """The logprobs method for this server and template
    (:func:`evalkit.judge.logprob_method.resolve`) and the requests it took."""
    client = make_client(endpoint, api_key, settings)
    try:
        await client.probe("logprobs")
        tokens = await resolve(client, template)
    finally:
        await client.aclose()
    return tokens, client.requests_sent


async def send_calls(
    pending: Mapping[str, Messages],
    *,
    endpoint: Endpoint,
    api_key: str | None,
    settings: JudgeSettings,
    template: Template,
    protocol: str,
    params: Mapping[str, Any],
    cache: JudgeCache,
    progress: Progress,
    call_params: Mapping[str, Mapping[str, Any]] | None = None,
    tokens: LabelTokens | None = None,
) -> SendResult:
    """Probe the server, then send ``pending`` (cache key -> messages) with at
    most ``settings.concurrency`` in flight. ``settings`` must be resolved.
    ``call_params`` gives the parameters of the calls that do not send
    ``params`` (the later repeats); ``tokens`` is the logprobs method
    (:func:`resolve_logprobs`)."""
    concurrency = settings.concurrency or 1
    client = make_client(endpoint, api_key, settings)
    run = _Run(
        client,
        settings,
        template,
        protocol,
        params,
        cache,
        progress,
        _Budget(settings, int(params["max_tokens"])),
        asyncio.Semaphore(concurrency),
        call_params=call_params or {},
        tokens=tokens,
    )
    try:
        await client.probe(protocol, backend=settings.grammar_backend)
        tasks = [asyncio.ensure_future(run.one(key, messages)) for key, messages in pending.items()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    finally:
        await client.aclose()
    return SendResult(
        run.records,
        client.requests_sent,
        client.retries,
        client.probe_requests,
        "max-cost" if run.budget.stopped else None,
    )
