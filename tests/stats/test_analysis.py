"""evalkit.stats.analysis: which statistics each kind of result gets."""

from __future__ import annotations

import numpy as np
import pytest

import evalkit
from evalkit.errors import ConfigError
from evalkit.judge_columns import columns_from_pairs
from evalkit.result import MetricResult
from evalkit.runner import Comparison
from evalkit.stats import bootstrap_ci, paired_test
from evalkit.stats.analysis import JudgeColumn, analyze

REFS = ["the cat sat on the mat", "a quick brown fox jumps", "it rained all day", "we met at noon", "tea is hot"]
SYSTEMS = {
    "main": ["the cat sat on a mat", "a brown fox jumps", "it rained all day", "we met at noon", "tea is warm"],
    "new": ["a cat sat", "a quick brown fox jumps", "rain", "we met at noon today", "the tea is hot"],
}


@pytest.fixture(scope="module")
def comparison():
    return evalkit.compare(SYSTEMS, references=REFS, metrics="rouge1")


def test_mean_type_metric_resamples_its_per_item_scores(comparison):
    analysis = analyze(comparison, baseline="main", n_resamples=300, seed=4, n_trials=500)
    st = analysis.stat("new", "rouge1")
    per_item = np.array(comparison.result("new", "rouge1").per_item)
    base_items = np.array(comparison.result("main", "rouge1").per_item)
    assert st.kind == "per-item mean"
    assert st.interval == bootstrap_ci(per_item, n_resamples=300, seed=4)
    assert st.test == paired_test(per_item, base_items, method="ar", n_resamples=500, seed=4)
    assert st.delta.value == pytest.approx(per_item.mean() - base_items.mean())
    assert (st.n_paired, st.n_excluded) == (5, 0)
    baseline = analysis.stat("main", "rouge1")
    assert baseline.test is None and baseline.delta is None and baseline.interval is not None


def test_without_baseline_only_intervals(comparison):
    analysis = analyze(comparison, n_resamples=50)
    assert all(st.test is None and st.interval is not None for st in analysis.stats.values())
    assert analysis.p_values() == {}


def test_signature_names_every_setting(comparison):
    analysis = analyze(comparison, baseline="main", n_resamples=50, seed=9, paired_test_method="bootstrap")
    assert analysis.signature == "ci:percentile|level:0.95|bs:50|seed:9|test:bootstrap|trials:50"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"baseline": "ghost"}, "baseline 'ghost' is not one of the systems"),
        ({"paired_test_method": "t"}, "unknown paired test 't'"),
        ({"n_resamples": 0}, "positive integer"),
        ({"n_resamples": True}, "positive integer"),
        ({"alpha": 0}, "alpha"),
        ({"n_trials": -3}, "trials"),
    ],
)
def test_bad_settings_are_config_errors(comparison, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        analyze(comparison, **kwargs)


def _comparison(results: dict[tuple[str, str], MetricResult], n_items: int) -> Comparison:
    systems = tuple(dict.fromkeys(s for s, _ in results))
    metrics = tuple(dict.fromkeys(m for _, m in results))
    return Comparison(systems=systems, metrics=metrics, results=results, n_items=n_items)


def _mauve(per_seed, seeds=(25, 26, 27, 28, 29)):
    return MetricResult(
        metric="mauve",
        value=float(np.mean(per_seed)),
        details={"per_seed": list(per_seed), "seeds": list(seeds)},
        n_scored=100,
        n_unscored=0,
        bounds=(0.0, 1.0),
    )


def test_mauve_statistics_stay_true_to_the_metric(tmp_path):
    """Defect 3 of the review: the demo printed weak 0.8560 [0.6616, 1.0503]
    and called degenerate (0.05 vs 1.00) 'no significant difference, p=0.06',
    a p-value five seeds can never go below."""
    from evalkit.reports.statistics import delta_cells, interval_cells
    from evalkit.stats.gates import evaluate, parse_rules

    results = {
        ("strong", "mauve"): _mauve([1.0] * 5),
        ("weak", "mauve"): _mauve([0.60, 0.99, 0.99, 0.70, 1.0]),
        ("degenerate", "mauve"): _mauve([0.05, 0.04, 0.06, 0.05, 0.05]),
    }
    analysis = analyze(_comparison(results, 100), baseline="strong")
    weak = analysis.stat("weak", "mauve")
    assert 0.0 <= weak.interval.low and weak.interval.high <= 1.0  # the t-interval alone would pass 1
    assert -1.0 <= weak.delta.low and weak.delta.high <= 1.0
    test = analysis.stat("degenerate", "mauve").test
    assert test.min_p_value == pytest.approx(2 / 32) and not test.can_reach(0.05)
    rows = dict((row[0], row[1]) for row in delta_cells(analysis)[1])
    assert "untestable" in rows["degenerate"] and "no significant" not in rows["degenerate"]
    assert "·" not in rows["degenerate"]
    assert "[" in dict((row[0], row[1]) for row in interval_cells(analysis)[1])["weak"]
    with pytest.raises(ConfigError, match=r"cannot reach p < 0.05 \(its smallest attainable p-value is 0.0625\)"):
        evaluate(
            parse_rules(["mauve < baseline - 0.01 (p<0.05)"]),
            values=analysis.gate_values(),
            baseline="strong",
            p_values=analysis.p_values(),
            min_p_values={k: t.min_p_value for k, t in analysis.tests().items()},
        )
    # a gate without (p<...) on the same metric still works
    outcomes = evaluate(parse_rules(["mauve < 0.5"]), values=analysis.gate_values(), baseline="strong")
    assert [o.passed for o in outcomes] == [True, False]


def test_mauve_gets_a_seed_interval_and_a_sign_flip_test():
    base = [0.90, 0.91, 0.92, 0.90, 0.91]
    new = [0.80, 0.81, 0.80, 0.82, 0.81]
    analysis = analyze(
        _comparison({("main", "mauve"): _mauve(base), ("new", "mauve"): _mauve(new)}, 100), baseline="main"
    )
    st = analysis.stat("new", "mauve")
    assert st.kind == "seeds" and "k-means seeds" in st.note
    assert st.interval.method == "t over 5 seeds"
    assert st.test.p_value == pytest.approx(2 / 32)  # five seeds cannot do better
    assert st.delta.value == pytest.approx(np.mean(new) - np.mean(base))


def test_mauve_with_other_seeds_is_not_paired():
    analysis = analyze(
        _comparison(
            {("main", "mauve"): _mauve([0.9] * 5), ("new", "mauve"): _mauve([0.8] * 5, seeds=(1, 2, 3, 4, 5))}, 100
        ),
        baseline="main",
    )
    st = analysis.stat("new", "mauve")
    assert st.test is None and "different seeds" in st.note


def test_a_headline_that_is_not_the_mean_gets_no_interval():
    results = {
        ("a", "custom"): MetricResult(metric="custom", value=0.9, per_item=(0.1, 0.2)),
        ("b", "custom"): MetricResult(metric="custom", value=0.8, per_item=(0.1, 0.3)),
    }
    analysis = analyze(_comparison(results, 2), baseline="a")
    st = analysis.stat("b", "custom")
    assert st.interval is None and st.test is None
    assert "not the mean of per-item scores" in st.note


def test_nothing_scored_means_no_interval_and_no_test():
    results = {
        ("a", "m"): MetricResult(metric="m", value=0.5, per_item=(0.5, None), unscored={1: "x"}),
        ("b", "m"): MetricResult(metric="m", value=None, per_item=(None, None), unscored={0: "x", 1: "x"}),
    }
    analysis = analyze(_comparison(results, 2), baseline="a")
    assert analysis.stat("b", "m").interval is None
    assert analysis.stat("b", "m").test is None


def test_columns_from_pairs_read_either_side():
    pairs = [
        {
            "system_a": "new",
            "system_b": "main",
            "win_rate": 0.3,
            "position_consistency": 0.8,
            "first_position_rate": 0.6,
        },
        {"system_a": "main", "system_b": "other", "win_rate": 0.7, "position_consistency": 0.5},
        {"system_a": "new", "system_b": "other", "win_rate": 0.5},
    ]
    values = {(c.system, c.metric): c.value for c in columns_from_pairs(pairs, baseline="main")}
    assert {k[1]: v for k, v in values.items() if k[0] == "new"} == {
        "win_rate": 0.3,
        "position_consistency": 0.8,
        "first_position_rate": 0.6,
    }
    assert values[("other", "win_rate")] == pytest.approx(0.3)  # 1 - 0.7: other's side
    assert not any(system == "main" for system, _ in values)
    # without a baseline a system with two opponents has no single win rate
    assert not any(c.system == "new" for c in columns_from_pairs(pairs, baseline=None))


def test_judge_values_reach_the_gates_and_per_item_scores_get_intervals(comparison):
    analysis = analyze(
        comparison,
        baseline="main",
        n_resamples=100,
        judge=[
            JudgeColumn("new", "win_rate", 0.375, (1.0, 0.0, 0.5, None, 0.0)),
            JudgeColumn("new", "position_consistency", 0.7),
        ],
    )
    values = analysis.gate_values()
    assert values["new"]["win_rate"] == 0.375 and values["new"]["rouge1"] is not None
    st = analysis.stat("new", "win_rate")
    assert st.n_excluded == 1 and st.interval.low <= 0.375 <= st.interval.high
    # an interval from per-item verdicts stays within [0, 1]
    assert 0.0 <= st.interval.low and st.interval.high <= 1.0
    assert analysis.stat("new", "position_consistency").interval is None
    assert analysis.judge_metrics == ("win_rate", "position_consistency")
