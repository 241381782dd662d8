"""Repeats of a judge call and their stability (pure functions).

With ``--repeats K`` every call is made K times with distinct seeds. Each
repeat of an item gives one *category*: the reconciled outcome of a pair
(``"win"``, ``"loss"``, ``"tie"``, both orders reconciled within the repeat
first) or the chosen label of a single grade. From them:

* the item's **majority** verdict (a tie between the top categories is a tie),
  the **agreement** (share of scored repeats that give the majority verdict)
  and whether it **flipped** (its repeats do not all agree);
* per pair or system, over the items whose K repeats were all scored:
  ``flip_rate``, the chance that two repeats of the same item disagree
  (``1 - P̄`` of Fleiss' kappa: a property of the judge that does not depend on
  K, and the chance that a rerun changes a single verdict); ``pass_k``, the
  share of items whose K repeats all agree (this one does depend on K); and
  ``repeat_agreement``, Fleiss' kappa with the repeats as raters.

>>> majority(["win", "win", "loss"])
('win', 0.6666666666666666, True)
>>> majority(["win", "loss"])
('tie', 0.5, True)
>>> round(fleiss_kappa([[3, 0], [0, 3], [2, 1]]), 4)
0.55
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Stability", "fleiss_kappa", "majority", "pair_agreement", "repeat_seed", "stability"]


def repeat_seed(seed: int | None, repeat: int) -> int | None:
    """The seed of repeat ``repeat``: the run's seed plus ``repeat``, or
    ``repeat`` when the run has none; repeat 0 keeps the run's own (so that its
    cache key is the key of a run without repeats).

    >>> [repeat_seed(None, r) for r in range(3)], [repeat_seed(7, r) for r in range(3)]
    ([None, 1, 2], [7, 8, 9])
    """
    if repeat == 0:
        return seed
    return (seed or 0) + repeat


def majority(categories: Sequence[Hashable]) -> tuple[Hashable | None, float | None, bool | None]:
    """``(majority, agreement, flipped)`` of one item's scored repeats; a tie
    between the most frequent categories is ``"tie"``. Nothing scored: all
    ``None``."""
    if not categories:
        return None, None, None
    counts = Counter(categories).most_common()
    top = counts[0][1]
    leaders = [c for c, n in counts if n == top]
    winner = leaders[0] if len(leaders) == 1 else "tie"
    return winner, top / len(categories), len(counts) > 1


def pair_agreement(categories: Sequence[Hashable]) -> float:
    """The share of pairs of repeats that agree (Fleiss' ``P_i``); needs two or more.

    >>> pair_agreement(["a", "a", "b"])
    0.3333333333333333
    """
    k = len(categories)
    if k < 2:
        raise ValueError("agreement needs two or more repeats")
    counts = Counter(categories).values()
    return sum(n * (n - 1) for n in counts) / (k * (k - 1))


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa of a table ``items x categories`` of counts, every row
    summing to the same number of raters (two or more). ``None`` when chance
    agreement is 1 (every rating in one category: kappa is undefined)."""
    if not table:
        return None
    raters = sum(table[0])
    if raters < 2 or any(sum(row) != raters for row in table):
        raise ValueError("every item needs the same number (two or more) of ratings")
    n_items = len(table)
    observed = sum(sum(c * (c - 1) for c in row) / (raters * (raters - 1)) for row in table) / n_items
    shares = [sum(row[j] for row in table) / (n_items * raters) for j in range(len(table[0]))]
    chance = sum(p * p for p in shares)
    if chance >= 1.0 - 1e-12:
        return None
    return (observed - chance) / (1.0 - chance)


def stability(repeats: int, per_item: Sequence[Sequence[Hashable | None]]) -> Stability:
    """The stability fields of a pair or a system from each item's repeat
    categories (``None`` for an unscored repeat); only items whose ``repeats``
    repeats were all scored count."""
    complete = [list(c) for c in per_item if len(c) == repeats and all(x is not None for x in c)]
    if repeats < 2 or not complete:
        return Stability(repeats, len(complete), None, None, None)
    names = sorted({str(x) for item in complete for x in item})
    table = [[sum(1 for x in item if str(x) == name) for name in names] for item in complete]
    agreement = sum(pair_agreement(item) for item in complete) / len(complete)
    all_agree = sum(1 for item in complete if len(set(item)) == 1) / len(complete)
    return Stability(repeats, len(complete), 1.0 - agreement, fleiss_kappa(table), all_agree)


@dataclass(frozen=True)
class Stability:
    """How stable a pair's or a system's verdicts are over repeats."""

    repeats: int
    #: items whose repeats were all scored (the ones counted)
    n_complete: int
    flip_rate: float | None
    repeat_agreement: float | None
    pass_k: float | None
