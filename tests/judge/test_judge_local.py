"""End to end against the real local judge: Gemma 3 270M via llama.cpp,
started on loopback by the session fixtures, for each verdict protocol.

Gemma 270M is a weak judge; these tests check the whole path (probe,
request shapes, parsing, reconciliation, counts), not its taste.
"""

from __future__ import annotations

import math
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from evalkit.judge.report import judgment_records
from evalkit.judge.run import run_judge
from evalkit.judge.server import JudgeServers
from evalkit.judge.types import JudgeInputs, JudgeSettings

pytestmark = pytest.mark.local_judge

PROMPTS = ["What is the capital of France?", "How many legs does a spider have?"]
SYSTEMS = {
    "good": ["Paris is the capital of France.", "A spider has eight legs."],
    "bad": ["The capital of France is Berlin.", "Spiders have six legs."],
}
ROOT = pathlib.Path(__file__).resolve().parents[2]


class Shared:
    """The session's server, handed to runs through a provider (never stopped by them)."""

    def __init__(self, judge):
        self.judge = judge
        self.logits_all = judge.logits_all
        self.base_url = judge.base_url
        self.model = judge.model

    def stop(self):
        pass


def servers(judge):
    return JudgeServers(start_local=lambda logits_all: Shared(judge))


def local_run(judge, tmp_path, mode="pairwise", systems=SYSTEMS, **options):
    settings = JudgeSettings(judge="local", cache=str(tmp_path / "c.sqlite"), timeout=300, **options)
    with servers(judge) as provider:
        return run_judge(settings, JudgeInputs.of(PROMPTS, systems), mode=mode, server=provider)


def check_counts(run, n_calls):
    assert run.stats.calls == n_calls
    assert run.stats.requests_sent == n_calls + run.stats.probe_requests
    assert run.stats.prompt_tokens > 0 and run.stats.completion_tokens > 0
    for pair in run.pairs:
        assert pair.wins + pair.losses + pair.ties + pair.unscored == pair.n == len(PROMPTS)


def test_text_protocol(local_judge, tmp_path):
    run = local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="text", max_tokens=32)
    check_counts(run, 4)
    for record in judgment_records(run):
        assert isinstance(record["raw_answer"], str)
        # Strict: a legal verdict, or unscored with its reason; never a guess.
        if record["unscored"] is None:
            assert record["verdict"] in ("A", "B", "C")
        else:
            assert record["verdict"] is None
            assert any(r in record["unscored"] for r in ("truncated", "no verdict", "not one of", "empty", "refusal"))


def test_grammar_protocol_pairwise_and_single(local_judge, tmp_path):
    run = local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="grammar")
    check_counts(run, 4)
    assert {r["raw_answer"] for r in judgment_records(run)} <= {"A", "B", "C"}
    (pair,) = run.pairs
    assert pair.unscored == 0
    assert pair.first_position_rate is not None and pair.position_consistency is not None

    single = local_run(local_judge, tmp_path, mode="single", template="single", protocol="grammar")
    check_counts(single, 4)
    for summary in single.singles:
        assert summary.unscored == 0 and 1 <= summary.mean <= 10
    assert all(r["raw_answer"] in [str(i) for i in range(1, 11)] for r in judgment_records(single))

    # The same run again is served from the cache: zero requests.
    again = local_run(local_judge, tmp_path, mode="single", template="single", protocol="grammar")
    assert again.stats.requests_sent == 0 and again.stats.cache_hits == 4


def test_logprobs_protocol(local_judge_logprobs, tmp_path):
    judge = local_judge_logprobs
    run = local_run(judge, tmp_path, template="mt-bench-pairwise", protocol="logprobs", reconcile="average")
    check_counts(run, 4)
    for record in judgment_records(run):
        assert len(record["top_logprobs"]) == 20
        if record["unscored"] is None:
            assert math.isclose(sum(record["probabilities"].values()), 1.0)
            assert 0.0 <= record["p_first"] <= 1.0
            assert set(record["probabilities"]) | set(record["missing_labels"] or []) == {"A", "B", "C"}
        else:
            assert "no legal verdict token" in record["unscored"]
    assert run.pairs[0].unscored < 2  # Gemma puts A/B/C in its top 20 for these prompts


def test_local_judge_without_logits_all_fails_the_logprobs_probe(local_judge, tmp_path):
    from evalkit.errors import EvalkitError

    with pytest.raises(EvalkitError):
        local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="logprobs")


def _children(pid):
    out = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cli_local_judge_stops_its_server_on_ctrl_c(tmp_path):
    # Distinct items and long text answers: the run is still busy when Ctrl-C comes.
    (tmp_path / "p.txt").write_text("".join(f"{PROMPTS[i % 2]} (variant {i})\n" for i in range(20)))
    (tmp_path / "a.txt").write_text("\n".join(SYSTEMS["good"] * 10) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(SYSTEMS["bad"] * 10) + "\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalkit.cli",
            "judge",
            "pairwise",
            "--judge",
            "local",
            "--prompts",
            tmp_path / "p.txt",
            "--system",
            f"a={tmp_path / 'a.txt'}",
            "--system",
            f"b={tmp_path / 'b.txt'}",
            "--max-tokens",
            "400",
            "--no-cache",
            "--out",
            tmp_path / "out",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    server = []
    while not server and time.monotonic() < deadline:
        server = _children(process.pid)
        time.sleep(0.2)
    assert server, "the local judge server did not start"
    time.sleep(5)  # let it load and take calls
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    for _ in range(50):
        if not any(pathlib.Path(f"/proc/{pid}").exists() for pid in server):
            break
        time.sleep(0.2)
    alive = [
        pid
        for pid in server
        if pathlib.Path(f"/proc/{pid}").exists()
        and "Z" not in pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    ]
    assert not alive, f"llama.cpp server still running: {alive}"
    assert not (tmp_path / "out" / "summary.json").exists()  # nothing written half
