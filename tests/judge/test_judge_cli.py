"""``evalkit judge`` through the real entry point in a subprocess: exit codes,
secrets, resume after ``kill -9``, and the ``[judge]`` table of ``evalkit run``."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from scripted_server import Reply, Status

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAKE_KEY = "sk-evalkit-FAKE-9f8e7d6c5b4a39281706"


def evalkit(*args, env=None, **kw):
    full_env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "evalkit.cli", *map(str, args)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def data(tmp_path, n=4, systems=("x", "y")):
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(n)))
    args = ["--prompts", tmp_path / "prompts.txt"]
    for s in systems:
        (tmp_path / f"{s}.txt").write_text("".join(f"answer of {s} to {i}\n" for i in range(n)))
        args += ["--system", f"{s}={tmp_path / f'{s}.txt'}"]
    return args


def test_pairwise_cli_writes_the_report(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("[[C]]"))
    out = tmp_path / "out"
    result = evalkit(
        "judge",
        "pairwise",
        *data(tmp_path),
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--template",
        "mt-bench-pairwise",
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    (pair,) = summary["pairs"]
    for key in (
        "system_a",
        "system_b",
        "n",
        "wins",
        "losses",
        "ties",
        "unscored",
        "win_rate",
        "decisive_win_rate",
        "position_consistency",
        "first_position_rate",
    ):
        assert key in pair
    assert (pair["n"], pair["ties"], pair["position_consistency"]) == (4, 4, 1.0)
    assert summary["requests_sent"] == server.total_requests and summary["cache_hits"] == 0
    assert summary["prompt_tokens"] == 8 * 100 and summary["completion_tokens"] == 8 * 10
    lines = (out / "judgments.jsonl").read_text().splitlines()
    assert len(lines) == 8
    record = json.loads(lines[0])
    for key in (
        "item",
        "system_a",
        "system_b",
        "order",
        "shown",
        "messages",
        "raw_answer",
        "verdict",
        "unscored",
        "prompt_tokens",
        "completion_tokens",
        "latency_s",
    ):
        assert key in record
    assert "| x | y | 4 |" in result.stdout


def test_single_cli_and_dry_run(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("Score: [[7]]"))
    dry = evalkit(
        "judge",
        "single",
        *data(tmp_path, systems=("s",)),
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--cache",
        tmp_path / "c.sqlite",
        "--dry-run",
        "--price",
        "1,2",
    )
    assert dry.returncode == 0, dry.stderr
    assert "4 calls, 0 cached, 4 to send" in dry.stdout and server.total_requests == 0
    out = tmp_path / "out"
    result = evalkit(
        "judge",
        "single",
        *data(tmp_path, systems=("s",)),
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    (system,) = json.loads((out / "summary.json").read_text())["systems"]
    assert system["mean"] == 7.0 and system["histogram"]["7"] == 4 and system["unscored"] == 0


def test_unsupported_protocol_exits_2_with_a_clear_message(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("[[A]]"), probe=lambda request: Reply("Q"))
    result = evalkit(
        "judge",
        "pairwise",
        *data(tmp_path),
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--protocol",
        "logprobs",
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        tmp_path / "out",
    )
    assert result.returncode == 2
    assert "no top_logprobs" in result.stderr and "--logits_all true" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.chat_requests == 0 and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--template", "nope"], "unknown judge template 'nope'"),
        (["--template", "mt-bench-single"], "is a single template, not pairwise"),
        (["--system", "broken"], "is not NAME=FILE"),
        (["--api-key-env", "EVALKIT_NO_SUCH_VARIABLE"], "EVALKIT_NO_SUCH_VARIABLE is not set"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, extra, message):
    result = evalkit(
        "judge",
        "pairwise",
        *data(tmp_path),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--cache",
        tmp_path / "c.sqlite",
        *extra,
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_count_mismatch_names_both_files(tmp_path):
    args = data(tmp_path)
    (tmp_path / "y.txt").write_text("only one line\n")
    result = evalkit("judge", "pairwise", *args, "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert result.returncode == 2
    assert "prompts.txt has 4 prompts" in result.stderr and "y.txt has 1 answers" in result.stderr


def test_the_key_never_reaches_cache_log_or_report(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("Rating: [[8]]"), api_key=FAKE_KEY)
    out = tmp_path / "out"
    result = evalkit(
        "judge",
        "single",
        *data(tmp_path, systems=("s",)),
        "--template",
        "mt-bench-single",
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        out,
        env={"OPENAI_API_KEY": FAKE_KEY},
    )
    assert result.returncode == 0, result.stderr
    assert f"Bearer {FAKE_KEY}" in server.auth_headers  # the key was used...
    # ...and is nowhere on disk or in the output, even after a server echoed it back.
    echo = scripted(lambda request, n: Status(401, f"Incorrect API key provided: {FAKE_KEY}"))
    failed = evalkit(
        "judge",
        "single",
        *data(tmp_path, systems=("s",)),
        "--base-url",
        echo.base_url,
        "--model",
        "judge",
        "--cache",
        tmp_path / "c.sqlite",
        "--out",
        tmp_path / "out2",
        "--template",
        "mt-bench-single",
        "--no-cache",
        env={"OPENAI_API_KEY": FAKE_KEY},
    )
    assert failed.returncode == 2 and "refused the credentials" in failed.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "c.sqlite" for p in files) and (out / "judgments.jsonl").exists()
    for path in files:
        assert FAKE_KEY.encode() not in path.read_bytes(), path
        assert FAKE_KEY[:12].encode() not in path.read_bytes(), path
    for text in (result.stdout, result.stderr, failed.stdout, failed.stderr):
        assert FAKE_KEY not in text and FAKE_KEY[:12] not in text


def test_kill_9_then_rerun_sends_only_the_missing_calls(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("Rating: [[6]]"), latency=0.05)
    n = 60
    cache = tmp_path / "c.sqlite"
    args = [
        "-m",
        "evalkit.cli",
        "judge",
        "single",
        *data(tmp_path, n=n, systems=("s",)),
        "--template",
        "mt-bench-single",
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--cache",
        cache,
        "--concurrency",
        "2",
        "--out",
        tmp_path / "out",
    ]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    process = subprocess.Popen(
        [sys.executable, *map(str, args)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while server.chat_requests < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(cache) as db:
        done = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert 15 <= done < n
    first_run = server.chat_requests

    rerun = subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert server.chat_requests - first_run == n - done  # only the calls that had not completed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["cache_hits"] == done and summary["systems"][0]["mean"] == 6.0


def test_run_config_with_pairwise_and_single_tables(scripted, tmp_path):
    server = scripted(
        lambda request, n: Reply("Score: [[5]]" if "[Answer]" in request["messages"][-1]["content"] else "[[A]]")
    )
    data(tmp_path, n=3)
    (tmp_path / "judge.toml").write_text(f"""
[judge]
prompts = "prompts.txt"
base_url = "{server.base_url}"
model = "judge"
cache = "cache.sqlite"
out = "reports"
[judge.systems]
x = "x.txt"
y = "y.txt"
[judge.pairwise]
template = "mt-bench-pairwise"
[judge.single]
template = "single"
""")
    result = evalkit("run", tmp_path / "judge.toml")
    assert result.returncode == 0, result.stderr
    pair = json.loads((tmp_path / "reports" / "pairwise" / "summary.json").read_text())
    single = json.loads((tmp_path / "reports" / "single" / "summary.json").read_text())
    assert pair["pairs"][0]["first_position_rate"] == 1.0 and pair["pairs"][0]["ties"] == 3
    assert [s["mean"] for s in single["systems"]] == [5.0, 5.0]
    assert server.chat_requests == 3 * 2 + 3 * 2


def test_run_config_rejects_unknown_keys(tmp_path):
    from evalkit.errors import ConfigError
    from evalkit.judge.cli import run_config

    with pytest.raises(ConfigError, match="unknown key\\(s\\) in \\[judge\\]: promts"):
        run_config({"mode": "single", "promts": "p.txt"}, base_dir=tmp_path)


def test_help_stays_light():
    code = (
        "import sys, evalkit.cli as c\n"
        "try:\n    c.main(['judge', 'pairwise', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('openai', 'pandas', 'httpx2', 'tqdm') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--reconcile" in result.stdout and result.stdout.strip().endswith("[]")
