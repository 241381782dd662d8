"""End to end against the real local judge: Gemma 3 270M via llama.cpp,
started on loopback by the session fixtures, for each verdict protocol.

Gemma 270M is a weak judge; these tests check the whole path (probe,
request shapes, parsing, reconciliation, counts), not its taste.
"""

from __future__ import annotations

import json
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
from tests.conftest import run_evalkit

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
    # Gemma's token ids for the labels, with and without a leading space, found through the server's tokenizer.
    assert run.logprobs.method == "logit_bias" and run.logprobs.token_ids["A"][0] == 236776
    assert run.logprobs.token_ids["B"][0] == 236799
    records = judgment_records(run)
    for record in records:
        assert record["logprobs_method"] == "logit_bias" and record["unscored"] is None
        assert len(record["top_logprobs"]) == 20
        # Every label has its probability (Gemma's own "B" is far outside its top 20 without the bias).
        assert set(record["probabilities"]) == {"A", "B", "C"} and not record["missing_labels"]
        assert math.isclose(sum(record["probabilities"].values()), 1.0)
        assert all(0.0 < p < 1.0 for p in record["probabilities"].values())
        assert record["p_first"] == pytest.approx(record["probabilities"]["A"] + record["probabilities"]["C"] / 2)
    assert run.pairs[0].unscored == 0 and "proto:logprobs+logit_bias" in run.signature


def test_logprobs_on_the_1_to_10_scale_fall_back_to_the_top_k_and_say_why(local_judge_logprobs, tmp_path):
    # Gemma splits "10" into "1" "0": the first token of "10" is the label "1", so no bias can tell them apart.
    run = local_run(local_judge_logprobs, tmp_path, mode="single", template="mt-bench-single", protocol="logprobs")
    assert run.logprobs.method == "top_k" and "label '10' is several tokens" in run.logprobs.note
    assert "also stands for '1'" in run.logprobs.note
    records = judgment_records(run)
    assert len(records) == 4 and {r["logprobs_method"] for r in records} == {"top_k"}
    for record in records:  # the top-k way: what is missing is listed, never a silent zero
        if record["unscored"] is None:
            assert math.isclose(sum(record["probabilities"].values()), 1.0)
            labels = set(record["probabilities"]) | set(record["missing_labels"] or [])
            assert labels == {str(i) for i in range(1, 11)}
        else:
            assert "no legal verdict token" in record["unscored"]


def test_the_logprobs_server_serves_text_and_grammar_too(local_judge_logprobs, tmp_path):
    # A process whose runs include a logprobs one starts evalkit's last-position server for all of them.
    run = local_run(local_judge_logprobs, tmp_path, template="mt-bench-pairwise", protocol="grammar")
    check_counts(run, 4)
    assert {r["raw_answer"] for r in judgment_records(run)} <= {"A", "B", "C"} and run.pairs[0].unscored == 0
    text = local_run(local_judge_logprobs, tmp_path, template="mt-bench-pairwise", protocol="text", max_tokens=8)
    check_counts(text, 4)
    for record in judgment_records(text):
        assert record["raw_answer"].strip() and record["completion_tokens"] <= 8


def test_last_position_logprobs_match_llama_cpp_with_logits_all():
    """Parity: evalkit's last-position server gives exactly llama-cpp-python's logprobs (computed with logits_all)."""
    import llama_cpp

    from evalkit.judge.last_token_server import LastTokenModel
    from evalkit.judge.local_server import model_path

    path = str(model_path())
    messages = [{"role": "user", "content": f"Which answer is better, A or B?\n[A] {SYSTEMS['good'][0]}\n[B] x"}]
    ours = LastTokenModel(path, n_ctx=512, chat_format="gemma", threads=None)
    mine = ours.completion({"messages": messages, "logprobs": True, "top_logprobs": 5, "max_tokens": 1})
    reference = llama_cpp.Llama(model_path=path, n_ctx=512, logits_all=True, chat_format="gemma", verbose=False)
    theirs = reference.create_chat_completion(messages=messages, logprobs=True, top_logprobs=5, max_tokens=1)
    top = mine["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    expected = theirs["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    assert [t["token"] for t in top] == [t["token"] for t in expected]
    assert [t["logprob"] for t in top] == pytest.approx([t["logprob"] for t in expected], abs=1e-4)
    assert mine["usage"]["prompt_tokens"] == theirs["usage"]["prompt_tokens"]


def test_cli_local_model_path(tmp_path):
    from evalkit.judge.local_server import model_path

    (tmp_path / "p.txt").write_text("\n".join(PROMPTS) + "\n")
    (tmp_path / "a.txt").write_text("\n".join(SYSTEMS["good"]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(SYSTEMS["bad"]) + "\n")
    base = ["judge", "pairwise", "--prompts", tmp_path / "p.txt", "--system", f"good={tmp_path / 'a.txt'}"]
    base += ["--system", f"bad={tmp_path / 'b.txt'}", "--judge", "local", "--cache", tmp_path / "c.sqlite"]
    missing = run_evalkit(*base, "--local-model", tmp_path / "nope.gguf")
    assert missing.returncode == 2 and "nope.gguf: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    gemma = model_path()
    out = tmp_path / "out"
    result = run_evalkit(
        *base, "--local-model", gemma, "--local-chat-format", "gemma", "--protocol", "logprobs",
        "--reconcile", "average", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge"]["model"] == "gemma-3-270m-q4_k_m" and "model:gemma-3-270m-q4_k_m|" in summary["signature"]
    records = [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]
    assert len(records) == 4 and {r["logprobs_method"] for r in records} == {"logit_bias"}
    assert all(math.isclose(sum(r["probabilities"].values()), 1.0) for r in records)


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
        # SIGINT as in a terminal, even when the tests run as a background job
        # (which a shell starts with SIGINT ignored, and children inherit that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
