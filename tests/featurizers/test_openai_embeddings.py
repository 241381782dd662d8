"""``openai:MODEL`` against a scripted /v1/embeddings server on loopback."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from evalkit.errors import ConfigError, ServiceError
from evalkit.featurizers.openai_embeddings import OpenAIEmbeddingsFeaturizer
from evalkit.retry import RetryPolicy, parse_retry_after, retry_sync

DIM = 6


def vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:DIM]]


class ScriptedServer:
    """Answers POST /v1/embeddings; ``script`` holds (status, headers) for the
    next requests, after which it answers 200 with ``vector(text)`` rows, in
    reverse order to check that the client sorts by ``index``."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict]] = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "auth": self.headers.get("Authorization"),
                        "time": time.monotonic(),
                    }
                )
                status, headers = server.script.pop(0) if server.script else (200, {})
                if status == 200:
                    data = [
                        {"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(body["input"])
                    ][::-1]
                    payload = {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    }
                else:
                    payload = {"error": {"message": f"scripted {status}", "type": "x"}}
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    s = ScriptedServer()
    yield s
    s.close()


def test_batches_keep_order_and_send_the_env_key(server):
    f = OpenAIEmbeddingsFeaturizer("toy-embed", base_url=server.url, batch_size=3)
    texts = [f"text {i}" for i in range(7)]
    got = f.featurize(texts)
    np.testing.assert_allclose(got, np.array([vector(t) for t in texts], dtype=np.float32))
    assert [len(r["body"]["input"]) for r in server.requests] == [3, 3, 1]
    assert all(r["path"] == "/v1/embeddings" for r in server.requests)
    assert all(r["body"]["model"] == "toy-embed" for r in server.requests)
    assert all(r["body"]["encoding_format"] == "float" for r in server.requests)
    assert all(r["auth"] == "Bearer sk-test-secret-123" for r in server.requests)
    assert "secret" not in f.id


def test_429_waits_for_retry_after_then_succeeds(server):
    server.script = [(429, {"Retry-After": "1"})]
    f = OpenAIEmbeddingsFeaturizer("toy-embed", base_url=server.url)
    got = f.featurize(["a", "b"])
    assert len(server.requests) == 2
    assert server.requests[1]["time"] - server.requests[0]["time"] >= 0.95
    np.testing.assert_allclose(got[1], vector("b"), rtol=1e-6)


def test_5xx_is_retried(server):
    server.script = [(503, {"Retry-After": "0"}), (500, {"Retry-After": "0"})]
    got = OpenAIEmbeddingsFeaturizer("toy-embed", base_url=server.url).featurize(["a"])
    assert len(server.requests) == 3 and got.shape == (1, DIM)


def test_a_client_error_stops_at_once(server):
    server.script = [(404, {})]
    with pytest.raises(ServiceError, match="HTTP 404") as info:
        OpenAIEmbeddingsFeaturizer("no-such-model", base_url=server.url).featurize(["a"])
    assert len(server.requests) == 1
    assert "check the base URL" in str(info.value)
    assert "sk-test-secret" not in str(info.value)


def test_retries_run_out(server):
    server.script = [(500, {"Retry-After": "0"})] * 3
    f = OpenAIEmbeddingsFeaturizer("toy-embed", base_url=server.url, max_retries=2)
    with pytest.raises(ServiceError, match="after 3 tries") as info:
        f.featurize(["a"])
    assert len(server.requests) == 3
    assert "HTTP 500" in str(info.value)


def test_a_long_retry_after_stops_instead_of_waiting(server):
    # the same cap as the judge's client: one retry policy for both
    server.script = [(429, {"Retry-After": "3600"})]
    f = OpenAIEmbeddingsFeaturizer("toy-embed", base_url=server.url)
    with pytest.raises(ServiceError, match="asked to wait 3600 s"):
        f.featurize(["a"])
    assert len(server.requests) == 1
    assert f.policy.max_retry_after == RetryPolicy().max_retry_after == 120.0


def test_base_url_from_env_and_id(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    f = OpenAIEmbeddingsFeaturizer("toy-embed")
    assert f.id == f"openai:toy-embed@127.0.0.1:{server.url.split(':')[2]}"
    f.featurize(["x"])
    assert len(server.requests) == 1


def test_no_key_is_an_error_only_for_openai_itself(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIEmbeddingsFeaturizer("text-embedding-3-small").featurize(["a"])


def test_bad_base_url():
    with pytest.raises(ConfigError, match="not an http"):
        OpenAIEmbeddingsFeaturizer("m", base_url="ftp://x")


def test_mauve_over_the_server_caches_every_vector(server, tmp_path):
    from evalkit.metrics.mauve import Mauve

    refs = [f"reference {i}" for i in range(30)]
    preds = [f"prediction {i}" for i in range(30)]
    options = dict(
        featurizer="openai:toy-embed",
        openai_base_url=server.url,
        seeds=1,
        kmeans_num_redo=1,
        batch_size=16,
        cache_dir=str(tmp_path / "cache"),
    )
    with pytest.warns(UserWarning):
        first = Mauve(**options).score(predictions=preds, references=refs)
    assert sum(len(r["body"]["input"]) for r in server.requests) == 60
    n_requests = len(server.requests)
    with pytest.warns(UserWarning):
        second = Mauve(**options).score(predictions=preds, references=refs)
    assert len(server.requests) == n_requests  # all from the cache
    assert second.value == first.value
    assert "feat:openai:toy-embed@127.0.0.1" in first.signature
    cached = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"sk-test-secret" not in cached


def test_retry_after_parsing():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_connection_errors_back_off_exponentially():
    import httpx2
    import openai

    waits: list[float] = []
    attempts = []

    def call():
        attempts.append(1)
        if len(attempts) < 4:
            raise openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1:9/v1/embeddings"))
        return "ok"

    policy = RetryPolicy(max_retries=6, backoff_base=1.0, backoff_max=3.0)
    assert retry_sync(call, policy=policy, server="test", sleep=waits.append) == "ok"
    assert len(waits) == 3
    # jitter keeps each wait within [half, all] of 1, 2, then the 3 s cap
    for wait, full in zip(waits, [1.0, 2.0, 3.0]):
        assert full / 2 <= wait <= full
