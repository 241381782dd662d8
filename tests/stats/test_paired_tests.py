from __future__ import annotations

import numpy as np
import pytest

from evalkit.stats import (
    MeanStatistics,
    SeedStatistics,
    SumStatistics,
    difference_ci,
    paired_test,
    randomization_masks,
)


def _pair(shift=0.0, n=200, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(size=n)
    return base + shift + rng.normal(0, 0.1, n), base


@pytest.mark.parametrize("method", ["ar", "bootstrap"])
def test_clear_difference_gets_the_smallest_p(method):
    system, base = _pair(shift=0.2)
    result = paired_test(system, base, method=method, n_resamples=500, seed=1)
    assert result.p_value == 1 / 501
    assert result.difference == pytest.approx(system.mean() - base.mean())
    assert result.n_items == 200 and result.n_resamples == 500 and result.method == method


@pytest.mark.parametrize("method", ["ar", "bootstrap"])
def test_identical_systems_get_p_one(method):
    _, base = _pair()
    assert paired_test(base.copy(), base, method=method, n_resamples=200).p_value == 1.0


def test_reproducible_and_symmetric():
    system, base = _pair(shift=0.01)
    p1 = paired_test(system, base, n_resamples=2000, seed=3).p_value
    assert paired_test(system, base, n_resamples=2000, seed=3).p_value == p1
    assert paired_test(base, system, n_resamples=2000, seed=3).p_value == pytest.approx(p1)
    assert 0.01 < p1 < 1


def test_randomization_swaps_items_between_systems():
    base = MeanStatistics(np.array([0.0, 0.0, 0.0, 0.0]))
    system = MeanStatistics(np.array([1.0, 1.0, 1.0, 1.0]))
    masks = np.array([[True, True, True, True], [False, False, False, False], [True, False, True, False]])
    first, second = base.swapped_values(system, masks)
    # mask True keeps the item's own output in the first pseudo-system
    assert first.tolist() == [0.0, 1.0, 0.5]
    assert second.tolist() == [1.0, 0.0, 0.5]
    sums = SumStatistics(np.array([[0, 1]] * 4), lambda s: s[0] / s[1])
    other = SumStatistics(np.array([[1, 1]] * 4), lambda s: s[0] / s[1])
    assert [a.tolist() for a in sums.swapped_values(other, masks)] == [[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]]


def test_ar_p_value_is_the_share_of_trials_reaching_the_observed_difference():
    system, base = _pair(shift=0.005, n=60, seed=4)
    masks = randomization_masks(60, n_trials=999, seed=8)
    d = system - base
    observed = abs(d.mean())
    null = np.abs(np.where(masks, 1.0, -1.0) @ d) / 60  # flip the sign of swapped items
    expected = (np.sum(null >= observed - 1e-12) + 1) / 1000
    assert paired_test(system, base, method="ar", n_resamples=999, seed=8).p_value == pytest.approx(expected)


def test_ties_count_for_discrete_scores_but_not_in_sacrebleu_mode():
    # one item differs: half of all trials swap it, and each swap ties the
    # observed difference exactly
    base = np.zeros(10)
    system = base.copy()
    system[0] = 1.0
    inclusive = paired_test(system, base, method="ar", n_resamples=1000, seed=2).p_value
    assert inclusive == 1.0  # every trial reaches |0.1|: no evidence at all
    sum_sys = SumStatistics(
        system[:, None] * np.array([[1, 0]]) + np.array([[0, 1]]), lambda s: s[0] / s[1], sacrebleu_compatible=True
    )
    sum_base = SumStatistics(
        base[:, None] * np.array([[1, 0]]) + np.array([[0, 1]]), lambda s: s[0] / s[1], sacrebleu_compatible=True
    )
    strict = paired_test(sum_sys, sum_base, method="ar", n_resamples=1000, seed=2).p_value
    assert strict == 1 / 1001  # sacrebleu's rule: ties never count


def test_seed_statistics_use_an_exact_sign_flip_test():
    base = SeedStatistics([0.90, 0.91, 0.92, 0.90, 0.91])
    better = SeedStatistics([0.95, 0.96, 0.97, 0.95, 0.96])
    result = paired_test(better, base)
    # all five differences are +0.05: only the all-plus and all-minus flips reach it
    assert result.p_value == pytest.approx(2 / 32)
    assert result.method == "sign-flip over seeds"
    assert result.difference == pytest.approx(0.05)
    ci = difference_ci(better, base)
    assert ci.value == pytest.approx(0.05)


def test_many_seeds_are_sampled():
    rng = np.random.default_rng(0)
    base = SeedStatistics(rng.normal(0.9, 0.01, 20))
    result = paired_test(SeedStatistics(base.values + 0.05), base, n_resamples=999, seed=1)
    assert result.p_value == 1 / 1000


def test_difference_interval_is_paired():
    rng = np.random.default_rng(1)
    base = rng.uniform(size=300)
    system = base + 0.02  # a constant shift: the paired interval has no width
    ci = difference_ci(system, base, n_resamples=300, seed=2)
    assert ci.low == pytest.approx(0.02) and ci.high == pytest.approx(0.02)
    independent = rng.uniform(size=300) + 0.02
    wide = difference_ci(independent, base, n_resamples=300, seed=2)
    assert wide.high - wide.low > 0.05


@pytest.mark.parametrize(
    "system,baseline,kwargs,error,message",
    [
        ([0.1, 0.2], [0.1, 0.2], {"method": "t-test"}, ValueError, "unknown paired test"),
        ([0.1, 0.2], [0.1], {}, ValueError, "same items"),
        ([], [], {}, ValueError, "no items"),
        ([0.1, 0.2], [0.1, 0.2], {"n_resamples": 0}, ValueError, "positive integer"),
        (SeedStatistics([0.1]), MeanStatistics([0.1]), {}, TypeError, "cannot pair"),
    ],
)
def test_bad_arguments(system, baseline, kwargs, error, message):
    with pytest.raises(error, match=message):
        paired_test(system, baseline, **kwargs)


# -- the smallest p-value a design can reach (issue 9, defect 3) ----------------------


@pytest.mark.parametrize(
    "k,min_p",
    [(1, 1.0), (2, 0.5), (5, 0.0625), (6, 0.03125), (10, 2 / 1024), (16, 2 / 65536)],
)
def test_exact_sign_flip_cannot_go_below_two_in_two_to_the_k(k, min_p):
    base = SeedStatistics(np.full(k, 0.90))
    result = paired_test(SeedStatistics(np.full(k, 0.95)), base)
    # all k differences equal: only the observed signs and their mirror reach it
    assert result.min_p_value == min_p
    assert result.p_value == pytest.approx(min_p)
    assert result.n_resamples == 2**k


def test_the_demo_degenerate_system_cannot_be_significant_with_five_seeds():
    # "degenerate (0.05 vs the baseline's 1.00) ... p=0.06": the best p five seeds allow
    result = paired_test(SeedStatistics([0.05, 0.06, 0.05, 0.04, 0.05]), SeedStatistics([1.0] * 5))
    assert result.p_value == result.min_p_value == 2 / 32
    assert not result.can_reach(0.05) and not result.can_reach(0.0625)  # gates test p < alpha
    assert result.can_reach(0.1)
    assert result.to_dict()["min_p_value"] == 0.0625


def test_unchanged_seeds_keep_the_design_minimum():
    result = paired_test(SeedStatistics([0.9, 0.8, 0.9]), SeedStatistics([0.9, 0.8, 0.9]))
    assert result.p_value == 1.0 and result.min_p_value == 2 / 8


def test_sampled_sign_flip_over_many_seeds():
    rng = np.random.default_rng(0)
    base = SeedStatistics(rng.normal(0.9, 0.01, 20))
    result = paired_test(SeedStatistics(base.values + 0.05), base, n_resamples=999, seed=1)
    assert result.min_p_value == 1 / 1000 == result.p_value
    assert result.can_reach(0.05) and not result.can_reach(0.001)


@pytest.mark.parametrize(
    "method,n_resamples,min_p",
    [
        ("ar", 19, 1 / 20),
        ("ar", 99, 1 / 100),
        ("ar", None, 1 / 10_001),
        ("bootstrap", 9, 1 / 10),
        ("bootstrap", None, 1 / 1001),
    ],
)
def test_item_tests_reach_one_over_trials_plus_one(method, n_resamples, min_p):
    system, base = _pair(shift=0.2)
    result = paired_test(system, base, method=method, n_resamples=n_resamples, seed=1)
    assert result.min_p_value == min_p
    assert result.p_value == min_p  # a clear difference: no trial reaches it
    assert result.can_reach(0.05) is (min_p < 0.05)
    identical = paired_test(base.copy(), base, method=method, n_resamples=n_resamples)
    assert identical.p_value == 1.0 and identical.min_p_value == min_p


def test_seed_difference_interval_stays_within_the_range_of_a_difference():
    system = SeedStatistics([1.0, 1.0, 1.0, 1.0, 0.1])
    base = SeedStatistics([0.0, 0.0, 0.0, 0.0, 0.05])
    plain = difference_ci(system, base)
    assert plain.high > 1  # a difference of two scores in [0, 1] is at most 1
    cut = difference_ci(system, base, bounds=(0.0, 1.0))
    assert cut.value == pytest.approx(0.81)
    assert (cut.low, cut.high) == (pytest.approx(plain.low), 1.0)
    assert cut.method == "t over 5 seeds, intersected with [-1, 1]"


def test_difference_interval_refuses_mixed_kinds():
    with pytest.raises(TypeError, match="cannot pair SeedStatistics with MeanStatistics"):
        difference_ci(SeedStatistics([0.1, 0.2]), MeanStatistics(np.array([0.1, 0.2])))
