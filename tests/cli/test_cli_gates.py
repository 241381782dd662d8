"""Gates through the real ``evalkit`` entry point (a subprocess) on the demo
data: a degraded system breaks a gate (exit 1, the gate listed), an identical
copy of the baseline passes (exit 0), a bad rule is a config error (exit 2)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "demo"
GATE = "bleu < baseline - 0.5 (p<0.05)"


def _degrade(line: str) -> str:
    # drop every third word: still fluent-looking, clearly worse
    return " ".join(w for i, w in enumerate(line.split()) if i % 3 != 2)


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    folder = tmp_path_factory.mktemp("systems")
    lines = (DEMO / "system_medium.txt").read_text(encoding="utf-8").splitlines()
    (folder / "copy.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "degraded.txt").write_text("\n".join(_degrade(x) for x in lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def compare(evalkit_cli, tmp_path):
    def run(*extra, systems_args=(), env=None):
        return _compare(evalkit_cli, tmp_path, *extra, systems_args=systems_args, env=env)

    return run


def _compare(run_evalkit, tmp_path, *extra, systems_args=(), env=None):
    return run_evalkit(
        "compare",
        "--references",
        DEMO / "references.txt",
        "--system",
        f"main={DEMO / 'system_medium.txt'}",
        *systems_args,
        "--metrics",
        "bleu,rougeL",
        "--baseline",
        "main",
        "--bootstrap",
        "300",
        "--out",
        tmp_path / "out",
        *extra,
        env=env,
    )


def test_degraded_system_fails_the_gate(systems, tmp_path, compare):
    run = compare(
        "--fail-if",
        GATE,
        "--junit",
        tmp_path / "gates.xml",
        systems_args=("--system", f"degraded={systems / 'degraded.txt'}"),
    )
    assert run.returncode == 1, run.stderr
    assert f"{GATE} [degraded]" in run.stderr and "FAILED" in run.stderr
    assert "Difference from the baseline (main)" in run.stdout and "▼" in run.stdout
    (case,) = ET.parse(tmp_path / "gates.xml").getroot().findall("testsuite/testcase")
    assert case.find("failure") is not None
    for name in ("report.md", "report.html", "statistics.json"):
        assert (tmp_path / "out" / name).is_file(), name


def test_identical_copy_passes(systems, tmp_path, compare):
    run = compare(
        "--fail-if",
        GATE,
        "--fail-if",
        "rougeL < baseline - 0.01",
        systems_args=("--system", f"copy={systems / 'copy.txt'}"),
    )
    assert run.returncode == 0, run.stderr
    assert "all 2 gate check(s) hold" in run.stderr
    stats = json.loads((tmp_path / "out" / "statistics.json").read_text())
    copy_bleu = next(s for s in stats["stats"] if s["system"] == "copy" and s["metric"] == "bleu")
    assert copy_bleu["p_value"] == 1.0 and copy_bleu["delta"]["value"] == 0.0


@pytest.mark.parametrize(
    "rule,message",
    [("bleu <", "expected a number or 'baseline'"), ("meteor < 3", "no metric 'meteor' in this run")],
)
def test_bad_rule_exits_2_with_a_message(systems, compare, rule, message):
    run = compare("--fail-if", rule, systems_args=("--system", f"copy={systems / 'copy.txt'}"))
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_github_summary_is_appended(systems, tmp_path, compare):
    summary = tmp_path / "step_summary.md"
    run = compare(
        "--fail-if",
        GATE,
        "--github-summary",
        systems_args=("--system", f"degraded={systems / 'degraded.txt'}"),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.returncode == 1
    assert f"❌ `{GATE}` on **degraded**" in summary.read_text(encoding="utf-8")


def test_config_run_table(systems, tmp_path, evalkit_cli):
    config = tmp_path / "ci.toml"
    config.write_text(
        f"""
metrics = ["bleu"]
out = "out"
[references]
path = "{DEMO / "references.txt"}"
[systems]
main = "{DEMO / "system_medium.txt"}"
degraded = "{systems / "degraded.txt"}"
[run]
baseline = "main"
fail_if = ["{GATE}"]
bootstrap = 200
junit = "gates.xml"
""",
        encoding="utf-8",
    )
    run = evalkit_cli("run", config)
    assert run.returncode == 1, run.stderr
    assert f"{GATE} [degraded]" in run.stderr
    assert (tmp_path / "gates.xml").is_file() and (tmp_path / "out" / "report.html").is_file()
