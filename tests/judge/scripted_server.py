"""A scripted OpenAI-compatible HTTP server on loopback, for judge tests.

Each test gives a ``script(request, n) -> action`` where ``request`` is the
decoded JSON body of a chat completion and ``n`` counts chat requests from 1.
``tokenize`` (text -> ids) adds llama-cpp-python's ``POST /extras/tokenize``.
Actions: :class:`Reply` (an answer, optionally with top logprobs, a finish
reason, latency, extra headers), :class:`Status` (an HTTP error with a JSON
body and headers such as Retry-After), :class:`Drop` (close the connection
without answering), :class:`Garbage` (200 with a body that is not JSON).

Runs on its own asyncio loop in a thread, or as a process
(``python scripted_server.py --latency 0.1 --answer "[[A]]"``) for benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROBE_MARK = "evalkit capability probe"


@dataclass
class Reply:
    content: str | None = "[[A]]"
    finish_reason: str = "stop"
    top_logprobs: list[tuple[str, float]] | None = None
    delay: float = 0.0
    usage: tuple[int, int] = (100, 10)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Status:
    code: int
    message: str = "scripted error"
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Drop:
    delay: float = 0.0


@dataclass
class Garbage:
    body: bytes = b"<html>not json"


Script = Callable[[dict[str, Any], int], Any]


def user_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in request.get("messages", []))


def is_probe(request: dict[str, Any]) -> bool:
    return PROBE_MARK in user_text(request)


def default_probe_reply(request: dict[str, Any]) -> Reply:
    """What a capable server answers to evalkit's capability probe."""
    extra_grammar = request.get("grammar") or request.get("guided_choice") or request.get("response_format")
    if request.get("logprobs"):
        return Reply(content="Q", top_logprobs=[("Q", -0.1), ("A", -2.5)], finish_reason="length")
    if extra_grammar:
        if request.get("response_format"):
            return Reply(content='{"verdict": "Q7"}')
        return Reply(content="Q7")
    return Reply(content="Q7")


class ScriptedServer:
    """``with ScriptedServer(script) as server: server.base_url``."""

    def __init__(
        self,
        script: Script,
        *,
        latency: float = 0.0,
        api_key: str | None = None,
        probe: Callable[[dict[str, Any]], Any] | None = default_probe_reply,
        models_status: int = 200,
        tokenize: Callable[[str], list[int]] | None = None,
    ) -> None:
        self.script = script
        self.latency = latency
        self.api_key = api_key
        self.probe = probe
        self.models_status = models_status
        #: text -> token ids for POST /extras/tokenize (llama-cpp-python's route); None: no such route (404)
        self.tokenize = tokenize
        self.tokenize_requests: list[str] = []
        self.chat_requests = 0  # judge calls received (probes excluded)
        self.probe_requests = 0  # /models and probe chat requests
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def total_requests(self) -> int:
        return self.chat_requests + self.probe_requests

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> ScriptedServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port or 0, backlog=512)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                keep = await self._respond(method, path, headers, body, writer)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def _write(
        self,
        writer: asyncio.StreamWriter,
        code: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(code, "X")
        head = [
            f"HTTP/1.1 {code} {reason}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}",
            "Connection: keep-alive",
        ]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def _error(self, writer: asyncio.StreamWriter, action: Status) -> None:
        err: dict[str, Any] = {"message": action.message, "type": "scripted", "code": action.error_code}
        self._write(writer, action.code, json.dumps({"error": err}).encode(), action.headers)

    async def _respond(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        auth = headers.get("authorization", "")
        self.auth_headers.append(auth)
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            with self._lock:
                self.probe_requests += path.endswith("/models")
                self.chat_requests += not path.endswith("/models")
            self._error(writer, Status(401, "Incorrect API key provided", "invalid_api_key"))
            await writer.drain()
            return True
        if method == "GET" and path.endswith("/models"):
            with self._lock:
                self.probe_requests += 1
            if self.models_status != 200:
                self._error(writer, Status(self.models_status, "no models endpoint"))
            else:
                self._write(
                    writer, 200, json.dumps({"object": "list", "data": [{"id": "judge", "object": "model"}]}).encode()
                )
            await writer.drain()
            return True
        if method == "POST" and path == "/extras/tokenize" and self.tokenize is not None:
            text = str(json.loads(body or b"{}").get("input", ""))
            with self._lock:
                self.probe_requests += 1
                self.tokenize_requests.append(text)
            self._write(writer, 200, json.dumps({"tokens": self.tokenize(text)}).encode())
            await writer.drain()
            return True
        if method != "POST" or not path.endswith("/chat/completions"):
            self._error(writer, Status(404, f"no route {method} {path}"))
            await writer.drain()
            return True
        request = json.loads(body or b"{}")
        probe = is_probe(request)
        with self._lock:
            if probe:
                self.probe_requests += 1
                n = 0
            else:
                self.chat_requests += 1
                n = self.chat_requests
                self.requests.append(request)
                self.request_times.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            action = (self.probe or default_probe_reply)(request) if probe else self.script(request, n)
            delay = self.latency + getattr(action, "delay", 0.0)
            if delay:
                await asyncio.sleep(delay)
            if isinstance(action, Drop):
                writer.transport.abort()
                return False
            if isinstance(action, Garbage):
                self._write(writer, 200, action.body)
            elif isinstance(action, Status):
                self._error(writer, action)
            else:
                self._write(writer, 200, json.dumps(_completion(request, action)).encode(), action.headers)
            await writer.drain()
            return True
        finally:
            with self._lock:
                self.in_flight -= 1


def _completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    logprobs = None
    if reply.top_logprobs is not None:
        first = reply.top_logprobs[0] if reply.top_logprobs else ("", 0.0)
        logprobs = {
            "content": [
                {
                    "token": first[0],
                    "logprob": first[1],
                    "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in reply.top_logprobs],
                }
            ]
        }
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "judge"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
                "logprobs": logprobs,
            }
        ],
        "usage": {
            "prompt_tokens": reply.usage[0],
            "completion_tokens": reply.usage[1],
            "total_tokens": sum(reply.usage),
        },
    }


def main() -> None:
    import argparse
    import pathlib

    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible server answering every call alike.")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--answer", default="[[A]]")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = ScriptedServer(lambda request, n: Reply(content=args.answer), latency=args.latency).start()
    pathlib.Path(args.port_file).write_text(str(server.port))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
