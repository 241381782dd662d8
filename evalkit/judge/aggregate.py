"""Pure aggregation of judge verdicts: swap reconciliation, win rates,
position consistency, first-position rate, Bradley-Terry ratings and
single-score summaries.

Pairwise verdicts are seen from ``system_a``'s side. A call shows the two
answers in an order: ``"ab"`` (system_a first) or ``"ba"``; its verdict is a
role: ``"first"``, ``"second"`` or ``"tie"`` (``None`` when unscored).

>>> reconcile([("ab", "first", 1.0), ("ba", "second", 0.0)])
ItemOutcome(outcome='win', consistent=True, p_win=1.0, unscored=None)
>>> reconcile([("ab", "first", 1.0), ("ba", "first", 1.0)]).outcome   # position bias: a tie
'tie'
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from evalkit.judge.repeats import majority, stability
from evalkit.judge.types import (
    OUTCOME_SCORE,
    RECONCILE_MODES,
    CallRecord,
    ItemOutcome,
    ItemVerdict,
    Job,
    JudgeStats,
    Mode,
    OrderCall,
    PairSummary,
    Price,
    Rating,
    SingleSummary,
    Template,
    Verdict,
    system_pairs,
)

__all__ = [
    "Assembled",
    "ItemOutcome",
    "RECONCILE_MODES",
    "assemble",
    "bradley_terry",
    "combine_repeats",
    "pair_summary",
    "ratings",
    "reconcile",
    "run_stats",
    "single_summary",
]

_FROM_A = {
    ("ab", "first"): "win",
    ("ab", "second"): "loss",
    ("ba", "first"): "loss",
    ("ba", "second"): "win",
}


def _outcome(order: str, role: str) -> str:
    return "tie" if role == "tie" else _FROM_A[(order, role)]


def reconcile(
    verdicts: Sequence[tuple[str, str | None, float | None]],
    *,
    mode: str = "tie",
    reasons: Sequence[str | None] = (),
) -> ItemOutcome:
    """Combine the verdicts ``(order, role, p_first)`` of one item.

    ``mode="tie"`` (MT-Bench): two verdicts that disagree make a tie.
    ``mode="average"``: the mean of P(system_a wins) over the orders decides
    (> 0.5 win, < 0.5 loss, else tie); meant for the logprobs protocol.
    An item with any unscored verdict is unscored: one order alone cannot
    be corrected for position bias, and it is never a loss.
    """
    if mode not in RECONCILE_MODES:
        raise ValueError(f"unknown reconcile mode {mode!r}")
    if not verdicts:
        return ItemOutcome(None, None, None, "no verdicts")
    if any(role is None for _, role, _ in verdicts):
        why = "; ".join(dict.fromkeys(r for r in reasons if r)) or "a verdict is unscored"
        return ItemOutcome(None, None, None, why)
    outcomes = [_outcome(order, role) for order, role, _ in verdicts if role is not None]
    consistent = len(set(outcomes)) == 1 if len(verdicts) > 1 else None
    p_wins: list[float] = []
    for order, _, p_first in verdicts:
        if p_first is None:
            p_wins = []
            break
        p_wins.append(p_first if order == "ab" else 1.0 - p_first)
    p_win = sum(p_wins) / len(p_wins) if p_wins else None
    if mode == "average":
        if p_win is None:
            raise ValueError("reconcile='average' needs P(first wins) for every verdict")
        if abs(p_win - 0.5) < 1e-12:
            outcome = "tie"
        else:
            outcome = "win" if p_win > 0.5 else "loss"
    else:
        outcome = outcomes[0] if consistent in (True, None) else "tie"
    return ItemOutcome(outcome, consistent, p_win)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def pair_summary(
    system_a: str,
    system_b: str,
    items: Sequence[ItemOutcome],
    calls: Iterable[tuple[str, str | None]] = (),
    *,
    swapped: bool = True,
    flagged_items: int = 0,
) -> PairSummary:
    """The summary of one system pair.

    ``calls`` are the single verdicts ``(order, role)`` of this pair, for the
    first-position rate. Ties count half in ``win_rate`` and are left out of
    ``decisive_win_rate``; unscored items count in neither.
    """
    counts = Counter(i.outcome for i in items)
    wins, losses, ties = counts["win"], counts["loss"], counts["tie"]
    unscored = sum(1 for i in items if i.outcome is None)
    decisive = _ratio(wins, wins + losses)
    se = math.sqrt(decisive * (1 - decisive) / (wins + losses)) if decisive is not None else None
    both = [i for i in items if i.consistent is not None]
    scored_calls = [(order, role) for order, role in calls if role is not None]
    p_wins = [i.p_win for i in items if i.outcome is not None and i.p_win is not None]
    reasons = Counter(i.unscored or "unscored" for i in items if i.outcome is None)
    return PairSummary(
        system_a=system_a,
        system_b=system_b,
        n=len(items),
        wins=wins,
        losses=losses,
        ties=ties,
        unscored=unscored,
        win_rate=_ratio(wins + 0.5 * ties, wins + losses + ties),
        decisive_win_rate=decisive,
        decisive_win_rate_se=se,
        position_consistency=_ratio(sum(1 for i in both if i.consistent), len(both)) if swapped else None,
        first_position_rate=_ratio(sum(1 for _, r in scored_calls if r == "first"), len(scored_calls)),
        mean_p_win=sum(p_wins) / len(p_wins) if p_wins else None,
        swapped=swapped,
        possible_injection=flagged_items,
        unscored_reasons=dict(reasons.most_common()),
    )


def single_summary(
    system: str,
    scores: Sequence[float | None],
    labels: Sequence[str | None],
    reasons: Sequence[str | None],
    *,
    scale: Sequence[str],
    flagged_items: int = 0,
) -> SingleSummary:
    """The summary of one system in single mode.

    ``scores`` hold one score per item (``None`` if unscored); ``labels`` the
    chosen label per item for the histogram (for logprobs, the most probable
    one); ``scale`` lists every label so the histogram shows zeros too.
    """
    scored = [s for s in scores if s is not None]
    hist = {label: 0 for label in scale}
    for label, score in zip(labels, scores):
        if score is not None and label is not None:
            hist[label] = hist.get(label, 0) + 1
    reason_counts = Counter(r or "unscored" for r, s in zip(reasons, scores) if s is None)
    mean = sum(scored) / len(scored) if scored else None
    stdev = None
    if len(scored) > 1 and mean is not None:
        stdev = math.sqrt(sum((s - mean) ** 2 for s in scored) / (len(scored) - 1))
    return SingleSummary(
        system=system,
        n=len(scores),
        mean=mean,
        stdev=stdev,
        unscored=len(scores) - len(scored),
        histogram=hist,
        possible_injection=flagged_items,
        unscored_reasons=dict(reason_counts.most_common()),
    )


def bradley_terry(
    games: Iterable[tuple[str, str, float]],
    *,
    prior: float = 0.5,
    iterations: int = 10_000,
    tolerance: float = 1e-10,
) -> dict[str, dict[str, float]]:
    """Bradley-Terry strengths from games ``(i, j, score_i)`` with score_i in
    {1, 0.5, 0}, fitted by Hunter's MM algorithm.

    ``prior`` adds that many virtual games, split evenly, between every two
    systems, so that a system without a win keeps a finite rating. Returns
    ``{system: {"strength": p, "rating": r}}`` with strengths of geometric
    mean 1 and ``rating = 1000 + 400 log10(p)`` (the Elo scale).

    >>> r = bradley_terry([("x", "y", 1.0)] * 3 + [("y", "x", 1.0)], prior=0)
    >>> round(r["x"]["strength"] / r["y"]["strength"], 6)
    3.0
    """
    wins, n, systems = _tally(games, prior)
    p = {s: 1.0 for s in systems}
    for _ in range(iterations):
        new = {}
        for i in systems:
            den = sum(n[_key(i, j)] / (p[i] + p[j]) for j in systems if i != j and n[_key(i, j)])
            new[i] = wins[i] / den if den else p[i]
        # Fix the scale: geometric mean 1.
        logs = [math.log(v) if v > 0 else -700.0 for v in new.values()]
        shift = math.exp(sum(logs) / len(logs)) if logs else 1.0
        new = {k: v / shift for k, v in new.items()}
        change = max(abs(new[k] - p[k]) / max(p[k], 1e-300) for k in systems) if systems else 0.0
        p = new
        if change < tolerance:
            break
    return {
        s: {"strength": p[s], "rating": 1000.0 + 400.0 * math.log10(p[s]) if p[s] > 0 else float("-inf")}
        for s in systems
    }


def _key(i: str, j: str) -> tuple[str, str]:
    return (i, j) if i <= j else (j, i)


def _tally(
    games: Iterable[tuple[str, str, float]], prior: float
) -> tuple[dict[str, float], dict[tuple[str, str], float], list[str]]:
    """Each system's score, the games of each two systems (prior included) and the systems in first-seen order."""
    wins: dict[str, float] = defaultdict(float)
    n: dict[tuple[str, str], float] = defaultdict(float)
    systems: list[str] = []
    for i, j, s in games:
        for name in (i, j):
            if name not in systems:
                systems.append(name)
        wins[i] += s
        wins[j] += 1.0 - s
        n[_key(i, j)] += 1
    if prior > 0:
        for x, a in enumerate(systems):
            for b in systems[x + 1 :]:
                n[_key(a, b)] += prior
                wins[a] += prior / 2
                wins[b] += prior / 2
    return wins, n, systems


def ratings(games: Iterable[tuple[str, str, float]]) -> tuple[Rating, ...]:
    """Bradley-Terry ratings, strongest first."""
    fitted = bradley_terry(games)
    ordered = sorted(fitted.items(), key=lambda kv: -kv[1]["strength"])
    return tuple(Rating(system, v["strength"], v["rating"]) for system, v in ordered)


# -- the run's items and summaries, from its jobs and call records ---------------------


@dataclass(frozen=True)
class Assembled:
    """Items, summaries and ratings of a run (pure: no I/O)."""

    items: tuple[ItemVerdict, ...]
    pairs: tuple[PairSummary, ...] = ()
    singles: tuple[SingleSummary, ...] = ()
    ratings: tuple[Rating, ...] | None = None
    #: (system, item) of every answer flagged as a possible injection
    flagged: frozenset[tuple[str, int]] = frozenset()


_NOT_JUDGED = Verdict(unscored="not judged")


def _order_call(job: Job, records: Mapping[str, CallRecord]) -> OrderCall:
    call = records.get(job.key) if job.key is not None else None
    if job.key is not None and call is None:  # planned but never sent (the run stopped)
        return OrderCall(job.order, job.shown, None, job.flags, _NOT_JUDGED.unscored, job.repeat)
    unscored = job.unscored if call is None else call.verdict.unscored
    return OrderCall(job.order, job.shown, call, job.flags, unscored, job.repeat)


def _verdict(order_call: OrderCall) -> Verdict:
    if order_call.call is None:
        return Verdict(unscored=order_call.unscored or _NOT_JUDGED.unscored)
    return order_call.call.verdict


def _by_repeat(calls: Sequence[OrderCall]) -> list[list[OrderCall]]:
    groups: dict[int, list[OrderCall]] = {}
    for c in calls:
        groups.setdefault(c.repeat, []).append(c)
    return [groups[r] for r in sorted(groups)]


def _reconciled(calls: Sequence[OrderCall], reconcile_mode: str) -> ItemOutcome:
    """One repeat of a pair's item: its orders reconciled."""
    verdicts: list[tuple[str, str | None, float | None]] = []
    reasons: list[str | None] = []
    for c in calls:
        v = _verdict(c)
        verdicts.append((c.order or "ab", v.value if v.ok else None, v.p_first))
        reasons.append(v.unscored)
    return reconcile(verdicts, mode=reconcile_mode, reasons=reasons)


def _pair_item(item: int, pair: tuple[str, str], calls: list[OrderCall], reconcile_mode: str) -> ItemVerdict:
    repeats = [_reconciled(group, reconcile_mode) for group in _by_repeat(calls)]
    outcome = combine_repeats(repeats, mode=reconcile_mode)
    score = OUTCOME_SCORE[outcome.outcome] if outcome.outcome is not None else None
    verdict = ItemVerdict(
        "pairwise",
        item,
        pair,
        tuple(calls),
        score,
        outcome.outcome,
        outcome.p_win,
        outcome.consistent,
        outcome.unscored,
    )
    if len(repeats) < 2:
        return verdict
    categories = [r.outcome for r in repeats]
    _, agreement, flipped = majority([c for c in categories if c is not None])
    return replace(verdict, repeat_verdicts=tuple(categories), agreement=agreement, flipped=flipped)


def combine_repeats(repeats: Sequence[ItemOutcome], *, mode: str = "tie") -> ItemOutcome:
    """One item's verdict from its repeats (each already reconciled over both
    orders): the majority outcome (a tie between the top outcomes is a tie),
    or with ``mode="average"`` the mean P(win) over repeats. Unscored repeats
    are left out; an item with no scored repeat is unscored. ``consistent``
    is true when every scored repeat's orders agreed.

    >>> combine_repeats([ItemOutcome("win", True, 1.0), ItemOutcome("tie", False, 0.5), ItemOutcome("win", True, 1.0)])
    ItemOutcome(outcome='win', consistent=False, p_win=0.8333333333333334, unscored=None)
    """
    if len(repeats) == 1:
        return repeats[0]
    scored = [r for r in repeats if r.outcome is not None]
    if not scored:
        return ItemOutcome(None, None, None, repeats[0].unscored if repeats else "no verdicts")
    p_wins = [r.p_win for r in scored if r.p_win is not None]
    p_win = sum(p_wins) / len(p_wins) if len(p_wins) == len(scored) else None
    if mode == "average" and p_win is not None:
        outcome = "tie" if abs(p_win - 0.5) < 1e-12 else ("win" if p_win > 0.5 else "loss")
    else:
        outcome = str(majority([r.outcome for r in scored])[0])
    known = [r.consistent for r in scored if r.consistent is not None]
    return ItemOutcome(outcome, all(known) if known else None, p_win)


def _single_item(item: int, system: str, calls: list[OrderCall]) -> ItemVerdict:
    if len(calls) < 2:
        v = _verdict(calls[0]) if calls else _NOT_JUDGED
        score = float(v.value) if v.ok else None
        return ItemVerdict("single", item, (system,), tuple(calls), score, unscored=v.unscored)
    verdicts = [_verdict(c) for c in calls]
    scores = [float(v.value) for v in verdicts if v.ok]
    labels = tuple(v.label if v.ok else None for v in verdicts)
    if not scores:
        return ItemVerdict("single", item, (system,), tuple(calls), None, unscored=verdicts[0].unscored)
    _, agreement, flipped = majority([label for label in labels if label is not None])
    return ItemVerdict(
        "single",
        item,
        (system,),
        tuple(calls),
        sum(scores) / len(scores),
        repeat_verdicts=labels,
        agreement=agreement,
        flipped=flipped,
        spread=max(scores) - min(scores),
    )


def _pairwise(
    groups: Mapping[tuple[tuple[str, ...], int], list[OrderCall]],
    systems: Sequence[str],
    n_items: int,
    *,
    baseline: str | None,
    reconcile_mode: str,
    swapped: bool,
    flagged: frozenset[tuple[str, int]],
) -> tuple[list[ItemVerdict], list[PairSummary], tuple[Rating, ...] | None]:
    items: list[ItemVerdict] = []
    pairs: list[PairSummary] = []
    games: list[tuple[str, str, float]] = []
    for a, b in system_pairs(systems, baseline):
        pair_items = [_pair_item(i, (a, b), groups.get(((a, b), i), []), reconcile_mode) for i in range(n_items)]
        items += pair_items
        games += [(a, b, i.score) for i in pair_items if i.score is not None]
        single_calls = [
            (c.order or "ab", _verdict(c).value if _verdict(c).ok else None)
            for i in pair_items
            for c in i.calls
            if c.call is not None
        ]
        outcomes = [ItemOutcome(i.outcome, i.consistent, i.p_win, i.unscored) for i in pair_items]
        n_flagged = sum(1 for i in range(n_items) if (a, i) in flagged or (b, i) in flagged)
        summary = pair_summary(a, b, outcomes, single_calls, swapped=swapped, flagged_items=n_flagged)
        pairs.append(_with_stability(summary, pair_items, reconcile_mode))
    rated = ratings(games) if len(systems) >= 3 and games else None
    return items, pairs, rated


def _with_stability(summary: PairSummary, items: Sequence[ItemVerdict], reconcile_mode: str) -> PairSummary:
    """A pair's summary with its repeats: position consistency over every
    repeat's reconciliation, and the stability fields."""
    repeats = max((len(i.repeat_verdicts) for i in items), default=0)
    if repeats < 2:
        return summary
    per_repeat = [_reconciled(g, reconcile_mode) for i in items for g in _by_repeat(i.calls)]
    both = [r for r in per_repeat if r.consistent is not None]
    consistency = _ratio(sum(1 for r in both if r.consistent), len(both)) if summary.swapped else None
    found = stability(repeats, [i.repeat_verdicts for i in items])
    return replace(
        summary,
        position_consistency=consistency,
        repeats=repeats,
        flip_rate=found.flip_rate,
        repeat_agreement=found.repeat_agreement,
        pass_k=found.pass_k,
    )


def _single_label(item: ItemVerdict, template: Template) -> str | None:
    """The label an item counts under in the histogram: its call's (for
    logprobs the most probable), with repeats the majority label, on a tie
    the label nearest the mean score."""
    if item.score is None or not item.calls:
        return None
    if not item.repeat_verdicts:
        return _verdict(item.calls[0]).label
    winner, _, _ = majority([v for v in item.repeat_verdicts if v is not None])
    if winner in template.labels:
        return str(winner)
    score = item.score
    return min(template.labels, key=lambda label: abs(float(template.values[label]) - score))


def _singles(
    groups: Mapping[tuple[tuple[str, ...], int], list[OrderCall]],
    systems: Sequence[str],
    n_items: int,
    template: Template,
    flagged: frozenset[tuple[str, int]],
) -> tuple[list[ItemVerdict], list[SingleSummary]]:
    items: list[ItemVerdict] = []
    singles: list[SingleSummary] = []
    for name in systems:
        system_items = [_single_item(i, name, groups.get(((name,), i), [])) for i in range(n_items)]
        items += system_items
        summary = single_summary(
            name,
            [i.score for i in system_items],
            [_single_label(i, template) for i in system_items],
            [i.unscored for i in system_items],
            scale=template.labels,
            flagged_items=sum(1 for (s, _) in flagged if s == name),
        )
        repeats = max((len(i.repeat_verdicts) for i in system_items), default=0)
        if repeats >= 2:
            found = stability(repeats, [i.repeat_verdicts for i in system_items])
            spreads = [i.spread for i in system_items if i.spread is not None]
            summary = replace(
                summary,
                repeats=repeats,
                flip_rate=found.flip_rate,
                repeat_agreement=found.repeat_agreement,
                pass_k=found.pass_k,
                mean_spread=sum(spreads) / len(spreads) if spreads else None,
            )
        singles.append(summary)
    return items, singles


def assemble(
    *,
    mode: Mode,
    template: Template,
    systems: Sequence[str],
    n_items: int,
    jobs: Sequence[Job],
    records: Mapping[str, CallRecord],
    baseline: str | None = None,
    reconcile_mode: str = "tie",
    swapped: bool = True,
) -> Assembled:
    """The run's items, summaries and ratings from its planned ``jobs`` and the
    ``records`` of its calls (by cache key)."""
    groups: dict[tuple[tuple[str, ...], int], list[OrderCall]] = {}
    for job in jobs:
        groups.setdefault((job.systems, job.item), []).append(_order_call(job, records))
    flagged = frozenset((name, job.item) for job in jobs for name in job.flags)
    if mode == "pairwise":
        items, pairs, rated = _pairwise(
            groups,
            systems,
            n_items,
            baseline=baseline,
            reconcile_mode=reconcile_mode,
            swapped=swapped,
            flagged=flagged,
        )
        return Assembled(tuple(items), pairs=tuple(pairs), ratings=rated, flagged=flagged)
    items, singles = _singles(groups, systems, n_items, template, flagged)
    return Assembled(tuple(items), singles=tuple(singles), flagged=flagged)


def run_stats(
    records: Mapping[str, CallRecord],
    *,
    counters: Mapping[str, int],
    price: Price | None,
    flagged: int,
    duration_s: float,
) -> JudgeStats:
    """The run's totals; calls served from the cache add no tokens."""
    sent = [c for c in records.values() if not c.cached]
    prompt_tokens = sum(c.prompt_tokens for c in sent)
    completion_tokens = sum(c.completion_tokens for c in sent)
    return JudgeStats(
        calls=counters.get("calls", len(records)),
        requests_sent=counters.get("requests_sent", 0),
        probe_requests=counters.get("probe_requests", 0),
        retries=counters.get("retries", 0),
        cache_hits=sum(1 for c in records.values() if c.cached),
        failed_calls=sum(1 for c in records.values() if not c.verdict.ok),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        cost=price.cost(prompt_tokens, completion_tokens) if price is not None else None,
        possible_injection=flagged,
        duration_s=round(duration_s, 3),
    )
