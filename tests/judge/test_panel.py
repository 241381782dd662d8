"""Panels of judges and cascades, end to end through ``evalkit judge`` against
scripted judges with known behaviour, and the pure pooling and agreement
functions against hand computations."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from scripted_server import Reply
from test_judge_cli import evalkit

from evalkit.judge.pooling import krippendorff_alpha, pool_pair_item, pool_single_item, settled
from evalkit.judge.types import ItemVerdict

ANSWER = re.compile(r"<<<ANSWER_([AB]) \w+>>>\n(.*?)\n<<<END ANSWER_\1")

# x answers well on items 0-2, y on item 3.
X = ["good 0", "good 1", "good 2", "bad 3"]
Y = ["bad 0", "bad 1", "bad 2", "good 3"]


def shown(request):
    """(answer shown first, answer shown second) of a judge request."""
    found = dict(ANSWER.findall(request["messages"][-1]["content"]))
    return found["A"], found["B"]


def fair(request, n):
    """Picks the answer that says "good", in either order."""
    first, _ = shown(request)
    return Reply("[[A]]" if first.startswith("good") else "[[B]]")


def always_first(request, n):
    return Reply("[[A]]")


def write_data(tmp_path):
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(4)))
    (tmp_path / "x.txt").write_text("\n".join(X) + "\n")
    (tmp_path / "y.txt").write_text("\n".join(Y) + "\n")
    return ["--prompts", tmp_path / "prompts.txt", "--system", f"x={tmp_path / 'x.txt'}"] + [
        "--system",
        f"y={tmp_path / 'y.txt'}",
    ]


def write_panel(tmp_path, servers, names):
    entries = [
        f'[[judge]]\nname = "{name}"\nbase_url = "{s.base_url}"\nmodel = "m-{name}"\ntemplate = "mt-bench-pairwise"\n'
        for name, s in zip(names, servers)
    ]
    path = tmp_path / "panel.toml"
    path.write_text("\n".join(entries))
    return path


def run_panel_cli(tmp_path, servers, names, *extra):
    out = tmp_path / "out"
    panel = write_panel(tmp_path, servers, names)
    result = evalkit(
        "judge", "pairwise", *write_data(tmp_path), "--panel", panel, "--cache", tmp_path / "c.sqlite",
        "--out", out, *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((out / "summary.json").read_text()), out, result


def test_each_judge_keeps_its_own_bias_and_majority_pooling_ties(scripted, tmp_path):
    servers = [scripted(always_first), scripted(fair)]
    summary, out, result = run_panel_cli(tmp_path, servers, ["biased", "fair"], "--pool", "majority")
    judges = {j["name"]: j["pairs"][0] for j in summary["panel"]["judges"]}
    # the first-position judge: every verdict picks the first answer, no item agrees after the swap
    assert (judges["biased"]["first_position_rate"], judges["biased"]["position_consistency"]) == (1.0, 0.0)
    assert (judges["biased"]["ties"], judges["biased"]["win_rate"]) == (4, 0.5)
    # the fair judge: half its verdicts pick the first answer, all agree; x wins 3 of 4
    assert (judges["fair"]["first_position_rate"], judges["fair"]["position_consistency"]) == (0.5, 1.0)
    assert (judges["fair"]["wins"], judges["fair"]["losses"], judges["fair"]["win_rate"]) == (3, 1, 0.75)
    # majority of [tie, win] is a tie (one vote each): every pooled item is a tie
    (pooled,) = summary["pairs"]
    assert (pooled["ties"], pooled["win_rate"], pooled["mean_p_win"]) == (4, 0.5, pytest.approx(0.625))
    # Krippendorff's nominal alpha of [tie x4] vs [win, win, win, loss]: 1 - 1 / (38/56) = -9/19
    agreement = summary["panel"]["inter_judge_agreement"]
    assert (agreement["level"], agreement["units"]) == ("nominal", 4)
    assert agreement["alpha"] == pytest.approx(-9 / 19)
    assert servers[0].chat_requests == servers[1].chat_requests == 8
    # each judge's own report, and the panel's section on the terminal
    assert json.loads((out / "fair" / "summary.json").read_text())["pairs"][0]["win_rate"] == 0.75
    assert "LLM judge panel (pairwise, pool `majority`, 2 judges)" in result.stdout
    lines = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert [(r["pooled"]["outcome"], r["judges"]["fair"]["outcome"]) for r in lines] == [
        ("tie", "win"),
        ("tie", "win"),
        ("tie", "win"),
        ("tie", "loss"),
    ]


def uniform(request, salt):
    """A number in [0, 1) fixed by the request's text: the same call draws the same number."""
    digest = hashlib.sha256((salt + request["messages"][-1]["content"]).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def biased(towards, p_bias, salt):
    """Picks the answer shown ``towards`` ("first"/"second") with probability
    ``p_bias``, else the good answer."""

    def script(request, n):
        if uniform(request, salt) < p_bias:
            return Reply("[[A]]" if towards == "first" else "[[B]]")
        return fair(request, n)

    return script


def test_two_judges_with_known_random_biases_are_recovered(scripted, tmp_path):
    """Judge 1 picks the first answer with probability 0.8 (else the good one):
    P(first) = 0.8 + 0.2 / 2 = 0.9, and an item is consistent only when the
    order with the bad answer first is not biased: 0.2. Judge 2 picks the
    second with probability 0.6: P(first) = 0.4 / 2 = 0.2, consistent when the
    order with the good answer first is not biased: 0.4. Tolerance: 4 standard
    errors (200 calls, 100 items per judge)."""
    n = 100
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(n)))
    (tmp_path / "x.txt").write_text("".join(f"good {i}\n" for i in range(n)))
    (tmp_path / "y.txt").write_text("".join(f"bad {i}\n" for i in range(n)))
    panel = write_panel(tmp_path, [scripted(biased("first", 0.8, "1")), scripted(biased("second", 0.6, "2"))], "ab")
    out = tmp_path / "out"
    result = evalkit(
        "judge", "pairwise", "--prompts", tmp_path / "prompts.txt", "--system", f"x={tmp_path / 'x.txt'}",
        "--system", f"y={tmp_path / 'y.txt'}", "--panel", panel, "--no-cache", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    judges = {j["name"]: j["pairs"][0] for j in json.loads((out / "summary.json").read_text())["panel"]["judges"]}
    assert judges["a"]["first_position_rate"] == pytest.approx(0.9, abs=4 * (0.9 * 0.1 / 200) ** 0.5)
    assert judges["b"]["first_position_rate"] == pytest.approx(0.2, abs=4 * (0.2 * 0.8 / 200) ** 0.5)
    assert judges["a"]["position_consistency"] == pytest.approx(0.2, abs=4 * (0.2 * 0.8 / n) ** 0.5)
    assert judges["b"]["position_consistency"] == pytest.approx(0.4, abs=4 * (0.4 * 0.6 / n) ** 0.5)
    # an inconsistent item is a tie, a consistent one a win for x: win rates 0.2 + 0.8 / 2 and 0.4 + 0.6 / 2
    assert judges["a"]["win_rate"] == pytest.approx(0.6, abs=4 * (0.04 / n) ** 0.5)
    assert judges["b"]["win_rate"] == pytest.approx(0.7, abs=4 * (0.06 / n) ** 0.5)
    # majority of two: a win only when both judges say win (0.2 * 0.4 = 0.08), else a tie
    pooled = json.loads((out / "summary.json").read_text())["pairs"][0]
    assert pooled["win_rate"] == pytest.approx(0.54, abs=4 * (0.0184 / n) ** 0.5)


@pytest.mark.parametrize(("pool", "pooled_accuracy"), [("majority", 0.5), ("mean", 1.0)])
def test_human_labels_give_each_judge_and_the_panel_its_agreement(scripted, tmp_path, pool, pooled_accuracy):
    """Humans say x wins items 0-2 and y item 3. The fair judge matches all
    (accuracy 1); the first-position judge says tie everywhere (1/2 each);
    majority pooling gives ties (0.5), mean pooling the humans' verdicts (1)."""
    labels = tmp_path / "labels.csv"
    labels.write_text("item,system_a,system_b,winner\n0,x,y,x\n1,x,y,x\n2,x,y,x\n3,x,y,y\n")
    servers = [scripted(always_first), scripted(fair)]
    summary, out, _ = run_panel_cli(tmp_path, servers, ["biased", "fair"], "--pool", pool, "--labels", labels)
    judges = {j: json.loads((out / j / "summary.json").read_text())["pairs"][0] for j in ("biased", "fair")}
    assert judges["biased"]["human_agreement"]["accuracy"] == 0.5
    assert judges["fair"]["human_agreement"]["accuracy"] == 1.0
    assert summary["pairs"][0]["human_agreement"]["accuracy"] == pooled_accuracy


def test_mean_pooling_averages_p_win(scripted, tmp_path):
    servers = [scripted(always_first), scripted(fair)]
    summary, _, _ = run_panel_cli(tmp_path, servers, ["biased", "fair"], "--pool", "mean")
    (pooled,) = summary["pairs"]
    # items 0-2: (0.5 + 1) / 2 = 0.75 -> win; item 3: (0.5 + 0) / 2 = 0.25 -> loss
    assert (pooled["wins"], pooled["losses"], pooled["ties"]) == (3, 1, 0)
    assert (pooled["win_rate"], pooled["mean_p_win"]) == (0.75, pytest.approx(0.625))
    assert summary["panel"]["pool"] == "mean"


def cheap(request, n):
    """Fair on items 0 and 1, first-position biased on item 2, a tie in both orders on item 3."""
    first, second = shown(request)
    item = first.split()[-1]
    if item == "2":
        return Reply("[[A]]")
    if item == "3":
        return Reply("[[C]]")
    return fair(request, n)


def test_cascade_sends_only_unsettled_items_to_the_next_judge(scripted, tmp_path):
    servers = [scripted(cheap), scripted(fair)]
    summary, _, result = run_panel_cli(tmp_path, servers, ["cheap", "strong"], "--pool", "cascade", "--price", "1,2")
    # the cheap judge saw every item in both orders; the strong one only items 2 (inconsistent) and 3 (a tie:
    # margin 0 < 0.1), in both orders
    assert servers[0].chat_requests == 8
    assert servers[1].chat_requests == 4
    asked = sorted(shown(r)[0] for r in servers[1].requests)
    assert asked == ["bad 2", "bad 3", "good 2", "good 3"]
    stages = summary["panel"]["cascade"]
    assert [
        (s["judge"], s["judged"], s["settled"], s["calls"], s["calls_if_all"], s["calls_saved"]) for s in stages
    ] == [
        ("cheap", 4, 2, 8, 8, 0),
        ("strong", 2, 2, 4, 8, 4),
    ]
    assert summary["panel"]["calls_saved"] == 4
    # every scripted call uses 100 + 10 tokens: (100 * 1 + 10 * 2) / 1e6 USD; the strong judge saved 4 calls
    assert [s["cost"] for s in stages] == [pytest.approx(8 * 120e-6), pytest.approx(4 * 120e-6)]
    assert stages[1]["cost_saved_estimate"] == pytest.approx(4 * 120e-6)
    (pooled,) = summary["pairs"]
    # items 0, 1 settled by the cheap judge (x wins), 2 by the strong one (x wins), 3 (y wins)
    assert (pooled["wins"], pooled["losses"], pooled["ties"], pooled["win_rate"]) == (3, 1, 0, 0.75)
    strong = next(j for j in summary["panel"]["judges"] if j["name"] == "strong")["pairs"][0]
    assert strong["unscored_reasons"] == {"settled by an earlier judge of the cascade": 2}
    assert "calls saved" in result.stdout


def test_a_later_judge_that_gives_no_verdict_leaves_the_earlier_verdict(scripted, tmp_path):
    servers = [scripted(cheap), scripted(lambda request, n: Reply("Both answers look similar to me."))]
    summary, _, _ = run_panel_cli(tmp_path, servers, ["cheap", "mute"], "--pool", "cascade")
    assert servers[1].chat_requests == 4
    (pooled,) = summary["pairs"]
    # items 0, 1: the cheap judge's wins; items 2, 3: its ties stand, the mute judge's verdicts are unscored
    assert (pooled["wins"], pooled["ties"], pooled["unscored"]) == (2, 2, 0)
    mute = summary["panel"]["judges"][1]["pairs"][0]
    assert mute["unscored_reasons"] == {
        "settled by an earlier judge of the cascade": 2,
        "no verdict in the format '[[{verdict}]]'": 2,
    }


def test_a_dry_run_of_a_panel_counts_each_judges_calls_and_sends_nothing(scripted, tmp_path):
    servers = [scripted(fair), scripted(fair)]
    panel = write_panel(tmp_path, servers, ["one", "two"])
    result = evalkit("judge", "pairwise", *write_data(tmp_path), "--panel", panel, "--no-cache", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("dry run (pairwise): 8 calls, 0 cached, 8 to send") == 2
    assert result.stdout.startswith("one: dry run") and "\ntwo: dry run" in result.stdout
    assert servers[0].total_requests == servers[1].total_requests == 0


def test_a_panel_of_one_judge_is_refused(scripted, tmp_path):
    server = scripted(fair)
    panel = tmp_path / "panel.toml"
    panel.write_text(f'[[judge]]\nbase_url = "{server.base_url}"\nmodel = "m"\n')
    result = evalkit("judge", "pairwise", *write_data(tmp_path), "--panel", panel, "--no-cache")
    assert result.returncode == 2
    assert f"{panel}: a panel needs at least two judges, found 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_of_one_judge_names_the_judge(tmp_path):
    panel = tmp_path / "panel.toml"
    panel.write_text(
        '[[judge]]\njudge = "local"\n\n[[judge]]\nname = "second"\njudge = "local"\nprotocol = "telepathy"\n'
    )
    result = evalkit("judge", "pairwise", *write_data(tmp_path), "--panel", panel, "--no-cache")
    assert result.returncode == 2
    assert f"{panel} judge #2 (second): protocol = 'telepathy'" in result.stderr


def test_cascade_needs_pairwise(tmp_path):
    panel = tmp_path / "panel.toml"
    panel.write_text('[[judge]]\njudge = "local"\n\n[[judge]]\njudge = "local"\ntemplate = "single"\n')
    result = evalkit("judge", "single", *write_data(tmp_path), "--panel", panel, "--pool", "cascade")
    assert result.returncode == 2
    assert "pool = 'cascade' needs pairwise judging" in result.stderr


def test_a_config_file_takes_judge_panel_entries(scripted, tmp_path):
    servers = [scripted(always_first), scripted(fair)]
    write_data(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(
        'out = "report"\n[judge]\nmode = "pairwise"\nprompts = "prompts.txt"\ncache = "c.sqlite"\npool = "mean"\nout = "out"\n'
        '[judge.systems]\nx = "x.txt"\ny = "y.txt"\n'
        + "".join(
            f'[[judge.panel]]\nname = "{n}"\nbase_url = "{s.base_url}"\nmodel = "m"\ntemplate = "mt-bench-pairwise"\n'
            for n, s in zip(["biased", "fair"], servers)
        )
    )
    result = evalkit("run", config)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["pairs"][0]["win_rate"] == 0.75
    assert [j["name"] for j in summary["panel"]["judges"]] == ["biased", "fair"]
    assert json.loads((tmp_path / "out" / "fair" / "summary.json").read_text())["pairs"][0]["win_rate"] == 0.75
    report = (tmp_path / "report" / "report.md").read_text()
    assert "LLM judge panel (pairwise, pool `mean`, 2 judges)" in report and "Inter-judge agreement" in report


# -- the pure functions ------------------------------------------------------------------


def verdict(outcome, p_win, consistent=True, unscored=None):
    score = {"win": 1.0, "tie": 0.5, "loss": 0.0}.get(outcome)
    return ItemVerdict("pairwise", 0, ("x", "y"), (), score, outcome, p_win, consistent, unscored)


@pytest.mark.parametrize(
    ("votes", "pool", "outcome", "p_win"),
    [
        ([("win", 1.0), ("win", 1.0), ("loss", 0.0)], "majority", "win", 2 / 3),
        ([("win", 1.0), ("loss", 0.0)], "majority", "tie", 0.5),
        ([("win", 1.0), ("tie", 0.5), ("tie", 0.5)], "majority", "tie", 2 / 3),
        ([("win", 0.9), ("loss", 0.4), ("loss", 0.4)], "majority", "loss", 1.7 / 3),
        ([("win", 0.9), ("loss", 0.4), ("loss", 0.4)], "mean", "win", 1.7 / 3),
        ([("win", 0.6), ("loss", 0.4)], "mean", "tie", 0.5),
    ],
)
def test_pooling_a_pair_item(votes, pool, outcome, p_win):
    pooled = pool_pair_item([verdict(o, p) for o, p in votes], pool)
    assert pooled.outcome == outcome
    assert pooled.p_win == pytest.approx(p_win)
    assert pooled.score == {"win": 1.0, "tie": 0.5, "loss": 0.0}[outcome]


def test_an_unscored_judge_does_not_vote_and_all_unscored_stays_unscored():
    assert pool_pair_item([verdict(None, None, None, "refused"), verdict("loss", 0.0)], "majority").outcome == "loss"
    both = pool_pair_item([verdict(None, None, None, "refused"), None], "mean")
    assert (both.outcome, both.score, both.unscored) == (None, None, "refused")
    # mean pooling averages the P(win) that judges gave; none at all is unscored, not a tie
    assert pool_pair_item([verdict("win", None), verdict("loss", 0.2)], "mean").outcome == "loss"
    no_p = pool_pair_item([verdict("win", None)], "mean")
    assert (no_p.outcome, no_p.unscored) == (None, "no judge gave P(win)")


def test_pooling_single_grades():
    grades = [ItemVerdict("single", 0, ("x",), (), g) for g in (2.0, 9.0, 4.0)]
    assert pool_single_item(grades, "mean").score == 5.0
    assert pool_single_item(grades, "majority").score == 4.0  # the median


@pytest.mark.parametrize(
    ("item", "margin", "expected"),
    [
        (verdict("win", 1.0), 0.1, True),
        (verdict("tie", 0.5, consistent=False), 0.0, False),  # its orders disagree
        (verdict("tie", 0.5), 0.1, False),  # consistent, but no margin
        (verdict("tie", 0.5), 0.0, True),
        (verdict("win", 0.58, consistent=None), 0.1, False),
        (verdict("win", 0.6, consistent=None), 0.1, True),
        (verdict(None, None, None, "refused"), 0.0, False),
    ],
)
def test_the_cascade_stops_on_a_consistent_verdict_with_a_margin(item, margin, expected):
    assert settled(item, margin) is expected


def test_krippendorff_alpha_by_hand():
    # nominal: units (1,1), (1,2), (2,2), (2,-): o11 = 2, o12 = o21 = 1, o22 = 2, n = 6;
    # D_o = 2/6, D_e = 2 * 3 * 3 / (6 * 5) = 0.6, alpha = 1 - (1/3) / 0.6 = 4/9
    assert krippendorff_alpha([[1, 1, 2, 2], [1, 2, 2, None]], "nominal") == pytest.approx(4 / 9)
    # interval: units (1,1), (2,2), (3,4): D_o = 2 * 1 / 6; D_e = 82 / 30; alpha = 1 - 10/82 = 36/41
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 4]], "interval") == pytest.approx(36 / 41)
    # undefined: one value only, or no unit with two values
    assert krippendorff_alpha([[1, 1], [1, 1]], "nominal") is None
    assert krippendorff_alpha([[1, None], [None, 2]], "nominal") is None


# -- the real local judge ----------------------------------------------------------------


@pytest.mark.local_judge
def test_a_two_item_panel_of_the_local_judge(local_judge, tmp_path):
    """The local judge twice, with two templates: each judges both items in both
    orders, and the pooled verdicts are the majority of theirs."""
    from test_judge_local import PROMPTS, SYSTEMS, servers

    from evalkit.judge.panel import run_panel
    from evalkit.judge.panel_spec import panel_members
    from evalkit.judge.types import JudgeInputs

    entries = [
        {"name": "mt-bench", "template": "mt-bench-pairwise"},
        {"name": "plain", "template": "pairwise"},
    ]
    shared = {"judge": "local", "protocol": "grammar", "cache": str(tmp_path / "c.sqlite"), "timeout": 300}
    members = panel_members(
        entries, shared, mode="pairwise", where="test", base_dir=None, resolve=lambda values, folder: dict(values)
    )
    with servers(local_judge) as provider:
        panel = run_panel(members, JudgeInputs.of(PROMPTS, SYSTEMS), mode="pairwise", servers=provider)
    assert [m.stats.calls for m in panel.members] == [4, 4]
    assert [m.template.name for m in panel.members] == ["mt-bench-pairwise", "pairwise"]
    (pooled,) = panel.pooled.pairs
    assert pooled.n == 2 == pooled.wins + pooled.losses + pooled.ties + pooled.unscored
    for item in panel.pooled.items:
        votes = [next(i for i in m.items if i.item == item.item).outcome for m in panel.members]
        expected = votes[0] if votes[0] == votes[1] else "tie"
        assert item.outcome == (expected if None not in votes else (votes[0] or votes[1]))
    alpha = panel.agreement.alpha
    assert panel.agreement.level == "nominal" and (alpha is None or -1.0 <= alpha <= 1.0)


def test_a_panel_in_evalkit_run_gates_on_the_pooled_win_rate_and_writes_every_report(scripted, tmp_path, capsys):
    """The [judge] table of test_judge_in_run with two judges: the pooled win
    rate gets its interval from per-item pooled verdicts and feeds the gates."""
    from test_judge_in_run import _config, _stat, prefers_good

    from evalkit.cli import main

    server = scripted(prefers_good)
    panel = '[[judge.panel]]\nname = "cold"\n[[judge.panel]]\nname = "warm"\ntemperature = 0.5\n'
    status = main(["run", str(_config(tmp_path, server.base_url, judge_extra=panel))])
    _, err = capsys.readouterr()
    assert status == 1, err
    assert "FAIL win_rate < 0.1 [worse]" in err
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert _stat(statistics, "mixed", "win_rate")["value"] == pytest.approx(0.25)
    # per judge 30 distinct calls of 48 jobs (identical answers make identical calls), each sent once
    panel_summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert [j["calls"] for j in panel_summary["panel"]["judges"]] == [30, 30]
    assert server.chat_requests == 60
    for name in ("cold", "warm"):
        judge = json.loads((tmp_path / "out" / "judge" / name / "summary.json").read_text())
        assert {(p["system_a"], p["win_rate"]) for p in judge["pairs"]} == {("mixed", 0.25), ("worse", 0.0)}
    assert panel_summary["panel"]["inter_judge_agreement"]["alpha"] == 1.0
    assert 'id="explorer"' in (tmp_path / "out" / "report.html").read_text()
    assert (
        "Inter-judge agreement (Krippendorff's alpha, nominal, 24 units): 1.0000"
        in (tmp_path / "out" / "report.md").read_text()
    )


@pytest.mark.parametrize(("option", "name"), [(["--null-canary"], "null_canary"), (["--shard", "1/2"], "shard")])
def test_canaries_and_shards_are_refused_for_a_panel(tmp_path, option, name):
    panel = tmp_path / "panel.toml"
    panel.write_text('[[judge]]\njudge = "local"\n\n[[judge]]\njudge = "local"\ntemplate = "mt-bench-pairwise"\n')
    result = evalkit("judge", "pairwise", *write_data(tmp_path), "--panel", panel, *option, "--no-cache")
    assert result.returncode == 2
    assert f"{name} is for one judge, not a panel of judges" in result.stderr


@pytest.mark.parametrize(("pool", "pooled"), [("majority", 4.0), ("mean", 5.0)])
def test_a_single_mode_panel_pools_grades_and_measures_interval_alpha(scripted, tmp_path, pool, pooled):
    """Three judges grade every answer 2, 9 and 4: the median is 4, the mean 5.
    Interval alpha over two units (2, 9, 4) each: D_o = 2 * (49 + 4 + 25) / 6 = 26,
    D_e = 2 * 4 * (49 + 4 + 25) / 30 = 20.8, alpha = 1 - 26 / 20.8 = -0.25."""
    servers = [scripted(lambda request, n, g=g: Reply(f"Rating: [[{g}]]")) for g in (2, 9, 4)]
    entries = [
        f'[[judge]]\nname = "g{i}"\nbase_url = "{s.base_url}"\nmodel = "m"\ntemplate = "mt-bench-single"\n'
        for i, s in enumerate(servers)
    ]
    panel = tmp_path / "panel.toml"
    panel.write_text("\n".join(entries))
    (tmp_path / "prompts.txt").write_text("q0\nq1\n")
    (tmp_path / "x.txt").write_text("a0\na1\n")
    out = tmp_path / "out"
    result = evalkit(
        "judge", "single", "--prompts", tmp_path / "prompts.txt", "--system", f"x={tmp_path / 'x.txt'}",
        "--panel", panel, "--pool", pool, "--no-cache", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["systems"][0]["mean"] == pooled
    assert [j["systems"][0]["mean"] for j in summary["panel"]["judges"]] == [2.0, 9.0, 4.0]
    agreement = summary["panel"]["inter_judge_agreement"]
    assert (agreement["level"], agreement["units"]) == ("interval", 2)
    assert agreement["alpha"] == pytest.approx(-0.25)


def test_a_panel_over_three_systems_rates_them(scripted, tmp_path):
    """x always good, y always bad, z good on even items: with two fair judges,
    x beats y everywhere, ties z on even items and beats it on odd ones; z
    beats y on even items and ties it on odd ones: x > z > y."""
    n = 6
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(n)))
    (tmp_path / "x.txt").write_text("".join(f"good {i}\n" for i in range(n)))
    (tmp_path / "y.txt").write_text("".join(f"bad {i}\n" for i in range(n)))
    (tmp_path / "z.txt").write_text("".join(f"{'good' if i % 2 == 0 else 'bad'} {i}\n" for i in range(n)))
    panel = write_panel(tmp_path, [scripted(fair), scripted(fair)], ["one", "two"])
    out = tmp_path / "out"
    systems = [arg for s in "xyz" for arg in ("--system", f"{s}={tmp_path / (s + '.txt')}")]
    result = evalkit(
        "judge", "pairwise", "--prompts", tmp_path / "prompts.txt", *systems, "--panel", panel,
        "--no-cache", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [r["system"] for r in summary["ratings"]] == ["x", "z", "y"]
    assert {(p["system_a"], p["system_b"]): p["win_rate"] for p in summary["pairs"]} == {
        ("x", "y"): 1.0,
        ("x", "z"): 0.75,
        ("y", "z"): 0.25,
    }
