"""The judge runner: settings and inputs in, a typed :class:`JudgeRun` out.

No printing, no exit codes: the CLI does that. Steps: check the settings
against the template and the inputs, plan every call (both orders of each
pair unless ``swap`` is off), look the calls up in the cache, and only if
something must be sent ask the server provider for an endpoint (this starts
the local judge), probe it and send the rest; then aggregate.

>>> from evalkit.judge.types import JudgeInputs, JudgeSettings
>>> settings = JudgeSettings(base_url="http://127.0.0.1:9/v1", model="m", dry_run=True, cache=False)
>>> run = run_judge(settings, JudgeInputs.of(["2+2?"], {"s": ["4"]}), mode="single")
>>> (run.estimate.calls, run.estimate.to_send)
(1, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import time
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING

from evalkit.errors import ConfigError
from evalkit.judge.aggregate import Assembled, assemble, run_stats
from evalkit.judge.agreement import PairAgreement, SingleAgreement, pairwise_agreement, single_agreement
from evalkit.judge.cache import JudgeCache, default_cache_path
from evalkit.judge.calls import (
    Messages,
    Plan,
    check_inputs,
    check_settings,
    estimate_tokens,
    plan_calls,
    server_identity,
    signature,
)
from evalkit.judge.labels import HumanLabels
from evalkit.judge.logprob_method import cached_form, capability_key, label_tokens_from
from evalkit.judge.protocols import parse_verdict
from evalkit.judge.render import new_nonce
from evalkit.judge.send import Endpoint, SendResult, resolve_logprobs, send_calls
from evalkit.judge.server import JudgeServers
from evalkit.judge.shard import shard_plan, whole_run
from evalkit.judge.templates import load_template
from evalkit.judge.types import (
    CallRecord,
    DryRunEstimate,
    JudgeInputs,
    JudgeRun,
    JudgeSettings,
    JudgeStats,
    LabelTokens,
    Mode,
    Progress,
    Template,
    WholeRun,
)
from evalkit.settings import validate

if TYPE_CHECKING:  # pragma: no cover
    from evalkit.judge.style_control import StyleControl

__all__ = ["agreement_of", "api_key_from_env", "cache_path", "run_judge"]


def api_key_from_env(settings: JudgeSettings, environ: Mapping[str, str] = os.environ) -> str | None:
    """The API key for ``settings``' server, from the variable ``api_key_env``
    names (default ``OPENAI_API_KEY``); the local judge needs none."""
    if settings.local:
        return None
    name = settings.api_key_env
    if name is not None and name not in environ:
        raise ConfigError(f"the API key variable {name} is not set", hint=f"export {name}=... first")
    return environ.get(name or "OPENAI_API_KEY")


def cache_path(settings: JudgeSettings) -> pathlib.Path | None:
    """The cache file: the setting, the default one, or ``None`` for no cache."""
    if settings.cache is False:
        return None
    return pathlib.Path(settings.cache) if settings.cache else default_cache_path()


def _from_cache(
    cache: JudgeCache, plan: Plan, template: Template, protocol: str, settings: JudgeSettings
) -> dict[str, CallRecord]:
    records: dict[str, CallRecord] = {}
    for key, value in cache.get_many(plan.calls).items():
        response = value["response"]
        verdict = parse_verdict(template, protocol, response, backend=settings.grammar_backend, tokens=plan.tokens)
        if verdict.ok:  # an entry the current template cannot parse is sent again
            usage = {k: int(v) for k, v in dict(value.get("usage", {})).items()}
            latency = float(value.get("latency_s", 0.0))
            records[key] = CallRecord(key, plan.calls[key], verdict, response, usage, latency, 0, cached=True)
    return records


def _estimate(plan: Plan, pending: Mapping[str, Messages], hits: int, settings: JudgeSettings) -> DryRunEstimate:
    prompt_tokens = sum(estimate_tokens(m) for m in pending.values())
    completion_tokens = int(plan.params["max_tokens"]) * len(pending)
    return DryRunEstimate(
        calls=len(plan.calls),
        cached=hits,
        to_send=len(pending),
        prompt_tokens_estimate=prompt_tokens,
        completion_tokens_max=completion_tokens,
        cost_max=settings.price.cost(prompt_tokens, completion_tokens) if settings.price else None,
    )


@contextlib.contextmanager
def _provider(server: JudgeServers | None) -> Iterator[JudgeServers]:
    if server is not None:
        yield server
        return
    with JudgeServers() as own:  # a run of its own: its local judge stops when the run ends
        yield own


@dataclasses.dataclass(frozen=True)
class _Prepared:
    settings: JudgeSettings
    inputs: JudgeInputs
    template: Template
    protocol: str
    plan: Plan
    nonce: str
    server: str
    model: str
    only: Collection[tuple[tuple[str, ...], int]] | None = None


def _prepare(
    settings: JudgeSettings,
    inputs: JudgeInputs,
    mode: Mode,
    nonce: str | None,
    only: Collection[tuple[tuple[str, ...], int]] | None = None,
) -> _Prepared:
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    settings = validate(JudgeSettings, values, where="judge settings").resolved()
    template = load_template(settings.template or mode)
    protocol = check_settings(settings, mode=mode, template=template)
    inputs = inputs.limited(settings.limit)
    check_inputs(inputs, mode=mode, template=template, baseline=settings.baseline)
    server, model = server_identity(settings)
    nonce = nonce or new_nonce()
    plan = plan_calls(
        settings,
        inputs,
        mode=mode,
        template=template,
        protocol=protocol,
        server=server,
        model=model,
        nonce=nonce,
        only=only,
    )
    return _Prepared(settings, inputs, template, protocol, plan, nonce, server, model, only)


def _plan(prep: _Prepared, mode: Mode, tokens: LabelTokens | None) -> Plan:
    """``prep``'s calls planned again with the label tokens of the logprobs method."""
    return plan_calls(
        prep.settings,
        prep.inputs,
        mode=mode,
        template=prep.template,
        protocol=prep.protocol,
        server=prep.server,
        model=prep.model,
        nonce=prep.nonce,
        only=prep.only,
        tokens=tokens,
    )


def _with_logprobs_method(
    prep: _Prepared, mode: Mode, cache: JudgeCache, servers: JudgeServers, api_key: str | None
) -> tuple[_Prepared, Endpoint | None, int]:
    """``prep`` planned with the logprobs method of its server and template:
    the one kept in the cache, else probed now (which starts the local judge)
    and kept. Returns the endpoint asked (if any) and the requests the probe took."""
    key = capability_key(prep.server, prep.model, prep.template)
    tokens = label_tokens_from(cache.get(key))
    endpoint, requests = None, 0
    if tokens is None and not prep.settings.dry_run:
        endpoint = servers.endpoint(prep.settings, protocol=prep.protocol)
        tokens, requests = asyncio.run(resolve_logprobs(endpoint, api_key, prep.settings, prep.template))
        cache.put(key, cached_form(tokens))
    if tokens is None:
        return prep, endpoint, requests
    return dataclasses.replace(prep, plan=_plan(prep, mode, tokens)), endpoint, requests


def _sharded(prep: _Prepared) -> tuple[_Prepared, WholeRun | None]:
    """A shard's part of the plan, and the whole run it belongs to (``None``: not a shard)."""
    if prep.settings.shard is None:
        return prep, None
    return dataclasses.replace(prep, plan=shard_plan(prep.plan, prep.settings.shard)), whole_run(prep.plan)


def _send(
    prep: _Prepared,
    pending: Mapping[str, Messages],
    *,
    servers: JudgeServers,
    api_key: str | None,
    cache: JudgeCache,
    progress: Progress,
) -> tuple[SendResult, Endpoint]:
    endpoint = servers.endpoint(prep.settings, protocol=prep.protocol)
    sent = asyncio.run(
        send_calls(
            pending,
            endpoint=endpoint,
            api_key=api_key,
            settings=prep.settings,
            template=prep.template,
            protocol=prep.protocol,
            params=prep.plan.params,
            cache=cache,
            progress=progress,
            call_params=prep.plan.call_params,
            tokens=prep.plan.tokens,
        )
    )
    return sent, endpoint


def run_judge(
    settings: JudgeSettings,
    inputs: JudgeInputs,
    *,
    mode: Mode,
    api_key: str | None = None,
    server: JudgeServers | None = None,
    progress: Progress | None = None,
    nonce: str | None = None,
    labels: HumanLabels | None = None,
    only: Collection[tuple[tuple[str, ...], int]] | None = None,
) -> JudgeRun:
    """Run the judge over ``inputs``.

    ``api_key`` comes from the environment (:func:`api_key_from_env`); it is
    used only to talk to the server, never stored. ``server`` provides the
    endpoint and starts the local judge when a call must be sent; give the
    same provider to several runs to share one local server (without one, a
    local server of this run's own is stopped when it ends). With
    ``labels`` (:func:`evalkit.judge.labels.load_labels`), the run's
    ``agreement`` measures the verdicts against them. ``only`` limits
    the calls to those ``(systems, item)`` (a cascade's later judges); the
    other items are unscored, settled elsewhere.
    """
    started = time.perf_counter()
    prep = _prepare(settings, inputs, mode, nonce, only)
    settings = prep.settings
    progress = progress or Progress()
    cache = JudgeCache(cache_path(settings))
    endpoint: Endpoint | None = None
    sent = SendResult()
    method_requests = 0
    try:
        with _provider(server) as servers:
            if prep.protocol == "logprobs":
                prep, endpoint, method_requests = _with_logprobs_method(prep, mode, cache, servers, api_key)
            prep, whole = _sharded(prep)
            plan = prep.plan
            records = _from_cache(cache, plan, prep.template, prep.protocol, settings)
            progress.total(len(plan.calls))
            for _ in records:
                progress.update("hit")
            pending = {key: messages for key, messages in plan.calls.items() if key not in records}
            if settings.dry_run:
                estimate = _estimate(plan, pending, len(records), settings)
                stats = JudgeStats(calls=len(plan.calls), cache_hits=len(records))
                return _result(prep, mode, records, stats, None, estimate=estimate, whole=whole)
            if pending:
                sent, endpoint = _send(prep, pending, servers=servers, api_key=api_key, cache=cache, progress=progress)
                records.update(sent.records)
    finally:
        cache.close()
    counters = {
        "calls": len(plan.calls),
        "requests_sent": sent.requests_sent + method_requests,
        "retries": sent.retries,
        "probe_requests": sent.probe_requests + method_requests,
    }
    run = _result(prep, mode, records, counters, endpoint, stopped=sent.stopped, started=started, whole=whole)
    return dataclasses.replace(run, agreement=agreement_of(run, labels), labels=labels) if labels is not None else run


def _result(
    prep: _Prepared,
    mode: Mode,
    records: Mapping[str, CallRecord],
    counters: Mapping[str, int] | JudgeStats,
    endpoint: Endpoint | None,
    *,
    stopped: str | None = None,
    estimate: DryRunEstimate | None = None,
    started: float | None = None,
    whole: WholeRun | None = None,
) -> JudgeRun:
    settings = prep.settings
    systems = tuple(prep.inputs.systems)
    parts = assemble(
        mode=mode,
        template=prep.template,
        systems=systems,
        n_items=prep.inputs.n_items,
        jobs=prep.plan.jobs,
        records=records,
        baseline=settings.baseline,
        reconcile_mode=settings.reconcile,
        swapped=settings.swap,
    )
    if isinstance(counters, JudgeStats):
        stats = counters
    else:
        duration = time.perf_counter() - started if started is not None else 0.0
        stats = run_stats(
            records, counters=counters, price=settings.price, flagged=len(parts.flagged), duration_s=duration
        )
    _, model = server_identity(settings)
    if settings.shard is not None:  # a shard's summaries would be one order of some items: the merge makes them
        items = tuple(i for i in parts.items if i.calls)
        parts = dataclasses.replace(parts, items=items, pairs=(), singles=(), ratings=None)
    return JudgeRun(
        mode=mode,
        settings=settings,
        template=prep.template,
        protocol=prep.protocol,
        signature=signature(
            settings, mode=mode, template=prep.template, protocol=prep.protocol, tokens=prep.plan.tokens
        ),
        systems=systems,
        n_items=prep.inputs.n_items,
        base_url=endpoint.base_url if endpoint is not None else (settings.base_url or ""),
        model=model,
        pairs=parts.pairs,
        singles=parts.singles,
        items=parts.items,
        ratings=parts.ratings,
        stats=stats,
        stopped=stopped,
        estimate=estimate,
        style_control=_style_control(prep, parts, mode) if estimate is None and whole is None else None,
        whole_run=whole,
        inputs=prep.inputs if whole is not None else None,  # a shard writes its answers' style features
        logprobs=prep.plan.tokens,
    )


def _style_control(prep: _Prepared, parts: Assembled, mode: Mode) -> StyleControl | None:
    """Length-controlled win rates and style-controlled ratings (with
    ratings only where the run has raw ones: three systems or more)."""
    if not prep.settings.style_control or mode != "pairwise":
        return None
    from evalkit.judge.style_control import style_control  # numpy: only when a pairwise run ends

    return style_control(
        parts.items,
        prep.inputs.systems,
        n_items=prep.inputs.n_items,
        probabilities=prep.settings.reconcile == "average",
        rounds=prep.settings.style_control_rounds,
        rate=parts.ratings is not None,
    )


def agreement_of(run: JudgeRun, labels: HumanLabels) -> tuple[PairAgreement | SingleAgreement, ...]:
    """The run's agreement with ``labels``: one per judged pair (or system)
    that has labelled, scored items; 1,000 bootstrap rounds, seed 0."""
    found: list[PairAgreement | SingleAgreement | None]
    if run.mode == "pairwise":
        found = [pairwise_agreement(run.items, labels, p.system_a, p.system_b) for p in run.pairs]
    else:
        found = [single_agreement(run.items, labels, s.system) for s in run.singles]
    return tuple(a for a in found if a is not None)
