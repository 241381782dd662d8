"""report.html's item explorer at 10,000 items x 4 systems, in headless Chromium.

For each variant of the page it prints the file size, the time to first
render (the page's own ``performance.now()`` when the first 50 rows are
drawn, measured from navigation start; median of several loads) and how long
a filter, a sort, a search and opening an item take (the page's own timing of
filtering + sorting + drawing). The reference, measured in the same run, is
the same report.html without the explorer; the plain-JSON variants show what
gzip+base64 saves.

    .venv/bin/python benchmarks/bench_explorer.py [--items 10000] [--loads 3] [--quick]

Needs Debian's chromium (``make browser``). A benchmark, not a timed test:
numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # evalkit, benchmarks/ and tests/ from this checkout

from benchmarks import data  # noqa: E402

SYSTEMS = ("baseline", "candidate", "small", "tuned")
METRICS = "rouge1,rougeL,bleu,chrf"
FIRST_RENDER_TARGET_MS = 3000.0
INTERACTION_TARGET_MS = 200.0
SIZE_TARGET_MB = 25.0


def build(n: int) -> tuple[Any, Any, Any, Any]:
    """(comparison, analysis, explorer data without judge, with judge) for ``n`` items."""
    import random

    import evalkit
    from evalkit.reports.explorer import JudgeItem, OrderVerdict, explorer_data_from
    from evalkit.stats.analysis import analyze

    gen = data._Generator(11)
    rng = random.Random(11)
    references, prompts = [], []
    outputs: dict[str, list[str | None]] = {s: [] for s in SYSTEMS}
    for _ in range(n):
        reference = gen.sentence(max(8, int(rng.gauss(25, 5))))
        references.append(gen.render(reference))
        passage = " ".join(gen.render(gen.sentence(25)) for _ in range(3))
        prompts.append(f"Summarise in one sentence: {passage}")
        for system in SYSTEMS:
            outputs[system].append(gen.render(gen.paraphrase(reference)))
    comparison = evalkit.compare(outputs, references=references, metrics=METRICS)
    analysis = analyze(comparison, baseline=SYSTEMS[0], n_resamples=200, n_trials=200)
    judged = []
    for other in SYSTEMS[1:]:
        for i in range(n):
            labels = [rng.choice("AB") for _ in range(2)]
            calls = tuple(
                OrderVerdict(order, label, f"{gen.render(gen.sentence(35))} Verdict: [[{label}]]")
                for order, label in zip(("ab", "ba"), labels)
            )
            consistent = labels[0] != labels[1]
            outcome = ("win" if labels[0] == "A" else "loss") if consistent else "tie"
            score = {"win": 1.0, "loss": 0.0, "tie": 0.5}[outcome]
            judged.append(JudgeItem("pairwise", i, (other, SYSTEMS[0]), outcome, score, consistent, calls))
    plain = explorer_data_from(comparison, prompts=prompts, baseline=SYSTEMS[0])
    with_judge = explorer_data_from(comparison, judged, prompts=prompts, baseline=SYSTEMS[0])
    return comparison, analysis, plain, with_judge


def timed_action(page: Any, action: Callable[[], None]) -> float:
    """Run a UI action and return the page's own render time for it (ms)."""
    page.eval("document.getElementById('explorer').dataset.lastRenderMs = ''")
    action()
    page.wait_for("document.getElementById('explorer').dataset.lastRenderMs")
    return float(page.eval("document.getElementById('explorer').dataset.lastRenderMs"))


def measure(browser: Any, path: Path, loads: int, explorer: bool) -> dict[str, Any]:
    firsts, walls = [], []
    page = None
    for _ in range(loads):
        started = time.perf_counter()
        page = browser.open(path)
        if explorer:
            page.wait_for("document.getElementById('explorer').dataset.state", timeout=120)
            if page.eval("document.getElementById('explorer').dataset.state") != "ready":
                raise RuntimeError(page.eval("document.getElementById('ex-status').textContent"))
            firsts.append(float(page.eval("document.getElementById('explorer').dataset.firstRenderMs")))
        else:
            firsts.append(float(page.eval("performance.getEntriesByType('navigation')[0].loadEventEnd")))
        walls.append((time.perf_counter() - started) * 1000)
        problems = page.problems()
        if problems:
            raise RuntimeError(f"the page reported problems: {problems[:3]}")
    out: dict[str, Any] = {"first_ms": statistics.median(firsts), "wall_ms": statistics.median(walls)}
    if explorer and page is not None:
        out["filter_ms"] = timed_action(page, lambda: page.select("#ex-show", "unscored"))
        page.click("#ex-reset")
        out["sort_ms"] = timed_action(page, lambda: page.select("#ex-sort", "spread:0"))

        def search() -> None:
            page.click("#ex-search")
            page.type("the")

        out["search_ms"] = timed_action(page, search)
        page.click("#ex-reset")
        out["open_ms"] = timed_action(page, lambda: page.click("#ex-table tbody tr button"))
        if page.problems():
            raise RuntimeError(f"the page reported problems: {page.problems()[:3]}")
    return out


def row(name: str, json_mb: float | None, size_mb: float, write_s: float, m: dict[str, Any]) -> str:
    """One markdown row, with whether the targets are met."""
    cells = [m.get(k) for k in ("filter_ms", "sort_ms", "search_ms", "open_ms")]
    met = (
        m["first_ms"] < FIRST_RENDER_TARGET_MS
        and size_mb < SIZE_TARGET_MB
        and all(c is None or c < INTERACTION_TARGET_MS for c in cells)
    )
    shown = " | ".join("" if c is None else f"{c:.0f}" for c in cells)
    return (
        f"| {name} | {'' if json_mb is None else f'{json_mb:.1f}'} | {size_mb:.2f} | {write_s:.2f} | "
        f"{m['first_ms']:.0f} | {m['wall_ms']:.0f} | {shown} | {'yes' if met else 'NO'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 items, one load: a smoke check")
    args = parser.parse_args(argv)
    n, loads = (1_000, 1) if args.quick else (args.items, args.loads)

    from evalkit.reports.explorer import embed, payload, render_explorer
    from evalkit.reports.html import render_html
    from tests.reports.chromium_cdp import Browser, chromium_path

    if chromium_path() is None:
        print("bench_explorer: Debian's chromium is not installed: run `make browser`", file=sys.stderr)
        return 2
    started = time.perf_counter()
    comparison, analysis, plain, with_judge = build(n)
    print(f"\n## report.html item explorer: {n:,} items x {len(SYSTEMS)} systems, metrics {METRICS}")
    print(
        f"(data built and scored in {time.perf_counter() - started:.0f} s; targets: first render "
        f"< {FIRST_RENDER_TARGET_MS:.0f} ms, each interaction < {INTERACTION_TARGET_MS:.0f} ms, "
        f"file < {SIZE_TARGET_MB:.0f} MB)\n"
    )
    columns = ["page", "JSON MB", "file MB", "write s", "first render ms", "load wall ms"]
    columns += ["filter ms", "sort ms", "search ms", "open item ms", "met"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    variants = [
        ("report.html without the explorer (reference)", None, None),
        ("+ explorer, gzip+base64", plain, True),
        ("+ explorer, plain JSON", plain, False),
        ("+ explorer + judge (3 pairs x 2 orders, explained), gzip+base64", with_judge, True),
        ("+ explorer + judge, plain JSON", with_judge, False),
    ]
    with tempfile.TemporaryDirectory() as tmp, Browser(timeout=180) as browser:
        for name, explorer, compress in variants:
            t0 = time.perf_counter()
            page_html = render_html(comparison, analysis, explorer=explorer)
            write_s = time.perf_counter() - t0
            json_mb = None
            if explorer is not None:
                json_mb = len(embed(payload(explorer), compress=False)[1].encode()) / 1e6
                if not compress:  # render_html compresses data this large: the same page without
                    page_html = page_html.replace(render_explorer(explorer), render_explorer(explorer, compress=False))
            path = Path(tmp) / "report.html"
            path.write_text(page_html, encoding="utf-8")
            size_mb = path.stat().st_size / 1e6
            print(row(name, json_mb, size_mb, write_s, measure(browser, path, loads, explorer is not None)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
