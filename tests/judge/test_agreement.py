"""Agreement with human labels: every number against values computed by hand
on small fixtures (evalkit.judge.agreement)."""

from __future__ import annotations

import pytest

from evalkit.judge.aggregate import reconcile
from evalkit.judge.agreement import majority_label, pairwise_agreement, single_agreement
from evalkit.judge.labels import HumanLabels, PairLabel, ScoreLabel
from evalkit.judge.types import CallRecord, ItemVerdict, OrderCall, Verdict


def _call(order, role, shown):
    return OrderCall(order, shown, CallRecord(f"k-{order}-{role}", (), Verdict(label=role, value=role)))


def pair_item(i, ab_role, ba_role=None, systems=("x", "y")):
    """One pairwise item judged in the order(s) given, reconciled by evalkit's own rule."""
    a, b = systems
    calls = [_call("ab", ab_role, (a, b))]
    verdicts = [("ab", ab_role, None)]
    if ba_role is not None:
        calls.append(_call("ba", ba_role, (b, a)))
        verdicts.append(("ba", ba_role, None))
    outcome = reconcile(verdicts)
    score = {"win": 1.0, "tie": 0.5, "loss": 0.0}[outcome.outcome]
    return ItemVerdict("pairwise", i, systems, tuple(calls), score, outcome.outcome, None, outcome.consistent)


#: item -> (verdict with x shown first, with y shown first, the annotators' winners, category)
#: judge classes (x's side): a, tie, b, tie, a, b; majority human: a, b, tie, tie, b, b
FIXTURE = [
    ("first", "second", ["x", "x", "y"], "math"),
    ("first", "first", ["y", "y", "y"], "math"),
    ("second", "first", ["tie", "tie", "x"], "math"),
    ("tie", "tie", ["x", "y"], "writing"),
    ("first", "second", ["y"], "writing"),
    ("second", "first", ["y", "y", "tie"], "writing"),
]


def fixture(categories=True):
    items = [pair_item(i, ab, ba) for i, (ab, ba, _, _) in enumerate(FIXTURE)]
    labels = []
    for i, (_, _, winners, category) in enumerate(FIXTURE):
        for k, winner in enumerate(winners):
            # item 1's rows are written as (y, x): they label the judged pair (x, y) too
            a, b = ("y", "x") if i == 1 else ("x", "y")
            labels.append(PairLabel(i, a, b, winner, f"h{k + 1}", category if categories else None))
    return items, HumanLabels("pairwise", "labels.csv", pairs=tuple(labels))


def test_majority_label_and_an_even_split_is_a_tie():
    assert majority_label(["a", "a", "b"]) == "a"
    assert majority_label(["b", "tie"]) == "tie"
    assert majority_label(["a", "b", "tie"]) == "tie"
    assert majority_label(["tie"]) == "tie"


def test_pairwise_numbers_by_hand():
    items, labels = fixture()
    a = pairwise_agreement(items, labels, "x", "y", rounds=0)
    assert (a.system_a, a.system_b, a.n, a.n_annotators) == ("x", "y", 6, 3)
    # per item 1 - |judge - human| (a=1, tie=.5, b=0): 1, .5, .5, 1, 0, 1
    assert a.accuracy == pytest.approx(4 / 6)
    # x shown first: a, a, b, tie, a, b -> 1, 0, .5, 1, 0, 1
    assert a.accuracy_ab == pytest.approx(3.5 / 6)
    # y shown first: a, b, b, tie, a, b -> 1, 1, .5, 1, 0, 1
    assert a.accuracy_ba == pytest.approx(4.5 / 6)
    # both orders equal the human label: items 0, 3, 5
    assert a.accuracy_both == pytest.approx(3 / 6)
    assert a.agreement_with_ties == pytest.approx(3 / 6)
    # both decisive: items 0 (match), 4 (no), 5 (match)
    assert (a.agreement_without_ties, a.n_without_ties) == (pytest.approx(2 / 3), 3)
    # judge (1/3, 1/3, 1/3), human (1/6, 1/2, 1/3): p_e = 1/3, p_o = 1/2
    assert a.kappa == pytest.approx((1 / 2 - 1 / 3) / (1 - 1 / 3))
    # pairs of labels that agree / pairs: 1/3, 3/3, 1/3, 0/1, -, 1/3 pooled
    assert a.human_human_agreement == pytest.approx(6 / 13)
    assert a.accuracy_ci is None  # rounds=0: no interval


def test_pairwise_seen_from_the_other_side_swaps_the_orders():
    items, labels = fixture()
    a = pairwise_agreement(items, labels, "y", "x", rounds=0)
    assert (a.system_a, a.n, a.accuracy, a.kappa) == ("y", 6, pytest.approx(4 / 6), pytest.approx(0.25))
    # y shown first is the judged "ba" order
    assert (a.accuracy_ab, a.accuracy_ba) == (pytest.approx(4.5 / 6), pytest.approx(3.5 / 6))


def test_by_category():
    items, labels = fixture()
    a = pairwise_agreement(items, labels, "x", "y", rounds=0)
    assert set(a.by_category) == {"math", "writing"}
    math_, writing = a.by_category["math"], a.by_category["writing"]
    assert (math_.n, math_.accuracy, math_.agreement_with_ties) == (3, pytest.approx(2 / 3), pytest.approx(1 / 3))
    assert (writing.n, writing.accuracy, writing.agreement_with_ties) == (3, pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert math_.by_category == {}
    assert pairwise_agreement(*fixture(categories=False), "x", "y", rounds=0).by_category == {}


def test_one_annotator_has_no_human_ceiling_and_no_swap_has_no_second_order():
    items = [pair_item(0, "first"), pair_item(1, "second")]
    labels = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(0, "x", "y", "x"), PairLabel(1, "x", "y", "x")))
    a = pairwise_agreement(items, labels, "x", "y", rounds=200)
    assert (a.n, a.n_annotators, a.human_human_agreement, a.human_human_agreement_ci) == (2, 1, None, None)
    assert (a.accuracy, a.accuracy_ab, a.accuracy_ba, a.accuracy_both) == (0.5, 0.5, None, None)


def test_unlabelled_or_unscored_items_are_left_out_and_none_without_overlap():
    items, labels = fixture()
    unscored = ItemVerdict("pairwise", 1, ("x", "y"), (), None, unscored="empty answer")
    a = pairwise_agreement([items[0], unscored, items[2]], labels, "x", "y", rounds=0)
    assert a.n == 2 and a.accuracy == pytest.approx((1 + 0.5) / 2)
    other = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(9, "x", "y", "x"),))
    assert pairwise_agreement(items, other, "x", "y") is None


def test_intervals_by_hand_and_clipped():
    # credits 1 and 0: a resample's mean is 0, .5 or 1 (1/4, 1/2, 1/4): the 95% interval is [0, 1]
    items = [pair_item(0, "first", "second"), pair_item(1, "first", "second")]
    labels = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(0, "x", "y", "x"), PairLabel(1, "x", "y", "y")))
    a = pairwise_agreement(items, labels, "x", "y", rounds=1000, seed=1)
    assert a.accuracy_ci == (0.0, 1.0)
    # every item right: the interval is the point, [1, 1], never above 1
    perfect = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(0, "x", "y", "x"), PairLabel(1, "x", "y", "x")))
    b = pairwise_agreement(items, perfect, "x", "y", rounds=1000)
    assert (b.accuracy, b.accuracy_ci, b.agreement_without_ties_ci) == (1.0, (1.0, 1.0), (1.0, 1.0))
    # the judge says a on both, humans a and b: kappa is 0, undefined (p_e = 1) on resamples of one class
    assert -1.0 <= a.kappa_ci[0] <= a.kappa_ci[1] <= 1.0


def test_intervals_are_reproducible_and_cover_the_estimate():
    items, labels = fixture()
    one = pairwise_agreement(items, labels, "x", "y", rounds=500, seed=7)
    two = pairwise_agreement(items, labels, "x", "y", rounds=500, seed=7)
    assert one == two
    for name in ("accuracy", "accuracy_ab", "accuracy_ba", "agreement_with_ties", "human_human_agreement"):
        low, high = getattr(one, f"{name}_ci")
        assert 0.0 <= low <= getattr(one, name) <= high <= 1.0, name


def test_to_dict_is_json_ready():
    items, labels = fixture()
    d = pairwise_agreement(items, labels, "x", "y", rounds=100).to_dict()
    assert d["n"] == 6 and isinstance(d["accuracy_ci"], list) and len(d["accuracy_ci"]) == 2
    assert d["by_category"]["math"]["n"] == 3


def single_fixture():
    judge = [1, 2, 3, 4, 5]
    items = [ItemVerdict("single", i, ("s",), (), float(score)) for i, score in enumerate(judge)]
    rows = [(0, 2.0, "h1"), (1, 0.5, "h1"), (1, 1.5, "h2"), (2, 4.0, "h1"), (3, 3.0, "h2"), (4, 5.0, "h1")]
    scores = tuple(ScoreLabel(i, "s", score, who, "odd" if i % 2 else "even") for i, score, who in rows)
    return items, HumanLabels("single", "l.csv", scores=scores)


def test_single_numbers_by_hand():
    items, labels = single_fixture()
    a = single_agreement(items, labels, "s", rounds=0)
    # human means 2, 1, 4, 3, 5 against 1..5: sum d^2 = 4, rho = 1 - 6*4/(5*24); 2 of 10 pairs discordant
    assert (a.system, a.n, a.n_annotators) == ("s", 5, 2)
    assert a.spearman == pytest.approx(0.8)
    assert a.kendall == pytest.approx(0.6)
    assert a.mae == pytest.approx(4 / 5)
    assert a.by_category["odd"].n == 2 and a.by_category["odd"].mae == pytest.approx(1.0)


def test_single_intervals_and_pooled_systems():
    items, labels = single_fixture()
    a = single_agreement(items, labels, "s", rounds=300, seed=3)
    assert -1.0 <= a.spearman_ci[0] <= a.spearman <= a.spearman_ci[1] <= 1.0
    assert 0.0 <= a.mae_ci[0] <= a.mae <= a.mae_ci[1]
    pooled = single_agreement(items, labels, None, rounds=0)
    assert (pooled.system, pooled.n, pooled.spearman) == (None, 5, pytest.approx(0.8))
    assert single_agreement(items, labels, "other", rounds=0) is None


def test_single_constant_scores_have_no_correlation():
    items = [ItemVerdict("single", i, ("s",), (), 3.0) for i in range(3)]
    labels = HumanLabels("single", "l.csv", scores=tuple(ScoreLabel(i, "s", float(i)) for i in range(3)))
    a = single_agreement(items, labels, "s", rounds=100)
    assert (a.spearman, a.kendall, a.spearman_ci) == (None, None, None)
    assert a.mae == pytest.approx((3 + 2 + 1) / 3)


def test_spearman_matches_scipy_on_scores_with_ties():
    import random

    from scipy.stats import spearmanr

    rng = random.Random(5)
    judge = [float(rng.randint(1, 4)) for _ in range(40)]
    human = [float(rng.randint(1, 10)) for _ in range(40)]
    items = [ItemVerdict("single", i, ("s",), (), score) for i, score in enumerate(judge)]
    labels = HumanLabels("single", "l.csv", scores=tuple(ScoreLabel(i, "s", h) for i, h in enumerate(human)))
    a = single_agreement(items, labels, "s", rounds=0)
    assert a.spearman == pytest.approx(spearmanr(judge, human).statistic, abs=1e-12)
