"""``--repeats K``: distinct seeds and cache keys, the majority verdict, and the
stability fields (flip rate, Fleiss' kappa, pass^k) recovered from a scripted
judge that flips with a known probability."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from fractions import Fraction

import pytest
from scripted_server import Reply, user_text
from test_judge_cli import data, evalkit
from test_judge_in_run import _config, prefers_good

from evalkit.judge.aggregate import combine_repeats
from evalkit.judge.repeats import fleiss_kappa, majority, stability
from evalkit.judge.run import run_judge
from evalkit.judge.types import ItemOutcome, JudgeInputs, JudgeSettings

NONCE = "fixednonce01"


def _rng(request) -> random.Random:
    """A generator fixed by the call's text and seed: the same call gets the same answer."""
    text = user_text(request) + f"|seed={request.get('seed')}"
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def flipping_judge(q: float):
    """Pairwise, one order: the better answer is x's on even items and y's on
    odd ones; each call names the other one with probability ``q``."""

    def script(request, n):
        item = int(re.search(r"question (\d+)", user_text(request)).group(1))
        right = "[[A]]" if item % 2 == 0 else "[[B]]"
        wrong = "[[B]]" if right == "[[A]]" else "[[A]]"
        return Reply(wrong if _rng(request).random() < q else right)

    return script


def settings(server, tmp_path, **options):
    options.setdefault("template", "mt-bench-pairwise")
    options.setdefault("cache", str(tmp_path / "c.sqlite"))
    return JudgeSettings(base_url=server.base_url, model="judge", **options)


def inputs(n, systems=("x", "y")):
    return JudgeInputs.of(
        [f"question {i}" for i in range(n)], {s: [f"answer of {s} to question {i}" for i in range(n)] for s in systems}
    )


def test_a_judge_that_flips_with_a_known_probability_is_recovered(scripted, tmp_path):
    q, k, n = 0.2, 3, 200
    server = scripted(flipping_judge(q))
    run = run_judge(settings(server, tmp_path, repeats=k, swap=False), inputs(n), mode="pairwise", nonce=NONCE)
    assert server.chat_requests == n * k
    (pair,) = run.pairs
    flip = 2 * q * (1 - q)  # two repeats of an item disagree
    pass_k = q**k + (1 - q) ** k  # all k agree
    kappa = (1 - flip - 0.5) / 0.5  # half the items go each way: chance agreement 0.5
    se_flip = math.sqrt(flip * (1 - flip) / n)
    se_pass = math.sqrt(pass_k * (1 - pass_k) / n)
    assert pair.repeats == k
    assert abs(pair.flip_rate - flip) < 3 * se_flip
    assert abs(pair.pass_k - pass_k) < 3 * se_pass
    assert abs(pair.repeat_agreement - kappa) < 6 * se_flip  # kappa = 2 (1 - flip) - 1 here
    items = run.pair_items("x", "y")
    assert sum(i.flipped for i in items) == round((1 - pair.pass_k) * n)
    # the majority of three is wrong only when two or three calls flipped
    majority_wrong = 3 * q**2 * (1 - q) + q**3
    wrong = sum(1 for i in items if i.outcome != ("win" if i.item % 2 == 0 else "loss"))
    assert abs(wrong / n - majority_wrong) < 3 * math.sqrt(majority_wrong * (1 - majority_wrong) / n)


def test_repeats_have_distinct_seeds_and_keys_and_a_rerun_costs_nothing(scripted, tmp_path):
    server = scripted(flipping_judge(0.5))
    cfg = dict(repeats=3, swap=False)
    first = run_judge(settings(server, tmp_path, **cfg), inputs(4), mode="pairwise", nonce=NONCE)
    assert server.chat_requests == 12
    seeds = sorted((r.get("seed") is None, r.get("seed") or 0) for r in server.requests if "question" in user_text(r))
    assert [s for _, s in seeds] == [1] * 4 + [2] * 4 + [0] * 4  # repeat 0 sends no seed, as a run without repeats
    keys = [c.call.key for i in first.items for c in i.calls]
    assert len(set(keys)) == 12

    again = run_judge(settings(server, tmp_path, **cfg), inputs(4), mode="pairwise")
    assert server.chat_requests == 12 and again.stats.cache_hits == 12
    assert [i.repeat_verdicts for i in again.items] == [i.repeat_verdicts for i in first.items]

    more = run_judge(settings(server, tmp_path, repeats=4, swap=False), inputs(4), mode="pairwise")
    assert server.chat_requests == 16 and more.stats.cache_hits == 12  # only the fourth repeat is sent
    one = run_judge(settings(server, tmp_path, swap=False), inputs(4), mode="pairwise")
    assert server.chat_requests == 16 and one.stats.cache_hits == 4  # repeat 0 is a plain run's call
    assert {c.call.key for i in one.items for c in i.calls} == {
        c.call.key for i in first.items for c in i.calls if c.repeat == 0
    }


def test_with_a_seed_the_repeats_send_seed_plus_r(scripted, tmp_path):
    server = scripted(flipping_judge(0.0))
    run_judge(settings(server, tmp_path, repeats=3, seed=40), inputs(1), mode="pairwise")
    assert sorted(r["seed"] for r in server.requests if "question" in user_text(r)) == [40, 40, 41, 41, 42, 42]


def test_dry_run_and_cost_count_repeats(scripted, tmp_path):
    server = scripted(flipping_judge(0.0))
    plan = settings(server, tmp_path, repeats=3, dry_run=True)
    estimate = run_judge(plan, inputs(5), mode="pairwise").estimate
    assert (estimate.calls, estimate.cached, estimate.to_send) == (30, 0, 30)  # 5 items x 2 orders x 3 repeats
    run_judge(settings(server, tmp_path, repeats=2), inputs(5), mode="pairwise")
    estimate = run_judge(plan, inputs(5), mode="pairwise").estimate
    assert (estimate.calls, estimate.cached, estimate.to_send) == (30, 20, 10)
    assert server.chat_requests == 20

    # the cost counts every repeat: 5 items x 2 orders x 3 repeats, 100 + 10 tokens each
    priced = run_judge(settings(server, tmp_path, repeats=3, price="1,1", cache=False), inputs(5), mode="pairwise")
    assert (priced.stats.prompt_tokens, priced.stats.completion_tokens) == (3000, 300)
    assert priced.stats.cost == pytest.approx(3300 / 1_000_000)


def test_the_explorer_shows_every_repeat_call_and_the_run_s_outcome(scripted, tmp_path):
    from evalkit.judge.report import judgment_records
    from evalkit.reports.explorer import judge_item

    server = scripted(flipping_judge(0.3))
    run = run_judge(settings(server, tmp_path, repeats=3), inputs(20), mode="pairwise", nonce=NONCE)
    shown = [judge_item(v) for v in run.items]
    assert [(i.item, i.outcome, i.consistent) for i in shown] == [
        (i.item, i.outcome, i.consistent) for i in run.pair_items("x", "y")
    ]
    assert [len(i.calls) for i in shown] == [6] * 20  # 2 orders x 3 repeats
    records = judgment_records(run)
    assert [(c.order, c.verdict) for i in shown for c in i.calls] == [(r["order"], r["verdict"]) for r in records]
    assert any(i.flipped for i in run.items)  # the repeats did disagree somewhere


def test_single_mode_repeats_give_the_mean_the_spread_and_the_stability(scripted, tmp_path):
    # Seeds None and 2 grade 7, seed 1 grades 5: every item's repeats are 7, 5, 7.
    server = scripted(lambda request, n: Reply("[[5]]" if request.get("seed") == 1 else "[[7]]"))
    s = settings(server, tmp_path, template="mt-bench-single", repeats=3)
    run = run_judge(s, JudgeInputs.of(["q1", "q2"], {"x": ["a", "b"]}), mode="single")
    (summary,) = run.singles
    assert [i.score for i in run.items] == [pytest.approx(19 / 3)] * 2
    assert [(i.repeat_verdicts, i.agreement, i.flipped, i.spread) for i in run.items] == [
        (("7", "5", "7"), pytest.approx(2 / 3), True, 2.0)
    ] * 2
    # P_i = (2*1 + 0) / (3*2) = 1/3; shares 2/3 and 1/3, chance 5/9; kappa = (1/3 - 5/9) / (4/9) = -1/2
    assert summary.flip_rate == pytest.approx(2 / 3)
    assert summary.repeat_agreement == pytest.approx(-0.5)
    assert summary.pass_k == 0.0 and summary.mean_spread == 2.0
    assert summary.histogram["7"] == 2  # the majority grade


# -- pure functions --------------------------------------------------------------------


def test_fleiss_kappa_by_hand():
    table = [[3, 0], [0, 3], [2, 1], [1, 2]]
    observed = (1 + 1 + Fraction(1, 3) + Fraction(1, 3)) / 4  # P_i = sum n(n-1) / (3*2)
    chance = Fraction(1, 2) ** 2 * 2  # each category has 6 of the 12 ratings
    assert fleiss_kappa(table) == pytest.approx(float((observed - chance) / (1 - chance)))  # 1/3
    assert fleiss_kappa([[2, 0], [2, 0]]) is None  # one category only: undefined
    with pytest.raises(ValueError):
        fleiss_kappa([[2, 0], [1, 2]])


def test_fleiss_kappa_on_the_published_example():
    # Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 items, 14 raters, 5 categories.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)


def test_majority_and_stability_by_hand():
    assert majority(["tie", "win", "win", "loss"]) == ("win", 0.5, True)
    assert majority(["win", "loss", "tie"]) == ("tie", pytest.approx(1 / 3), True)
    assert majority([]) == (None, None, None)
    found = stability(2, [["win", "win"], ["win", "loss"], ["loss", "loss"], ["win", None]])
    # the item with an unscored repeat is left out; one of three complete items disagrees
    assert (found.n_complete, found.flip_rate, found.pass_k) == (3, pytest.approx(1 / 3), pytest.approx(2 / 3))
    # P̄ = 2/3; shares win 3/6, loss 3/6: chance 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3
    assert found.repeat_agreement == pytest.approx(1 / 3)


def test_combine_repeats_majority_tie_and_average():
    win, loss = ItemOutcome("win", True, 0.9), ItemOutcome("loss", True, 0.3)
    assert combine_repeats([win, loss]).outcome == "tie"
    assert combine_repeats([win, loss], mode="average") == ItemOutcome("win", True, pytest.approx(0.6))
    assert combine_repeats([win, ItemOutcome(None, None, None, "timeout")]).outcome == "win"
    unscored = combine_repeats([ItemOutcome(None, None, None, "timeout")] * 2)
    assert (unscored.outcome, unscored.unscored) == (None, "timeout")


# -- the command line and the gate ------------------------------------------------------


def test_cli_reports_stability_and_a_run_config_gates_on_flip_rate(scripted, tmp_path):
    server = scripted(flipping_judge(0.3))
    out = tmp_path / "out"
    args = [*data(tmp_path, n=12), "--base-url", server.base_url, "--model", "judge", "--template", "mt-bench-pairwise"]
    result = evalkit("judge", "pairwise", *args, "--repeats", "3", "--cache", tmp_path / "c.sqlite", "--out", out)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    (pair,) = summary["pairs"]
    assert summary["repeats"] == 3 and pair["repeats"] == 3
    assert 0 < pair["flip_rate"] <= 1 and pair["pass_k"] < 1
    assert "Stability over 3 repeats" in result.stdout and "pass^3" in (out / "report.md").read_text()
    records = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert sorted({r["repeat"] for r in records}) == [0, 1, 2] and len(records) == 12 * 2 * 3
    for r in records:  # every call carries its item's agreement over the three repeats
        assert r["item_agreement"] in (pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0)
        assert r["item_flipped"] == (r["item_agreement"] < 1)


def test_a_run_config_gates_on_the_flip_rate(scripted, tmp_path):
    def flaky(request, n):
        if _rng(request).random() < 0.3:
            return Reply("[[B]]")
        return prefers_good(request, n)

    server = scripted(flaky)
    config = _config(tmp_path, server.base_url, judge_extra="repeats = 3", fail_if="flip_rate > 0.1")
    result = evalkit("run", config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"flip_rate of 'mixed' = [0-9.]+, bound > 0.1: FAILED", result.stdout + result.stderr)
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert all(p["flip_rate"] > 0.1 for p in summary["pairs"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Judge stability and canaries" in page and "<th>pass^3</th>" in page
    for p in summary["pairs"]:
        assert f"<td>{p['system_a']} vs {p['system_b']}</td><td>{p['flip_rate']:.4f}</td>" in page

    steady = scripted(prefers_good)
    config = _config(tmp_path, steady.base_url, judge_extra="repeats = 3", fail_if="flip_rate > 0.1")
    result = evalkit("run", config)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the real local judge ---------------------------------------------------------------


@pytest.mark.local_judge
def test_local_judge_with_two_repeats(local_judge, tmp_path):
    from test_judge_local import PROMPTS, SYSTEMS, local_run

    options = dict(template="mt-bench-pairwise", protocol="grammar", repeats=2, temperature=1.0, seed=11)
    run = local_run(local_judge, tmp_path, **options)
    assert run.stats.calls == 8  # 2 items x 2 orders x 2 repeats
    assert run.stats.requests_sent == 8 + run.stats.probe_requests
    from evalkit.judge.report import judgment_records

    records = judgment_records(run)
    assert sorted((r["item"], r["order"], r["repeat"]) for r in records) == sorted(
        (i, o, r) for i in range(2) for o in ("ab", "ba") for r in range(2)
    )
    # each repeat's outcome recomputed from its two raw verdicts: agree -> that outcome, else a tie
    side = {("ab", "first"): "win", ("ab", "second"): "loss", ("ba", "first"): "loss", ("ba", "second"): "win"}
    per_item: dict[int, list[str]] = {}
    for item in range(2):
        for repeat in range(2):
            both = [
                side.get((r["order"], r["meaning"]), "tie")
                for r in records
                if (r["item"], r["repeat"]) == (item, repeat)
            ]
            per_item.setdefault(item, []).append(both[0] if both[0] == both[1] else "tie")
    (pair,) = run.pairs
    assert [i.repeat_verdicts for i in run.pair_items("good", "bad")] == [tuple(per_item[0]), tuple(per_item[1])]
    assert pair.repeats == 2
    assert pair.flip_rate == pytest.approx(sum(a != b for a, b in per_item.values()) / 2)
    assert pair.pass_k == pytest.approx(1 - pair.flip_rate)  # with two repeats, the same thing
    again = local_run(local_judge, tmp_path, **options)
    assert again.stats.requests_sent == 0 and again.stats.cache_hits == 8
    assert len(PROMPTS) == 2 and set(SYSTEMS) == {"good", "bad"}
