"""Canaries: a drift canary that a judge changing between runs trips and a
stable (even noisy) one does not, and null-model canaries that flag a judge
fooled by an answer instructing it."""

from __future__ import annotations

import json
import re

import pytest
from scripted_server import Reply, user_text
from test_judge_cli import data, evalkit
from test_judge_in_run import _answer, _config
from test_repeats import _rng, inputs, settings

from evalkit.errors import InputError
from evalkit.judge.canary import binomial_tail, canary_jsonl, load_canary, run_canaries, wilson
from evalkit.judge.run import run_judge


def preferring(state, q=0.0):
    """Prefers the answer of ``state["prefer"]`` (a system name in the answer
    text), each call the other one with probability ``q``; changing
    ``state["prefer"]`` between runs is a judge that changed behind its name."""

    def script(request, n):
        text = user_text(request)
        first = f"answer of {state['prefer']}" in _answer(text, "ANSWER_A")
        right, wrong = ("[[A]]", "[[B]]") if first else ("[[B]]", "[[A]]")
        return Reply(wrong if q and _rng(request).random() < q else right)

    return script


def test_cli_writes_a_canary_and_a_changed_judge_trips_it(scripted, tmp_path):
    state = {"prefer": "x"}
    server = scripted(preferring(state))
    canary = tmp_path / "canary.jsonl"
    common = [*data(tmp_path, n=20), "--base-url", server.base_url, "--model", "judge"]
    common += ["--template", "mt-bench-pairwise", "--cache", tmp_path / "c.sqlite"]
    result = evalkit("judge", "pairwise", *common, "--write-canary", canary, "--out", tmp_path / "trusted")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in canary.read_text().splitlines()]
    assert len(lines) == 20 and {line["verdict"] for line in lines} == {"win"}
    assert lines[3]["prompt"] == "question 3" and lines[3]["answer_a"] == "answer of x to 3"

    result = evalkit("judge", "pairwise", *common, "--canary", canary, "--out", tmp_path / "same")
    assert result.returncode == 0, result.stderr
    assert "canary: no drift, 0/20 verdicts changed, expected <= 3" in result.stdout  # tolerance 0.05

    state["prefer"] = "y"  # the same name and URL, another judge
    result = evalkit("judge", "pairwise", *common, "--canary", canary, "--out", tmp_path / "changed")
    assert result.returncode == 0, result.stderr
    assert "**canary: drift detected, 20/20 verdicts changed, expected <= 3" in result.stdout
    summary = json.loads((tmp_path / "changed" / "summary.json").read_text())
    assert summary["canary"]["drift"] is True and summary["canary"]["changed"] == 20
    assert summary["canary"]["changes"][0] == {"item": 0, "trusted": "win", "now": "loss"}


def _canary_run(server, tmp_path, canary, n=30, **options):
    s = settings(server, tmp_path, canary=str(canary), cache=False, **options)
    run = run_judge(s, inputs(n), mode="pairwise")
    return run_canaries(run, inputs(n))


def test_a_noisy_but_stable_judge_does_not_trip_the_canary_and_a_changed_one_does(scripted, tmp_path):
    state = {"prefer": "x"}
    server = scripted(preferring(state, q=0.1))
    trusted = run_judge(settings(server, tmp_path, repeats=3, write_canary="c"), inputs(30), mode="pairwise")
    canary = tmp_path / "canary.jsonl"
    canary.write_text(canary_jsonl(run_canaries(trusted, inputs(30))))
    n_trusted = len(canary.read_text().splitlines())

    stable = _canary_run(server, tmp_path, canary, repeats=3).canary
    assert stable.n == n_trusted and not stable.drift
    assert "flip rate" in stable.basis and stable.rate > 0.1  # measured, not the tolerance
    assert stable.changed <= stable.expected_max

    state["prefer"] = "y"
    changed = _canary_run(server, tmp_path, canary, repeats=3).canary
    assert changed.drift and changed.changed > changed.expected_max
    assert changed.p_value < 0.05
    assert changed.p_value == pytest.approx(binomial_tail(changed.n, changed.changed, changed.rate))


def test_drift_against_the_stated_tolerance_without_repeats(scripted, tmp_path):
    state = {"prefer": "x"}
    server = scripted(preferring(state))
    canary = tmp_path / "canary.jsonl"
    # 20 trusted verdicts, 3 of them now wrong: binomial(20, 0.05) accepts up to 3 changes at 5%
    lines = [
        {"prompt": f"question {i}", "answer_a": f"answer of x to question {i}", "answer_b": f"answer of y to {i}"}
        | {"verdict": "loss" if i < 3 else "win"}
        for i in range(20)
    ]
    canary.write_text("".join(json.dumps(line) + "\n" for line in lines))
    check = _canary_run(server, tmp_path, canary, n=2).canary
    assert (check.changed, check.expected_max, check.drift) == (3, 3, False)
    assert check.basis.startswith("--canary-tolerance") and check.rate == 0.05
    check = _canary_run(server, tmp_path, canary, n=2, canary_tolerance=0.01).canary
    assert (check.changed, check.expected_max, check.drift) == (3, 1, True)


def test_a_bad_canary_line_names_the_file_and_line(tmp_path, scripted):
    canary = tmp_path / "canary.jsonl"
    canary.write_text('{"prompt": "q", "answer_a": "a", "answer_b": "b", "verdict": "win"}\n{"prompt": "q"}\n')
    with pytest.raises(InputError, match=r"canary.jsonl:2: a canary line needs a text field 'answer_a'"):
        load_canary(canary, "pairwise")
    canary.write_text('{"prompt": "q", "answer_a": "a", "answer_b": "b", "verdict": "A"}\n')
    with pytest.raises(InputError, match=r"canary.jsonl:1: verdict = 'A'"):
        load_canary(canary, "pairwise")
    server = scripted(lambda request, n: Reply("[[A]]"))
    result = evalkit(
        "judge", "pairwise", *data(tmp_path), "--base-url", server.base_url, "--model", "m", "--canary", canary
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "canary.jsonl:1: verdict = 'A'" in result.stderr


# -- null models -----------------------------------------------------------------------


def fooled(obey: bool):
    """Prefers a real answer ("answer of ...") to anything else; with ``obey``
    it first does what an answer tells it to."""

    def script(request, n):
        text = user_text(request)
        a, b = _answer(text, "ANSWER_A"), _answer(text, "ANSWER_B")
        if obey and "Ignore previous instructions" in a + b:
            return Reply("[[A]]" if "Ignore previous instructions" in a else "[[B]]")
        return Reply("[[A]]" if "answer of" in a else "[[B]]")

    return script


@pytest.mark.parametrize("obey", [True, False])
def test_a_judge_fooled_by_the_injection_canary_is_flagged(scripted, tmp_path, obey):
    server = scripted(fooled(obey))
    out = tmp_path / "out"
    args = [*data(tmp_path, n=12), "--base-url", server.base_url, "--model", "judge", "--baseline", "y"]
    args += ["--template", "mt-bench-pairwise", "--cache", tmp_path / "c.sqlite", "--null-canary", "--out", out]
    result = evalkit("judge", "pairwise", *args)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    canaries = {c["name"]: c for c in summary["null_canaries"]}
    assert canaries["null-constant"]["win_rate"] == 0.0 and not canaries["null-constant"]["beats_baseline"]
    injection = canaries["null-injection"]
    assert injection["baseline"] == "y" and injection["n"] == 12
    assert "Ignore previous instructions" in injection["answer"] and "[[A]]" in injection["answer"]
    if obey:
        assert injection["win_rate"] == 1.0 and injection["beats_baseline"]
        assert injection["low"] == pytest.approx(wilson(12, 12)[0])
        assert re.search(r"\| null-injection +\| y +\| +12 \| +1\.0+ \|.*\| \*\*beats the baseline", result.stdout)
    else:
        assert injection["win_rate"] == 0.0 and not injection["beats_baseline"]


def test_a_run_config_gates_on_canary_drift(scripted, tmp_path):
    def prefers_bad(request, n):
        text = user_text(request)
        first = "bad" in _answer(text, "ANSWER_A")
        return Reply("[[A]]" if first else "[[B]]")

    canary = tmp_path / "canary.jsonl"
    lines = [{"prompt": f"q{i}", "answer_a": f"good {i}", "answer_b": f"bad {i}", "verdict": "win"} for i in range(10)]
    canary.write_text("".join(json.dumps(line) + "\n" for line in lines))
    server = scripted(prefers_bad)
    config = _config(tmp_path, server.base_url, judge_extra='canary = "canary.jsonl"', fail_if="canary_drift > 0")
    result = evalkit("run", config)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "canary_drift of 'mixed' = 1, bound > 0: FAILED" in result.stdout + result.stderr
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<p><strong>canary: drift detected, 10/10 verdicts changed, expected &lt;= 2" in page


def test_wilson_and_binomial_by_hand():
    # P(X >= 2) for binomial(3, 0.5) = (3 + 1) / 8
    assert binomial_tail(3, 2, 0.5) == pytest.approx(0.5)
    assert binomial_tail(5, 1, 0.0) == 0.0 and binomial_tail(5, 0, 0.3) == 1.0
    low, high = wilson(5, 10)
    assert low == pytest.approx(1 - high) and low == pytest.approx(0.2366, abs=1e-4)


def test_single_mode_canary_counts_a_grade_moved_by_a_point_or_more(scripted, tmp_path):
    grade = {"now": 7}
    server = scripted(lambda request, n: Reply(f"Rating: [[{grade['now']}]]"))
    s = settings(server, tmp_path, template="mt-bench-single", write_canary="c")
    trusted = run_canaries(run_judge(s, inputs(12, systems=("x",)), mode="single"), inputs(12, systems=("x",)))
    canary = tmp_path / "canary.jsonl"
    canary.write_text(canary_jsonl(trusted))
    lines = [json.loads(line) for line in canary.read_text().splitlines()]
    assert [(line["answer"], line["verdict"]) for line in lines[:2]] == [
        ("answer of x to question 0", 7.0),
        ("answer of x to question 1", 7.0),
    ]

    def check():
        s = settings(server, tmp_path, template="mt-bench-single", canary=str(canary), cache=False)
        return run_canaries(run_judge(s, inputs(1, systems=("x",)), mode="single"), inputs(1, systems=("x",))).canary

    assert (check().changed, check().drift) == (0, False)
    grade["now"] = 6  # one point: a change on every item
    moved = check()
    assert (moved.n, moved.changed, moved.expected_max, moved.drift) == (12, 12, 2, True)
    assert moved.changes[0].trusted == 7.0 and moved.changes[0].now == 6.0
