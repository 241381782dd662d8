"""Fixtures of the judge tests: scripted servers and one real local judge per session."""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from scripted_server import ScriptedServer  # noqa: E402


@pytest.fixture
def scripted():
    """``scripted(script, **options)`` starts a ScriptedServer, stopped after the test."""
    servers = []

    def start(script, **options):
        server = ScriptedServer(script, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _start_local(logits_all: bool):
    from evalkit.errors import MissingDependencyError
    from evalkit.judge.local_server import LocalJudge

    try:
        return LocalJudge(logits_all=logits_all).start()
    except MissingDependencyError as exc:
        pytest.fail(f"the local judge tests need the 'local' extra: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def local_judge():
    """One llama.cpp server with Gemma 3 270M for the whole session.

    The local extra is part of `make test`: if it is missing, the tests that
    use this fixture FAIL with the install line, they are never skipped.
    """
    judge = _start_local(logits_all=False)
    yield judge
    judge.stop()


@pytest.fixture(scope="session")
def local_judge_logprobs():
    """The local judge ready for logprobs: evalkit's last-position server (top_logprobs, logit_bias)."""
    judge = _start_local(logits_all=True)
    yield judge
    judge.stop()
