from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.stats import (
    Interval,
    MeanStatistics,
    SeedStatistics,
    SumStatistics,
    bootstrap_ci,
    bootstrap_indices,
    seed_interval,
    verdict_scores,
)


def _scores(n=150, seed=0):
    return np.random.default_rng(seed).uniform(size=n)


def test_same_seed_same_interval_other_seed_other_interval():
    scores = _scores()
    a = bootstrap_ci(scores, n_resamples=300, seed=5)
    b = bootstrap_ci(scores, n_resamples=300, seed=5)
    c = bootstrap_ci(scores, n_resamples=300, seed=6)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.seed == 5 and a.n_resamples == 300 and a.level == 0.95


def test_interval_is_the_percentiles_of_resampled_means():
    scores = _scores()
    idx = bootstrap_indices(len(scores), n_resamples=400, seed=3)
    means = scores[idx].mean(axis=1)
    ci = bootstrap_ci(scores, n_resamples=400, seed=3)
    assert ci.value == scores.mean()
    assert ci.low == pytest.approx(np.percentile(means, 2.5), abs=1e-15)
    assert ci.high == pytest.approx(np.percentile(means, 97.5), abs=1e-15)


def test_wider_level_gives_wider_interval():
    scores = _scores()
    narrow = bootstrap_ci(scores, n_resamples=500, seed=1, alpha=0.2)
    wide = bootstrap_ci(scores, n_resamples=500, seed=1, alpha=0.01)
    assert wide.low < narrow.low < narrow.value < narrow.high < wide.high


def test_width_shrinks_like_one_over_root_n():
    small = bootstrap_ci(_scores(100), n_resamples=800, seed=1)
    large = bootstrap_ci(_scores(1600), n_resamples=800, seed=1)
    ratio = (small.high - small.low) / (large.high - large.low)
    assert 3.0 < ratio < 5.0  # sqrt(16) = 4


def test_corpus_metric_is_recomputed_from_summed_statistics_not_averaged():
    # a ratio of sums: item 0 is long and perfect, item 1 short and wrong
    rows = np.array([[90, 100], [0, 10]])
    stats = SumStatistics(rows, lambda s: s[0] / s[1])
    assert stats.value() == pytest.approx(90 / 110)
    idx = np.array([[0, 0], [1, 1], [0, 1]])
    assert stats.resampled_values(idx).tolist() == pytest.approx([0.9, 0.0, 90 / 110])


def test_chunked_resampling_equals_unchunked(monkeypatch):
    import evalkit.stats.resample as resample

    scores = _scores(300)
    rows = np.random.default_rng(1).integers(0, 20, size=(300, 3))
    idx = bootstrap_indices(300, n_resamples=50, seed=2)
    whole_mean = MeanStatistics(scores).resampled_values(idx)
    whole_sum = SumStatistics(rows, lambda s: float(s[0] - s[1] + s[2])).resampled_values(idx)
    monkeypatch.setattr(resample, "_CHUNK_CELLS", 700)  # forces many small blocks
    assert np.array_equal(MeanStatistics(scores).resampled_values(idx), whole_mean)
    assert np.array_equal(SumStatistics(rows, lambda s: float(s[0] - s[1] + s[2])).resampled_values(idx), whole_sum)


def test_seed_interval_is_a_t_interval():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    ci = seed_interval(values)
    half = 2.7764451051977987 * np.std(values, ddof=1) / math.sqrt(5)  # t(0.975, df=4)
    assert ci.value == pytest.approx(0.922)
    assert (ci.low, ci.high) == pytest.approx((0.922 - half, 0.922 + half))
    assert bootstrap_ci(SeedStatistics(values)) == ci


def test_one_seed_has_no_interval():
    ci = seed_interval([0.9])
    assert ci.value == 0.9 and not ci.available
    assert ci.to_dict()["low"] is None


@pytest.mark.parametrize(
    "kwargs,message",
    [({"n_resamples": 0}, "n_resamples"), ({"alpha": 1.5}, "alpha"), ({"n_resamples": 2.5}, "n_resamples")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(_scores(), **kwargs)


def test_no_items_and_nan_are_refused():
    with pytest.raises(ValueError, match="no scored items"):
        bootstrap_ci(np.array([]))
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.5, float("nan")])


def test_interval_formats_value_and_ends():
    assert str(Interval(1.0, 0.5, 1.5, 0.95, "x", 10, 1)) == "1 [0.5, 1.5]"


@pytest.mark.parametrize(
    "verdicts,expected",
    [
        ([("win", "win")], [1.0]),
        ([("win", "loss")], [0.5]),
        ([("tie", "tie")], [0.5]),
        ([("loss", None)], [0.0]),
        ([(None, None)], [None]),
        ([("win",)], [1.0]),
    ],
)
def test_verdict_scores_keep_both_orders_of_an_item_together(verdicts, expected):
    assert verdict_scores(verdicts) == expected


def test_unknown_verdict_is_an_error():
    with pytest.raises(ValueError, match="item 0"):
        verdict_scores([("A", "win")])


# -- intervals stay within the metric's range (issue 9, defect 3) ------------------

T_975_DF4 = 2.7764451051977987  # t(0.975, df=4), five seeds


def _t_ends(values):
    mean = float(np.mean(values))
    half = T_975_DF4 * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def test_seed_interval_is_cut_at_the_top_of_the_range():
    # the demo's "weak 0.8560 [0.6616, 1.0503]": an interval above 1 for a score bounded by 1
    values = [0.60, 0.99, 0.99, 0.70, 1.0]
    mean, low, high = _t_ends(values)
    assert high > 1  # what the plain t-interval gives
    unbounded = seed_interval(values)
    assert (unbounded.low, unbounded.high) == pytest.approx((low, high))
    ci = seed_interval(values, bounds=(0.0, 1.0))
    assert ci.value == pytest.approx(0.856)
    assert ci.low == pytest.approx(low) and ci.high == 1.0
    assert ci.method == "t over 5 seeds, intersected with [0, 1]"
    assert bootstrap_ci(SeedStatistics(values), bounds=(0.0, 1.0)) == ci


def test_seed_interval_is_cut_at_the_bottom_of_the_range():
    values = [0.0, 0.01, 0.3, 0.02, 0.0]
    mean, low, high = _t_ends(values)
    assert low < 0
    ci = seed_interval(values, bounds=(0.0, 1.0))
    assert (ci.low, ci.high) == (0.0, pytest.approx(high))


def test_an_interval_inside_the_range_is_unchanged():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    assert seed_interval(values, bounds=(0.0, 1.0)) == seed_interval(values)
    assert seed_interval([0.9], bounds=(0.0, 1.0)).method == "one seed: no interval"


def test_cutting_at_the_range_keeps_coverage():
    # The true mean lies in the range, so the cut interval covers it exactly
    # when the t-interval does: the same coverage, minus impossible values.
    rng = np.random.default_rng(7)
    truth = 19 / 20  # the mean of Beta(19, 1), a score in [0, 1] near its top
    plain = [seed_interval(rng.beta(19, 1, 5)) for _ in range(400)]
    draws = np.random.default_rng(7)  # the same draws again
    cut = [seed_interval(draws.beta(19, 1, 5), bounds=(0.0, 1.0)) for _ in range(400)]
    assert sum(ci.high > 1 for ci in plain) > 100  # the defect is common, not a corner case
    assert all(0.0 <= ci.low <= ci.high <= 1.0 for ci in cut)
    covers = [ci.low <= truth <= ci.high for ci in plain]
    assert covers == [ci.low <= truth <= ci.high for ci in cut]


@pytest.mark.parametrize(
    "values,bounds,message",
    [
        ([0.5, 1.2], (0.0, 1.0), r"seed value 1.2 is outside the metric's range \[0, 1\]"),
        ([0.5, -0.1], (0.0, 1.0), "seed value -0.1 is outside"),
        ([0.5, 0.6], (1.0, 0.0), "low < high"),
        ([0.5, 0.6], (0.5, 0.5), "low < high"),
    ],
)
def test_bad_bounds_and_values_outside_them_are_refused(values, bounds, message):
    with pytest.raises(ValueError, match=message):
        seed_interval(values, bounds=bounds)
