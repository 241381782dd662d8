"""Pooling a panel of judges (pure): per-item votes, a cascade's stopping
rule, Krippendorff's alpha between judges, and the pooled run.

Each judge's items are already reconciled for position by its own settings
(:mod:`evalkit.judge.aggregate`); pooling works on those reconciled items.

>>> win = ItemVerdict("pairwise", 0, ("x", "y"), (), 1.0, "win", 1.0, True)
>>> tie = ItemVerdict("pairwise", 0, ("x", "y"), (), 0.5, "tie", 0.5, False)
>>> pool_pair_item([win, win, tie], "majority").outcome
'win'
>>> pool_pair_item([win, tie], "majority").outcome, pool_pair_item([win, tie], "mean").p_win
('tie', 0.75)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

from evalkit.judge.aggregate import pair_summary, ratings, single_summary
from evalkit.judge.types import (
    OUTCOME_SCORE,
    Agreement,
    ItemOutcome,
    ItemVerdict,
    JudgeRun,
    JudgeStats,
    system_pairs,
)

__all__ = [
    "NOMINAL_CODES",
    "agreement",
    "bare",
    "krippendorff_alpha",
    "pool_pair_item",
    "pool_single_item",
    "pooled_run",
    "settled",
]

#: Pairwise outcomes as codes for Krippendorff's nominal alpha.
NOMINAL_CODES: Mapping[str, float] = {"loss": 0.0, "tie": 1.0, "win": 2.0}
_SETTLED_BY_NONE = "no judge of the panel scored this item"


def bare(item: ItemVerdict) -> ItemVerdict:
    """``item`` without what belongs to one judge: its calls and its repeats."""
    return replace(item, calls=(), repeat_verdicts=(), agreement=None, flipped=None, spread=None)


def _unscored(first: ItemVerdict, verdicts: Sequence[ItemVerdict | None]) -> ItemVerdict:
    reasons = "; ".join(dict.fromkeys(v.unscored or "unscored" for v in verdicts if v is not None))
    return replace(bare(first), score=None, outcome=None, p_win=None, consistent=None, unscored=reasons)


def pool_pair_item(verdicts: Sequence[ItemVerdict | None], pool: str) -> ItemVerdict:
    """One pair-item pooled over the judges that scored it (``None``: a judge
    that did not see it). ``majority``: the most common reconciled outcome,
    a tie when two outcomes share the top count; ``mean``: the mean of the
    judges' P(system_a wins), > 0.5 a win, < 0.5 a loss. The pooled P(win)
    is that mean either way (over the judges that gave one)."""
    seen = [v for v in verdicts if v is not None]
    scored = [v for v in seen if v.unscored is None and v.outcome is not None]
    if not scored:
        return _unscored(seen[0], seen) if seen else ItemVerdict("pairwise", 0, (), (), None, unscored=_SETTLED_BY_NONE)
    p_values = [v.p_win for v in scored if v.p_win is not None]
    p_win = sum(p_values) / len(p_values) if p_values else None
    if pool == "mean":
        if p_win is None:
            return _unscored(scored[0], [replace(scored[0], unscored="no judge gave P(win)")])
        outcome = "tie" if abs(p_win - 0.5) < 1e-12 else ("win" if p_win > 0.5 else "loss")
    else:
        counts = Counter(v.outcome for v in scored).most_common()
        outcome = "tie" if len(counts) > 1 and counts[0][1] == counts[1][1] else str(counts[0][0])
    return replace(bare(scored[0]), score=OUTCOME_SCORE[outcome], outcome=outcome, p_win=p_win, consistent=None)


def pool_single_item(verdicts: Sequence[ItemVerdict | None], pool: str) -> ItemVerdict:
    """One system-item pooled: the ``mean`` grade, or for ``majority`` the
    median grade (the grade a majority vote on "at least g" settles)."""
    seen = [v for v in verdicts if v is not None]
    grades = [v.score for v in seen if v.unscored is None and v.score is not None]
    if not grades:
        return _unscored(seen[0], seen)
    score = statistics.median(grades) if pool == "majority" else sum(grades) / len(grades)
    return replace(bare(seen[0]), score=float(score), unscored=None)


def settled(item: ItemVerdict, margin: float) -> bool:
    """Whether a cascade stops at this judge's verdict on ``item``: scored,
    its two orders agree, and |P(win) - 0.5| >= ``margin``."""
    if item.unscored is not None or item.outcome is None or item.consistent is False:
        return False
    return item.p_win is not None and abs(item.p_win - 0.5) >= margin - 1e-12


def krippendorff_alpha(table: Sequence[Sequence[float | None]], level: Literal["nominal", "interval"]) -> float | None:
    """Krippendorff's alpha of ``table`` (one row per judge, one column per
    unit, ``None`` where a judge gave no value), through the ``krippendorff``
    package; ``None`` when undefined (no unit with two values, or a single
    value in the whole table).

    >>> krippendorff_alpha([[2, 2, 0, None], [2, 0, 0, 2]], "nominal")
    0.4444444444444444
    """
    import numpy as np

    pairable = [j for j in range(len(table[0]) if table else 0) if sum(row[j] is not None for row in table) >= 2]
    values = {row[j] for row in table for j in pairable}
    if len(values) < 2:
        return None
    import krippendorff

    data = np.array([[np.nan if v is None else float(v) for v in row] for row in table], dtype=float)
    alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    return None if math.isnan(alpha) else alpha


def _unit_value(item: ItemVerdict) -> float | None:
    if item.unscored is not None:
        return None
    if item.mode == "pairwise":
        return NOMINAL_CODES[item.outcome] if item.outcome is not None else None
    return item.score


def _units(members: Sequence[JudgeRun]) -> dict[tuple[tuple[str, ...], int], list[float | None]]:
    """(systems, item) -> each judge's value, in judge order."""
    units: dict[tuple[tuple[str, ...], int], list[float | None]] = {}
    for k, run in enumerate(members):
        for item in run.items:
            row = units.setdefault((item.systems, item.item), [None] * len(members))
            row[k] = _unit_value(item)
    return units


def agreement(members: Sequence[JudgeRun]) -> Agreement:
    """Krippendorff's alpha between the judges: nominal over pairwise
    outcomes (win/tie/loss), interval over single grades; overall and per
    pair ("a vs b") or system."""
    level: Literal["nominal", "interval"] = "nominal" if members[0].mode == "pairwise" else "interval"
    units = _units(members)
    keys = list(units)

    def alpha(selected: list[tuple[tuple[str, ...], int]]) -> float | None:
        if not selected:
            return None
        return krippendorff_alpha([[units[u][k] for u in selected] for k in range(len(members))], level)

    groups = dict.fromkeys(systems for systems, _ in keys)
    by = {" vs ".join(g): alpha([u for u in keys if u[0] == g]) for g in groups}
    pairable = sum(1 for u in keys if sum(v is not None for v in units[u]) >= 2)
    return Agreement(level, alpha(keys), by, pairable)


def _stats(members: Sequence[JudgeRun]) -> JudgeStats:
    fields_ = JudgeStats().to_dict()
    totals: dict[str, float | int | None] = {}
    for name in fields_:
        values = [getattr(m.stats, name) for m in members]
        numbers = [v for v in values if v is not None]
        totals[name] = sum(numbers) if numbers else None
    return JudgeStats(**totals)  # type: ignore[arg-type]


def pooled_run(members: Sequence[JudgeRun], items: Sequence[ItemVerdict], *, pool: str) -> JudgeRun:
    """The panel as one run: the pooled ``items``, their summaries and ratings,
    the judges' summed counters; settings and template are the first judge's."""
    first = members[0]
    signature = f"panel:{pool}|" + " + ".join(f"[{m.signature}]" for m in members)
    base = replace(
        first, protocol="panel", signature=signature, model=f"panel of {len(members)}", base_url="",
        # what belongs to one judge's run: its human agreement, canaries, texts and style control
        agreement=(), labels=None, canary=None, null_canaries=(), inputs=None, style_control=None,
    )  # fmt: skip
    stats = _stats(members)
    if first.mode == "single":
        singles = []
        for system in first.systems:
            own = sorted((i for i in items if i.systems == (system,)), key=lambda i: i.item)
            scores = [i.score for i in own]
            reasons = [i.unscored for i in own]
            singles.append(single_summary(system, scores, [None] * len(own), reasons, scale=first.template.labels))
        return replace(base, items=tuple(items), singles=tuple(singles), pairs=(), ratings=None, stats=stats)
    pairs = []
    games = []
    for a, b in system_pairs(list(first.systems), first.settings.baseline):
        own = sorted((i for i in items if i.systems == (a, b)), key=lambda i: i.item)
        outcomes = [ItemOutcome(i.outcome, i.consistent, i.p_win, i.unscored) for i in own]
        pairs.append(pair_summary(a, b, outcomes, swapped=first.settings.swap))
        games += [(a, b, i.score) for i in own if i.score is not None]
    rated = ratings(games) if len(first.systems) >= 3 and games else None
    return replace(base, items=tuple(items), pairs=tuple(pairs), singles=(), ratings=rated, stats=stats)
