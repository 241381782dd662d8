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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ItemOutcome",
    "reconcile",
    "pair_summary",
    "single_summary",
    "bradley_terry",
    "RECONCILE_MODES",
]

RECONCILE_MODES = ("tie", "average")

_FROM_A = {
    ("ab", "first"): "win",
    ("ab", "second"): "loss",
    ("ba", "first"): "loss",
    ("ba", "second"): "win",
}


@dataclass(frozen=True)
class ItemOutcome:
    """One item of a system pair after reconciliation, from system_a's side."""

    outcome: str | None  # "win", "loss", "tie"; None when unscored
    consistent: bool | None  # both orders agreed; None without two scored orders
    p_win: float | None  # P(system_a wins), ties counting half
    unscored: str | None = None


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
        why = "; ".join(r for r in reasons if r) or "a verdict is unscored"
        return ItemOutcome(None, None, None, why)
    outcomes = [_outcome(order, role) for order, role, _ in verdicts]  # type: ignore[arg-type]
    consistent = len(set(outcomes)) == 1 if len(verdicts) > 1 else None
    p_wins = []
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
) -> dict[str, Any]:
    """The summary record of one system pair.

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
    reasons = Counter(i.unscored for i in items if i.outcome is None)
    return {
        "system_a": system_a,
        "system_b": system_b,
        "n": len(items),
        "wins": wins,
        "losses": losses,
        "ties": ties,
        "unscored": unscored,
        "win_rate": _ratio(wins + 0.5 * ties, wins + losses + ties),
        "decisive_win_rate": decisive,
        "decisive_win_rate_se": se,
        "position_consistency": _ratio(sum(1 for i in both if i.consistent), len(both)) if swapped else None,
        "first_position_rate": _ratio(sum(1 for _, r in scored_calls if r == "first"), len(scored_calls)),
        "mean_p_win": sum(p_wins) / len(p_wins) if p_wins else None,
        "swapped": swapped,
        "possible_injection": flagged_items,
        "unscored_reasons": dict(reasons.most_common()),
    }


def single_summary(
    system: str,
    scores: Sequence[float | None],
    labels: Sequence[str | None],
    reasons: Sequence[str | None],
    *,
    scale: Sequence[str],
    flagged_items: int = 0,
) -> dict[str, Any]:
    """The summary record of one system in single mode.

    ``scores`` hold one score per item (``None`` if unscored); ``labels`` the
    chosen label per item for the histogram (for logprobs, the most probable
    one); ``scale`` lists every label so the histogram shows zeros too.
    """
    scored = [s for s in scores if s is not None]
    hist = {label: 0 for label in scale}
    for label, score in zip(labels, scores):
        if score is not None and label is not None:
            hist[label] = hist.get(label, 0) + 1
    reason_counts = Counter(r for r, s in zip(reasons, scores) if s is None)
    mean = sum(scored) / len(scored) if scored else None
    stdev = None
    if len(scored) > 1 and mean is not None:
        stdev = math.sqrt(sum((s - mean) ** 2 for s in scored) / (len(scored) - 1))
    return {
        "system": system,
        "n": len(scores),
        "mean": mean,
        "stdev": stdev,
        "unscored": len(scores) - len(scored),
        "histogram": hist,
        "possible_injection": flagged_items,
        "unscored_reasons": dict(reason_counts.most_common()),
    }


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
    wins: Counter[str] = Counter()
    n: Counter[tuple[str, str]] = Counter()
    systems: list[str] = []
    for i, j, s in games:
        for name in (i, j):
            if name not in systems:
                systems.append(name)
        wins[i] += s
        wins[j] += 1.0 - s
        n[tuple(sorted((i, j)))] += 1  # type: ignore[index]
    if prior > 0:
        for x in range(len(systems)):
            for y in range(x + 1, len(systems)):
                key = tuple(sorted((systems[x], systems[y])))
                n[key] += prior  # type: ignore[index]
                wins[systems[x]] += prior / 2
                wins[systems[y]] += prior / 2
    p = {s: 1.0 for s in systems}
    for _ in range(iterations):
        new = {}
        for i in systems:
            den = 0.0
            for j in systems:
                if i != j:
                    games_ij = n[tuple(sorted((i, j)))]  # type: ignore[index]
                    if games_ij:
                        den += games_ij / (p[i] + p[j])
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
