"""evalkit.checks: the statistics/CI step that compare and run call."""

from __future__ import annotations

import argparse
import io
import json
import xml.etree.ElementTree as ET

import pytest

import evalkit
from evalkit.checks import add_arguments, load_judge_pairs, run_checks, settings_from
from evalkit.errors import ConfigError, InputError

REFS = [
    "the cat sat on the mat",
    "a quick brown fox jumps over the dog",
    "it rained all day in the city",
    "we met at noon by the river",
    "the tea is hot and sweet",
    "birds sing in the morning",
] * 4
DEGRADED = ["cat", "fox", "rain", "noon", "tea", "birds"] * 4


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def comparison():
    return evalkit.compare(
        {"main": list(REFS), "copy": list(REFS), "degraded": DEGRADED}, references=REFS, metrics="rouge1,bleu"
    )


def _run(comparison, settings, out_dir=None, fmt="table", **kwargs):
    stdout, stderr = io.StringIO(), io.StringIO()
    status = run_checks(comparison, settings, out_dir=out_dir, fmt=fmt, stdout=stdout, stderr=stderr, **kwargs)
    return status, stdout.getvalue(), stderr.getvalue()


def test_degraded_system_breaks_the_gate_and_the_copy_passes(comparison, tmp_path):
    settings = settings_from(
        _args(
            "--baseline",
            "main",
            "--fail-if",
            "bleu < baseline - 0.5 (p<0.05)",
            "--bootstrap",
            "200",
            "--junit",
            str(tmp_path / "gates.xml"),
        )
    )
    status, out, err = _run(comparison, settings, out_dir=tmp_path)
    assert status == 1
    assert "1 of 2 gate check(s) failed" in err
    assert "bleu < baseline - 0.5 (p<0.05) [degraded]" in err and "[copy]" not in err
    assert "Confidence intervals" in out and "▼" in out
    cases = ET.parse(tmp_path / "gates.xml").getroot().findall("testsuite/testcase")
    assert {c.get("name"): c.find("failure") is not None for c in cases} == {
        "copy: bleu < baseline - 0.5 (p<0.05)": False,
        "degraded: bleu < baseline - 0.5 (p<0.05)": True,
    }
    stats = json.loads((tmp_path / "statistics.json").read_text())
    assert stats["baseline"] == "main" and [g["passed"] for g in stats["gates"]] == [True, False]
    assert (tmp_path / "report.html").read_text().count("<svg") == 6


def test_only_the_identical_copy_passes(comparison):
    settings = settings_from(
        _args("--baseline", "main", "--fail-if", "system=copy: bleu < baseline - 0.5 (p<0.05)", "--bootstrap", "100")
    )
    status, _, err = _run(comparison, settings)
    assert status == 0 and "all 1 gate check(s) hold" in err


def test_statistics_section_ends_report_md_written_once(comparison, tmp_path):
    from evalkit.checks import check
    from evalkit.reports.markdown import render_markdown
    from evalkit.reports.write import write_report

    settings = settings_from(_args("--baseline", "main", "--bootstrap", "100", "--no-html"))
    result = check(comparison, settings)
    write_report(comparison, tmp_path, statistics_markdown=result.statistics_markdown())
    text = (tmp_path / "report.md").read_text()
    assert text.startswith(render_markdown(comparison).rstrip("\n") + "\n\n## Confidence intervals")
    before = text
    assert _run(comparison, settings, out_dir=tmp_path)[0] == 0
    assert (tmp_path / "report.md").read_text() == before  # the CI step leaves report.md alone
    assert not (tmp_path / "report.html").exists()


def test_no_statistics_no_section(comparison):
    from evalkit.checks import check

    assert check(comparison, settings_from(_args("--bootstrap", "0"))).statistics_markdown() == ""


@pytest.mark.parametrize("fmt,printed", [("json", False), ("csv", False), ("table", True), ("markdown", True)])
def test_machine_readable_formats_keep_stdout_clean(comparison, fmt, printed):
    settings = settings_from(_args("--bootstrap", "50"))
    _, out, _ = _run(comparison, settings, fmt=fmt)
    assert bool(out) is printed


def test_bootstrap_zero_skips_statistics_but_keeps_plain_gates(comparison):
    settings = settings_from(_args("--bootstrap", "0", "--fail-if", "rouge1 < 0.5"))
    status, out, err = _run(comparison, settings)
    assert status == 1 and out == "" and "[degraded]" in err


def test_github_summary(comparison, tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    settings = settings_from(
        _args("--baseline", "main", "--bootstrap", "50", "--github-summary", "--fail-if", "rouge1 < 0.5")
    )
    assert _run(comparison, settings)[0] == 1
    text = target.read_text()
    assert "❌ `rouge1 < 0.5` on **degraded**" in text and "### Difference from the baseline (main)" in text


def test_github_summary_outside_actions_fails_before_scoring(monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with pytest.raises(ConfigError, match="GITHUB_STEP_SUMMARY"):
        settings_from(_args("--github-summary"))


def test_config_table_and_command_line_merge(tmp_path):
    table = {"baseline": "main", "fail_if": "bleu < 10", "bootstrap": 500, "junit": "out/gates.xml", "html": False}
    settings = settings_from(_args("--fail-if", "chrf < 20", "--bootstrap", "100", "--html"), table, base_dir=tmp_path)
    assert settings.baseline == "main" and settings.bootstrap == 100 and settings.html is True
    assert [g.rule for g in settings.gates] == ["bleu < 10", "chrf < 20"]
    assert settings.junit == tmp_path / "out" / "gates.xml"
    assert settings_from(None, {}).paired_test == "ar"


@pytest.mark.parametrize(
    "table,argv,message",
    [
        ({"baseline": 3}, [], "baseline = 3 must be a str"),
        ({"bootstrap": "many"}, [], "bootstrap = 'many' must be an int"),
        ({"bootstrap": True}, [], "must be an int"),
        ({"fail_if": [1]}, [], "fail_if must be a rule or a list of rules"),
        ({"paired_test": "t"}, [], "paired_test = 't'"),
        ({"colour": "red"}, [], "unknown key 'colour' in [run]"),
        ({}, ["--bootstrap", "-1"], "--bootstrap must be 0"),
        ({}, ["--fail-if", "bleu <"], "bad gate rule"),
        ({}, ["--fail-if", "bleu < baseline"], "no baseline is named"),
        ({"baseline": "main"}, ["--bootstrap", "0", "--fail-if", "bleu < baseline (p<0.05)"], "--bootstrap 0"),
    ],
)
def test_bad_settings(table, argv, message):
    with pytest.raises(ConfigError) as excinfo:
        settings_from(_args(*argv), table)
    assert message in str(excinfo.value)


def test_unknown_baseline_is_a_config_error(comparison):
    with pytest.raises(ConfigError, match="baseline 'ghost'"):
        _run(comparison, settings_from(_args("--baseline", "ghost")))


def test_judge_summary_feeds_the_gates(comparison, tmp_path):
    summary = tmp_path / "judge" / "summary.json"
    summary.parent.mkdir()
    summary.write_text(
        json.dumps(
            {
                "pairs": [
                    {"system_a": "degraded", "system_b": "main", "win_rate": 0.1, "position_consistency": 0.9},
                    {"system_a": "main", "system_b": "copy", "win_rate": 0.5, "position_consistency": 0.4},
                ]
            }
        )
    )
    assert len(load_judge_pairs(tmp_path / "judge")) == 2
    settings = settings_from(
        _args(
            "--baseline",
            "main",
            "--bootstrap",
            "50",
            "--judge-summary",
            str(summary),
            "--fail-if",
            "win_rate < 0.45",
            "--fail-if",
            "position_consistency < 0.6",
        )
    )
    status, _, err = _run(comparison, settings, out_dir=tmp_path)
    assert status == 1
    assert "win_rate < 0.45 [degraded]" in err and "position_consistency < 0.6 [copy]" in err
    assert "win_rate < 0.45 [copy]" not in err
    assert "plot-win-matrix" in (tmp_path / "report.html").read_text()


def test_bad_judge_summary(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_judge_pairs(tmp_path / "missing.json")
    bad = tmp_path / "single.json"
    bad.write_text(json.dumps({"pairs": None, "systems": []}))
    with pytest.raises(InputError, match="not a pairwise judge summary"):
        load_judge_pairs(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError, match="broken.json"):
        load_judge_pairs(broken)


def test_defaults_match_the_statistics_package_and_stay_light():
    import subprocess
    import sys

    from evalkit import checks, stats

    assert (checks.DEFAULT_RESAMPLES, checks.DEFAULT_SEED, checks.METHODS) == (
        stats.DEFAULT_RESAMPLES,
        stats.DEFAULT_SEED,
        stats.METHODS,
    )
    code = "import sys, evalkit.checks; print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
