"""Building a run's calls (pure): check the settings against the template and
the inputs, render every judgment's messages (both orders of each pair unless
``swap`` is off) and key each call for the cache.

>>> from evalkit.judge.templates import load_template
>>> from evalkit.judge.types import JudgeInputs, JudgeSettings
>>> t = load_template("mt-bench-pairwise")
>>> inputs = JudgeInputs.of(["2+2?"], {"x": ["4"], "y": ["5"]})
>>> plan = plan_calls(JudgeSettings(), inputs, mode="pairwise", template=t, protocol="text",
...                   server="http://127.0.0.1:9/v1", model="m", nonce="n0")
>>> [(job.order, job.shown) for job in plan.jobs]
[('ab', ('x', 'y')), ('ba', ('y', 'x'))]
>>> len(plan.calls)
2
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from evalkit.errors import ConfigError, InputError
from evalkit.judge.cache import cache_key
from evalkit.judge.local_model import local_model_of
from evalkit.judge.logprob_method import LOGIT_BIAS
from evalkit.judge.protocols import gbnf_grammar, json_schema
from evalkit.judge.render import Rendered, merge_system, render
from evalkit.judge.repeats import repeat_seed
from evalkit.judge.types import (
    LOCAL_MODEL_NAME,
    LOCAL_SERVER_ID,
    Job,
    JudgeInputs,
    JudgeSettings,
    LabelTokens,
    LocalModel,
    Mode,
    Template,
    system_pairs,
)

__all__ = [
    "Plan",
    "check_inputs",
    "check_settings",
    "estimate_tokens",
    "plan_calls",
    "request_params",
    "server_identity",
    "signature",
]

Messages = tuple[Mapping[str, str], ...]
#: Why a cascade's later judge has no call for an item: an earlier judge settled it.
CASCADE_SKIPPED = "settled by an earlier judge of the cascade"


@dataclass(frozen=True)
class Plan:
    """The jobs of a run and its distinct calls (cache key -> messages, in
    first-seen order); ``params`` are the request parameters of every call."""

    jobs: tuple[Job, ...]
    calls: Mapping[str, Messages]
    params: Mapping[str, Any]
    #: cache key -> request parameters, for the calls whose parameters are not
    #: ``params`` (the repeats after the first: another seed)
    call_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: logprobs: how the labels' probabilities are obtained (``None``: top-k, not yet probed)
    tokens: LabelTokens | None = None

    def params_of(self, key: str) -> Mapping[str, Any]:
        return self.call_params.get(key, self.params)


def check_settings(settings: JudgeSettings, *, mode: Mode, template: Template) -> str:
    """Check ``settings`` against ``mode`` and ``template``; return the verdict
    protocol (the setting, else the template's). Raises :class:`ConfigError`."""
    if template.mode != mode:
        example = "mt-bench-pairwise" if mode == "pairwise" else "mt-bench-single"
        raise ConfigError(
            f"template {template.name!r} ({template.path}) is a {template.mode} template, not {mode}",
            hint=f"choose a {mode} template, e.g. {example}",
        )
    protocol = settings.protocol or template.protocol
    template.instructions_for(protocol)
    if mode == "pairwise" and settings.reconcile == "average" and protocol != "logprobs":
        raise ConfigError("--reconcile average needs --protocol logprobs (it averages P(A wins) over both orders)")
    if settings.max_cost is not None and settings.price is None:
        raise ConfigError("--max-cost needs --price IN,OUT (USD per million input and output tokens)")
    if settings.local and (settings.base_url or settings.model):
        raise ConfigError("give either --judge local or --base-url/--model, not both")
    if not settings.local and not settings.dry_run and (not settings.base_url or not settings.model):
        raise ConfigError("no judge server given", hint="pass --base-url URL and --model NAME, or --judge local")
    if not settings.local and (settings.local_model or settings.local_chat_format):
        raise ConfigError("--local-model and --local-chat-format need --judge local")
    if settings.local_chat_format and not settings.local_model:
        raise ConfigError("--local-chat-format needs --local-model (Gemma 3 270M uses the gemma format)")
    local_model(settings)  # a ConfigError if the file is missing or not a GGUF file
    return protocol


def local_model(settings: JudgeSettings) -> LocalModel | None:
    """The ``--local-model`` file checked and named; ``None`` for the shipped Gemma 3 270M."""
    if not settings.local or settings.local_model is None:
        return None
    return local_model_of(settings.local_model, settings.local_chat_format)


def check_inputs(inputs: JudgeInputs, *, mode: Mode, template: Template, baseline: str | None) -> None:
    """Check that ``inputs`` fit the mode and the template."""
    n_systems = len(inputs.systems)
    if mode == "pairwise" and n_systems < 2:
        raise ConfigError(
            f"pairwise judging needs at least two systems, got {n_systems}", hint="pass --system NAME=FILE twice"
        )
    if n_systems < 1:
        raise ConfigError("no system to judge", hint="pass --system NAME=FILE")
    if mode == "pairwise" and baseline is not None and baseline not in inputs.systems:
        raise ConfigError(f"--baseline {baseline!r} is not one of the systems: {', '.join(inputs.systems)}")
    n = inputs.n_items
    if n == 0:
        raise InputError("there are no prompts to judge")
    for name, answers in inputs.systems.items():
        if len(answers) != n:
            raise InputError(f"{n} prompts but {len(answers)} answers from system {name!r}: give one answer per prompt")
    if template.needs_conversation and inputs.conversations is None:
        raise ConfigError(
            f"template {template.name!r} shows whole conversations, but the prompts are single questions",
            hint="give conversations: JSONL with a messages list per line (docs/judge.md: Multi-turn conversations)",
        )
    if template.needs_reference:
        if inputs.references is None:
            raise ConfigError(f"template {template.name!r} needs references", hint="pass --references FILE")
        if len(inputs.references) != n:
            raise InputError(f"{n} prompts but {len(inputs.references)} references: give one reference per prompt")
    elif inputs.references is not None:
        raise ConfigError(
            f"references were given but template {template.name!r} does not use them",
            hint=f"choose a reference-guided template ({mode}-ref) or drop --references",
        )


def server_identity(settings: JudgeSettings) -> tuple[str, str]:
    """``(server, model)`` as the cache key and the signature know them: the
    local judge has a fixed id (its port changes from run to run)."""
    model = local_model(settings)
    if model is not None:
        return model.server_id, model.name
    if settings.local:
        return LOCAL_SERVER_ID, LOCAL_MODEL_NAME
    return settings.base_url or "", settings.model or ""


def request_params(
    settings: JudgeSettings, template: Template, protocol: str, tokens: LabelTokens | None = None
) -> dict[str, Any]:
    """The request parameters besides model and messages (they enter the cache
    key: a logprobs call with ``logit_bias`` never shares an entry with one without)."""
    params: dict[str, Any] = {"temperature": settings.temperature}
    if settings.seed is not None:
        params["seed"] = settings.seed
    if protocol == "text":
        params["max_tokens"] = settings.max_tokens or template.max_tokens
    elif protocol == "grammar":
        params["max_tokens"] = settings.max_tokens or max(len(label) for label in template.labels) + 4
        if settings.grammar_backend == "gbnf":
            params["extra_body"] = {"grammar": gbnf_grammar(template)}
        elif settings.grammar_backend == "choice":
            params["extra_body"] = {"guided_choice": list(template.labels)}
        else:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "strict": True, "schema": json_schema(template)},
            }
    else:
        params.update(max_tokens=1, logprobs=True, top_logprobs=settings.top_logprobs)
        if tokens is not None and tokens.method == "logit_bias":
            params["logit_bias"] = {str(t): LOGIT_BIAS for t in tokens.all_ids}
            params["top_logprobs"] = max(settings.top_logprobs, len(tokens.all_ids))
    return params


def signature(
    settings: JudgeSettings, *, mode: Mode, template: Template, protocol: str, tokens: LabelTokens | None = None
) -> str:
    """The run's reproducibility signature, e.g.
    ``judge:pairwise@1|mode:pairwise|proto:grammar+gbnf|model:m|swap:yes|reconcile:tie|temp:0|evalkit:0.1.0``
    (``proto:logprobs+logit_bias`` or ``+top_k`` once the logprobs method is known);
    a shard's ends with ``|shard:I/N``."""
    from evalkit import __version__

    _, model = server_identity(settings)
    proto = protocol + (f"+{settings.grammar_backend}" if protocol == "grammar" else "")
    if protocol == "logprobs" and tokens is not None:
        proto += f"+{tokens.method}"
    parts = [f"judge:{template.id}", f"mode:{mode}", f"proto:{proto}", f"model:{model or '-'}"]
    if mode == "pairwise":
        parts += [f"swap:{'yes' if settings.swap else 'no'}", f"reconcile:{settings.reconcile}"]
    parts += [f"temp:{settings.temperature:g}", f"evalkit:{__version__}"]
    if settings.shard is not None:  # a shard's numbers are not the run's: its signature says so
        parts.append(f"shard:{settings.shard}")
    return "|".join(parts)


def estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """About four characters per token for English; a dry run says "about"."""
    return sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)


def reference_text(references: Sequence[str]) -> str | None:
    """One item's references as the text of the template's ``{reference}``:
    the reference itself, or several numbered ones; ``None`` if there is none."""
    if not references:
        return None
    if len(references) == 1:
        return references[0]
    return "\n\n".join(f"Reference {i}:\n{text}" for i, text in enumerate(references, 1))


@dataclass(frozen=True)
class _Context:
    settings: JudgeSettings
    inputs: JudgeInputs
    template: Template
    protocol: str
    server: str
    model: str
    nonce: str
    params: Mapping[str, Any]
    #: (systems, item) of the jobs to plan; ``None``: every job
    only: Collection[tuple[tuple[str, ...], int]] | None = None
    calls: dict[str, Messages] = field(default_factory=dict)
    call_params: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def params_for(self, repeat: int) -> Mapping[str, Any]:
        """Repeat 0 sends ``params`` (its key is a run's without repeats); a
        later repeat another seed."""
        if repeat == 0:
            return self.params
        return {**self.params, "seed": repeat_seed(self.settings.seed, repeat)}


def _missing(ctx: _Context, item: int, shown: tuple[str, ...]) -> list[str]:
    missing = ["prompt"] if ctx.inputs.prompts[item] is None else []
    missing += [f"answer of {name!r}" for name in shown if ctx.inputs.systems[name][item] is None]
    if ctx.template.needs_reference and not (ctx.inputs.references and ctx.inputs.references[item]):
        missing.append("reference")
    return missing


def _rendered(ctx: _Context, item: int, shown: tuple[str, ...]) -> Rendered:
    refs = ctx.inputs.references
    conversation, conversation_flags = None, None
    if ctx.inputs.conversations is not None:
        from evalkit.judge.turns import conversation_values

        conversation, conversation_flags = conversation_values(
            ctx.template, ctx.inputs.conversations[item], shown, nonce=ctx.nonce
        )
    rendered = render(
        ctx.template,
        ctx.protocol,
        question=ctx.inputs.prompts[item] or "",
        answers=[ctx.inputs.systems[name][item] or "" for name in shown],
        reference=reference_text(refs[item]) if refs is not None and ctx.template.needs_reference else None,
        nonce=ctx.nonce,
        conversation=conversation,
        conversation_flags=conversation_flags,
    )
    if ctx.settings.merge_system:
        rendered = replace(rendered, messages=merge_system(rendered.messages))
    return rendered


def _jobs(
    ctx: _Context,
    item: int,
    systems: tuple[str, ...],
    order: Literal["ab", "ba"] | None,
    shown: tuple[str, ...],
) -> list[Job]:
    """The job of each repeat of one judgment (one call each, keyed apart by its seed)."""
    repeats = range(ctx.settings.repeats)
    if ctx.only is not None and (systems, item) not in ctx.only:
        return [Job(item, systems, order, shown, None, unscored=CASCADE_SKIPPED, repeat=r) for r in repeats]
    missing = _missing(ctx, item, shown)
    if missing:
        why = "missing " + ", ".join(missing)
        return [Job(item, systems, order, shown, None, unscored=why, repeat=r) for r in repeats]
    rendered = _rendered(ctx, item, shown)
    slots = ("answer",) if len(shown) == 1 else ("answer_a", "answer_b")
    flags = {name: rendered.flags[slot] for name, slot in zip(shown, slots) if slot in rendered.flags}
    jobs = []
    for r in repeats:
        params = ctx.params_for(r)
        key = cache_key(
            base_url=ctx.server,
            model=ctx.model,
            template_id=ctx.template.id,
            protocol=ctx.protocol,
            params=params,
            messages=rendered.messages,
            nonce=ctx.nonce,
        )
        ctx.calls.setdefault(key, rendered.messages)
        if params is not ctx.params:
            ctx.call_params[key] = params
        jobs.append(Job(item, systems, order, shown, key, flags, repeat=r))
    return jobs


def plan_calls(
    settings: JudgeSettings,
    inputs: JudgeInputs,
    *,
    mode: Mode,
    template: Template,
    protocol: str,
    server: str,
    model: str,
    nonce: str,
    only: Collection[tuple[tuple[str, ...], int]] | None = None,
    tokens: LabelTokens | None = None,
) -> Plan:
    """Every job of the run, in report order (pairs or systems, then items,
    then orders, then repeats), and its distinct calls; with ``only``, jobs
    outside it are planned without a call (a cascade's later judges)."""
    params = request_params(settings, template, protocol, tokens)
    ctx = _Context(settings, inputs, template, protocol, server, model, nonce, params, only=only)
    jobs: list[Job] = []
    n = inputs.n_items
    if mode == "single":
        for name in inputs.systems:
            for item in range(n):
                jobs += _jobs(ctx, item, (name,), None, (name,))
    else:
        for a, b in system_pairs(list(inputs.systems), settings.baseline):
            for item in range(n):
                jobs += _jobs(ctx, item, (a, b), "ab", (a, b))
                if settings.swap:
                    jobs += _jobs(ctx, item, (a, b), "ba", (b, a))
    return Plan(tuple(jobs), ctx.calls, params, ctx.call_params, tokens)
