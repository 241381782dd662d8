"""``--judge local --local-model PATH``: checked before anything runs, named
after the file, and keyed by the file (two local models never share cache
entries). These tests need no model: a dry run starts no server."""

from __future__ import annotations

import pytest

from evalkit.errors import ConfigError
from evalkit.judge.calls import check_settings, plan_calls, server_identity, signature
from evalkit.judge.server import JudgeServers
from evalkit.judge.templates import load_template
from evalkit.judge.types import LOCAL_MODEL_NAME, LOCAL_SERVER_ID, JudgeInputs, JudgeSettings
from tests.conftest import run_evalkit

PAIR = load_template("mt-bench-pairwise")
INPUTS = JudgeInputs.of(["q0", "q1"], {"x": ["x0", "x1"], "y": ["y0", "y1"]})


def gguf(tmp_path, name, body):
    path = tmp_path / name
    path.write_bytes(b"GGUF" + body)
    return path


def test_two_model_files_never_share_an_identity_or_a_cache_key(tmp_path):
    one = gguf(tmp_path, "judge-a.Q4.gguf", b"\x03" * 100)
    other = gguf(tmp_path / "..", "judge-a.Q4.gguf", b"\x03" * 99 + b"\x04")  # same name, other content
    ids = {}
    for path in (one, other):
        settings = JudgeSettings(judge="local", local_model=str(path), cache=False, dry_run=True)
        ids[path] = server_identity(settings)
        assert ids[path][1] == "judge-a.Q4"
        assert "model:judge-a.Q4|" in signature(settings, mode="pairwise", template=PAIR, protocol="grammar")
    assert ids[one][0] != ids[other][0]
    assert server_identity(JudgeSettings(judge="local")) == (LOCAL_SERVER_ID, LOCAL_MODEL_NAME)
    plans = [
        set(plan_calls(JudgeSettings(judge="local"), INPUTS, mode="pairwise", template=PAIR, protocol="grammar",
                       server=ids[p][0], model=ids[p][1], nonce="n").calls)
        for p in (one, other)
    ]  # fmt: skip
    assert plans[0].isdisjoint(plans[1])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"judge": "local", "local_model": "{tmp}/missing.gguf"}, "missing.gguf: no such file"),
        ({"judge": "local", "local_model": "{tmp}/notes.txt"}, "not a GGUF model file"),
        ({"base_url": "http://x/v1", "model": "m", "local_model": "{tmp}/m.gguf"}, "need --judge local"),
        ({"judge": "local", "local_chat_format": "chatml"}, "--local-chat-format needs --local-model"),
    ],
)
def test_bad_local_model_settings(tmp_path, options, message):
    (tmp_path / "notes.txt").write_text("not a model")
    gguf(tmp_path, "m.gguf", b"")
    values = {k: v.format(tmp=tmp_path) for k, v in options.items()}
    with pytest.raises(ConfigError, match=message):
        check_settings(JudgeSettings(**values), mode="pairwise", template=PAIR)


def test_a_provider_restarts_the_local_judge_for_another_model(tmp_path):
    started = []

    class Fake:
        logits_all = False
        base_url = "http://127.0.0.1:9/v1"

        def __init__(self, model):
            self.model = model.name if model is not None else LOCAL_MODEL_NAME
            self.stopped = False

        def stop(self):
            self.stopped = True

    def start(flag, model=None):
        started.append(Fake(model))
        return started[-1]

    a, b = gguf(tmp_path, "a.gguf", b"1"), gguf(tmp_path, "b.gguf", b"2")
    with JudgeServers(start_local=start) as servers:
        for path in (a, a, b, None):
            settings = JudgeSettings(judge="local", local_model=str(path) if path else None)
            servers.endpoint(settings, protocol="grammar")
    assert [s.model for s in started] == ["a", "b", LOCAL_MODEL_NAME]
    assert all(s.stopped for s in started)


def test_cli_dry_run_with_a_local_model_and_a_config_error(tmp_path):
    (tmp_path / "p.txt").write_text("q0\nq1\n")
    (tmp_path / "a.txt").write_text("a0\na1\n")
    (tmp_path / "b.txt").write_text("b0\nb1\n")
    model = gguf(tmp_path, "my-judge.gguf", b"\x00" * 16)
    base = ["judge", "pairwise", "--prompts", tmp_path / "p.txt", "--system", f"a={tmp_path / 'a.txt'}"]
    base += ["--system", f"b={tmp_path / 'b.txt'}", "--judge", "local", "--no-cache"]
    result = run_evalkit(*base, "--local-model", model, "--dry-run")
    # Checked and planned without loading it (the file is no real model): two items in both orders.
    assert result.returncode == 0, result.stderr
    assert "dry run (pairwise): 4 calls, 0 cached, 4 to send" in result.stdout
    config = tmp_path / "run.toml"
    config.write_text(
        'out = "out"\nmetrics = ["rouge1"]\nreferences = "a.txt"\n[systems]\nb = "b.txt"\n'
        '[judge]\nmode = "pairwise"\njudge = "local"\nlocal_model = "models/absent.gguf"\nprompts = "p.txt"\n'
        '[judge.systems]\na = "a.txt"\nb = "b.txt"\n'
    )
    bad = run_evalkit("run", config)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"{tmp_path / 'models' / 'absent.gguf'}: no such file" in bad.stderr  # resolved next to the config file
