"""Length and style control (evalkit.judge.style_control): features counted on
crafted markdown, the logistic fits against closed forms, scipy and the MM
Bradley-Terry fit, judges with a known taste, unscored items, and the
bootstrap's intervals (seeded, by item, the same for the same answers under
another name)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scripted_server import Reply, user_text

from evalkit.judge.aggregate import ratings as mm_ratings
from evalkit.judge.logistic_fit import fit_logistic
from evalkit.judge.style_control import (
    COVARIATE_RIDGE,
    length_controlled_win_rate,
    style_control,
    style_controlled_ratings,
)
from evalkit.judge.style_features import (
    STYLE_FEATURES,
    answer_length,
    bold_count,
    header_count,
    list_item_count,
    normalized_difference,
    style_features,
)
from evalkit.judge.types import ItemVerdict
from tests.conftest import run_evalkit

# -- features ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "headers", "list_items", "bold"),
    [
        ("# Title\n## Sub\nText # not one\n####### seven is too many\n#no-space", 2, 0, 0),
        ("- a\n* b\n+ c\n1. d\n2) e\n-no space\n  - nested\n10. ten", 0, 7, 0),
        ("**bold** and __also__ and ** not** and x**y**z and **two words**", 0, 0, 4),
        ("```python\n# comment\n- not a list\n**not bold**\n```\n# Real header", 1, 0, 0),
        ("~~~\n# fenced with tildes\n~~~\n- item **b**", 0, 1, 1),
        ("```\n# an unclosed fence runs to the end\n- x", 0, 0, 0),
        ("", 0, 0, 0),
    ],
)
def test_markdown_features_are_counted_outside_code(text, headers, list_items, bold):
    assert (header_count(text), list_item_count(text), bold_count(text)) == (headers, list_items, bold)
    assert style_features(text) == {"length": len(text), "headers": headers, "list_items": list_items, "bold": bold}


def test_length_is_in_characters_for_every_script():
    assert [answer_length(t) for t in ("héllo wörld", "日本語です", "a\nb")] == [11, 5, 3]


@pytest.mark.parametrize(("a", "b", "expected"), [(300, 100, 0.5), (100, 300, -0.5), (0, 0, 0.0), (5, 0, 1.0)])
def test_normalized_difference(a, b, expected):
    assert normalized_difference(a, b) == expected


# -- the logistic fits -------------------------------------------------------------


def test_length_model_on_a_2x2_design_is_the_closed_form():
    # Two groups, x = +0.5 (mean verdict 0.75) and x = -0.5 (mean 0.5); without ridge the
    # saturated model fits both means: slope = logit(0.75) - logit(0.5) = ln 3, and the rate
    # at x = 0 is sigmoid(ln 3 / 2) = sqrt(3) / (1 + sqrt(3)). Ties (0.5) count as half a win.
    x = [0.5] * 4 + [-0.5] * 4
    rate, slope = length_controlled_win_rate(x, [1, 1, 1, 0, 1, 1, 0, 0], ridge=0.0)
    # (to 1e-6: the intercept keeps a ridge of 1e-6 so that a pair won on every item stays finite)
    assert slope == pytest.approx(math.log(3), abs=1e-6)
    assert rate == pytest.approx(math.sqrt(3) / (1 + math.sqrt(3)), abs=1e-6)
    rate_ties, slope_ties = length_controlled_win_rate([0.5, 0.5, -0.5, -0.5], [1, 0.5, 0.5, 0.5], ridge=0.0)
    assert slope_ties == pytest.approx(math.log(3), abs=1e-6)
    assert rate_ties == pytest.approx(math.sqrt(3) / (1 + math.sqrt(3)), abs=1e-6)


def _penalised_loss(beta, design, y, weights, penalty):
    z = design @ beta
    log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)
    return -np.sum(weights * (y * log_p + (1 - y) * log_q)) + 0.5 * np.sum(penalty * beta**2)


def test_newton_fit_matches_scipy_on_weighted_fractional_targets():
    rng = np.random.default_rng(3)
    n = 60
    design = np.column_stack([np.ones(n), rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)])
    y = rng.choice([0.0, 0.5, 1.0], size=n)
    weights = rng.multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    penalty = np.array([1e-6, COVARIATE_RIDGE, 0.5])
    ours = fit_logistic(design, y, weights, penalty)
    for row in range(3):
        ref = minimize(_penalised_loss, np.zeros(3), args=(design, y, weights[row], penalty), method="BFGS", tol=1e-12)
        assert ours[row] == pytest.approx(ref.x, abs=1e-5)


def test_style_controlled_ratings_match_scipy():
    games = [
        ("x", "y", 1.0, (0.4, 0.0, 0.5, 0.0)),
        ("x", "y", 1.0, (-0.2, 0.0, 0.0, 0.0)),
        ("x", "y", 0.0, (-0.6, 0.0, -1.0, 0.0)),
        ("y", "z", 0.5, (0.1, 0.0, 0.0, 1.0)),
        ("y", "z", 1.0, (0.3, 0.0, 0.2, 0.0)),
        ("x", "z", 1.0, (0.5, 0.0, 0.0, 0.0)),
        ("x", "z", 0.0, (0.2, 0.0, -0.5, -1.0)),
    ]
    systems = ["x", "y", "z"]
    rated, coefficients = style_controlled_ratings(games, systems)
    # The same model written out: theta_y, theta_z (theta_x = 0), four style coefficients; half a
    # virtual tie between every two systems; ridge 1e-6 on strengths, COVARIATE_RIDGE on style.
    rows, targets, weights = [], [], []
    for a, b, score, diffs in games + [(a, b, 0.5, (0.0,) * 4) for a, b in (("x", "y"), ("x", "z"), ("y", "z"))]:
        one_hot = [(s == a) - (s == b) for s in ("y", "z")]
        rows.append(one_hot + list(diffs))
        targets.append(score)
        weights.append(1.0 if len(rows) <= len(games) else 0.5)
    penalty = np.array([1e-6, 1e-6] + [COVARIATE_RIDGE] * 4)
    args = (np.array(rows, dtype=float), np.array(targets), np.array(weights), penalty)
    ref = minimize(_penalised_loss, np.zeros(6), args=args, method="BFGS", tol=1e-12).x
    theta = np.array([0.0, ref[0], ref[1]])
    expected = 1000 + 400 / math.log(10) * (theta - theta.mean())
    assert [rated[s] for s in systems] == pytest.approx(list(expected), abs=1e-3)
    assert [coefficients[f] for f in STYLE_FEATURES] == pytest.approx(list(ref[2:]), abs=1e-5)


# -- judges with a known taste -------------------------------------------------------


def _verdicts(pair, scores, *, p_wins=None):
    a, b = pair
    out = []
    for item, score in enumerate(scores):
        p_win = None if p_wins is None else p_wins[item]
        unscored = "judge answered nothing" if score is None else None
        out.append(ItemVerdict("pairwise", item, (a, b), (), score, p_win=p_win, unscored=unscored))
    return out


def _longer_wins(n=40):
    """system_a is longer on 28 items, shorter on 8, as long on 4; a judge that
    prefers the longer answer (and calls equal lengths a tie)."""
    a, b, scores = [], [], []
    for i in range(n):
        short, long = "w" * (40 + i % 9), "w" * (120 + 7 * (i % 5))
        if i < 28:
            a.append(long), b.append(short), scores.append(1.0)
        elif i < 36:
            a.append(short), b.append(long), scores.append(0.0)
        else:
            a.append(short), b.append(short), scores.append(0.5)
    return {"long": a, "other": b}, scores


def test_a_length_biased_judge_is_corrected():
    answers, scores = _longer_wins()
    result = style_control(_verdicts(("long", "other"), scores), answers, n_items=40, rate=False)
    pair = result.pair("long", "other")
    assert pair.raw_win_rate.value == (28 + 0.5 * 4) / 40  # 0.75
    assert pair.length_controlled_win_rate.value == pytest.approx(0.5, abs=0.02)
    assert pair.length_coefficient.value > 10
    assert pair.warnings and "outside the raw win rate's 95% interval" in pair.warnings[0]
    assert result.warnings == pair.warnings
    assert result.ratings is None


def test_a_length_blind_judge_is_left_alone():
    # Win share 0.75 whether system_a is longer (x = +0.5) or shorter (x = -0.5): no length effect.
    answers = {"a": ["w" * 30] * 4 + ["w" * 10] * 4, "b": ["w" * 10] * 4 + ["w" * 30] * 4}
    scores = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    pair = style_control(_verdicts(("a", "b"), scores), answers, n_items=8, rate=False).pairs[0]
    assert pair.raw_win_rate.value == 0.75
    assert pair.length_controlled_win_rate.value == pytest.approx(0.75, abs=1e-6)
    assert pair.length_coefficient.value == pytest.approx(0.0, abs=1e-6)
    assert pair.warnings == ()


def test_reconcile_average_uses_p_win_as_the_target():
    answers = {"a": ["w" * 30] * 4 + ["w" * 10] * 4, "b": ["w" * 10] * 4 + ["w" * 30] * 4}
    p_wins = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    scores = [1.0] * 4 + [0.0] * 4
    pair = style_control(_verdicts(("a", "b"), scores, p_wins=p_wins), answers, n_items=8, probabilities=True).pairs[0]
    assert pair.raw_win_rate.value == pytest.approx(0.5, abs=1e-12)  # the mean p_win, not the 0.5 win rate by chance
    rate, slope = length_controlled_win_rate([0.5] * 4 + [-0.5] * 4, p_wins)
    assert (pair.length_controlled_win_rate.value, pair.length_coefficient.value) == (rate, slope)
    assert rate == pytest.approx(0.5, abs=1e-6) and slope == pytest.approx(2 * math.log(0.75 / 0.25), abs=1e-2)


def test_unscored_items_are_left_out_and_counted():
    answers, scores = _longer_wins()
    with_gaps = [None if i in (3, 17, 30) else s for i, s in enumerate(scores)]
    full = style_control(_verdicts(("long", "other"), scores), answers, n_items=40, rate=False).pairs[0]
    gaps = style_control(_verdicts(("long", "other"), with_gaps), answers, n_items=40, rate=False).pairs[0]
    assert (gaps.n, gaps.unscored, full.n, full.unscored) == (37, 3, 40, 0)
    kept = [s for s in with_gaps if s is not None]
    assert gaps.raw_win_rate.value == sum(kept) / len(kept)  # never a zero for the unscored
    x = [normalized_difference(len(answers["long"][i]), len(answers["other"][i])) for i in range(40)]
    rate, slope = length_controlled_win_rate([v for v, s in zip(x, with_gaps) if s is not None], kept)
    assert (gaps.length_controlled_win_rate.value, gaps.length_coefficient.value) == (rate, slope)


def test_a_missing_answer_is_unscored_not_a_zero():
    answers = {"a": ["w" * 30, None, "w" * 10, "w" * 10], "b": ["w" * 10, "w" * 10, "w" * 30, "w" * 30]}
    items = _verdicts(("a", "b"), [1.0, 0.0, 0.0, 1.0])
    items[1] = ItemVerdict("pairwise", 1, ("a", "b"), (), None, unscored="missing answer of a")
    pair = style_control(items, answers, n_items=4, rate=False).pairs[0]
    assert (pair.n, pair.unscored, pair.raw_win_rate.value) == (3, 1, pytest.approx(2 / 3))


def _three_systems(n=30):
    """x uses a list on 2/3 of the items, y on 1/3, z never; every answer has 9
    characters; the judge prefers the answer with a list (a tie otherwise)."""
    listed = {"x": lambda i: i % 3 != 0, "y": lambda i: i % 3 == 0, "z": lambda i: False}
    answers = {s: ["- aa\n- bb" if uses(i) else "xx aa bb." for i in range(n)] for s, uses in listed.items()}
    items = []
    for a, b in (("x", "y"), ("x", "z"), ("y", "z")):
        scores = [0.5 + 0.5 * (listed[a](i) - listed[b](i)) for i in range(n)]
        items += _verdicts((a, b), scores)
    return items, answers


def test_a_list_loving_judge_gets_a_list_coefficient_and_level_ratings():
    items, answers = _three_systems()
    result = style_control(items, answers, n_items=30)
    assert result.ratings is not None
    raw = {r.system: r.raw_rating.value for r in result.ratings}
    controlled = {r.system: r.rating.value for r in result.ratings}
    assert raw["x"] > raw["y"] > raw["z"] and raw["x"] - raw["z"] > 200
    assert max(controlled.values()) - min(controlled.values()) < 5
    assert result.coefficients["list_items"].value > 5
    # Lengths are equal and nothing has headers or bold: their coefficients stay at zero.
    assert [result.coefficients[f].value for f in ("length", "headers", "bold")] == [0.0, 0.0, 0.0]
    assert any(w.startswith("x: the style-controlled rating") for w in result.warnings)


def test_a_style_only_one_system_uses_is_credited_to_the_style():
    # x answers with a list every time, y and z never; the judge prefers x every time. The data
    # cannot tell x's quality from its lists; the prior (half a tie between every two systems, at
    # zero style difference) tips the fit to the style, as docs/judge.md warns.
    n = 30
    answers = {"x": ["- aa\n- bb"] * n, "y": ["xx aa bb."] * n, "z": ["xx aa bb."] * n}
    items = _verdicts(("x", "y"), [1.0] * n) + _verdicts(("x", "z"), [1.0] * n) + _verdicts(("y", "z"), [0.5] * n)
    result = style_control(items, answers, n_items=n)
    assert result.ratings is not None
    by_name = {r.system: r for r in result.ratings}
    assert by_name["x"].raw_rating.value > 1500 and abs(by_name["x"].rating.value - 1000) < 10
    assert result.coefficients["list_items"].value > 5


def test_all_unscored_pairs_have_no_numbers_and_no_warnings():
    items = _verdicts(("a", "b"), [None] * 5)
    result = style_control(items, {"a": ["x"] * 5, "b": ["yy"] * 5}, n_items=5)
    pair = result.pairs[0]
    assert (pair.n, pair.unscored, pair.warnings) == (0, 5, ())
    assert pair.to_dict()["length_controlled_win_rate"] is None and pair.to_dict()["raw_win_rate_ci"] is None


def test_raw_ratings_are_the_mm_bradley_terry_ratings():
    items, answers = _three_systems()
    result = style_control(items, answers, n_items=30)
    games = [(i.systems[0], i.systems[1], i.score) for i in items if i.score is not None]
    expected = {r.system: r.rating for r in mm_ratings(games)}
    assert result.ratings is not None
    assert {r.system: r.raw_rating.value for r in result.ratings} == pytest.approx(expected, abs=1e-4)


# -- bootstrap intervals -------------------------------------------------------------


def _estimates(result):
    out = []
    for p in result.pairs:
        out += [p.raw_win_rate, p.length_controlled_win_rate, p.length_coefficient]
    for r in result.ratings or ():
        out += [r.rating, r.raw_rating]
    return out + list(result.coefficients.values())


def test_intervals_contain_the_estimates_and_are_deterministic_per_seed():
    items, answers = _three_systems()
    first = style_control(items, answers, n_items=30, seed=7)
    assert first == style_control(items, answers, n_items=30, seed=7)
    other = style_control(items, answers, n_items=30, seed=8)
    assert [e.ci for e in _estimates(first)] != [e.ci for e in _estimates(other)]
    assert first.rounds == 1000
    for estimate in _estimates(first):
        assert estimate.low <= estimate.value + 1e-9 and estimate.value <= estimate.high + 1e-9, estimate


def _numbers(pair):
    """A pair's summary.json fields but the warnings (which name the systems)."""
    fields = pair.to_dict()
    fields["warnings"] = len(fields["warnings"])
    return fields


def test_identical_answers_under_another_name_get_identical_intervals():
    # Arena-Hard issue #8: the same answers under two names got different intervals.
    items, answers = _three_systems()
    twin_answers = {**answers, "z2": list(answers["z"])}
    twin_items = list(items)
    for a in ("x", "y"):
        twin_items += [ItemVerdict("pairwise", i.item, (a, "z2"), (), i.score) for i in items if i.systems == (a, "z")]
    twin_items += _verdicts(("z", "z2"), [0.5] * 30)  # the same answers: a tie each time
    result = style_control(twin_items, twin_answers, n_items=30)
    for a in ("x", "y"):
        assert _numbers(result.pair(a, "z")) == _numbers(result.pair(a, "z2"))  # exactly
    assert result.ratings is not None
    by_name = {r.system: r for r in result.ratings}
    for field in ("rating", "raw_rating"):
        z, z2 = getattr(by_name["z"], field), getattr(by_name["z2"], field)
        assert (z2.value, z2.low, z2.high) == pytest.approx((z.value, z.low, z.high), abs=1e-6)
    renamed_answers = {("renamed" if s == "z" else s): a for s, a in answers.items()}
    renamed_items = [
        ItemVerdict("pairwise", i.item, tuple("renamed" if s == "z" else s for s in i.systems), (), i.score)
        for i in items
    ]
    original = style_control(items, answers, n_items=30)
    renamed = style_control(renamed_items, renamed_answers, n_items=30)
    assert _numbers(renamed.pair("x", "renamed")) == _numbers(original.pair("x", "z"))
    assert renamed.coefficients == original.coefficients


def test_a_thousand_refits_of_three_pairs_over_300_items_take_well_under_two_seconds_of_cpu():
    # CPU time, not wall time: the shared machine's load stretches the latter. Measured here
    # (benchmarks/bench_style_control.py) at about 0.03 s per pair's 1,000 length refits and
    # 0.5 s for everything below; a fit per round instead (scikit-learn) takes about 5 s per pair.
    import time

    rng = np.random.default_rng(0)
    n = 300
    answers = {s: ["word " * int(rng.integers(5, 120)) for _ in range(n)] for s in ("a", "b", "c")}
    items = []
    for a, b in (("a", "b"), ("a", "c"), ("b", "c")):
        x = [normalized_difference(len(answers[a][i]), len(answers[b][i])) for i in range(n)]
        items += _verdicts((a, b), [float(rng.uniform() < 1 / (1 + math.exp(-6 * v))) for v in x])
    started = time.process_time()
    result = style_control(items, answers, n_items=n, rounds=1000)
    assert time.process_time() - started < 2.0
    assert all(p.length_coefficient.value > 3 for p in result.pairs)  # the simulated bias, recovered


# -- end to end: evalkit judge pairwise against a scripted, length-biased judge ----------


def _between(text, label):
    return text.split(f"[The Start of Assistant {label}'s Answer]")[1].split(
        f"[The End of Assistant {label}'s Answer]"
    )[0]


def _longer_answer_wins(request, n):
    """A judge that reads only the answers' lengths: the longer one wins, equal lengths tie."""
    text = user_text(request)
    a, b = len(_between(text, "A")), len(_between(text, "B"))
    return Reply("[[A]]" if a > b else "[[B]]" if b > a else "[[C]]")


def _length_data(tmp_path, n=24):
    """long is 3x, mid 2x, short 1x a base length, except every 6th item (short is
    the longest: long and short swap) and every 6th+1 (all the same length)."""
    texts = {"long": [], "mid": [], "short": []}
    for i in range(n):
        base = 8 + i % 5
        sizes = {"long": 3 * base, "mid": 2 * base, "short": base}
        if i % 6 == 4:
            sizes["long"], sizes["short"] = sizes["short"], sizes["long"]
        if i % 6 == 5:
            sizes = dict.fromkeys(sizes, base)
        for name, size in sizes.items():
            texts[name].append(" ".join(f"w{j % 10}" for j in range(size)))
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(n)))
    args = ["--prompts", tmp_path / "prompts.txt"]
    for name, lines in texts.items():
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n")
        args += ["--system", f"{name}={tmp_path / f'{name}.txt'}"]
    return args


def _judge(tmp_path, server, *extra):
    out = tmp_path / "out"
    result = run_evalkit(
        "judge", "pairwise", *_length_data(tmp_path), "--base-url", server.base_url, "--model", "judge",
        "--template", "mt-bench-pairwise", "--cache", tmp_path / "c.sqlite", "--out", out, *extra,
    )  # fmt: skip
    return result, out


def test_evalkit_judge_recovers_a_length_bias(scripted, tmp_path):
    server = scripted(_longer_answer_wins)
    result, out = _judge(tmp_path, server)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    for pair in summary["pairs"]:
        # 16 items longer (wins), 4 shorter (losses), 4 as long (ties) for every pair
        assert (pair["wins"], pair["losses"], pair["ties"]) == (16, 4, 4)
        assert pair["raw_win_rate"] == pair["win_rate"] == 0.75
        assert pair["length_controlled_win_rate"] == pytest.approx(0.5, abs=0.03)  # as docs/judge.md shows
        assert pair["length_coefficient"] > 10
        low, high = pair["length_controlled_win_rate_ci"]
        assert low <= pair["length_controlled_win_rate"] <= high
        assert pair["raw_win_rate_ci"][0] <= 0.75 <= pair["raw_win_rate_ci"][1]
        assert (pair["length_control_n"], pair["length_control_unscored"]) == (24, 0)
    assert any("follow answer length" in w for p in summary["pairs"] for w in p["warnings"])
    style = summary["style_controlled_ratings"]
    assert style["coefficients"]["length"]["value"] > 10 and style["rounds"] == 1000
    raw = {r["system"]: r["raw_rating"] for r in style["ratings"]}
    assert raw == pytest.approx({r["system"]: r["rating"] for r in summary["ratings"]}, abs=1e-4)
    controlled = [r["rating"] for r in style["ratings"]]
    assert max(controlled) - min(controlled) < 11 and max(raw.values()) - min(raw.values()) > 250
    report = (out / "report.md").read_text()
    assert "Length and style control" in report and "**Warning:** long vs short" in report
    assert "Length and style control" in result.stdout  # the terminal shows the same section


def test_no_style_control_leaves_it_out_and_too_few_rounds_is_an_input_error(scripted, tmp_path):
    server = scripted(_longer_answer_wins)
    result, out = _judge(tmp_path, server, "--no-style-control")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["style_controlled_ratings"] is None and "length_controlled_win_rate" not in summary["pairs"][0]
    assert "Length and style control" not in (out / "report.md").read_text()
    result, _ = _judge(tmp_path, server, "--style-control-rounds", "100")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "style_control_rounds = '100': Input should be greater than or equal to 1000" in result.stderr


def test_run_judge_with_logprobs_and_average_fits_the_reconciled_p_win(scripted, tmp_path):
    from evalkit.judge.run import run_judge
    from evalkit.judge.types import JudgeInputs, JudgeSettings

    def script(request, n):
        # P(first answer wins): 0.8 when it is the longer one, 0.3 when it is the shorter one.
        text = user_text(request)
        p_a = 0.8 if len(_between(text, "A")) > len(_between(text, "B")) else 0.3
        return Reply("A", top_logprobs=[("A", math.log(p_a)), ("B", math.log(1 - p_a))], finish_reason="length")

    # x is longer (30 against 10 characters: x = +0.5) on items 0-3 and shorter on 4-5, so the
    # reconciled P(x wins) is (0.8 + 0.7) / 2 = 0.75 on the first four and (0.3 + 0.2) / 2 = 0.25 after.
    answers = {"x": ["w" * 30] * 4 + ["w" * 10] * 2, "y": ["w" * 10] * 4 + ["w" * 30] * 2}
    settings = JudgeSettings(
        base_url=scripted(script).base_url, model="judge", template="mt-bench-pairwise", protocol="logprobs",
        reconcile="average", cache=str(tmp_path / "c.sqlite"),
    )  # fmt: skip
    run = run_judge(settings, JudgeInputs.of([f"q{i}" for i in range(6)], answers), mode="pairwise")
    assert run.style_control is not None
    pair = run.style_control.pair("x", "y")
    assert pair.raw_win_rate.value == pytest.approx(run.pair("x", "y").mean_p_win) == pytest.approx(3.5 / 6)
    # Saturated at two points x = +-0.5: intercept 0 (rate 0.5) and slope logit(0.75) / 0.5 = 2 ln 3,
    # up to the slope's ridge of 0.001.
    assert pair.length_controlled_win_rate.value == pytest.approx(0.5, abs=1e-3)
    assert pair.length_coefficient.value == pytest.approx(2 * math.log(3), abs=1e-2)
    assert run.style_control.ratings is None  # two systems: no ratings, as without style control
