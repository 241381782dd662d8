"""The server provider: the local judge starts only when a call must be sent,
and one started server is shared by every run given the same provider."""

from __future__ import annotations

import pytest
from scripted_server import Reply

from evalkit.judge.run import run_judge
from evalkit.judge.server import JudgeServers
from evalkit.judge.types import JudgeInputs, JudgeSettings

INPUTS = JudgeInputs.of(["q0", "q1"], {"x": ["a0", "a1"], "y": ["b0", "b1"]})


class FakeLocal:
    """Stands for a started local judge; it is the scripted server."""

    def __init__(self, server, logits_all):
        self.server = server
        self.logits_all = logits_all
        self.model = "judge"
        self.stopped = False

    @property
    def base_url(self):
        return self.server.base_url

    def stop(self):
        self.stopped = True


@pytest.fixture
def local(scripted):
    """A provider whose "local judge" is a scripted server; ``started`` lists the starts."""
    server = scripted(lambda request, n: Reply("[[C]]" if "ANSWER_A" in str(request) else "Rating: [[4]]"))
    started = []

    def start(logits_all):
        fake = FakeLocal(server, logits_all)
        started.append(fake)
        return fake

    return server, started, start


def settings(tmp_path, **options):
    return JudgeSettings(judge="local", cache=str(tmp_path / "c.sqlite"), **options)


def test_runs_share_one_lazily_started_local_judge(local, tmp_path):
    server, started, start = local
    announced = []
    with JudgeServers(start_local=start, on_start=lambda: announced.append(1)) as servers:
        assert started == []  # nothing started before a run needs it
        pair = run_judge(settings(tmp_path, template="mt-bench-pairwise"), INPUTS, mode="pairwise", server=servers)
        single = run_judge(settings(tmp_path, template="mt-bench-single"), INPUTS, mode="single", server=servers)
        assert len(started) == 1 and servers.starts == 1 and announced == [1]
        assert not started[0].stopped
    assert started[0].stopped  # the provider stops it when its block ends
    assert pair.pairs[0].ties == 2 and single.singles[0].mean == 4.0
    assert pair.base_url == server.base_url and pair.model == "gemma-3-270m"
    assert server.chat_requests == 2 * 2 + 2 * 2


def test_a_run_served_from_the_cache_starts_no_server(local, tmp_path):
    _, started, start = local
    with JudgeServers(start_local=start) as servers:
        run_judge(settings(tmp_path, template="mt-bench-single"), INPUTS, mode="single", server=servers)
    assert len(started) == 1
    with JudgeServers(start_local=start) as servers:
        again = run_judge(settings(tmp_path, template="mt-bench-single"), INPUTS, mode="single", server=servers)
        assert servers.starts == 0
    assert len(started) == 1 and again.stats.cache_hits == 4 and again.stats.requests_sent == 0
    dry = run_judge(settings(tmp_path, template="mt-bench-pairwise", dry_run=True), INPUTS, mode="pairwise")
    assert dry.estimate is not None and dry.estimate.to_send == 4 and len(started) == 1


def test_a_logprobs_run_restarts_a_server_started_without_logits(local, tmp_path):
    _, started, start = local
    with JudgeServers(start_local=start) as servers:
        assert servers.endpoint(settings(tmp_path), protocol="text").model == "judge"
        servers.endpoint(settings(tmp_path), protocol="logprobs")
        servers.endpoint(settings(tmp_path), protocol="text")
    assert [s.logits_all for s in started] == [False, True]
    assert started[0].stopped and started[1].stopped


def test_a_remote_server_needs_no_start(local, tmp_path):
    _, started, start = local
    with JudgeServers(start_local=start) as servers:
        endpoint = servers.endpoint(JudgeSettings(base_url="http://x/v1", model="m"), protocol="logprobs")
    assert (endpoint.base_url, endpoint.model) == ("http://x/v1", "m") and started == []
