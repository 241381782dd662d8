"""A panel of judges: run each judge (its own server, model, template and
protocol; each reconciles its own verdicts for position), then pool them
per item (:mod:`evalkit.judge.pooling`), or run them as a cascade where an
item goes to the next judge only while it is unsettled.

No printing: :func:`run_panel` returns a :class:`PanelRun`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace

from evalkit.judge.labels import HumanLabels
from evalkit.judge.pooling import agreement, bare, pool_pair_item, pool_single_item, pooled_run, settled
from evalkit.judge.run import agreement_of, api_key_from_env, run_judge
from evalkit.judge.server import JudgeServers
from evalkit.judge.types import (
    CascadeStage,
    ItemVerdict,
    JudgeInputs,
    JudgeRun,
    Mode,
    PanelMember,
    PanelRun,
    Progress,
)

__all__ = ["run_panel"]

Key = tuple[tuple[str, ...], int]


@contextlib.contextmanager
def _servers(servers: JudgeServers | None, members: Sequence[PanelMember]) -> Iterator[JudgeServers]:
    if servers is not None:
        yield servers
        return
    logits_all = any(m.settings.local and m.protocol == "logprobs" for m in members)
    with JudgeServers(logits_all=logits_all) as own:
        yield own


def _run(
    member: PanelMember,
    inputs: JudgeInputs,
    mode: Mode,
    servers: JudgeServers,
    progress: Progress | None,
    only: set[Key] | None = None,
    labels: HumanLabels | None = None,
) -> JudgeRun:
    api_key = api_key_from_env(member.settings)
    return run_judge(
        member.settings, inputs, mode=mode, api_key=api_key, server=servers, progress=progress, only=only,
        labels=labels,
    )  # fmt: skip


def _pool(members: Sequence[JudgeRun], pool: str) -> list[ItemVerdict]:
    by_judge = [{(i.systems, i.item): i for i in run.items} for run in members]
    keys = list(by_judge[0])
    pool_item = pool_pair_item if members[0].mode == "pairwise" else pool_single_item
    return [pool_item([judge.get(key) for judge in by_judge], pool) for key in keys]


def _stage(
    member: PanelMember, run: JudgeRun, inputs: JudgeInputs, mode: Mode, judged: int, settled_n: int
) -> CascadeStage:
    everything = run_judge(replace(member.settings, dry_run=True), inputs, mode=mode)
    calls_if_all = everything.estimate.calls if everything.estimate is not None else run.stats.calls
    paid = run.stats.calls - run.stats.cache_hits
    saved = calls_if_all - run.stats.calls
    per_call = run.stats.cost / paid if run.stats.cost is not None and paid > 0 else None
    return CascadeStage(
        judge=member.name,
        judged=judged,
        settled=settled_n,
        calls=run.stats.calls,
        calls_if_all=calls_if_all,
        cost=run.stats.cost,
        cost_saved_estimate=per_call * saved if per_call is not None else None,
    )


def _cascade(
    members: Sequence[PanelMember],
    inputs: JudgeInputs,
    mode: Mode,
    margin: float,
    servers: JudgeServers,
    progress: Progress | None,
    labels: HumanLabels | None,
) -> tuple[list[JudgeRun], list[ItemVerdict], list[CascadeStage]]:
    """Judges in order: each sees only the items no earlier judge settled;
    the last one decides what is left. An item's pooled verdict is the one
    of the judge that settled it (or the last judge that scored it)."""
    remaining: set[Key] | None = None
    final: dict[Key, ItemVerdict] = {}
    runs: list[JudgeRun] = []
    stages: list[CascadeStage] = []
    for k, member in enumerate(members):
        run = _run(member, inputs, mode, servers, progress, only=remaining, labels=labels)
        judged = [i for i in run.items if remaining is None or (i.systems, i.item) in remaining]
        last = k == len(members) - 1
        done = {(i.systems, i.item) for i in judged if last or settled(i, margin)}
        for item in judged:
            key = (item.systems, item.item)
            if item.unscored is None or key not in final:
                final[key] = item
        remaining = {(i.systems, i.item) for i in judged} - done
        runs.append(run)
        stages.append(_stage(member, run, inputs, mode, len(judged), len(done)))
    order = [(i.systems, i.item) for i in runs[0].items]
    items = [replace(bare(final[key]), consistent=None) for key in order]
    return runs, items, stages


def run_panel(
    members: Sequence[PanelMember],
    inputs: JudgeInputs,
    *,
    mode: Mode,
    pool: str = "majority",
    cascade_margin: float = 0.1,
    servers: JudgeServers | None = None,
    progress: Progress | None = None,
    labels: HumanLabels | None = None,
) -> PanelRun:
    """Run a panel of judges over ``inputs`` and pool their verdicts per item.

    ``pool``: ``majority`` (the most common reconciled outcome; single: the
    median grade), ``mean`` (of P(win); single: the mean grade) or
    ``cascade`` (pairwise only: judges in order, an item going on while its
    two orders disagree or |P(win) - 0.5| < ``cascade_margin``). With
    ``labels``, each judge's run and the pooled run measure their agreement
    with them.
    """
    if len(members) < 2:
        raise ValueError("a panel needs at least two judges")
    names = tuple(m.name for m in members)
    stages: list[CascadeStage] = []
    with _servers(servers, members) as provider:
        if pool == "cascade":
            runs, items, stages = _cascade(members, inputs, mode, cascade_margin, provider, progress, labels)
        else:
            runs = [_run(m, inputs, mode, provider, progress, labels=labels) for m in members]
            items = _pool(runs, pool)
    pooled = pooled_run(runs, items, pool=pool)
    if labels is not None:
        pooled = replace(pooled, agreement=agreement_of(pooled, labels), labels=labels)
    return PanelRun(
        pool=pool,
        names=names,
        members=tuple(runs),
        pooled=pooled,
        agreement=agreement(runs),
        stages=tuple(stages),
        cascade_margin=cascade_margin if pool == "cascade" else None,
    )
