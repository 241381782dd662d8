"""One process vs a Dask cluster of two local worker processes, on the same rows.

For each size it writes N English-like sentence pairs (benchmarks/data.py) to
text files, then runs the real CLI twice on them:

    evalkit compare --metrics rouge,bleu,chrf --bootstrap 0 --no-html ...
    ... the same with --engine dask --scheduler tcp://127.0.0.1:PORT

against a ``dask scheduler`` and two ``dask worker --nthreads 1 --no-nanny``
processes started for that size. It prints the wall time of each run, the peak
resident memory of the one-process run, of the Dask client, and of each worker
(``ru_maxrss`` of the exited processes), and whether every number of the two
summary.json files is the same, bit for bit.

    .venv/bin/python benchmarks/bench_dask.py                 # 10k and 100k rows
    .venv/bin/python benchmarks/bench_dask.py --sizes 1000000 # 1M (slow: ~an hour on 2 busy cores)

A benchmark, not a timed test: numbers depend on the machine's load; read the
two runs of one size side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks import data  # noqa: E402

METRICS = "rouge,bleu,chrf"
_CHUNK = 50_000  # pairs generated and written at a time


def write_pairs(folder: Path, n: int) -> tuple[Path, Path]:
    preds, refs = folder / "predictions.txt", folder / "references.txt"
    with preds.open("w", encoding="utf-8") as p, refs.open("w", encoding="utf-8") as r:
        for start in range(0, n, _CHUNK):
            chunk_p, chunk_r = data.sentence_pairs(min(_CHUNK, n - start), seed=start)
            p.write("".join(x + "\n" for x in chunk_p))
            r.write("".join(x + "\n" for x in chunk_r))
    return preds, refs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(process: subprocess.Popen[Any]) -> tuple[int, float]:
    """Exit status and peak resident memory (MB) of a child process."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024


def _run_cli(args: list[str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    code, peak = _wait(process)
    if code != 0:
        raise SystemExit(f"evalkit failed ({code}): {errors}")
    return time.perf_counter() - started, peak, errors


def _start_cluster(n_workers: int) -> tuple[str, list[subprocess.Popen[Any]]]:
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "dask"]
    quiet: dict[str, Any] = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [*run, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet
    )
    worker = [*run, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    workers = [subprocess.Popen(worker, **quiet) for _ in range(n_workers)]
    from distributed import Client

    with Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(n_workers, timeout=60)
    return address, [scheduler, *workers]


def _same(one: Any, two: Any, path: tuple[str, ...] = ()) -> bool:
    if isinstance(one, dict):
        return one.keys() == two.keys() and all(_same(one[k], two[k], (*path, str(k))) for k in one)
    if isinstance(one, list):
        return len(one) == len(two) and all(_same(x, y, path) for x, y in zip(one, two))
    return bool(one == two)


def measure(n: int, partition_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        preds, refs = write_pairs(folder, n)
        common = ["compare", "--metrics", METRICS, "--bootstrap", "0", "--no-html", "--format", "json"]
        common += ["--system", f"model={preds}", "--references", str(refs)]
        one_time, one_peak, _ = _run_cli([*common, "--out", str(folder / "one")])
        address, processes = _start_cluster(2)
        try:
            dask_args = ["--engine", "dask", "--scheduler", address, "--partition-size", str(partition_size)]
            dask_time, client_peak, _ = _run_cli([*common, "--out", str(folder / "dask"), *dask_args])
        finally:
            for p in processes[1:]:
                p.terminate()
            worker_peaks = [_wait(p)[1] for p in processes[1:]]
            processes[0].terminate()
            processes[0].wait()
        one = json.loads((folder / "one" / "summary.json").read_text())
        two = json.loads((folder / "dask" / "summary.json").read_text())
    return {
        "rows": n,
        "one_s": one_time,
        "one_mb": one_peak,
        "dask_s": dask_time,
        "client_mb": client_peak,
        "worker_mb": max(worker_peaks),
        "same": _same(one, two),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="rows per run")
    parser.add_argument("--partition-size", type=int, default=50_000, help="items per Dask partition")
    args = parser.parse_args(argv)
    print(f"Dask vs one process: {METRICS}, 2 local workers (1 thread each), partitions of {args.partition_size:,}")
    header = "| rows | one process s | one process peak MB | Dask s | Dask/one | client peak MB | worker peak MB | identical |"
    print(header)
    print("|" + "---|" * 8)
    results = []
    for n in args.sizes:
        r = measure(n, args.partition_size)
        results.append(r)
        print(
            f"| {r['rows']:,} | {r['one_s']:.1f} | {r['one_mb']:.0f} | {r['dask_s']:.1f} | "
            f"{r['dask_s'] / r['one_s']:.2f} | {r['client_mb']:.0f} | {r['worker_mb']:.0f} | "
            f"{'yes' if r['same'] else 'NO'} |",
            flush=True,
        )
    first = results[0]
    for r in results:  # the bound: a worker stays under 2 GB whatever the rows
        verdict = "under" if r["worker_mb"] < 2048 else "OVER"
        line = f"{r['rows']:,} rows: busiest worker {r['worker_mb']:.0f} MB, {verdict} 2 GB"
        if r["rows"] > first["rows"]:  # what each further row costs, start-up left out
            per_row = {k: (r[k] - first[k]) * 2**20 / (r["rows"] - first["rows"]) for k in ("client_mb", "one_mb")}
            line += f"; above {first['rows']:,} rows: client {per_row['client_mb']:,.0f} bytes a row"
            line += f", one process {per_row['one_mb']:,.0f}"
        print(line)


if __name__ == "__main__":
    main()
