"""evaluate(settings) -> Evaluation, its settings and its writers, through the
real front door (``evalkit.cli.main`` in-process, so that output is captured)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.config import CheckSettings, check_settings, with_command_line
from evalkit.errors import ConfigError, ExitCode, InputError
from evalkit.judge_columns import columns_from_pairs, load_judge_pairs

REFS = [
    "the cat sat on the mat",
    "a quick brown fox jumps over the dog",
    "it rained all day in the city",
    "we met at noon by the river",
    "the tea is hot and sweet",
    "birds sing in the morning",
] * 4
DEGRADED = ["cat", "fox", "rain", "noon", "tea", "birds"] * 4


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    for name, lines in {"ref": REFS, "main": REFS, "copy": REFS, "degraded": DEGRADED}.items():
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [
        "compare",
        "--references",
        str(tmp_path / "ref.txt"),
        *("--system", f"main={tmp_path / 'main.txt'}"),
        *("--system", f"copy={tmp_path / 'copy.txt'}"),
        *("--system", f"degraded={tmp_path / 'degraded.txt'}"),
        *("--metrics", "rouge1,bleu"),
        *("--out", str(tmp_path / "out")),
    ]


def test_degraded_system_breaks_the_gate_and_the_copy_passes(files, tmp_path, capsys):
    junit = tmp_path / "gates.xml"
    argv = [*files, "--baseline", "main", "--fail-if", "bleu < baseline - 0.5 (p<0.05)"]
    status = main([*argv, "--bootstrap", "200", "--junit", str(junit)])
    out, err = capsys.readouterr()
    assert status == ExitCode.GATE_FAILED == 1
    assert "1 of 2 gate check(s) failed" in err
    assert "bleu < baseline - 0.5 (p<0.05) [degraded]" in err and "[copy]" not in err
    assert "Confidence intervals" in out and "▼" in out
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    assert {c.get("name"): c.find("failure") is not None for c in cases} == {
        "copy: bleu < baseline - 0.5 (p<0.05)": False,
        "degraded: bleu < baseline - 0.5 (p<0.05)": True,
    }
    stats = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert stats["baseline"] == "main" and [g["passed"] for g in stats["gates"]] == [True, False]
    assert (tmp_path / "out" / "report.html").read_text().count("<svg") == 6


def test_only_the_identical_copy_passes(files, capsys):
    rule = "system=copy: bleu < baseline - 0.5 (p<0.05)"
    assert main([*files, "--baseline", "main", "--fail-if", rule, "--bootstrap", "100"]) == 0
    assert "all 1 gate check(s) hold" in capsys.readouterr().err


def test_report_md_holds_the_statistics_section_once(files, tmp_path, capsys):
    assert main([*files, "--baseline", "main", "--bootstrap", "100", "--no-html"]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert text.startswith("# evalkit comparison") and text.count("## Confidence intervals") == 1
    assert text.index("## Signatures") < text.index("## Confidence intervals")
    assert not (tmp_path / "out" / "report.html").exists()


def test_no_statistics_no_section(files, tmp_path, capsys):
    assert main([*files, "--bootstrap", "0"]) == 0
    assert "Confidence intervals" not in (tmp_path / "out" / "report.md").read_text()
    assert not (tmp_path / "out" / "statistics.json").exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_machine_readable_formats_keep_stdout_to_themselves(files, capsys, fmt):
    assert main([*files, "--bootstrap", "50", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out)["n_items"] == len(REFS)
    else:
        assert out.splitlines()[0] == "system,metric,value,n_scored,n_unscored,signature"


def test_bootstrap_zero_skips_statistics_but_keeps_plain_gates(files, capsys):
    assert main([*files, "--bootstrap", "0", "--fail-if", "rouge1 < 0.5"]) == 1
    out, err = capsys.readouterr()
    assert "Confidence intervals" not in out and "[degraded]" in err


def test_github_summary(files, tmp_path, monkeypatch, capsys):
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    argv = [*files, "--baseline", "main", "--bootstrap", "50", "--github-summary", "--fail-if", "rouge1 < 0.5"]
    assert main(argv) == 1
    text = target.read_text()
    assert "❌ `rouge1 < 0.5` on **degraded**" in text and "### Difference from the baseline (main)" in text


def test_github_summary_outside_actions_fails_before_scoring(files, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main([*files, "--github-summary"]) == 2
    assert "GITHUB_STEP_SUMMARY" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_config_table_and_command_line_fill_one_settings_class(tmp_path):
    table = {"baseline": "main", "fail_if": "bleu < 10", "bootstrap": 500, "junit": "out/gates.xml", "html": False}
    from_table = check_settings(table, base=tmp_path, where="c.toml [run]")
    settings = with_command_line(from_table, {"fail_if": ["chrf < 20"], "bootstrap": 100, "html": True})
    assert settings.baseline == "main" and settings.bootstrap == 100 and settings.html is True
    assert settings.fail_if == ("bleu < 10", "chrf < 20")
    assert settings.junit == tmp_path / "out" / "gates.xml"
    assert CheckSettings().paired_test == "ar"


@pytest.mark.parametrize(
    "table,message",
    [
        ({"baseline": 3}, "c.toml [run]: baseline = 3: Input should be a valid string"),
        ({"bootstrap": "many"}, "bootstrap = 'many': Input should be a valid integer"),
        ({"bootstrap": -1}, "bootstrap = -1: Input should be greater than or equal to 0"),
        ({"fail_if": [1]}, "c.toml [run]: fail_if.0 = 1: Input should be a valid string"),
        ({"paired_test": "t"}, "paired_test = 't': Input should be 'ar' or 'bootstrap'"),
        ({"colour": "red"}, "c.toml [run]: unknown key 'colour'"),
    ],
)
def test_bad_run_table(table, message):
    with pytest.raises(ConfigError) as excinfo:
        check_settings(table, base=Path("."), where="c.toml [run]")
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--fail-if", "bleu <"], "bad gate rule"),
        (["--fail-if", "bleu < baseline"], "no baseline is named"),
        (["--baseline", "main", "--bootstrap", "0", "--fail-if", "bleu < baseline (p<0.05)"], "--bootstrap 0"),
        (["--baseline", "ghost"], "baseline 'ghost' is not one of the systems"),
        (["--bootstrap", "x"], "bootstrap = 'x': Input should be a valid integer"),
    ],
)
def test_bad_command_line_is_exit_2_before_anything_is_written(files, tmp_path, capsys, argv, message):
    assert main([*files, *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_judge_summary_from_another_run_feeds_the_gates(files, tmp_path, capsys):
    summary = tmp_path / "judge" / "summary.json"
    summary.parent.mkdir()
    pairs = [
        {"system_a": "degraded", "system_b": "main", "win_rate": 0.1, "position_consistency": 0.9},
        {"system_a": "main", "system_b": "copy", "win_rate": 0.5, "position_consistency": 0.4},
    ]
    summary.write_text(json.dumps({"pairs": pairs}))
    assert len(load_judge_pairs(tmp_path / "judge")) == 2
    argv = [*files, "--baseline", "main", "--bootstrap", "50", "--judge-summary", str(summary)]
    status = main([*argv, "--fail-if", "win_rate < 0.45", "--fail-if", "position_consistency < 0.6"])
    err = capsys.readouterr().err
    assert status == 1
    assert "win_rate < 0.45 [degraded]" in err and "position_consistency < 0.6 [copy]" in err
    assert "win_rate < 0.45 [copy]" not in err


def test_columns_from_pairs_read_either_side():
    pairs = [{"system_a": "main", "system_b": "new", "win_rate": 0.3, "position_consistency": 0.8}]
    columns = {(c.system, c.metric): c.value for c in columns_from_pairs(pairs, baseline="main")}
    assert columns == {("new", "win_rate"): pytest.approx(0.7), ("new", "position_consistency"): 0.8}


def test_bad_judge_summary(tmp_path):
    with pytest.raises(InputError, match="no judge summary.json here"):
        load_judge_pairs(tmp_path / "missing.json")
    bad = tmp_path / "single.json"
    bad.write_text(json.dumps({"pairs": None, "systems": []}))
    with pytest.raises(InputError, match="not a pairwise judge summary"):
        load_judge_pairs(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError, match="broken.json"):
        load_judge_pairs(broken)


def test_defaults_match_the_statistics_package_and_settings_stay_light():
    from evalkit import config, stats

    assert (config.DEFAULT_RESAMPLES, config.DEFAULT_SEED) == (stats.DEFAULT_RESAMPLES, stats.DEFAULT_SEED)
    code = "import sys, evalkit.config, evalkit.cli; evalkit.cli.build_parser(); print(sorted(m for m in ('numpy', 'pydantic', 'pandas') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_the_terminal_output_fits_100_columns(tmp_path, capsys):
    demo = Path(__file__).resolve().parents[1] / "datasets" / "demo"
    argv = ["compare", "--references", str(demo / "references.txt"), "--metrics", "rouge,bleu,chrf,ter"]
    for name in ("strong", "medium", "weak", "degenerate"):
        argv += ["--system", f"{name}=" + str(demo / f"system_{name}.txt")]
    assert main([*argv, "--baseline", "strong", "--bootstrap", "100", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Difference from the baseline (strong)" in out and "ter (lower is better)" in out
    assert max(len(line) for line in out.splitlines()) <= 100
