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
    (row,) = table_rows(result.stdout, "system A")
    assert row[:7] == ["x", "y", "4", "0", "0", "4", "0"]
    assert row[7:] == ["0.5000", "n/a", "1.0000", "0.0000"]  # 0-1 values with 4 decimals; no decisive items


def table_rows(text, first_header):
    """The body rows of the markdown table whose first header cell is ``first_header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| " + first_header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


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


def test_judge_table_rejects_unknown_keys(tmp_path):
    from evalkit.errors import ConfigError
    from evalkit.judge.cli import specs_from_table

    with pytest.raises(ConfigError, match="^demo.toml \\[judge\\]: unknown key 'promts'") as info:
        specs_from_table({"mode": "single", "promts": "p.txt"}, base_dir=tmp_path, source="demo.toml")
    assert "prompts" in info.value.hint


def test_help_stays_light():
    code = (
        "import sys, evalkit.cli as c\n"
        "try:\n    c.main(['judge', 'pairwise', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('openai', 'pandas', 'httpx2', 'tqdm') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--reconcile" in result.stdout and result.stdout.strip().endswith("[]")


def test_max_cost_stop_has_its_own_exit_code(scripted, tmp_path):
    # Defect 5: exit code 1 meant both "a gate failed" and "the judge stopped at --max-cost".
    server = scripted(lambda request, n: Reply("Rating: [[5]]", usage=(400, 10)))
    out = tmp_path / "out"
    result = evalkit(
        "judge",
        "single",
        *data(tmp_path, n=10, systems=("s",)),
        "--template",
        "mt-bench-single",
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--cache",
        tmp_path / "c.sqlite",
        "--concurrency",
        "1",
        "--price",
        "1000000,1000000",
        "--max-cost",
        "2000",
        "--out",
        out,
    )
    assert result.returncode == 3, result.stderr  # ExitCode.BUDGET_STOPPED, not a gate failure (1)
    assert 0 < server.chat_requests < 10
    assert "stopped early (max-cost); rerun to finish" in result.stderr and "Traceback" not in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "max-cost" and summary["systems"][0]["unscored"] == 10 - server.chat_requests


def test_help_documents_the_exit_codes():
    from evalkit.errors import ExitCode

    result = evalkit("judge", "single", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert f"{int(ExitCode.BUDGET_STOPPED)} stopped before --max-cost would be passed" in text
    assert "2 bad input" in text and "0 done" in text


def test_several_reference_files_and_jsonl_fields(scripted, tmp_path):
    server = scripted(lambda request, n: Reply("Score: [[6]]"))
    (tmp_path / "p.jsonl").write_text('{"question": "2+2?"}\n{"question": "3+3?"}\n')
    (tmp_path / "s.jsonl").write_text('{"output": "4"}\n{"output": null}\n')
    (tmp_path / "r1.txt").write_text("four\nsix\n")
    (tmp_path / "r2.txt").write_text("4\n6\n")
    out = tmp_path / "out"
    result = evalkit(
        "judge",
        "single",
        "--prompts",
        tmp_path / "p.jsonl",
        "--prompt-field",
        "question",
        "--system",
        f"s={tmp_path / 's.jsonl'}",
        "--prediction-field",
        "output",
        "--references",
        tmp_path / "r1.txt",
        "--references",
        tmp_path / "r2.txt",
        "--template",
        "single-ref",
        "--base-url",
        server.base_url,
        "--model",
        "judge",
        "--no-cache",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert server.chat_requests == 1  # item 2 has no answer: unscored without a call
    (request,) = server.requests
    text = request["messages"][-1]["content"]
    assert "2+2?" in text and "Reference 1:\nfour\n\nReference 2:\n4" in text
    (system,) = json.loads((out / "summary.json").read_text())["systems"]
    assert system["mean"] == 6.0 and system["unscored_reasons"] == {"missing answer of 's'": 1}


def test_a_table_is_parsed_into_specs_without_running(tmp_path):
    from evalkit.judge.cli import specs_from_table

    table = {
        "prompts": "prompts.txt",
        "base_url": "http://127.0.0.1:9/v1",  # nothing listens: parsing sends nothing
        "model": "judge",
        "top_logprobs": 5,
        "out": "reports",
        "systems": {"x": "x.txt", "y": "/abs/y.txt"},
        "pairwise": {"template": "mt-bench-pairwise", "swap": False},
        "single": {"template": "single", "price": "1,2"},
    }
    pair, single = specs_from_table(table, base_dir=tmp_path, source="demo.toml")
    assert (pair.mode, single.mode) == ("pairwise", "single")
    assert pair.out == tmp_path / "reports" / "pairwise" and single.out == tmp_path / "reports" / "single"
    assert pair.data.prompts == str(tmp_path / "prompts.txt")
    assert pair.data.systems == {"x": str(tmp_path / "x.txt"), "y": "/abs/y.txt"}
    assert pair.settings.top_logprobs == 5 and pair.settings.swap is False and single.settings.swap is True
    assert tuple(single.settings.price) == (1.0, 2.0) and pair.settings.price is None
    assert (pair.template.id, single.template.id, pair.protocol) == ("mt-bench-pairwise@1", "single@1", "text")
    assert pair.where == "demo.toml [judge.pairwise]"


@pytest.mark.parametrize(
    "table, message",
    [
        (
            {"single": {"concurrency": 0}},
            "demo.toml [judge.single]: concurrency = 0: Input should be greater than or equal to 1",
        ),
        (
            {"mode": "single", "top_logprobs": 21},
            "demo.toml [judge]: top_logprobs = 21: Input should be less than or equal to 20",
        ),
        ({"mode": "single", "price": "cheap"}, "demo.toml [judge]: price = 'cheap': Value error, give IN,OUT"),
        ({"mode": "triple"}, "demo.toml [judge]: mode = 'triple'"),
        (
            {"mode": "single", "protocol": "vibes"},
            "demo.toml [judge]: protocol = 'vibes': Input should be 'text', 'grammar' or 'logprobs'",
        ),
        ({"mode": "single", "max_cost": 3}, "--max-cost needs --price"),
    ],
)
def test_a_bad_table_value_names_file_table_and_key(tmp_path, table, message):
    from evalkit.errors import ConfigError
    from evalkit.judge.cli import specs_from_table

    base = {"prompts": "p.txt", "systems": {"s": "s.txt"}, "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    with pytest.raises(ConfigError) as info:
        specs_from_table({**base, **table}, base_dir=tmp_path, source="demo.toml")
    assert message in str(info.value)


def test_command_line_and_table_fill_the_same_settings(tmp_path):
    from evalkit.cli import build_parser
    from evalkit.judge.cli import spec_from_args, specs_from_table

    args = build_parser().parse_args(
        ["judge", "pairwise", "--prompts", "p.txt", "--system", "a=a.txt", "--system", "b=b.txt"]
        + ["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--top-logprobs", "7", "--no-swap"]
        + ["--price", "1,2", "--no-cache", "--protocol", "logprobs", "--reconcile", "average"]
    )
    from_args = spec_from_args(args)
    table = {
        "mode": "pairwise",
        "prompts": "p.txt",
        "systems": {"a": "a.txt", "b": "b.txt"},
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "top_logprobs": 7,
        "swap": False,
        "price": [1, 2],
        "cache": False,
        "protocol": "logprobs",
        "reconcile": "average",
    }
    (from_table,) = specs_from_table(table, base_dir=pathlib.Path("."))
    assert from_args.settings == from_table.settings
    assert from_args.settings.top_logprobs == 7 and from_args.settings.cache is False
