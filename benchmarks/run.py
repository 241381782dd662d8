"""evalkit against the reference libraries, measured in one run: ``make bench``.

Builds its own realistic data (:mod:`benchmarks.data`), times rouge-score,
sacrebleu and mauve-text next to evalkit on the same inputs, checks that the
scores are identical, and prints one markdown table (see README.md beside
this file for the row format). Every section is guarded: one that fails
prints ``error: ...`` in its row and the others still run.

    python benchmarks/run.py            # full run (several minutes)
    python benchmarks/run.py --quick    # small sizes, a smoke check
    python benchmarks/run.py --n 5000 --json rows.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # evalkit from this checkout
sys.path.insert(0, str(HERE))

import data  # noqa: E402  (benchmarks/data.py)

ROW_KEYS = ("task", "n", "reference_per_s", "evalkit_per_s", "ratio", "identical", "max_abs_diff", "target", "met")
TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_TARGET = 10.0
PARALLEL_TARGET = 1.7
HELP_TARGET_S = 0.5
CLI_TARGET_S = 1.5
MEMORY_TARGET_MB = 2048


def row(task: str, n: int | None, **values: Any) -> dict[str, Any]:
    """One table row with every key present (missing ones are None)."""
    out: dict[str, Any] = {key: None for key in ROW_KEYS}
    out.update(task=task, n=n, **values)
    return out


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    info = {
        "cores": cores,
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg())
        if hasattr(os, "getloadavg")
        else "?",
    }
    for package in ("rouge-score", "sacrebleu", "mauve-text", "numpy", "rapidfuzz", "nltk"):
        try:
            from importlib.metadata import version

            info[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    return info


def timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


# --------------------------------------------------------------------- ROUGE


def _rouge_reference(predictions: list[str], references: list[str], stem: bool) -> list[dict[str, tuple]]:
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(list(TYPES), use_stemmer=stem)
    return [{t: tuple(s[t]) for t in TYPES} for s in (scorer.score(r, p) for p, r in zip(predictions, references))]


def _evalkit_rouge(predictions: list[str], references: list[str], stem: bool, jobs: int | None) -> Callable[[], Any]:
    """The call users make, with caches cleared first (a cold start). No
    fallback: a broken public API is an error in the row, not a faster engine."""
    import evalkit
    from evalkit.metrics import rouge_engine

    def run() -> Any:
        rouge_engine.clear_caches()
        return evalkit.score_many(
            "rouge",
            predictions=predictions,
            references=references,
            options={"rouge": {"use_stemmer": stem, "jobs": jobs}},
        )

    return run


def _rouge_difference(predictions: list[str], references: list[str], stem: bool, expected: list[dict]) -> float:
    """Largest |engine - rouge-score| over P, R and F of every type and item."""
    from evalkit.metrics.rouge_engine import score_rouge

    got = score_rouge(predictions, [(r,) for r in references], rouge_types=TYPES, use_stemmer=stem)
    return max(abs(g - e) for t in TYPES for triple, want in zip(got[t], expected) for g, e in zip(triple, want[t]))


def _api_difference(result: Any, expected: list[dict]) -> float:
    """Largest |per-item F| difference of the public API's results; a result
    of the wrong shape is an error, never a difference of 0."""
    if not isinstance(result, dict) or not all(hasattr(result.get(t), "per_item") for t in TYPES):
        raise TypeError(f"evalkit.score_many('rouge') returned {type(result).__name__}, not one result per type")
    if any(len(result[t].per_item) != len(expected) for t in TYPES):
        raise ValueError(f"evalkit.score_many('rouge') did not score all {len(expected)} items")
    return max(abs(result[t].per_item[i] - want[t][2]) for t in TYPES for i, want in enumerate(expected))


def rouge_rows(predictions: list[str], references: list[str], repeats: int) -> list[dict]:
    rows = []
    n = len(predictions)
    for stem in (False, True):
        name = f"rouge 1/2/L/Lsum{', stemmer' if stem else ''} (pairs/s)"
        try:
            ref_wall, ref_cpu, expected = timed(lambda: _rouge_reference(predictions, references, stem))
            runs = [timed(_evalkit_rouge(predictions, references, stem, jobs=1)) for _ in range(repeats)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            diff = max(
                _rouge_difference(predictions, references, stem, expected), _api_difference(runs[-1][2], expected)
            )
            ratio = ref_wall / wall
            rows.append(
                row(
                    name,
                    n,
                    reference_per_s=n / ref_wall,
                    evalkit_per_s=n / wall,
                    ratio=ratio,
                    identical=diff == 0.0,
                    max_abs_diff=diff,
                    target=f">= {ROUGE_TARGET:g}x rouge-score, diff <= 1e-12",
                    met=ratio >= ROUGE_TARGET and diff <= 1e-12,
                    note=f"CPU-time ratio {ref_cpu / cpu:.1f}x; evalkit median of {repeats} cold runs, jobs=1",
                )
            )
        except Exception as error:  # noqa: BLE001 - the table reports it
            rows.append(row(name, n, note=f"error: {error!r}"))
    rows.append(_parallel_row(predictions, references, repeats))
    return rows


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parallel_row(predictions: list[str], references: list[str], repeats: int) -> dict:
    from evalkit.metrics import rouge_engine

    n = len(predictions)
    name = "rouge 1/2/L/Lsum jobs=2 vs jobs=1, both evalkit (pairs/s)"
    try:
        refs = [(r,) for r in references]
        serial, parallel = [], []
        for i in range(repeats):  # interleaved, so that outside load hits both alike
            for jobs, times in ((1, serial), (2, parallel)) if i % 2 == 0 else ((2, parallel), (1, serial)):
                rouge_engine.clear_caches()
                before = _children_cpu()
                wall, cpu, result = timed(lambda: rouge_engine.score_rouge(predictions, refs, jobs=jobs))
                times.append((wall, result, cpu, _children_cpu() - before))
        identical = all(r[1] == serial[0][1] for r in serial + parallel)
        serial_wall = statistics.median(r[0] for r in serial)
        parallel_wall = statistics.median(r[0] for r in parallel)
        ratio = serial_wall / parallel_wall
        # What two idle cores would give: the serial CPU time over the busier
        # of the two processes' CPU times (outside load does not enter CPU time).
        serial_cpu = statistics.median(r[2] for r in serial)
        busiest = statistics.median(max(r[2], r[3]) for r in parallel)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        return row(
            name,
            n,
            reference_per_s=n / serial_wall,
            evalkit_per_s=n / parallel_wall,
            ratio=ratio,
            identical=identical,
            max_abs_diff=0.0 if identical else None,
            target=f">= {PARALLEL_TARGET:g}x on 2 cores, same results in order",
            met=identical and ratio >= PARALLEL_TARGET,
            note=(
                f"median of {repeats} interleaved runs each, load average {load:.2f} on {machine()['cores']} cores; "
                f"CPU: serial {serial_cpu:.3f} s, parallel busiest process {busiest:.3f} s, "
                f"so {serial_cpu / busiest:.2f}x on 2 idle cores"
            ),
        )
    except Exception as error:  # noqa: BLE001
        return row(name, n, note=f"error: {error!r}")


# ---------------------------------------------------------------- sacrebleu

SACREBLEU_TARGETS = {"bleu": 10.0, "chrf": 10.0, "chrf++": 10.0, "ter": 5.0}
TER_PAIRS = 2_000  # sacrebleu's TER runs ~100-800 segments/s: the first pairs only


def _sacrebleu_case(metric: str) -> tuple[Any, Any, dict[str, Any]]:
    """(sacrebleu class, evalkit class, options) of one row."""
    from sacrebleu import metrics as sacre

    from evalkit.metrics import sacrebleu_metrics as ours

    return {
        "bleu": (sacre.BLEU, ours.BLEU, {}),
        "chrf": (sacre.CHRF, ours.CHRF, {}),
        "chrf++": (sacre.CHRF, ours.CHRF, {"word_order": 2}),
        "ter": (sacre.TER, ours.TER, {}),
    }[metric]


def _sacrebleu_once(metric: str, predictions: list[str], references: list[str]) -> tuple[float, float, Any]:
    """sacrebleu's corpus_score (its statistics, then the score), new objects: a cold start."""
    theirs, _, options = _sacrebleu_case(metric)
    scorer = theirs(**options)

    def run() -> tuple[list, Any]:
        rows = scorer._extract_corpus_statistics(predictions, [references])
        return rows, scorer._aggregate_and_compute(rows)

    return timed(run)


def _evalkit_once(metric: str, predictions: list[str], references: list[str]) -> tuple[float, float, Any]:
    """evalkit's score (statistics, corpus score and every sentence score), one
    process, caches cleared: a cold start."""
    from evalkit.metrics import bleu_engine

    _, ours, options = _sacrebleu_case(metric)
    bleu_engine.clear_caches()
    return timed(lambda: ours(**options, jobs=1).score(predictions=predictions, references=references))


def _sacrebleu_row(metric: str, predictions: list[str], references: list[str], repeats: int) -> dict:
    n = len(predictions)
    name = f"sacrebleu vs evalkit {metric}, fast engine (segments/s)"
    try:
        theirs_runs, ours_runs = [], []
        # one untimed run of each first: lazy imports (pandas for evalkit's
        # word ids) and first calls do not land in a timed run of either side
        _sacrebleu_once(metric, predictions, references)
        _evalkit_once(metric, predictions, references)
        for i in range(repeats):  # interleaved, so that outside load hits both alike
            pair = (_sacrebleu_once, theirs_runs), (_evalkit_once, ours_runs)
            for run, runs in pair if i % 2 == 0 else pair[::-1]:
                runs.append(run(metric, predictions, references))
        (expected_rows, expected), result = theirs_runs[-1][2], ours_runs[-1][2]
        rows_equal = result.item_statistics.tolist() == [list(row) for row in expected_rows]
        diff = abs(result.value - expected.score)
        ref_wall = statistics.median(r[0] for r in theirs_runs)
        wall = statistics.median(r[0] for r in ours_runs)
        cpu_ratio = statistics.median(r[1] for r in theirs_runs) / statistics.median(r[1] for r in ours_runs)
        ratio = ref_wall / wall
        target = SACREBLEU_TARGETS[metric]
        return row(
            name,
            n,
            reference_per_s=n / ref_wall,
            evalkit_per_s=n / wall,
            ratio=ratio,
            identical=rows_equal and diff == 0.0,
            max_abs_diff=diff,
            target=f">= {target:g}x sacrebleu, every statistic identical",
            met=ratio >= target and rows_equal and diff == 0.0,
            note=(
                f"CPU-time ratio {cpu_ratio:.1f}x; median of {repeats} interleaved cold runs each after one untimed, jobs=1; "
                f"sacrebleu: _extract_corpus_statistics + _aggregate_and_compute (what corpus_score runs); "
                f"evalkit: {metric} .score(), which also computes every sentence score; "
                f"identical: all {n:,} rows of statistics and the corpus score"
            ),
        )
    except Exception as error:  # noqa: BLE001 - the table reports it
        return row(name, n, note=f"error: {error!r}")


def sacrebleu_rows(predictions: list[str], references: list[str], repeats: int = 5) -> list[dict]:
    rows = []
    for metric in ("bleu", "chrf", "chrf++", "ter"):
        if metric == "ter":
            few = min(len(predictions), TER_PAIRS)
            rows.append(_sacrebleu_row(metric, predictions[:few], references[:few], 1))
        else:
            rows.append(_sacrebleu_row(metric, predictions, references, repeats))
    return rows


# -------------------------------------------------------------------- MAUVE


def mauve_rows(quick: bool) -> list[dict]:
    try:
        import mauve_section  # benchmarks/mauve_section.py, written alongside
    except ImportError as error:
        return [row("mauve", None, note=f"error: benchmarks/mauve_section.py not importable ({error})")]
    try:
        return [
            row(r["task"], r.get("n"), **{k: v for k, v in r.items() if k not in ("task", "n")})
            for r in mauve_section.run(quick)
        ]
    except Exception as error:  # noqa: BLE001
        return [row("mauve", None, note=f"error: {error!r}")]


# ---------------------------------------------------------------------- CLI


def _evalkit_command() -> list[str]:
    script = Path(sys.executable).with_name("evalkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalkit.cli"]


def _median_wall(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[-4:])} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return statistics.median(times)


def cli_rows(runs: int) -> list[dict]:
    rows = []
    command = _evalkit_command()
    name = "evalkit --help start-up (s)"
    try:
        seconds = _median_wall([*command, "--help"], runs)
        rows.append(
            row(
                name,
                1,
                seconds=seconds,
                target=f"< {HELP_TARGET_S} s",
                met=seconds < HELP_TARGET_S,
                note=f"median of {runs} runs of {Path(command[0]).name}",
            )
        )
    except Exception as error:  # noqa: BLE001
        rows.append(row(name, 1, note=f"error: {error!r}"))
    name = "evalkit score --metric bleu, 10 lines (s)"
    try:
        predictions, references = data.sentence_pairs(10, seed=3)
        with tempfile.TemporaryDirectory() as folder:
            pred, ref = Path(folder, "pred.txt"), Path(folder, "ref.txt")
            pred.write_text("\n".join(predictions) + "\n", encoding="utf-8")
            ref.write_text("\n".join(references) + "\n", encoding="utf-8")
            seconds = _median_wall(
                [*command, "score", "--metric", "bleu", "--predictions", str(pred), "--references", str(ref)], runs
            )
        rows.append(
            row(
                name,
                10,
                seconds=seconds,
                target=f"< {CLI_TARGET_S} s",
                met=seconds < CLI_TARGET_S,
                note=f"median of {runs} runs, wall clock",
            )
        )
    except Exception as error:  # noqa: BLE001
        rows.append(row(name, 10, note=f"error: {error!r}"))
    return rows


# ------------------------------------------------------------------- memory


def _high_water_mb() -> float:
    """Peak resident memory of this process. Not ru_maxrss: Linux carries it
    over from the parent through fork and exec, so a child started by a big
    benchmark process would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(n: int, metrics: list[str]) -> None:
    """Run in a subprocess: score n short pairs with ``metrics``, print JSON."""
    import evalkit

    predictions, references = data.short_pairs(n, seed=5)
    start = time.perf_counter()
    results = evalkit.score_many(metrics, predictions=predictions, references=references)
    seconds = time.perf_counter() - start
    own = _high_water_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "peak_mb": own,
                "children_peak_mb": children,
                "seconds": seconds,
                "values": {name: r.value for name, r in results.items()},
            }
        )
    )


def memory_row(n: int, metrics: list[str]) -> dict:
    label = " + ".join("ROUGE (4 types)" if m == "rouge" else m.upper() for m in metrics)
    name = f"peak memory: {label} on {n:,} short pairs (MB)"
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(n), "--metrics", ",".join(metrics)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-500:])
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        # a forked worker shares the parent's pages: the sum over-counts, so it is a safe upper bound
        total = measured["peak_mb"] + measured["children_peak_mb"]
        return row(
            name,
            n,
            evalkit_per_s=n / measured["seconds"],
            peak_mb=total,
            target=f"< {MEMORY_TARGET_MB / 1024:g} GB peak",
            met=total < MEMORY_TARGET_MB,
            note=(
                f"process peak {measured['peak_mb']:.0f} MB + worker peak {measured['children_peak_mb']:.0f} MB "
                f"(VmHWM and workers' ru_maxrss, data generation included); scoring took {measured['seconds']:.0f} s"
            ),
        )
    except Exception as error:  # noqa: BLE001
        return row(name, n, note=f"error: {error!r}")


# -------------------------------------------------------------------- table


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render(rows: list[dict], info: dict) -> str:
    lines = ["## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [
        "",
        "| task | n | reference pairs/s | evalkit pairs/s | ratio | identical (max abs diff) | target | met |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    notes = []
    for r in rows:
        if "seconds" in r:
            ours = f"{r['seconds']:.3f} s"
        elif "peak_mb" in r:
            ours = f"{r['peak_mb']:,.0f} MB"
        else:
            ours = _number(r["evalkit_per_s"])
        identical = ""
        if r["identical"] is not None:
            identical = _number(r["identical"])
            if r["max_abs_diff"] is not None:
                identical += f" ({r['max_abs_diff']:.1e})"
        ratio = f"{r['ratio']:.2f}x" if isinstance(r["ratio"], (int, float)) else ""
        note = r.get("note")
        mark = ""
        if note:
            notes.append(note)
            mark = f" [{len(notes)}]"
        met = "error" if note and note.startswith("error") else _number(r["met"])
        lines.append(
            f"| {r['task']}{mark} | {_number(r['n'])} | {_number(r['reference_per_s'])} | {ours} | {ratio} "
            f"| {identical} | {r['target'] or ''} | {met} |"
        )
    lines.append("")
    lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check, not a measurement")
    parser.add_argument("--n", type=int, help="sentence pairs for the speed rows (default 20,000; 2,000 with --quick)")
    parser.add_argument(
        "--memory-n", type=int, help="pairs for the memory row (default 1,000,000; 20,000 with --quick)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--metrics", default="rouge,bleu", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.metrics.split(","))
        return 0
    n = args.n or (2_000 if args.quick else 20_000)
    memory_n = args.memory_n or (20_000 if args.quick else 1_000_000)
    repeats = 1 if args.quick else 3
    info = machine()
    print(f"building {n:,} sentence pairs ...", file=sys.stderr)
    predictions, references = data.sentence_pairs(n, seed=0)
    sections: list[tuple[str, Callable[[], list[dict]]]] = [
        ("rouge", lambda: rouge_rows(predictions, references, repeats)),
        # five: one of evalkit's ~0.3 s runs can take twice as long on a shared VM
        ("sacrebleu", lambda: sacrebleu_rows(predictions, references, 1 if args.quick else 5)),
        ("mauve", lambda: mauve_rows(args.quick)),
        ("cli", lambda: cli_rows(3 if args.quick else 5)),
        # ROUGE alone too, so that a miss names the metric that caused it
        (
            "memory",
            lambda: [
                memory_row(memory_n, ["rouge"]),
                memory_row(memory_n, ["rouge", "bleu"]),
                memory_row(memory_n, ["bleu", "chrf", "ter"]),
            ],
        ),
    ]
    rows: list[dict] = []
    for section, build in sections:
        print(f"running {section} ...", file=sys.stderr)
        try:
            rows += build()
        except Exception as error:  # noqa: BLE001 - a broken section must not hide the others
            rows.append(row(section, None, note=f"error: {error!r}"))
    print(render(rows, info))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
