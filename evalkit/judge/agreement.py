"""How far a judge agrees with people: pure functions over a run's per-item
verdicts and the human labels of :mod:`evalkit.judge.labels`.

Pairwise (:func:`pairwise_agreement`), for one system pair, over the ``n``
items that have both a human label and a scored (reconciled) verdict. Every
label and verdict is one of three classes seen from ``system_a``'s side:
a (system_a wins), b, tie.

- **Human label of an item**: the majority of its annotators' labels; when
  the most frequent classes are tied (annotators split evenly) the item's
  human label is a tie.
- ``accuracy``: the mean over items of 1 - |judge - human| with a = 1,
  tie = 0.5, b = 0: a match counts 1, a reconciled tie against a decisive
  label (or a decisive verdict against a human tie) one half, the opposite
  verdict 0 (AlpacaEval's convention).
- ``accuracy_ab`` / ``accuracy_ba``: the same for the single verdict with
  system_a shown first / shown second, before reconciliation (the position
  bias in numbers); ``accuracy_both``: the share of items where the verdicts
  of both orders equal the human label (LLMBar, MT-Bench). ``None`` when that
  order was not judged (``--no-swap``).
- ``agreement_with_ties``: the share of items where the judge's class equals
  the human class, ties a class of their own; ``agreement_without_ties``:
  the same over the ``n_without_ties`` items where both judge and human are
  decisive (MT-Bench's two conventions; MT-Bench compares the judge with each
  human vote, evalkit with the item's majority label, which is the same with
  one annotator).
- ``kappa``: Cohen's κ between the judge's and the human class over the
  three classes, (p_o - p_e) / (1 - p_e); ``None`` when p_e = 1.
- ``human_human_agreement``: over the same items, every two labels of one
  item compared (ties a class), matches / comparisons pooled over items, as
  FastChat's ``compute_agreement.py`` does; ``None`` when no item has two
  labels. It is the ceiling a judge can be held to.
- ``*_ci``: 95% percentile bootstrap intervals, items resampled with
  replacement (``rounds`` times, ``seed``); a resample where a statistic is
  undefined is left out; intervals are clipped to the statistic's range
  ([0, 1] for rates, [-1, 1] for κ, ρ and τ).
- ``by_category``: the same numbers per ``category`` of the labels.

Single (:func:`single_agreement`), for one system (or all, pooled): the
human score of an item is the mean of its annotators' scores; ``spearman``
(ρ) and ``kendall`` (τ-b, scipy.stats) between judge and human scores and
``mae``, the mean absolute difference (on the scale both use).

>>> from evalkit.judge.labels import HumanLabels, PairLabel
>>> from evalkit.judge.types import ItemVerdict
>>> items = [ItemVerdict("pairwise", i, ("x", "y"), (), s, o) for i, (s, o) in enumerate([(1.0, "win"), (0.5, "tie")])]
>>> labels = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(0, "x", "y", "x"), PairLabel(1, "x", "y", "y")))
>>> a = pairwise_agreement(items, labels, "x", "y", rounds=0)
>>> (a.n, a.accuracy, a.agreement_with_ties, a.agreement_without_ties)
(2, 0.75, 0.5, 1.0)
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from evalkit.judge.labels import HumanLabels
from evalkit.judge.types import ItemVerdict

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PairAgreement", "SingleAgreement", "majority_label", "pairwise_agreement", "single_agreement"]

Interval = tuple[float, float]


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of the judge with human labels on one system pair
    (``summary.json``: the pair's ``human_agreement``)."""

    system_a: str
    system_b: str
    n: int
    n_annotators: int
    accuracy: float | None
    accuracy_ab: float | None
    accuracy_ba: float | None
    accuracy_both: float | None
    agreement_with_ties: float | None
    agreement_without_ties: float | None
    kappa: float | None
    human_human_agreement: float | None
    accuracy_ci: Interval | None = None
    accuracy_ab_ci: Interval | None = None
    accuracy_ba_ci: Interval | None = None
    accuracy_both_ci: Interval | None = None
    agreement_with_ties_ci: Interval | None = None
    agreement_without_ties_ci: Interval | None = None
    kappa_ci: Interval | None = None
    human_human_agreement_ci: Interval | None = None
    #: items where both judge and human are decisive (agreement_without_ties' n)
    n_without_ties: int = 0
    by_category: Mapping[str, PairAgreement] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True)
class SingleAgreement:
    """Agreement of the judge's scores with human scores for one system
    (``system`` None: every system pooled)."""

    system: str | None
    n: int
    n_annotators: int
    spearman: float | None
    kendall: float | None
    mae: float | None
    spearman_ci: Interval | None = None
    kendall_ci: Interval | None = None
    mae_ci: Interval | None = None
    by_category: Mapping[str, SingleAgreement] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


def _to_dict(value: PairAgreement | SingleAgreement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(value):
        v = getattr(value, f.name)
        if f.name == "by_category":
            out[f.name] = {k: c.to_dict() for k, c in v.items()}
        else:
            out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


# -- pairwise ---------------------------------------------------------------------

_VALUE = {"a": 1.0, "tie": 0.5, "b": 0.0}
_CLASSES = ("a", "b", "tie")
_FLIP = {"a": "b", "b": "a", "tie": "tie"}
#: (order, the verdict's role) -> class from system_a's side (the order as judged)
_ORDER_CLASS = {
    ("ab", "first"): "a",
    ("ab", "second"): "b",
    ("ba", "first"): "b",
    ("ba", "second"): "a",
}
_OUTCOME_CLASS = {"win": "a", "loss": "b", "tie": "tie"}


def majority_label(labels: Sequence[str]) -> str:
    """The majority of an item's labels; a tie when the top classes are tied.

    >>> majority_label(["a", "a", "b"]), majority_label(["a", "b"]), majority_label(["a", "tie", "b"])
    ('a', 'tie', 'tie')
    """
    counts = Counter(labels).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "tie"
    return counts[0][0]


@dataclass(frozen=True)
class _PairRow:
    item: int
    judge: str
    human: str
    labels: tuple[str, ...]
    ab: str | None
    ba: str | None


def _order_classes(item: ItemVerdict, flipped: bool) -> dict[str, str]:
    """Our order ("ab": our system_a shown first) -> the class that order's verdict gave."""
    out: dict[str, str] = {}
    for call in item.calls:
        if call.call is None or not call.call.verdict.ok or call.order is None:
            continue
        role = call.call.verdict.value
        cls = "tie" if role == "tie" else _ORDER_CLASS.get((call.order, str(role)))
        if cls is None:
            continue
        order = call.order
        if flipped:
            cls, order = _FLIP[cls], ("ba" if order == "ab" else "ab")
        out[order] = cls
    return out


def _pair_rows(items: Sequence[ItemVerdict], labels: HumanLabels, system_a: str, system_b: str) -> list[_PairRow]:
    by_item = labels.for_pair(system_a, system_b)
    rows = []
    for item in sorted(items, key=lambda i: i.item):
        if item.mode != "pairwise" or set(item.systems) != {system_a, system_b} or item.item not in by_item:
            continue
        if item.unscored is not None or item.outcome not in _OUTCOME_CLASS:
            continue
        flipped = item.systems[0] != system_a
        judge = _OUTCOME_CLASS[item.outcome]
        judge = _FLIP[judge] if flipped else judge
        orders = _order_classes(item, flipped)
        human_labels = tuple(by_item[item.item])
        rows.append(
            _PairRow(item.item, judge, majority_label(human_labels), human_labels, orders.get("ab"), orders.get("ba"))
        )
    return rows


def _ratio_arrays(rows: Sequence[_PairRow]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each rate as (numerator, denominator) per item: the rate is sum(num) / sum(den)."""
    import numpy as np

    def credit(judge: str | None, human: str) -> float:
        return 0.0 if judge is None else 1.0 - abs(_VALUE[judge] - _VALUE[human])

    def arrays(pairs: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        data = np.array(pairs, dtype=float).reshape(-1, 2)
        return data[:, 0], data[:, 1]

    hh = []
    for r in rows:
        counts = Counter(r.labels)
        m = len(r.labels)
        hh.append((sum(c * (c - 1) / 2 for c in counts.values()), m * (m - 1) / 2))
    decisive = [r.judge != "tie" and r.human != "tie" for r in rows]
    return {
        "accuracy": arrays([(credit(r.judge, r.human), 1.0) for r in rows]),
        "accuracy_ab": arrays([(credit(r.ab, r.human), float(r.ab is not None)) for r in rows]),
        "accuracy_ba": arrays([(credit(r.ba, r.human), float(r.ba is not None)) for r in rows]),
        "accuracy_both": arrays(
            [(float(r.ab == r.human == r.ba), float(r.ab is not None and r.ba is not None)) for r in rows]
        ),
        "agreement_with_ties": arrays([(float(r.judge == r.human), 1.0) for r in rows]),
        "agreement_without_ties": arrays([(float(r.judge == r.human and d), float(d)) for r, d in zip(rows, decisive)]),
        "human_human_agreement": arrays(hh),
    }


def _kappa(judge: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Cohen's κ of one-hot class arrays shaped (..., n, 3); NaN where p_e = 1."""
    import numpy as np

    p_o = (judge * human).sum(axis=-1).mean(axis=-1)
    p_e = (judge.mean(axis=-2) * human.mean(axis=-2)).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p_e < 1.0 - 1e-12, (p_o - p_e) / (1.0 - p_e), np.nan)


def _one_hot(classes: Sequence[str]) -> np.ndarray:
    import numpy as np

    return np.array([[float(c == k) for k in _CLASSES] for c in classes], dtype=float).reshape(-1, 3)


def _interval(samples: np.ndarray, low: float, high: float) -> Interval | None:
    import numpy as np

    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return (float(min(max(lo, low), high)), float(min(max(hi, low), high)))


def _value(x: float) -> float | None:
    return None if x != x else float(x)  # NaN -> None


def _pair_numbers(rows: Sequence[_PairRow], rounds: int, seed: int) -> dict[str, Any]:
    import numpy as np

    ratios = _ratio_arrays(rows)
    judge, human = _one_hot([r.judge for r in rows]), _one_hot([r.human for r in rows])
    out: dict[str, Any] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (num, den) in ratios.items():
            out[name] = _value(num.sum() / den.sum()) if den.sum() > 0 else None
        out["kappa"] = _value(float(_kappa(judge, human)))
        if rounds > 0 and rows:
            index = np.random.default_rng(seed).integers(0, len(rows), size=(rounds, len(rows)))
            for name, (num, den) in ratios.items():
                sums = den[index].sum(axis=1)
                samples = np.where(sums > 0, num[index].sum(axis=1) / np.where(sums > 0, sums, 1.0), np.nan)
                out[f"{name}_ci"] = _interval(samples, 0.0, 1.0) if out[name] is not None else None
            kappa_ci = _interval(_kappa(judge[index], human[index]), -1.0, 1.0)
            out["kappa_ci"] = kappa_ci if out["kappa"] is not None else None
    out["n_without_ties"] = sum(1 for r in rows if r.judge != "tie" and r.human != "tie")
    return out


def pairwise_agreement(
    items: Sequence[ItemVerdict],
    labels: HumanLabels,
    system_a: str,
    system_b: str,
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> PairAgreement | None:
    """The agreement of the pair's verdicts (``items``: the run's items; those
    of the pair are used, judged in either order) with ``labels``; ``None``
    when no item has both a label and a scored verdict. Definitions: the
    module's docstring."""
    rows = _pair_rows(items, labels, system_a, system_b)
    if not rows:
        return None
    categories = labels.categories(system_a, system_b)
    by_category = {}
    for category in sorted({categories[r.item] for r in rows if r.item in categories}):
        subset = [r for r in rows if categories.get(r.item) == category]
        by_category[category] = _pair_result(subset, system_a, system_b, labels, rounds, seed, {})
    return _pair_result(rows, system_a, system_b, labels, rounds, seed, by_category)


def _pair_result(
    rows: Sequence[_PairRow],
    system_a: str,
    system_b: str,
    labels: HumanLabels,
    rounds: int,
    seed: int,
    by_category: Mapping[str, PairAgreement],
) -> PairAgreement:
    numbers = _pair_numbers(rows, rounds, seed)
    return PairAgreement(
        system_a=system_a,
        system_b=system_b,
        n=len(rows),
        n_annotators=labels.n_annotators(system_a, system_b),
        by_category=by_category,
        **numbers,
    )


# -- single -----------------------------------------------------------------------


def _spearman_rows(judge: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row: the Pearson correlation of the average ranks (NaN for a constant row)."""
    import numpy as np
    from scipy.stats import rankdata

    rj, rh = rankdata(judge, axis=1), rankdata(human, axis=1)
    rj, rh = rj - rj.mean(axis=1, keepdims=True), rh - rh.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = (rj * rh).sum(axis=1) / np.sqrt((rj * rj).sum(axis=1) * (rh * rh).sum(axis=1))
    return out


def _kendall_rows(judge: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row (scipy.stats.kendalltau; NaN for a constant row)."""
    import numpy as np
    from scipy.stats import kendalltau

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: NaN, reported as None
        return np.array([float(kendalltau(j, h).statistic) for j, h in zip(judge, human)])


def _mae_rows(judge: np.ndarray, human: np.ndarray) -> np.ndarray:
    import numpy as np

    out: np.ndarray = np.abs(judge - human).mean(axis=1)
    return out


_SINGLE_STATISTICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], float, float]] = {
    "spearman": (_spearman_rows, -1.0, 1.0),
    "kendall": (_kendall_rows, -1.0, 1.0),
    "mae": (_mae_rows, 0.0, float("inf")),
}


def _single_numbers(judge: np.ndarray, human: np.ndarray, rounds: int, seed: int) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {}
    index = np.random.default_rng(seed).integers(0, len(judge), size=(rounds, len(judge))) if rounds > 0 else None
    for name, (statistic, low, high) in _SINGLE_STATISTICS.items():
        point = statistic(judge[None, :], human[None, :])[0]
        out[name] = _value(float(point)) if len(judge) > 1 or name == "mae" else None
        if index is not None and out[name] is not None:
            out[f"{name}_ci"] = _interval(statistic(judge[index], human[index]), low, high)
    return out


def single_agreement(
    items: Sequence[ItemVerdict],
    labels: HumanLabels,
    system: str | None,
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> SingleAgreement | None:
    """The agreement of the judge's scores of ``system`` (every system,
    pooled, when None) with the human scores in ``labels``; ``None`` when no
    item has both. Definitions: the module's docstring."""
    rows = _single_rows(items, labels, system)
    if not rows:
        return None
    by_category = {}
    for category in sorted({c for _, _, c in rows if c is not None}):
        subset = [r for r in rows if r[2] == category]
        by_category[category] = _single_result(subset, system, labels, rounds, seed, {})
    return _single_result(rows, system, labels, rounds, seed, by_category)


def _single_rows(
    items: Sequence[ItemVerdict], labels: HumanLabels, system: str | None
) -> list[tuple[float, float, str | None]]:
    """(judge score, mean human score, category) per labelled, scored item."""
    scores = labels.for_system(system)
    categories = {(s.item, s.system): s.category for s in labels.scores if s.category is not None}
    rows = []
    for item in sorted(items, key=lambda i: (i.systems, i.item)):
        if item.mode != "single" or (system is not None and item.systems != (system,)):
            continue
        key = (item.item, item.systems[0])
        if key not in scores or item.unscored is not None or item.score is None:
            continue
        human = scores[key]
        rows.append((float(item.score), sum(human) / len(human), categories.get(key)))
    return rows


def _single_result(
    rows: Sequence[tuple[float, float, str | None]],
    system: str | None,
    labels: HumanLabels,
    rounds: int,
    seed: int,
    by_category: Mapping[str, SingleAgreement],
) -> SingleAgreement:
    import numpy as np

    judge = np.array([r[0] for r in rows], dtype=float)
    human = np.array([r[1] for r in rows], dtype=float)
    return SingleAgreement(
        system=system,
        n=len(rows),
        n_annotators=labels.n_annotators(system),
        by_category=by_category,
        **_single_numbers(judge, human, rounds, seed),
    )
