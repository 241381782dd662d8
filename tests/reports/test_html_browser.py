"""report.html in a real browser: Debian's headless Chromium opens it offline,
logs no console message, and shows every system and every figure with a
non-empty size. ``make browser`` installs Chromium (``make test`` runs it)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import evalkit
from evalkit.judge_columns import columns_from_pairs
from evalkit.reports.html import render_html
from evalkit.stats.analysis import analyze
from evalkit.stats.gates import evaluate, parse_rules

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # every host name fails to resolve: the page cannot reach anything
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]

# Run inside the page after layout: writes each figure's rendered size into
# the DOM, which --dump-dom then prints.
MEASURE = """<script>
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  svg.setAttribute('data-rendered', Math.round(box.width) + 'x' + Math.round(box.height));
}
document.body.setAttribute('data-measured', String(document.querySelectorAll('svg').length));
</script>"""

SYSTEMS = {
    "baseline": ["the cat sat on the mat", "a quick brown fox", "it rained all day", "we met at noon"],
    'candidate <b>&"x"': ["the cat sat on a mat", "a quick fox", "it rained all day long", "we met at noon"],
    "degraded": ["cat", "fox fox fox", "", "noon"],
}
REFERENCES = ["the cat sat on the mat", "the quick brown fox", "it rained all day", "we met at noon today"]
PAIRS = [
    {
        "system_a": 'candidate <b>&"x"',
        "system_b": "baseline",
        "win_rate": 0.6,
        "position_consistency": 0.75,
        "first_position_rate": 0.55,
    },
    {
        "system_a": "degraded",
        "system_b": "baseline",
        "win_rate": 0.1,
        "position_consistency": 0.5,
        "first_position_rate": 0.8,
    },
]


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed: run `make browser` (apt-get install -y chromium)")
    return path


def _open(path: Path, profile: Path) -> tuple[str, str]:
    run = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, run.stderr


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    comparison = evalkit.compare(SYSTEMS, references=REFERENCES, metrics="rouge1,bleu")
    analysis = analyze(
        comparison,
        baseline="baseline",
        n_resamples=200,
        judge=columns_from_pairs(PAIRS, baseline="baseline"),
    )
    gates = evaluate(
        parse_rules(["bleu < baseline - 0.5", "win_rate < 0.45"]),
        values=analysis.gate_values(),
        baseline="baseline",
        p_values=analysis.p_values(),
    )
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(render_html(comparison, analysis, gates, judge_pairs=PAIRS), encoding="utf-8")
    return path, comparison, analysis


EXPECTED_PLOTS = {
    "plot-ci-rouge1",
    "plot-delta-rouge1",
    "plot-dist-rouge1",
    "plot-ci-bleu",
    "plot-delta-bleu",
    "plot-dist-bleu",
    "plot-win-matrix",
    "plot-position-bias",
}


def test_report_needs_nothing_from_outside(report):
    path, _, _ = report
    text = path.read_text(encoding="utf-8")
    assert "<script" not in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert "@import" not in text and "url(" not in text


def test_opens_offline_without_console_messages_and_shows_everything(report, tmp_path):
    path, comparison, _ = report
    measured = tmp_path / "measured.html"
    measured.write_text(path.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom, stderr = _open(measured, tmp_path / "profile")

    assert _console_messages(stderr) == []
    assert 'data-measured="8"' in dom  # the measuring script ran, over all eight figures
    sizes = dict(re.findall(r'<svg id="([^"]+)"[^>]*data-rendered="([0-9]+x[0-9]+)"', dom))
    assert set(sizes) == EXPECTED_PLOTS
    for plot, size in sizes.items():
        width, height = map(int, size.split("x"))
        assert width > 100 and height > 30, (plot, size)
    for system in comparison.systems:
        assert html.escape(system, quote=False) in dom, system


def test_console_errors_would_be_caught(tmp_path):
    """The check above can fail: a page that throws is reported."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>throw new Error('boom')</script></body></html>")
    _, stderr = _open(broken, tmp_path / "profile")
    assert any("boom" in line for line in _console_messages(stderr))


def test_without_baseline_or_judge_there_are_only_score_figures():
    comparison = evalkit.compare(SYSTEMS, references=REFERENCES, metrics="rouge1")
    page = render_html(comparison, analyze(comparison, n_resamples=100))
    assert re.findall(r'<svg id="([^"]+)"', page) == ["plot-ci-rouge1", "plot-dist-rouge1"]
