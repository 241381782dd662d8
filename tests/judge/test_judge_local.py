"""End to end against the real local judge: Gemma 3 270M via llama.cpp,
started on loopback by the session fixtures, for each verdict protocol.

Gemma 270M is a weak judge; these tests check the whole path (probe,
request shapes, parsing, reconciliation, counts), not its taste.
"""

from __future__ import annotations

import math
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from evalkit.errors import ProtocolUnsupportedError
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


def expected_text_verdict(record):
    """What the strict text protocol must make of a raw answer, derived here
    independently: a truncated answer is unscored; otherwise the last
    [[...]] wins and must be a legal label."""
    if record["finish_reason"] == "length":
        return None, "truncated answer"
    found = re.findall(r"\[\[\s*([^\n]*?)\s*\]\]", record["raw_answer"] or "")
    if not found:
        return None, "no verdict"
    if found[-1] not in ("A", "B", "C"):
        return None, "is not one of A, B, C"
    return found[-1], None


def test_text_protocol(local_judge, tmp_path):
    run = local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="text", max_tokens=32)
    check_counts(run, 4)
    records = judgment_records(run)
    assert len(records) == 4
    for record in records:
        assert isinstance(record["raw_answer"], str) and record["raw_answer"].strip()
        label, reason = expected_text_verdict(record)
        # Strict: exactly the verdict the answer's text gives, or unscored for the reason it shows; never a guess.
        assert record["verdict"] == label
        assert (record["unscored"] is None) if reason is None else (reason in record["unscored"])
    # An item is scored only when both its orders are; each scored item is a win, loss or tie.
    (pair,) = run.pairs
    both_scored = [
        item
        for item in run.pair_items("good", "bad")
        if all(c.call is not None and c.call.verdict.ok for c in item.calls)
    ]
    assert pair.unscored == len(PROMPTS) - len(both_scored)
    assert pair.wins + pair.losses + pair.ties == len(both_scored)
    if not both_scored:  # Gemma 270M echoes the prompt and never ends within max_tokens: unscored, not ties
        assert pair.win_rate is None and pair.first_position_rate is None
        assert set(pair.unscored_reasons) == {"truncated answer (finish_reason=length)"}


def position_numbers(records):
    """First-position rate and position consistency recomputed from the records."""
    scored = [r for r in records if r["unscored"] is None]
    first_rate = sum(1 for r in scored if r["meaning"] == "first") / len(scored)
    outcome = {("ab", "first"): "win", ("ab", "second"): "loss", ("ba", "first"): "loss", ("ba", "second"): "win"}
    per_item = {}
    for r in scored:
        per_item.setdefault(r["item"], []).append(outcome.get((r["order"], r["meaning"]), "tie"))
    both = [v for v in per_item.values() if len(v) == 2]
    return first_rate, sum(1 for a, b in both if a == b) / len(both)


def test_grammar_protocol_pairwise_and_single(local_judge, tmp_path):
    run = local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="grammar")
    check_counts(run, 4)
    records = judgment_records(run)
    assert {r["raw_answer"] for r in records} <= {"A", "B", "C"}
    (pair,) = run.pairs
    assert pair.unscored == 0
    first_rate, consistency = position_numbers(records)
    assert pair.first_position_rate == pytest.approx(first_rate)
    assert pair.position_consistency == pytest.approx(consistency)
    assert pair.win_rate == pytest.approx(sum(run.pair_item_scores("good", "bad")) / len(PROMPTS))

    single = local_run(local_judge, tmp_path, mode="single", template="single", protocol="grammar")
    check_counts(single, 4)
    for summary in single.singles:
        assert summary.unscored == 0 and 1 <= summary.mean <= 10
        assert summary.mean == pytest.approx(sum(single.single_item_scores(summary.system)) / len(PROMPTS))
    assert all(r["raw_answer"] in [str(i) for i in range(1, 11)] for r in judgment_records(single))

    # The same run again is served from the cache: zero requests.
    again = local_run(local_judge, tmp_path, mode="single", template="single", protocol="grammar")
    assert again.stats.requests_sent == 0 and again.stats.cache_hits == 4


def test_logprobs_protocol(local_judge_logprobs, tmp_path):
    run = local_run(
        local_judge_logprobs, tmp_path, template="mt-bench-pairwise", protocol="logprobs", reconcile="average"
    )
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
    # llama-cpp-python answers the probe with HTTP 500 "logprobs is not supported ... logits_all=False"
    with pytest.raises(ProtocolUnsupportedError, match="rejected the logprobs protocol: HTTP 500: logprobs") as info:
        local_run(local_judge, tmp_path, template="mt-bench-pairwise", protocol="logprobs")
    assert "--logits_all true" in info.value.hint


def test_judge_metrics_against_the_local_judge(local_judge, tmp_path):
    from evalkit.metrics.judge import JudgePairwise, JudgeScore

    options = {"judge": "local", "protocol": "grammar", "cache": str(tmp_path / "c.sqlite"), "timeout": 300}
    with servers(local_judge) as provider:
        score = JudgeScore(template="single", **options)
        score.use_servers(provider)
        result = score.score_with_prompts(predictions=SYSTEMS["good"] + [None], prompts=PROMPTS + ["?"])
        pairwise = JudgePairwise(template="mt-bench-pairwise", **options)
        pairwise.use_servers(provider)
        pair = pairwise.score_pair(
            predictions=SYSTEMS["good"], baseline=SYSTEMS["bad"], prompts=PROMPTS, system="good", baseline_name="bad"
        )
    assert result.per_item[2] is None and all(1.0 <= v <= 10.0 for v in result.per_item[:2])
    assert result.value == pytest.approx(sum(result.per_item[:2]) / 2) and result.n_unscored == 1
    assert all(v in (0.0, 0.5, 1.0) for v in pair.per_item) and pair.value == pytest.approx(sum(pair.per_item) / 2)
    assert pair.details["wins"] + pair.details["losses"] + pair.details["ties"] == 2


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
