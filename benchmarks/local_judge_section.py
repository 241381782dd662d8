"""The local judge's logprob verdicts, the old way and the new way, on the
same prompts in the same run (``bench_judge.py --local``):

- old: llama-cpp-python's server with ``--logits_all true`` (top_logprobs
  need it; it computes the whole vocabulary's logits at every prompt
  position) and the labels found in its top-k (it ignores ``logit_bias`` in
  the logprobs it returns, so evalkit's probe falls back to ``top_k``);
- new: evalkit's last-position server (``evalkit.judge.last_token_server``),
  which computes one row of logits per call, with the same ``logit_bias`` on
  every label token (``logit_bias``).

Each way gets its own server, started before the clock starts, and its own
empty cache; the calls are pairwise mt-bench prompts of about 440 tokens
(two answers of two ~25-word sentences each), both orders of each item. Besides the wall
time, the server process's CPU time is read from ``/proc`` (Linux): on a
shared, loaded machine it is the steadier measure, and with llama.cpp's
default of one thread per server (half the cores of a 2-core machine) it is
what the wall time would be on an idle one.
"""

from __future__ import annotations

import dataclasses
import pathlib
import statistics
import tempfile
import time
from typing import Any

__all__ = ["run"]


@dataclasses.dataclass
class _Shared:
    """A started server handed to runs through a provider that never stops it."""

    judge: Any
    logits_all: bool = True

    @property
    def base_url(self) -> str:
        return str(self.judge.base_url)

    @property
    def model(self) -> str:
        return str(self.judge.model)

    def stop(self) -> None:
        pass


def _inputs(n_items: int) -> Any:
    from data import sentence_pairs

    from evalkit.judge.types import JudgeInputs

    a, b = sentence_pairs(n_items * 2, seed=3)
    answer_a = [" ".join(a[2 * i : 2 * i + 2]) for i in range(n_items)]
    answer_b = [" ".join(b[2 * i : 2 * i + 2]) for i in range(n_items)]
    prompts = [f"Summarise the news report number {i} in a few sentences." for i in range(n_items)]
    return JudgeInputs.of(prompts, {"first": answer_a, "second": answer_b})


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux ``/proc``), or ``None``."""
    import os

    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one_way(old: bool, inputs: Any, threads: int | None) -> dict[str, Any]:
    from evalkit.judge.local_server import LocalJudge
    from evalkit.judge.run import run_judge
    from evalkit.judge.server import JudgeServers
    from evalkit.judge.types import JudgeSettings

    judge = LocalJudge(logits_all=True, llama_cpp_logits_all=old, threads=threads).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = JudgeSettings(
                judge="local",
                template="mt-bench-pairwise",
                protocol="logprobs",
                reconcile="average",
                cache=str(pathlib.Path(tmp) / "cache.sqlite"),
            )
            with JudgeServers(start_local=lambda *args: _Shared(judge)) as servers:
                cpu_before = _cpu_seconds(judge.process.pid)
                started = time.perf_counter()
                run = run_judge(settings, inputs, mode="pairwise", server=servers)
                elapsed = time.perf_counter() - started
                cpu_after = _cpu_seconds(judge.process.pid)
    finally:
        judge.stop()
    calls = [c.call for item in run.items for c in item.calls if c.call is not None]
    scored = [c for c in calls if c.verdict.ok]
    first_label = [c.verdict.probabilities.get("A", 0.0) for c in scored if c.verdict.probabilities]
    return {
        "way": "old: llama_cpp.server --logits_all true" if old else "new: last-position server",
        "method": run.logprobs.method if run.logprobs else "-",
        "calls": run.stats.calls,
        "seconds": elapsed,
        "server_cpu": None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        "per_call": elapsed / max(1, run.stats.calls),
        "prompt_tokens": run.stats.prompt_tokens / max(1, len(calls)),
        "unscored": len(calls) - len(scored),
        "mean_p_a": statistics.fmean(first_label) if first_label else None,
        "share_p_a_1": sum(1 for p in first_label if p == 1.0) / len(first_label) if first_label else None,
    }


def run(calls: int = 20, threads: int | None = None, ways: tuple[str, ...] = ("old", "new")) -> list[dict[str, Any]]:
    """Time ``calls`` logprob verdicts (rounded up to both orders of whole items) each way."""
    inputs = _inputs(max(1, (calls + 1) // 2))
    return [_one_way(way == "old", inputs, threads) for way in ways]


def render(rows: list[dict[str, Any]]) -> str:
    header = "| way | method | calls | prompt tokens/call | wall s | server CPU s | CPU s/call | unscored"
    header += " | mean P(A) | P(A)=1 |"
    lines = [header, "|" + "---|" * 10]
    for r in rows:
        mean = "-" if r["mean_p_a"] is None else f"{r['mean_p_a']:.3f}"
        ones = "-" if r["share_p_a_1"] is None else f"{100 * r['share_p_a_1']:.0f}%"
        cpu = r["server_cpu"]
        cpu_text = "-" if cpu is None else f"{cpu:.1f}"
        per_call = "-" if cpu is None else f"{cpu / max(1, r['calls']):.2f}"
        lines.append(
            f"| {r['way']} | {r['method']} | {r['calls']} | {r['prompt_tokens']:.0f} | {r['seconds']:.1f} "
            f"| {cpu_text} | {per_call} | {r['unscored']} | {mean} | {ones} |"
        )
    if len(rows) == 2:
        old, new = rows
        lines += ["", f"new / old: wall time {new['seconds'] / old['seconds']:.2f}"]
        if old["server_cpu"] and new["server_cpu"]:
            lines[-1] += f", server CPU time {new['server_cpu'] / old['server_cpu']:.2f}"
    return "\n".join(lines)
