"""Judge client throughput: 2,000 judgments against the scripted
OpenAI-compatible server (tests/judge/scripted_server.py) with 100 ms of
latency per call, at concurrency 32. The ideal is 32 / 0.1 s = 320 calls/s;
the target is at least 90% of it.

    .venv/bin/python benchmarks/bench_judge.py [--calls 2000] [--concurrency 32] [--latency 0.1]

With ``--local`` it times the local judge's logprob verdicts instead: the
old way (llama-cpp-python's server with --logits_all true) beside the new
one (evalkit's last-position server) on the same prompts
(``local_judge_section.py``; ``--local-calls 200`` for the full measurement).

The server runs in its own process, so it does not share the client's GIL.
A benchmark, not a timed test: numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


async def _raw_transport(url: str, n: int, concurrency: int) -> float:
    """The same number of POSTs with bare httpx2 (the SDK's transport): the
    ceiling that Python's HTTP stack allows on this machine right now."""
    import asyncio
    import json

    import httpx2

    slots = asyncio.Semaphore(concurrency)
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 1500}]}
    async with httpx2.AsyncClient(limits=httpx2.Limits(max_connections=concurrency * 2)) as client:

        async def one() -> None:
            async with slots:
                json.loads((await client.post(url, json=body)).content)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--local", action="store_true", help="time the local judge's logprob verdicts, old vs new")
    parser.add_argument("--local-calls", type=int, default=20, help="logprob calls per way with --local")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads with --local")
    parser.add_argument("--ways", default="old,new", help="with --local: old, new or both (old,new)")
    args = parser.parse_args()
    if args.local:
        import local_judge_section

        ways = tuple(w.strip() for w in args.ways.split(","))
        rows = local_judge_section.run(args.local_calls, threads=args.threads, ways=ways)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(local_judge_section.render(rows))
        return 0

    from evalkit.judge.run import run_judge
    from evalkit.judge.types import JudgeInputs, JudgeSettings

    with tempfile.TemporaryDirectory() as tmp:
        port_file = pathlib.Path(tmp) / "port"
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "judge" / "scripted_server.py"),
                "--latency",
                str(args.latency),
                "--answer",
                "The answer is fine. Rating: [[6]]",
                "--port-file",
                str(port_file),
            ],
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the scripted server did not start")
                time.sleep(0.05)
            base_url = f"http://127.0.0.1:{port_file.read_text()}/v1"
            n = args.calls
            import asyncio

            raw_elapsed = asyncio.run(_raw_transport(base_url + "/chat/completions", n, args.concurrency))
            settings = JudgeSettings(
                base_url=base_url,
                model="scripted",
                template="mt-bench-single",
                concurrency=args.concurrency,
                cache=str(pathlib.Path(tmp) / "cache.sqlite"),
            )
            inputs = JudgeInputs.of(
                [f"Question number {i}: what is {i} + {i}?" for i in range(n)],
                {"system": [f"The answer is {2 * i}." for i in range(n)]},
            )
            # One-time costs are not throughput: the httpx2 baseline above
            # already paid for its imports, so pay for openai's (~0.5 s) here.
            import openai  # noqa: F401

            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            run = run_judge(settings, inputs, mode="single")
            elapsed = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            server.terminate()
            server.wait(10)
        server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)

    ideal = args.concurrency / args.latency
    achieved = n / elapsed
    scored = run.singles[0].n - run.singles[0].unscored
    print(
        f"judgments: {n} ({scored} scored), requests sent: {run.stats.requests_sent}, "
        f"concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms"
    )
    print(f"wall time: {elapsed:.2f} s (whole run after imports: render, cache, probe, calls, parse, store)")
    client_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print(
        f"CPU: client {1000 * client_cpu / n:.2f} ms/call, scripted server {1000 * (server_cpu.ru_utime + server_cpu.ru_stime) / (2 * n):.2f} ms/call; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"achieved: {achieved:.1f} calls/s   ideal: {ideal:.0f} calls/s   ({100 * achieved / ideal:.1f}% of ideal;"
        " target >= 90%)"
    )
    print(
        f"same calls with bare httpx2 (no SDK, no judge): {n / raw_elapsed:.1f} calls/s "
        f"({100 * n / raw_elapsed / ideal:.1f}% of ideal)"
    )
    return 0 if scored == n else 1


if __name__ == "__main__":
    sys.exit(main())
