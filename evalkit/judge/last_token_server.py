"""The local judge's logprob server: an OpenAI-compatible endpoint that reads
the next-token distribution from the **last prompt position only**.

llama-cpp-python's own server returns ``top_logprobs`` only when the model
was loaded with ``logits_all``, which makes llama.cpp compute the whole
vocabulary's logits (262k words for Gemma 3) at every prompt position, and
it ignores ``logit_bias`` in the log-probabilities it returns. A one-token
logprob verdict needs one row of logits: this server loads the model with
``logits_all=False``, evaluates the prompt (reusing the longest prefix it
already holds), reads the last position's logits, adds ``logit_bias`` and
returns the top-k log-probabilities of the biased distribution, as OpenAI
does. Other requests (text, grammar) go to llama-cpp-python's own chat
completion. ``POST /extras/tokenize`` answers as llama-cpp-python's server
does, so that evalkit finds label token ids the same way on both.

Run by :class:`evalkit.judge.local_server.LocalJudge`::

    python -m evalkit.judge.last_token_server --model PATH --port N [--chat-format gemma]

Loopback only; one request is computed at a time.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LastTokenModel", "main"]

#: OpenAI caps top_logprobs at 20; so does this server.
MAX_TOP_LOGPROBS = 20


class _Captured(Exception):
    """Raised by :class:`_PromptCapture` to stop a chat handler once it has built the prompt."""

    def __init__(self, tokens: list[int]) -> None:
        super().__init__("prompt captured")
        self.tokens = tokens


class _PromptCapture:
    """Stands for the model in a llama-cpp-python chat handler: the handler
    formats and tokenizes the messages exactly as for a completion, and the
    prompt tokens are taken when it asks for the completion."""

    def __init__(self, llama: Any) -> None:
        self._llama = llama

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, prompt: Any, **_: Any) -> Any:
        tokens = list(prompt) if not isinstance(prompt, str) else self._llama.tokenize(prompt.encode("utf-8"))
        raise _Captured(tokens)


class LastTokenModel:
    """A GGUF model loaded without ``logits_all``, answering chat requests."""

    def __init__(self, model_path: str, *, n_ctx: int, chat_format: str | None, threads: int | None) -> None:
        import llama_cpp

        options: dict[str, Any] = {"n_threads": threads} if threads else {}
        self.llama: Any = llama_cpp.Llama(
            model_path=model_path, n_ctx=n_ctx, logits_all=False, chat_format=chat_format, verbose=False, **options
        )
        self.lock = threading.Lock()

    def prompt_tokens(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        from llama_cpp import llama_chat_format

        llama: Any = self.llama
        # The same choice as Llama.create_chat_completion makes.
        handler = (
            llama.chat_handler
            or llama._chat_handlers.get(llama.chat_format)
            or llama_chat_format.get_chat_completion_handler(llama.chat_format)
        )
        try:
            stand_in: Any = _PromptCapture(self.llama)
            handler(llama=stand_in, messages=[dict(m) for m in messages], max_tokens=1)  # type: ignore[misc]
        except _Captured as captured:
            return captured.tokens
        raise RuntimeError(f"the chat format {self.llama.chat_format!r} did not build a prompt")

    def last_logits(self, tokens: list[int]) -> Any:
        """The logits after ``tokens``: evaluates only what the model does not already hold."""
        import numpy as np

        llama = self.llama
        if len(tokens) >= llama.n_ctx():
            raise ValueError(f"the prompt has {len(tokens)} tokens; the context holds {llama.n_ctx()}")
        held = llama._input_ids.tolist()
        prefix = 0
        for a, b in zip(held, tokens[:-1]):  # the last token is always evaluated: its logits are the answer
            if a != b:
                break
            prefix += 1
        llama.n_tokens = prefix
        llama.eval(tokens[prefix:])
        row = llama._ctx.get_logits_ith(-1)
        return np.array(np.ctypeslib.as_array(row, shape=(llama.n_vocab(),)), dtype=np.float64)

    def token_text(self, token: int) -> str:
        return self.llama.detokenize([token]).decode("utf-8", errors="replace")

    def logprob_completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        tokens = self.prompt_tokens(body["messages"])
        with self.lock:
            logits = self.last_logits(tokens)
        for token, bias in dict(body.get("logit_bias") or {}).items():
            logits[int(token)] += float(bias)
        shifted = logits - logits.max()
        logprobs = shifted - np.log(np.exp(shifted).sum())
        k = min(int(body.get("top_logprobs") or 0), MAX_TOP_LOGPROBS)
        candidates = np.argpartition(-logprobs, max(k, 1))[: max(k, 1)]
        best = candidates[np.argsort(-logprobs[candidates], kind="stable")]
        top = [{"token": self.token_text(int(t)), "logprob": float(logprobs[t]), "bytes": None} for t in best[:k]]
        first = int(best[0])
        content = [{"token": self.token_text(first), "logprob": float(logprobs[first]), "bytes": None}]
        content[0]["top_logprobs"] = top
        return _chat_response(body, self.token_text(first), {"content": content}, len(tokens))

    def completion(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("logprobs"):
            if int(body.get("max_tokens") or 0) != 1:
                raise ValueError("this server computes logprobs for one-token answers only: send max_tokens=1")
            return self.logprob_completion(body)
        options = {k: body[k] for k in ("max_tokens", "temperature", "seed", "stop", "response_format") if k in body}
        if body.get("grammar"):
            from llama_cpp import LlamaGrammar

            options["grammar"] = LlamaGrammar.from_string(body["grammar"], verbose=False)
        if body.get("logit_bias"):
            options["logit_bias"] = {int(k): float(v) for k, v in body["logit_bias"].items()}
        llama: Any = self.llama
        with self.lock:
            return dict(llama.create_chat_completion(messages=body["messages"], **options))

    def tokenize(self, text: str) -> list[int]:
        return [int(t) for t in self.llama.tokenize(text.encode("utf-8"), special=True)]


def _chat_response(body: Mapping[str, Any], text: str, logprobs: dict[str, Any], n_prompt: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-evalkit-local",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "local"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length",
                "logprobs": logprobs,
            }
        ],
        "usage": {"prompt_tokens": n_prompt, "completion_tokens": 1, "total_tokens": n_prompt + 1},
    }


def _handler(model: LastTokenModel, alias: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: evalkit keeps the log for errors only
            pass

        def _send(self, code: int, payload: Mapping[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": alias, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route GET {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/").endswith("/extras/tokenize"):
                    self._send(200, {"tokens": model.tokenize(str(body.get("input", "")))})
                elif self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(200, model.completion(body))
                else:
                    self._send(404, {"error": {"message": f"no route POST {self.path}"}})
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
            except Exception as exc:  # the server must answer, whatever failed
                self._send(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="evalkit's last-position logprob server for a GGUF model")
    parser.add_argument("--model", required=True)
    parser.add_argument("--model_alias", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n_ctx", type=int, default=4096)
    parser.add_argument("--chat_format", default=None)
    parser.add_argument("--n_threads", type=int, default=None)
    args = parser.parse_args(argv)
    model = LastTokenModel(args.model, n_ctx=args.n_ctx, chat_format=args.chat_format, threads=args.n_threads)
    server = ThreadingHTTPServer((args.host, args.port), _handler(model, args.model_alias))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
