"""Aggregation: swap reconciliation, rates, and Bradley-Terry, all pure."""

from __future__ import annotations

import math
import random

import pytest

from evalkit.judge.aggregate import ItemOutcome, bradley_terry, pair_summary, reconcile, single_summary


@pytest.mark.parametrize(
    "verdicts, outcome, consistent",
    [
        ([("ab", "first", 1.0), ("ba", "second", 0.0)], "win", True),
        ([("ab", "second", 0.0), ("ba", "first", 1.0)], "loss", True),
        ([("ab", "tie", 0.5), ("ba", "tie", 0.5)], "tie", True),
        ([("ab", "first", 1.0), ("ba", "first", 1.0)], "tie", False),  # position bias
        ([("ab", "first", 1.0), ("ba", "tie", 0.5)], "tie", False),
        ([("ab", "first", 1.0)], "win", None),  # --no-swap
    ],
)
def test_tie_reconciliation(verdicts, outcome, consistent):
    result = reconcile(verdicts)
    assert (result.outcome, result.consistent) == (outcome, consistent)


def test_average_reconciliation_uses_probabilities():
    # P(a wins) = (0.9 + (1 - 0.6)) / 2 = 0.65 although the categorical verdicts disagree
    result = reconcile([("ab", "first", 0.9), ("ba", "first", 0.6)], mode="average")
    assert result.outcome == "win" and result.p_win == pytest.approx(0.65) and result.consistent is False
    assert reconcile([("ab", "first", 0.6), ("ba", "first", 0.8)], mode="average").outcome == "loss"
    assert reconcile([("ab", "first", 0.7), ("ba", "first", 0.7)], mode="average").outcome == "tie"


def test_an_unscored_order_makes_the_item_unscored_not_a_loss():
    result = reconcile([("ab", "first", 1.0), ("ba", None, None)], reasons=[None, "empty answer"])
    assert result.outcome is None and result.unscored == "empty answer"


def test_pair_summary_counts_and_rates():
    items = (
        [ItemOutcome("win", True, 1.0)] * 3
        + [ItemOutcome("loss", True, 0.0)]
        + [ItemOutcome("tie", False, 0.5)] * 2
        + [ItemOutcome(None, None, None, "truncated")] * 4
    )
    calls = [("ab", "first")] * 5 + [("ba", "second")] * 3 + [("ba", "first")] * 4 + [("ab", None)] * 4
    s = pair_summary("x", "y", items, calls)
    assert (s.n, s.wins, s.losses, s.ties, s.unscored) == (10, 3, 1, 2, 4)
    assert s.win_rate == pytest.approx((3 + 1) / 6)  # unscored count in neither numerator nor denominator
    assert s.decisive_win_rate == pytest.approx(3 / 4)
    assert s.position_consistency == pytest.approx(4 / 6)
    assert s.first_position_rate == pytest.approx(9 / 12)  # unscored calls left out
    assert s.unscored_reasons == {"truncated": 4}


def test_pair_summary_without_swap_has_no_consistency():
    s = pair_summary("x", "y", [ItemOutcome("win", None, 1.0)], [("ab", "first")], swapped=False)
    assert s.position_consistency is None and s.swapped is False


def test_all_unscored_gives_no_rates_rather_than_zero():
    s = pair_summary("x", "y", [ItemOutcome(None, None, None, "x")] * 3)
    assert s.win_rate is None and s.decisive_win_rate is None and s.losses == 0


def test_single_summary_never_counts_unscored_as_zero():
    s = single_summary(
        "s", [8.0, None, 6.0], ["8", None, "6"], [None, "empty answer", None], scale=[str(i) for i in range(1, 11)]
    )
    assert s.mean == pytest.approx(7.0) and s.unscored == 1 and s.n == 3
    assert s.histogram["8"] == 1 and s.histogram["1"] == 0 and sum(s.histogram.values()) == 2


def test_bradley_terry_two_players_matches_the_closed_form():
    games = [("x", "y", 1.0)] * 30 + [("y", "x", 1.0)] * 10
    r = bradley_terry(games, prior=0)
    assert r["x"]["strength"] / r["y"]["strength"] == pytest.approx(3.0, rel=1e-8)
    assert r["x"]["rating"] - r["y"]["rating"] == pytest.approx(400 * math.log10(3), rel=1e-6)


def test_bradley_terry_satisfies_the_likelihood_equations():
    rng = random.Random(7)
    truth = {"a": 4.0, "b": 2.0, "c": 1.0, "d": 0.5}
    games = []
    names = list(truth)
    for _ in range(3000):
        i, j = rng.sample(names, 2)
        p = truth[i] / (truth[i] + truth[j])
        u = rng.random()
        games.append((i, j, 1.0 if u < p * 0.9 else (0.5 if u < p * 0.9 + 0.1 else 0.0)))
    r = bradley_terry(games, prior=0)
    p = {k: v["strength"] for k, v in r.items()}
    for i in names:  # MLE: each system's observed score equals its expected score
        observed = sum(s for a, b, s in games if a == i) + sum(1 - s for a, b, s in games if b == i)
        expected = sum(p[i] / (p[i] + p[b if a == i else a]) for a, b, _ in games if i in (a, b))
        assert observed == pytest.approx(expected, rel=1e-6)
    assert sorted(names, key=lambda k: -p[k]) == ["a", "b", "c", "d"]


def test_bradley_terry_prior_keeps_a_winless_system_finite():
    r = bradley_terry([("x", "y", 1.0)] * 5 + [("x", "z", 1.0)] * 5 + [("y", "z", 0.5)] * 5)
    assert all(math.isfinite(v["rating"]) for v in r.values())
    assert r["x"]["rating"] > r["y"]["rating"] and r["x"]["rating"] > r["z"]["rating"]
