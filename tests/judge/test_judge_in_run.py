"""`evalkit run` with metrics, a [judge] table and gates on the judge: the judge
runs in the same evaluation, its win rates get intervals from per-item
verdicts, and a dry run gates nothing (defects 1, 4 and 8 of the review)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from scripted_server import Reply, user_text

from evalkit.cli import main

N = 12
SYSTEMS = {
    "base": [f"good answer number {i}" for i in range(N)],
    # half its answers good (ties with the baseline), half bad (losses)
    "mixed": [f"good answer number {i}" if i % 2 else f"bad answer {i}" for i in range(N)],
    "worse": [f"bad answer {i}" for i in range(N)],
}


def _answer(text: str, slot: str) -> str:
    found = re.search(rf"<<<{slot} \S+>>>\n(.*?)\n<<<END {slot}", text, flags=re.S)
    assert found is not None, text
    return found.group(1)


def prefers_good(request: dict, n: int) -> Reply:
    """A judge with no position bias: the answer that says "good" wins."""
    text = user_text(request)
    first, second = ("good" in _answer(text, slot) for slot in ("ANSWER_A", "ANSWER_B"))
    if first == second:
        return Reply("Equal. [[C]]")
    return Reply("[[A]]" if first else "[[B]]")


def _config(tmp_path: Path, base_url: str, *, judge_extra: str = "", fail_if: str = "win_rate < 0.1") -> Path:
    for name, lines in {**SYSTEMS, "prompts": [f"question {i}" for i in range(N)]}.items():
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
out = "out"
metrics = ["rouge1"]
references = "base.txt"
[systems]
base = "base.txt"
mixed = "mixed.txt"
worse = "worse.txt"
[run]
baseline = "base"
bootstrap = 500
fail_if = ["{fail_if}"]
[judge]
mode = "pairwise"
base_url = "{base_url}"
model = "scripted"
template = "mt-bench-pairwise"
baseline = "base"
prompts = "prompts.txt"
cache = "cache.sqlite"
{judge_extra}
[judge.systems]
base = "base.txt"
mixed = "mixed.txt"
worse = "worse.txt"
""",
        encoding="utf-8",
    )
    return config


def _stat(statistics: dict, system: str, metric: str) -> dict:
    return next(s for s in statistics["stats"] if s["system"] == system and s["metric"] == metric)


def test_judge_win_rates_get_intervals_from_per_item_verdicts_and_feed_the_gates(scripted, tmp_path, capsys):
    server = scripted(prefers_good)
    status = main(["run", str(_config(tmp_path, server.base_url))])
    out, err = capsys.readouterr()
    assert status == 1, err
    assert "FAIL win_rate < 0.1 [worse]" in err and "[mixed]" not in err.split("gate check(s) failed")[1]
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    mixed = _stat(statistics, "mixed", "win_rate")
    # 6 ties (0.5) and 6 losses (0): 0.25, with a bootstrap interval over items inside [0, 1]
    assert mixed["value"] == pytest.approx(0.25) and mixed["kind"] == "per-item mean"
    assert 0.0 <= mixed["interval"]["low"] < 0.25 < mixed["interval"]["high"] <= 1.0
    assert _stat(statistics, "worse", "win_rate")["interval"]["high"] == 0.0
    assert "## Judge" in (tmp_path / "out" / "report.md").read_text()
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'id="explorer"' in page and 'id="plot-win-matrix"' in page  # the items and the judge's figures
    # the judge's length and style control: "good answer number i" is longer than "bad answer i"
    assert "<th>length-controlled win rate</th>" in page and "<th>style-controlled rating</th>" in page
    assert "Warning: mixed vs base: the length-controlled win rate" in page
    # the judge's own files, written once, from the same run
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert {(p["system_a"], p["win_rate"]) for p in summary["pairs"]} == {("mixed", 0.25), ("worse", 0.0)}
    assert "LLM judge (pairwise)" in out


def test_a_dry_run_gates_nothing_and_reads_no_stale_summary(scripted, tmp_path, capsys):
    server = scripted(prefers_good)
    config = _config(tmp_path, server.base_url, judge_extra="dry_run = true", fail_if="win_rate < 0.99")
    stale = tmp_path / "out" / "judge" / "summary.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"pairs": [{"system_a": "mixed", "system_b": "base", "win_rate": 0.0}]}))
    status = main(["run", str(config)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "gates not checked: a dry run sends no judge call" in err
    assert re.search(r"dry run \(pairwise\): \d+ calls, 0 cached", out)
    assert server.requests == []
    assert json.loads(stale.read_text())["pairs"][0]["win_rate"] == 0.0  # left alone, never read
    assert "Gates not checked" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.local_judge
def test_run_with_metrics_and_the_local_judge_gated_end_to_end(tmp_path, capsys):
    """Defect 8: metrics, a [judge] table with the real local judge (two
    items) and a gate on the judge, through `evalkit run`."""
    config = _config(tmp_path, "unused", fail_if="win_rate < 0.6")
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        'base_url = "unused"\nmodel = "scripted"\n', 'judge = "local"\nlimit = 2\nprotocol = "grammar"\n'
    )
    config.write_text(text.replace('template = "mt-bench-pairwise"', 'template = "pairwise"'), encoding="utf-8")
    status = main(["run", str(config)])
    out, err = capsys.readouterr()
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert summary["judge"]["model"] and summary["requests_sent"] >= 1
    assert [p["n"] for p in summary["pairs"]] == [2, 2]  # --limit 2, both pairs against the baseline
    for pair in summary["pairs"]:
        stat = _stat(statistics, pair["system_a"], "win_rate")
        assert stat["value"] == pytest.approx(pair["win_rate"])
        assert 0.0 <= stat["interval"]["low"] <= stat["value"] <= stat["interval"]["high"] <= 1.0
    failing = {p["system_a"] for p in summary["pairs"] if p["win_rate"] < 0.6}
    assert status == (1 if failing else 0), err
    for system in failing:
        assert f"FAIL win_rate < 0.6 [{system}]" in err
    assert "LLM judge (pairwise)" in out and "rouge1" in out
    for pair in summary["pairs"]:  # length control of the real judge's verdicts, unscored items counted apart
        assert pair["length_control_n"] + pair["length_control_unscored"] == 2
        if pair["length_control_n"]:
            low, high = pair["length_controlled_win_rate_ci"]
            assert 0.0 <= low <= pair["length_controlled_win_rate"] <= high <= 1.0
    assert {r["system"] for r in summary["style_controlled_ratings"]["ratings"]} == set(SYSTEMS)
