"""A judge's report card: how far to trust it, from one run over a
human-labelled pairwise set (``evalkit judge certify``).

Pure functions: a :class:`~evalkit.judge.types.JudgeRun`, the answers' texts
and the human labels in, a :class:`ReportCard` out. The agreement statistics
are :func:`evalkit.judge.agreement.pairwise_agreement`'s; this module adds
what a card needs beside them: the length preference of the judge and of the
humans on the same items, the baselines a judge must beat, and the run's costs.

Baselines: ``chance`` is the agreement of a coin flip between the two answers,
0.5 whatever the labels (``accuracy`` credits a decisive verdict 1 or 0
against a decisive label and 0.5 against a human tie); ``constant`` is the
agreement of the best judge that gives the same verdict on every item (always
system_a, always system_b, or always a tie: what a judge with a pure position
bias gets under tie reconciliation) on the same items, by the same statistic.

Rendering is in :mod:`evalkit.judge.certify_render`.

A verdict "prefers the longer answer" when it is decisive and picks the answer
with more characters; items whose answers are equally long are left out.

>>> length_preference({0: "a", 1: "b", 2: "tie", 3: "a"}, {0: (9, 3), 1: (2, 5), 2: (1, 4), 3: (4, 4)})
LengthPreference(share=1.0, n=2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from evalkit.errors import InputError
from evalkit.judge.types import ItemVerdict, JudgeInputs, JudgeRun

if TYPE_CHECKING:
    from evalkit.judge.agreement import PairAgreement
    from evalkit.judge.labels import HumanLabels

__all__ = [
    "CONSTANT_JUDGES",
    "LengthPreference",
    "ReportCard",
    "build_card",
    "card_from_dict",
    "best_constant",
    "CHANCE",
    "judge_sides",
    "length_preference",
]

#: A coin flip between the two answers agrees with any labels 0.5 of the time.
CHANCE = 0.5
#: Judges that give the same verdict on every item (``"a"``: always system_a);
#: the card reports the best of them on the same items.
CONSTANT_JUDGES: Mapping[str, str] = {"a": "win", "b": "loss", "tie": "tie"}
_SIDE = {"win": "a", "loss": "b", "tie": "tie"}
_SCORE = {"win": 1.0, "loss": 0.0, "tie": 0.5}


def judge_sides(items: Sequence[ItemVerdict]) -> dict[int, str]:
    """item -> the reconciled verdict's side (``"a"``, ``"b"`` or ``"tie"``); unscored items are left out."""
    return {i.item: _SIDE[i.outcome] for i in items if i.unscored is None and i.outcome in _SIDE}


def length_preference(sides: Mapping[int, str], lengths: Mapping[int, tuple[int, int]]) -> LengthPreference:
    """The share of decisive verdicts (``sides``: item -> ``"a"``/``"b"``/``"tie"``)
    that chose the longer answer; ``lengths``: item -> (length of a, length of b)."""
    longer = total = 0
    for item, side in sides.items():
        if side == "tie" or item not in lengths or lengths[item][0] == lengths[item][1]:
            continue
        total += 1
        longer += (side == "a") == (lengths[item][0] > lengths[item][1])
    return LengthPreference(longer / total if total else None, total)


def human_sides(labels: HumanLabels, system_a: str, system_b: str) -> dict[int, str]:
    """item -> the humans' label from ``system_a``'s side (``"a"``, ``"b"``,
    ``"tie"``): the annotators' majority, as the agreement counts it."""
    from evalkit.judge.agreement import majority_label

    return {item: majority_label(votes) for item, votes in labels.for_pair(system_a, system_b).items()}


def _constant(items: Sequence[ItemVerdict], outcome: str) -> list[ItemVerdict]:
    return [
        replace(i, outcome=outcome, score=_SCORE[outcome], p_win=_SCORE[outcome], consistent=True, unscored=None)
        for i in items
        if i.unscored is None and i.outcome is not None  # the items the judge's agreement counts
    ]


def best_constant(
    items: Sequence[ItemVerdict], labels: HumanLabels, system_a: str, system_b: str
) -> tuple[str | None, float | None]:
    """The best constant judge on ``items`` (always ``"a"``, ``"b"`` or
    ``"tie"``) and its agreement with the humans, by the same statistic as the
    judge's (``pairwise_agreement``'s ``accuracy``); ``(None, None)`` when no
    scored item has a label."""
    from evalkit.judge.agreement import pairwise_agreement

    best: tuple[str | None, float | None] = (None, None)
    for name, outcome in CONSTANT_JUDGES.items():
        result = pairwise_agreement(_constant(items, outcome), labels, system_a, system_b, rounds=0)
        if result is not None and result.accuracy is not None and (best[1] is None or result.accuracy > best[1]):
            best = (name, result.accuracy)
    return best


def _lengths(inputs: JudgeInputs, system_a: str, system_b: str) -> dict[int, tuple[int, int]]:
    a, b = inputs.systems[system_a], inputs.systems[system_b]
    return {i: (len(a[i] or ""), len(b[i] or "")) for i in range(inputs.n_items)}


def build_card(
    run: JudgeRun,
    inputs: JudgeInputs,
    labels: HumanLabels,
    agreement: PairAgreement | None,
    *,
    set_name: str,
    pair: tuple[str, str],
) -> ReportCard:
    """The report card of ``run`` (a pairwise run of ``pair`` over the set's
    ``inputs``) against ``labels``; ``agreement`` is ``pairwise_agreement``'s."""
    system_a, system_b = pair
    summary = run.pair(system_a, system_b)
    items = run.pair_items(system_a, system_b)
    judged = {i.item for i in items}
    lengths = _lengths(inputs, system_a, system_b)
    humans = {k: v for k, v in human_sides(labels, system_a, system_b).items() if k in judged}
    constant, constant_agreement = best_constant(items, labels, system_a, system_b)
    s = run.stats
    return ReportCard(
        set=set_name,
        model=run.model,
        local=run.settings.local,
        template=run.template.id,
        protocol=run.protocol,
        reconcile=run.settings.reconcile,
        signature=run.signature,
        items=len(items),
        labelled=agreement.n if agreement is not None else 0,
        annotators=agreement.n_annotators if agreement is not None else labels.n_annotators(system_a, system_b),
        agreement=agreement.accuracy if agreement is not None else None,
        agreement_ci=agreement.accuracy_ci if agreement is not None else None,
        agreement_both_orders=agreement.accuracy_both if agreement is not None else None,
        agreement_without_ties=agreement.agreement_without_ties if agreement is not None else None,
        kappa=agreement.kappa if agreement is not None else None,
        kappa_ci=agreement.kappa_ci if agreement is not None else None,
        human_agreement=agreement.human_human_agreement if agreement is not None else None,
        human_agreement_ci=agreement.human_human_agreement_ci if agreement is not None else None,
        chance=CHANCE,
        constant=constant_agreement,
        constant_judge={"a": system_a, "b": system_b, "tie": "tie"}.get(constant or ""),
        position_consistency=summary.position_consistency,
        first_position_rate=summary.first_position_rate,
        longer_preferred=length_preference(judge_sides(items), lengths),
        human_longer_preferred=length_preference(humans, lengths),
        unscored=summary.unscored,
        calls=s.calls,
        prompt_tokens=s.prompt_tokens,
        completion_tokens=s.completion_tokens,
        cost=s.cost,
        wall_s=s.duration_s,
    )


def card_from_dict(data: Mapping[str, Any], *, path: str) -> ReportCard:
    """A card read back from ``card.json`` (for ``--compare``); a file that is
    not a card is an :class:`InputError` naming it."""
    if not isinstance(data, Mapping) or data.get("kind") != "evalkit-judge-card":
        raise InputError(
            'not an evalkit report card (no "kind": "evalkit-judge-card")',
            path=path,
            hint="give card.json files written by evalkit judge certify",
        )
    values: dict[str, Any] = {}
    try:
        for f in fields(ReportCard):
            value = data[f.name]
            if f.name in ("longer_preferred", "human_longer_preferred"):
                value = LengthPreference(value["share"], int(value["n"]))
            elif f.name.endswith("_ci") and value is not None:
                value = (float(value[0]), float(value[1]))
            values[f.name] = value
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise InputError(
            f"the card lacks or garbles {exc}", path=path, hint="write it again with evalkit judge certify"
        ) from None
    return ReportCard(**values)


# -- types ------------------------------------------------------------------------


@dataclass(frozen=True)
class LengthPreference:
    """The share of decisive verdicts that chose the longer answer, over ``n`` such verdicts."""

    share: float | None
    n: int


@dataclass(frozen=True)
class ReportCard:
    """A judge's report card on one human-labelled set (``card.json``).

    Rates are in [0, 1]; ``*_ci`` are 95% bootstrap intervals over items;
    ``None`` where the run gives no basis (no second annotator: no
    ``human_agreement``; one order: no ``position_consistency``).
    """

    set: str
    model: str
    local: bool
    template: str
    protocol: str
    reconcile: str
    signature: str
    items: int
    labelled: int
    annotators: int
    agreement: float | None
    agreement_ci: tuple[float, float] | None
    agreement_both_orders: float | None
    agreement_without_ties: float | None
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    human_agreement: float | None
    human_agreement_ci: tuple[float, float] | None
    chance: float
    constant: float | None
    constant_judge: str | None
    position_consistency: float | None
    first_position_rate: float | None
    longer_preferred: LengthPreference
    human_longer_preferred: LengthPreference
    unscored: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    wall_s: float

    @property
    def unscored_rate(self) -> float | None:
        return self.unscored / self.items if self.items else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "evalkit-judge-card"}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, LengthPreference):
                value = {"share": value.share, "n": value.n}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        out["unscored_rate"] = self.unscored_rate
        return out
