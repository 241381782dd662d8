"""JUnit XML, the GitHub step summary and the difference cells."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import evalkit
from evalkit.errors import ConfigError
from evalkit.reports.github_summary import append_github_summary, render_github_summary
from evalkit.reports.junit import render_junit, write_junit
from evalkit.reports.statistics import format_delta, format_p, format_value_ci, render_stats_markdown, render_stats_text
from evalkit.stats.analysis import analyze
from evalkit.stats.gates import GateOutcome, evaluate, parse_rules

OUTCOMES = [
    GateOutcome("bleu < baseline - 0.5 (p<0.05)", "new", False, 28.0, 30.7, 0.001, "bleu of 'new' = 28: FAILED"),
    GateOutcome("rougeL < 0.30", "new", True, 0.35, 0.30, None, "rougeL of 'new' = 0.35: holds"),
    GateOutcome("rougeL < 0.30", 'odd <&> "name"', True, 0.4, 0.30, None, "holds"),
]


def test_junit_has_one_case_per_outcome_and_a_failure_for_each_failed_gate(tmp_path):
    path = tmp_path / "gates.xml"
    write_junit(path, OUTCOMES, properties={"baseline": "main"})
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "new: bleu < baseline - 0.5 (p<0.05)",
        "new: rougeL < 0.30",
        'odd <&> "name": rougeL < 0.30',
    ]
    failure = cases[0].find("failure")
    assert failure.get("message") == "bleu of 'new' = 28: FAILED"
    assert "p_value: 0.001" in failure.text
    assert cases[1].find("failure") is None
    assert suite.find("properties/property").attrib == {"name": "baseline", "value": "main"}


def test_junit_without_gates_is_an_empty_suite():
    suite = ET.fromstring(render_junit([])).find("testsuite")
    assert suite.get("tests") == "0" and suite.findall("testcase") == []


def test_github_summary_appends(tmp_path):
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    append_github_summary("## one", environ=env)
    append_github_summary("## two", environ=env)
    assert target.read_text(encoding="utf-8") == "earlier step\n## one\n\n## two\n\n"


def test_github_summary_outside_actions_is_a_config_error():
    with pytest.raises(ConfigError, match="GITHUB_STEP_SUMMARY is not set"):
        append_github_summary("x", environ={})


@pytest.mark.parametrize(
    "args,expected",
    [
        ((1.234, 0.5, 2.0, 0.001, True, "0-100"), "▲ +1.23 [+0.50, +2.00] p=0.001"),
        ((-1.234, -2.0, -0.5, 0.0001, True, "0-100"), "▼ -1.23 [-2.00, -0.50] p<0.001"),
        ((-1.234, -2.0, -0.5, 0.0001, False, "0-100"), "▲ -1.23 [-2.00, -0.50] p<0.001"),
        ((0.01234, -0.01, 0.03, 0.3, True, "0-1"), "· +0.0123 [-0.0100, +0.0300] p=0.30"),
        ((0.0, 0.0, 0.0, 1.0, True, "0-1"), "· +0.0000 [+0.0000, +0.0000] p=1.00"),
        ((0.5, None, None, None, True, "0-1"), "· +0.5000 p=n/a"),
    ],
)
def test_format_delta(args, expected):
    diff, low, high, p, higher, scale = args
    assert format_delta(diff, low, high, p_value=p, alpha=0.05, higher_is_better=higher, scale=scale) == expected


def test_format_helpers():
    assert format_p(0.0456) == "p=0.05" and format_p(0.004) == "p=0.004"
    assert format_value_ci(None, None, None, scale="0-1") == "n/a"
    assert format_value_ci(31.234, float("nan"), float("nan"), scale="0-100") == "31.23"


@pytest.fixture(scope="module")
def analysis():
    refs = ["the cat sat on the mat", "a quick brown fox", "it rained all day", "we met at noon"] * 5
    systems = {"main": list(refs), "copy": list(refs), "bad": ["cat", "fox", "rain", "noon"] * 5}
    comparison = evalkit.compare(systems, references=refs, metrics="rouge1,ter")
    return analyze(comparison, baseline="main", n_resamples=200, n_trials=500)


def test_markdown_and_text_show_intervals_differences_and_gates(analysis):
    gates = evaluate(
        parse_rules(["rouge1 < baseline - 0.05 (p<0.05)"]),
        values=analysis.gate_values(),
        baseline="main",
        p_values=analysis.p_values(),
    )
    md = render_stats_markdown(analysis, gates)
    assert re.search(r"^\| main \(baseline\) +\| +1\.0000 \[1\.0000, 1\.0000\]", md, re.M)
    assert re.search(r"\| +ter \(lower is better\) +\|", md)
    bad_row = next(line for line in md.splitlines() if re.match(r"\| bad +\|", line) and "▼" in line)
    assert "p=0.002" in bad_row  # (0 + 1) / (500 + 1)
    copy_row = next(line for line in md.splitlines() if re.match(r"\| copy +\|", line) and "p=" in line)
    assert "· +0.0000" in copy_row and "p=1.00" in copy_row
    assert "❌ `rouge1 < baseline - 0.05 (p<0.05)` on **bad**" in md
    assert "✅ `rouge1 < baseline - 0.05 (p<0.05)` on **copy**" in md
    text = render_stats_text(analysis, gates)
    assert "FAIL rouge1 < baseline - 0.05 (p<0.05) [bad]" in text
    summary = render_github_summary(analysis, gates)
    assert summary.index("gate checks failed") < summary.index("### Confidence intervals")
