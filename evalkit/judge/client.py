"""The judge's HTTP client: the only module of the judge that knows HTTP.

``AsyncOpenAI`` against any OpenAI-compatible server (OpenAI, vLLM,
llama.cpp, Ollama), with its own retries off: evalkit's one retry policy
(:mod:`evalkit.retry`) decides, so that every attempt is counted and
``Retry-After`` is honoured exactly. :func:`evalkit.retry.classify` maps the
client's exceptions:

- 429, 5xx, 408/409, timeouts and dropped connections: retried with
  exponential backoff and jitter, or after the server's ``Retry-After``;
- 401/403, an exhausted quota (429 ``insufficient_quota``), 404 and a
  ``Retry-After`` beyond the policy's cap: :class:`JudgeError`, the run stops
  at once;
- 400/422 (context overflow, a rejected parameter) and a body that is not
  JSON: that call is unscored with the server's message and the run goes on.

The API key is handed in by the caller (read from the environment), kept
only inside the openai client and scrubbed from every message kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import JudgeError, MissingDependencyError, ProtocolUnsupportedError, ServiceError
from evalkit.retry import Failure, RetryPolicy, classify, parse_retry_after

__all__ = ["JudgeClient", "CallOutcome", "parse_retry_after", "MAX_RETRY_AFTER_S", "PROBE_MARK"]

#: A server asking to wait longer than this stops the run instead.
MAX_RETRY_AFTER_S = RetryPolicy().max_retry_after
#: Text carried by the capability probe's messages (lets servers and tests tell them apart).
PROBE_MARK = "evalkit capability probe"


@dataclass
class CallOutcome:
    """The result of one judge call after retries.

    ``response`` is the normalised mapping :mod:`evalkit.judge.protocols`
    parses; ``error`` is the reason the call could not be made (the item is
    then unscored), never both.
    """

    response: dict[str, Any] | None = None
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 0


def normalize_response(completion: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a chat completion (decoded JSON) the protocols read."""
    if not isinstance(completion, Mapping):
        raise ValueError(f"the body is a JSON {type(completion).__name__}, not an object")
    choices = completion.get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        return {"content": None, "finish_reason": None, "top_logprobs": None, "refusal": None}
    choice = choices[0]
    message = choice.get("message") or {}
    top = None
    content_lp = (choice.get("logprobs") or {}).get("content")
    if content_lp:
        top = [
            {"token": t.get("token"), "logprob": t.get("logprob")} for t in (content_lp[0].get("top_logprobs") or [])
        ]
    return {
        "content": message.get("content"),
        "finish_reason": choice.get("finish_reason"),
        "top_logprobs": top,
        "refusal": message.get("refusal"),
    }


def _usage(completion: Mapping[str, Any]) -> dict[str, int]:
    usage = completion.get("usage") or {}
    return {
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
    }


def _probe_params(protocol: str, backend: str) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": 12, "temperature": 0}
    if protocol == "logprobs":
        params.update(logprobs=True, top_logprobs=5, max_tokens=1)
    elif backend == "gbnf":
        params["extra_body"] = {"grammar": 'root ::= "Q7"'}
    elif backend == "choice":
        params["extra_body"] = {"guided_choice": ["Q7"]}
    else:
        schema = {
            "type": "object",
            "properties": {"verdict": {"type": "string", "enum": ["Q7"]}},
            "required": ["verdict"],
            "additionalProperties": False,
        }
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "strict": True, "schema": schema},
        }
    return params


def _protocol_hint(protocol: str, backend: str) -> str:
    if protocol == "logprobs":
        return "llama.cpp needs --logits_all true; or choose --protocol text or grammar"
    if backend == "gbnf":
        return (
            "the gbnf backend needs llama.cpp; use --grammar-backend choice (vLLM) or json_schema (OpenAI), "
            "or --protocol text"
        )
    return "choose another --grammar-backend or --protocol text"


class JudgeClient:
    """A bounded, retrying chat-completions client.

    Counters (``requests_sent``, ``retries``, ``probe_requests``) count HTTP
    attempts, so tests can check exactly what reached the server. With a
    server listening (``tests/judge/test_judge_faults.py`` runs this against
    the scripted one)::

        async def demo():
            client = JudgeClient(base_url="http://127.0.0.1:8080/v1", model="m", api_key="none")
            out = await client.complete([{"role": "user", "content": "hi"}], {"max_tokens": 4})
            await client.aclose()
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        try:
            import openai
        except ModuleNotFoundError:
            raise MissingDependencyError("the openai package", install="pip install openai") from None
        # max_retries=0: evalkit retries itself, to count attempts and stop on auth errors.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._secret = api_key if len(api_key) >= 6 else None
        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.requests_sent = 0
        self.retries = 0
        self.probe_requests = 0

    def scrub(self, text: str) -> str:
        """``text`` with the API key masked (servers sometimes echo it)."""
        if self._secret:
            text = text.replace(self._secret, "***")
            text = text.replace(self._secret[:8], "***") if len(self._secret) > 12 else text
        return text

    async def aclose(self) -> None:
        await self._client.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify(exc, server=self.base_url, timeout=self.timeout, scrub=self.scrub)

    async def _post_chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> dict[str, Any]:
        # The low-level post with a plain dict: the SDK's typed request
        # transform and response models cost ~2 ms of CPU per call, a third of
        # the budget at 300 calls/s. Status errors are raised by the SDK alike.
        body: dict[str, Any] = {"model": self.model, "messages": list(messages)}
        for key, value in params.items():
            if key == "extra_body":
                body.update(value)
            else:
                body[key] = value
        raw = await self._client.post("/chat/completions", cast_to=bytes, body=body)
        return dict(json.loads(raw))

    async def _attempt(
        self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, int]] | Failure:
        try:
            completion = await self._post_chat(messages, params)
            return normalize_response(completion), _usage(completion)
        except Exception as exc:
            failure = self._classify(exc)
            if failure is None and isinstance(exc, (AttributeError, TypeError, IndexError)):
                failure = Failure("item", f"malformed response from the judge server: {exc}"[:500])
            if failure is None:
                raise
            return failure

    async def complete(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> CallOutcome:
        """One judge call, retried as the module docstring says."""
        async with self._slots:
            started = time.perf_counter()
            attempt = 0
            while True:
                self.requests_sent += 1
                result = await self._attempt(messages, params)
                if not isinstance(result, Failure):
                    response, usage = result
                    return CallOutcome(response, None, usage, time.perf_counter() - started, attempt + 1)
                if result.kind == "fatal":
                    raise result.error(JudgeError) from None
                if result.kind == "item":
                    return CallOutcome(None, result.message, {}, time.perf_counter() - started, attempt + 1)
                try:
                    wait = self.policy.wait(attempt, result)
                except ServiceError as exc:
                    raise JudgeError(exc.message, hint=exc.hint) from None
                if wait is None:
                    error = f"gave up after {attempt + 1} attempts; last: {result.message}"
                    return CallOutcome(None, error, {}, time.perf_counter() - started, attempt + 1)
                await self._sleep(wait)
                attempt += 1
                self.retries += 1

    async def _check_models(self) -> None:
        self.probe_requests += 1
        self.requests_sent += 1
        try:
            await self._client.models.list()
        except Exception as exc:
            failure = self._classify(exc)
            if failure is None:
                raise
            if failure.credentials:
                raise failure.error(JudgeError) from None
            if failure.status is None and failure.kind == "retry":
                raise JudgeError(
                    f"cannot reach the judge server at {self.base_url}: {failure.message}",
                    hint="start the server, check --base-url, or use --judge local",
                ) from None
            # some servers have no /models; the chat probe still checks them

    def _root(self) -> str:
        base = self.base_url.rstrip("/")
        return base[: -len("/v1")] if base.endswith("/v1") else base

    async def tokenize(self, text: str) -> list[int] | None:
        """The server's token ids for ``text`` (llama-cpp-python's
        ``/extras/tokenize``, else llama.cpp's ``/tokenize``), or ``None``
        when it has neither. Counted as probe requests."""
        for path, body in (("/extras/tokenize", {"input": text}), ("/tokenize", {"content": text})):
            self.probe_requests += 1
            self.requests_sent += 1
            try:
                raw = await self._client.post(self._root() + path, cast_to=bytes, body=body)
                tokens = json.loads(raw).get("tokens")
            except Exception as exc:
                failure = self._classify(exc)
                if failure is not None and failure.credentials:
                    raise failure.error(JudgeError) from None
                if failure is None and not isinstance(exc, (ValueError, AttributeError)):
                    raise
                continue
            if isinstance(tokens, list) and all(isinstance(t, int) for t in tokens):
                return [int(t) for t in tokens]
        return None

    async def probe_logit_bias(self, bias: Mapping[str, float], *, top_logprobs: int) -> dict[str, Any] | None:
        """One logprob request with ``bias`` (the capability probe of
        :mod:`evalkit.judge.logprob_method`): the normalised answer, or
        ``None`` if the server rejected it."""
        messages = [{"role": "user", "content": f"{PROBE_MARK}: reply with Q7."}]
        params: dict[str, Any] = {"max_tokens": 1, "temperature": 0, "logprobs": True, "top_logprobs": top_logprobs}
        params["logit_bias"] = dict(bias)
        self.probe_requests += 1
        self.requests_sent += 1
        result = await self._attempt(messages, params)
        if isinstance(result, Failure):
            if result.credentials:
                raise result.error(JudgeError) from None
            return None
        return result[0]

    async def probe(self, protocol: str, *, backend: str = "gbnf") -> None:
        """Check the server before a run: it answers, accepts the credentials
        and supports ``protocol``; raise :class:`JudgeError` or
        :class:`ProtocolUnsupportedError` if not. Never falls back."""
        await self._check_models()
        if protocol == "text":
            return
        messages = [{"role": "user", "content": f"{PROBE_MARK}: reply with Q7."}]
        self.probe_requests += 1
        self.requests_sent += 1
        what = f"the {protocol} protocol" + (f" ({backend})" if protocol == "grammar" else "")
        hint = _protocol_hint(protocol, backend)
        result = await self._attempt(messages, _probe_params(protocol, backend))
        if isinstance(result, Failure):
            if result.credentials:
                raise result.error(JudgeError) from None
            if result.status is None:
                raise JudgeError(f"the judge server at {self.base_url} failed the capability probe: {result.message}")
            raise ProtocolUnsupportedError(
                f"the judge server at {self.base_url} rejected {what}: {result.message[:300]}", hint=hint
            )
        response, _ = result
        if protocol == "grammar":
            content = (response.get("content") or "").strip()
            expected = '{"verdict":"Q7"}' if backend == "json_schema" else "Q7"
            if content.replace(" ", "") != expected:
                raise ProtocolUnsupportedError(
                    f"the judge server at {self.base_url} ignored the {backend} constraint of {what} "
                    f"(asked for {expected!r}, got {content[:80]!r})",
                    hint=hint,
                )
        elif not response.get("top_logprobs") or len(response["top_logprobs"]) < 2:
            raise ProtocolUnsupportedError(
                f"the judge server at {self.base_url} returned no top_logprobs, so {what} cannot work", hint=hint
            )
