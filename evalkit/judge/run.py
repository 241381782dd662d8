"""The judge runner: a :class:`JudgeConfig` in, a typed :class:`JudgeRun` out.

No printing, no exit codes: the CLI does that. Steps: validate, render every
call (both orders of each pair unless ``swap=False``), look the calls up in
the cache, probe the server if anything must be sent, send the rest with
bounded concurrency, parse every answer, store the parsed ones, aggregate.

>>> cfg = JudgeConfig(mode="single", prompts=["2+2?"], systems={"s": ["4"]},
...                   base_url="http://127.0.0.1:9/v1", model="m", dry_run=True)
>>> run_judge(cfg).estimate["calls"]
1
"""

from __future__ import annotations

import asyncio
import itertools
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evalkit.errors import ConfigError, InputError
from evalkit.judge import aggregate
from evalkit.judge.cache import JudgeCache, cache_key
from evalkit.judge.protocols import GRAMMAR_BACKENDS, Verdict, gbnf_grammar, json_schema, parse_verdict
from evalkit.judge.render import merge_system, new_nonce, render
from evalkit.judge.templates import PROTOCOLS, Template, load_template

__all__ = ["JudgeConfig", "JudgeRun", "run_judge", "Progress"]

#: progress(event) with event in {"hit", "done", "failed"}; total is set first.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class JudgeConfig:
    """Everything a judge run needs, with no secret in it (the API key is an
    argument of :func:`run_judge`).

    ``systems`` maps a system name to its answers, one per prompt (``None``
    for a missing answer: that item is unscored). ``server_id`` replaces the
    base URL in the cache key when the URL changes from run to run (the local
    judge's random port).
    """

    mode: str
    prompts: Sequence[str | None]
    systems: Mapping[str, Sequence[str | None]]
    references: Sequence[str | None] | None = None
    base_url: str = ""
    model: str = ""
    server_id: str | None = None
    template: str | pathlib.Path | None = None
    protocol: str | None = None
    grammar_backend: str = "gbnf"
    reconcile: str = "tie"
    swap: bool = True
    baseline: str | None = None
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    temperature: float = 0.0
    max_tokens: int | None = None
    top_logprobs: int = 20
    seed: int | None = None
    price: tuple[float, float] | None = None
    max_cost: float | None = None
    cache_path: pathlib.Path | None = None
    dry_run: bool = False
    limit: int | None = None
    nonce: str | None = None
    #: fold the system message into the user message (chat formats without a
    #: system role, such as llama.cpp's gemma format)
    merge_system: bool = False
    #: for tests: the backoff unit in seconds of the client's retries
    backoff_base: float = 0.5


@dataclass(frozen=True)
class JudgeRun:
    """The typed result of a judge run (what the report writers take)."""

    config: JudgeConfig
    template: Template
    protocol: str
    signature: str
    pairs: tuple[dict[str, Any], ...] = ()
    ratings: Mapping[str, Mapping[str, float]] | None = None
    systems: tuple[dict[str, Any], ...] = ()
    judgments: tuple[dict[str, Any], ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    stopped: str | None = None
    estimate: Mapping[str, Any] | None = None


@dataclass
class _Call:
    key: str
    messages: tuple[Mapping[str, str], ...]
    result: Verdict | None = None
    stored: dict[str, Any] | None = None
    cached: bool = False
    attempts: int = 0
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] | None = None


@dataclass
class _Job:
    item: int
    group: tuple[str, ...]  # (system,) or (system_a, system_b)
    order: str | None  # "ab"/"ba" for pairwise, None for single
    shown: tuple[str, ...]
    call: _Call | None
    flags: dict[str, tuple[str, ...]]
    unscored: str | None = None


def _check(config: JudgeConfig, template: Template, protocol: str) -> None:
    if config.mode not in ("single", "pairwise"):
        raise ConfigError(f"judge mode must be 'single' or 'pairwise', not {config.mode!r}")
    if template.mode != config.mode:
        raise ConfigError(
            f"template {template.name!r} ({template.path}) is a {template.mode} template, not {config.mode}",
            hint=f"choose a {config.mode} template, e.g. {'mt-bench-pairwise' if config.mode == 'pairwise' else 'mt-bench-single'}",
        )
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    template.instructions_for(protocol)
    if config.grammar_backend not in GRAMMAR_BACKENDS:
        raise ConfigError(
            f"grammar backend must be one of {', '.join(GRAMMAR_BACKENDS)}, not {config.grammar_backend!r}"
        )
    if config.reconcile not in aggregate.RECONCILE_MODES:
        raise ConfigError(f"reconcile must be 'tie' or 'average', not {config.reconcile!r}")
    if config.reconcile == "average" and protocol != "logprobs":
        raise ConfigError("--reconcile average needs --protocol logprobs (it averages P(A wins) over both orders)")
    n_systems = len(config.systems)
    if config.mode == "pairwise" and n_systems < 2:
        raise ConfigError(
            f"pairwise judging needs at least two systems, got {n_systems}", hint="pass --system NAME=FILE twice"
        )
    if n_systems < 1:
        raise ConfigError("no system to judge", hint="pass --system NAME=FILE")
    if config.baseline is not None and config.baseline not in config.systems:
        raise ConfigError(f"--baseline {config.baseline!r} is not one of the systems: {', '.join(config.systems)}")
    n = len(config.prompts)
    if n == 0:
        raise InputError("there are no prompts to judge")
    for name, answers in config.systems.items():
        if len(answers) != n:
            raise InputError(f"{n} prompts but {len(answers)} answers from system {name!r}: give one answer per prompt")
    if template.needs_reference:
        if config.references is None:
            raise ConfigError(f"template {template.name!r} needs references", hint="pass --references FILE")
        if len(config.references) != n:
            raise InputError(f"{n} prompts but {len(config.references)} references: give one reference per prompt")
    elif config.references is not None:
        raise ConfigError(
            f"references were given but template {template.name!r} does not use them",
            hint=f"choose a reference-guided template ({config.mode}-ref) or drop --references",
        )
    if config.concurrency < 1 or config.max_retries < 0 or config.timeout <= 0:
        raise ConfigError("concurrency must be >= 1, max_retries >= 0 and timeout > 0")
    if config.max_cost is not None and config.price is None:
        raise ConfigError("--max-cost needs --price IN,OUT (USD per million input and output tokens)")
    if not config.dry_run and (not config.base_url or not config.model):
        raise ConfigError("no judge server given", hint="pass --base-url URL and --model NAME, or --judge local")


def request_params(config: JudgeConfig, template: Template, protocol: str) -> dict[str, Any]:
    """The request parameters besides model and messages (they enter the cache key)."""
    params: dict[str, Any] = {"temperature": config.temperature}
    if config.seed is not None:
        params["seed"] = config.seed
    if protocol == "text":
        params["max_tokens"] = config.max_tokens or template.max_tokens
    elif protocol == "grammar":
        params["max_tokens"] = config.max_tokens or max(len(label) for label in template.labels) + 4
        if config.grammar_backend == "gbnf":
            params["extra_body"] = {"grammar": gbnf_grammar(template)}
        elif config.grammar_backend == "choice":
            params["extra_body"] = {"guided_choice": list(template.labels)}
        else:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "strict": True, "schema": json_schema(template)},
            }
    else:
        params.update(max_tokens=1, logprobs=True, top_logprobs=config.top_logprobs)
    return params


def signature(config: JudgeConfig, template: Template, protocol: str) -> str:
    from evalkit import __version__

    proto = protocol + (f"+{config.grammar_backend}" if protocol == "grammar" else "")
    parts = [
        f"judge:{template.id}",
        f"mode:{config.mode}",
        f"proto:{proto}",
        f"model:{config.model or '-'}",
        *(
            [f"swap:{'yes' if config.swap else 'no'}", f"reconcile:{config.reconcile}"]
            if config.mode == "pairwise"
            else []
        ),
        f"temp:{config.temperature:g}",
        f"evalkit:{__version__}",
    ]
    return "|".join(parts)


def _pairs(config: JudgeConfig) -> list[tuple[str, str]]:
    names = list(config.systems)
    if config.baseline is not None:
        return [(name, config.baseline) for name in names if name != config.baseline]
    return list(itertools.combinations(names, 2))


def _limited(config: JudgeConfig) -> JudgeConfig:
    if config.limit is None:
        return config
    k = max(0, config.limit)
    return replace(
        config,
        prompts=list(config.prompts)[:k],
        systems={name: list(a)[:k] for name, a in config.systems.items()},
        references=None if config.references is None else list(config.references)[:k],
    )


def _build_jobs(
    config: JudgeConfig, template: Template, protocol: str, params: Mapping[str, Any], nonce: str
) -> tuple[list[_Job], dict[str, _Call]]:
    jobs: list[_Job] = []
    calls: dict[str, _Call] = {}
    server = config.server_id or config.base_url
    refs = config.references

    def make(item: int, group: tuple[str, ...], order: str | None, shown: tuple[str, ...]) -> None:
        question = config.prompts[item]
        answers = [config.systems[name][item] for name in shown]
        reference = refs[item] if (refs is not None and template.needs_reference) else None
        missing = []
        if question is None:
            missing.append("prompt")
        missing += [f"answer of {name!r}" for name, a in zip(shown, answers) if a is None]
        if template.needs_reference and reference is None:
            missing.append("reference")
        if missing:
            jobs.append(_Job(item, group, order, shown, None, {}, unscored="missing " + ", ".join(missing)))
            return
        rendered = render(
            template,
            protocol,
            question=question,
            answers=answers,  # type: ignore[arg-type]
            reference=reference,
            nonce=nonce,
        )
        if config.merge_system:
            rendered = replace(rendered, messages=merge_system(rendered.messages))
        key = cache_key(
            base_url=server,
            model=config.model,
            template_id=template.id,
            protocol=protocol,
            params=params,
            messages=rendered.messages,
            nonce=nonce,
        )
        call = calls.setdefault(key, _Call(key=key, messages=rendered.messages))
        slots = ("answer",) if len(shown) == 1 else ("answer_a", "answer_b")
        flags = {name: rendered.flags[slot] for name, slot in zip(shown, slots) if slot in rendered.flags}
        jobs.append(_Job(item, group, order, shown, call, flags))

    n = len(config.prompts)
    if config.mode == "single":
        for name in config.systems:
            for item in range(n):
                make(item, (name,), None, (name,))
    else:
        for a, b in _pairs(config):
            for item in range(n):
                make(item, (a, b), "ab", (a, b))
                if config.swap:
                    make(item, (a, b), "ba", (b, a))
    return jobs, calls


def _estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    # About four characters per token for English; a dry run says "about".
    return sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)


def _cost(price: tuple[float, float] | None, prompt: float, completion: float) -> float | None:
    if price is None:
        return None
    return (prompt * price[0] + completion * price[1]) / 1_000_000


def run_judge(
    config: JudgeConfig,
    *,
    api_key: str | None = None,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> JudgeRun:
    """Run the judge. ``api_key`` comes from the environment (the CLI reads
    it); it is used only to talk to the server, never stored."""
    started = time.perf_counter()
    template = load_template(config.template or config.mode)
    protocol = config.protocol or template.protocol
    config = _limited(config)
    _check(config, template, protocol)
    nonce = config.nonce or new_nonce()
    params = request_params(config, template, protocol)
    jobs, calls = _build_jobs(config, template, protocol, params, nonce)
    sig = signature(config, template, protocol)

    cache = JudgeCache(config.cache_path)
    try:
        stored = cache.get_many(calls)
        hits = 0
        for key, value in stored.items():
            call = calls[key]
            verdict = parse_verdict(template, protocol, value["response"], backend=config.grammar_backend)
            if verdict.ok:  # an entry the current template cannot parse is sent again
                call.result, call.cached, call.raw = verdict, True, value["response"]
                call.usage = dict(value.get("usage", {}))
                call.latency_s = float(value.get("latency_s", 0.0))
                hits += 1
        pending = [c for c in calls.values() if c.result is None]
        if on_total:
            on_total(len(calls))
        if progress:
            for _ in range(hits):
                progress("hit")

        if config.dry_run:
            prompt_tokens = sum(_estimate_tokens(c.messages) for c in pending)
            completion_tokens = params["max_tokens"] * len(pending)
            estimate = {
                "calls": len(calls),
                "cached": hits,
                "to_send": len(pending),
                "prompt_tokens_estimate": prompt_tokens,
                "completion_tokens_max": completion_tokens,
                "cost_max": _cost(config.price, prompt_tokens, completion_tokens),
            }
            return JudgeRun(
                config=config,
                template=template,
                protocol=protocol,
                signature=sig,
                estimate=estimate,
                stats={"requests_sent": 0, "cache_hits": hits},
            )

        counters = {"requests_sent": 0, "retries": 0, "probe_requests": 0}
        stopped = None
        if pending:
            counters, stopped = asyncio.run(
                _send(config, template, protocol, params, pending, cache, api_key, progress)
            )
    finally:
        cache.close()

    return _assemble(
        config, template, protocol, sig, jobs, calls, counters, hits, stopped, time.perf_counter() - started
    )


async def _send(
    config: JudgeConfig,
    template: Template,
    protocol: str,
    params: Mapping[str, Any],
    pending: list[_Call],
    cache: JudgeCache,
    api_key: str | None,
    progress: Progress | None,
) -> tuple[dict[str, int], str | None]:
    from evalkit.judge.client import JudgeClient

    client = JudgeClient(
        base_url=config.base_url,
        model=config.model,
        api_key=api_key or "no-key-needed",
        timeout=config.timeout,
        max_retries=config.max_retries,
        concurrency=config.concurrency,
        backoff_base=config.backoff_base,
    )
    slots = asyncio.Semaphore(config.concurrency)
    budget = {"spent": 0.0, "reserved": 0.0}
    stopped: list[str] = []

    aborted: list[BaseException] = []

    async def one(call: _Call) -> None:
        async with slots:
            if aborted:  # a fatal error (auth, quota) stops the run: send nothing more
                return
            estimate = 0.0
            if config.max_cost is not None:
                estimate = _cost(config.price, _estimate_tokens(call.messages), params["max_tokens"]) or 0.0
                if budget["spent"] + budget["reserved"] + estimate > config.max_cost:
                    call.result = Verdict(unscored=f"not sent: --max-cost {config.max_cost:g} would be passed")
                    if not stopped:
                        stopped.append("max-cost")
                    if progress:
                        progress("failed")
                    return
                budget["reserved"] += estimate
            try:
                outcome = await client.complete(call.messages, params)
            except BaseException as exc:
                aborted.append(exc)
                raise
            budget["reserved"] -= estimate
            budget["spent"] += (
                _cost(config.price, outcome.usage.get("prompt_tokens", 0), outcome.usage.get("completion_tokens", 0))
                or 0.0
            )
        # Parsing and storing happen after the slot is freed: the next request
        # need not wait for them.
        call.attempts, call.latency_s, call.usage = outcome.attempts, outcome.latency_s, outcome.usage
        if outcome.error is not None:
            call.result = Verdict(unscored=outcome.error)
        else:
            call.raw = outcome.response
            call.result = parse_verdict(template, protocol, outcome.response or {}, backend=config.grammar_backend)
            if call.result.ok:
                cache.put(
                    call.key,
                    {"response": outcome.response, "usage": outcome.usage, "latency_s": round(outcome.latency_s, 4)},
                )
        if progress:
            progress("done" if call.result.ok else "failed")

    try:
        await client.probe(protocol, backend=config.grammar_backend)
        tasks = [asyncio.ensure_future(one(c)) for c in pending]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    finally:
        await client.aclose()
    counters = {
        "requests_sent": client.requests_sent,
        "retries": client.retries,
        "probe_requests": client.probe_requests,
    }
    return counters, (stopped[0] if stopped else None)


def _call_record(job: _Job, config: JudgeConfig) -> dict[str, Any]:
    call = job.call
    record: dict[str, Any] = {"item": job.item, "mode": config.mode}
    if config.mode == "single":
        record["system"] = job.group[0]
    else:
        record.update(system_a=job.group[0], system_b=job.group[1], order=job.order, shown=list(job.shown))
    if call is None:
        record.update(messages=None, raw_answer=None, verdict=None, unscored=job.unscored, cached=False)
        return record
    v = call.result or Verdict(unscored="not judged")
    raw = call.raw or {}
    record.update(
        messages=[dict(m) for m in call.messages],
        raw_answer=raw.get("content"),
        finish_reason=raw.get("finish_reason"),
        verdict=v.label,
        meaning=v.value,
        p_first=v.p_first,
        probabilities=dict(v.probabilities) if v.probabilities else None,
        missing_labels=list(v.missing_labels) or None,
        missing_mass_bound=v.missing_mass_bound,
        unscored=v.unscored,
        possible_injection={k: list(r) for k, r in job.flags.items()} or None,
        prompt_tokens=call.usage.get("prompt_tokens", 0),
        completion_tokens=call.usage.get("completion_tokens", 0),
        latency_s=round(call.latency_s, 4),
        cached=call.cached,
        attempts=call.attempts,
        key=call.key,
    )
    if raw.get("top_logprobs"):
        record["top_logprobs"] = raw["top_logprobs"]
    return record


def _assemble(
    config: JudgeConfig,
    template: Template,
    protocol: str,
    sig: str,
    jobs: list[_Job],
    calls: dict[str, _Call],
    counters: Mapping[str, int],
    hits: int,
    stopped: str | None,
    duration: float,
) -> JudgeRun:
    records = tuple(_call_record(job, config) for job in jobs)
    pairs: list[dict[str, Any]] = []
    systems: list[dict[str, Any]] = []
    ratings = None
    flagged_answers: set[tuple[str, int]] = set()
    for job in jobs:
        for name in job.flags:
            flagged_answers.add((name, job.item))

    by_item: dict[tuple[tuple[str, ...], int], list[_Job]] = {}
    for job in jobs:
        by_item.setdefault((job.group, job.item), []).append(job)

    if config.mode == "pairwise":
        games: list[tuple[str, str, float]] = []
        for a, b in _pairs(config):
            outcomes = []
            single_calls: list[tuple[str, str | None]] = []
            flagged = 0
            for item in range(len(config.prompts)):
                item_jobs = by_item.get(((a, b), item), [])
                verdicts, reasons = [], []
                for j in item_jobs:
                    if j.call is None:
                        verdicts.append((j.order or "ab", None, None))
                        reasons.append(j.unscored)
                        continue
                    v = j.call.result or Verdict(unscored="not judged")
                    role = v.value if v.ok else None
                    verdicts.append((j.order or "ab", role, v.p_first))
                    reasons.append(v.unscored)
                    single_calls.append((j.order or "ab", role))
                outcome = aggregate.reconcile(verdicts, mode=config.reconcile, reasons=reasons)
                outcomes.append(outcome)
                if outcome.outcome is not None:
                    games.append((a, b, {"win": 1.0, "loss": 0.0, "tie": 0.5}[outcome.outcome]))
                if (a, item) in flagged_answers or (b, item) in flagged_answers:
                    flagged += 1
            pairs.append(
                aggregate.pair_summary(a, b, outcomes, single_calls, swapped=config.swap, flagged_items=flagged)
            )
        if len(config.systems) >= 3 and games:
            ratings = aggregate.bradley_terry(games)
    else:
        for name in config.systems:
            scores, labels, reasons = [], [], []
            for job in (j for item in range(len(config.prompts)) for j in by_item.get(((name,), item), [])):
                v = job.call.result if job.call and job.call.result else Verdict(unscored=job.unscored or "not judged")
                scores.append(float(v.value) if v.ok else None)
                labels.append(v.label if v.ok else None)
                reasons.append(v.unscored)
            flagged = sum(1 for (s, _) in flagged_answers if s == name)
            systems.append(
                aggregate.single_summary(name, scores, labels, reasons, scale=template.labels, flagged_items=flagged)
            )

    prompt_tokens = sum(c.usage.get("prompt_tokens", 0) for c in calls.values() if not c.cached)
    completion_tokens = sum(c.usage.get("completion_tokens", 0) for c in calls.values() if not c.cached)
    failures = sum(1 for c in calls.values() if c.result is not None and not c.result.ok)
    stats = {
        "calls": len(calls),
        "requests_sent": counters.get("requests_sent", 0),
        "probe_requests": counters.get("probe_requests", 0),
        "retries": counters.get("retries", 0),
        "cache_hits": hits,
        "failed_calls": failures,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "cost": _cost(config.price, prompt_tokens, completion_tokens),
        "possible_injection": len(flagged_answers),
        "duration_s": round(duration, 3),
    }
    return JudgeRun(
        config=config,
        template=template,
        protocol=protocol,
        signature=sig,
        pairs=tuple(pairs),
        ratings=ratings,
        systems=tuple(systems),
        judgments=records,
        stats=stats,
        stopped=stopped,
    )


def config_to_dict(config: JudgeConfig) -> dict[str, Any]:
    """The run's settings for the report (no data, no secret)."""
    return {
        "mode": config.mode,
        "systems": list(config.systems),
        "n_items": len(config.prompts),
        "base_url": config.base_url,
        "model": config.model,
        "template": str(config.template or config.mode),
        "protocol": config.protocol,
        "grammar_backend": config.grammar_backend,
        "reconcile": config.reconcile,
        "swap": config.swap,
        "baseline": config.baseline,
        "concurrency": config.concurrency,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "top_logprobs": config.top_logprobs,
        "seed": config.seed,
        "price": list(config.price) if config.price else None,
        "max_cost": config.max_cost,
        "limit": config.limit,
        "merge_system": config.merge_system,
    }
