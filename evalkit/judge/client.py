"""The judge's HTTP client: the only module that knows HTTP.

``AsyncOpenAI`` against any OpenAI-compatible server (OpenAI, vLLM,
llama.cpp, Ollama) with evalkit's own retry loop, so that every attempt is
counted and ``Retry-After`` is honoured exactly:

- 429, 5xx, 408/409, timeouts and dropped connections: retried with
  exponential backoff and jitter, or after the server's ``Retry-After``;
- 401/403, an exhausted quota (429 ``insufficient_quota``), 404 and a
  ``Retry-After`` beyond :data:`MAX_RETRY_AFTER_S`: :class:`JudgeError`, the
  run stops at once;
- 400/422 (context overflow, a rejected parameter): that call is unscored
  with the server's message and the run goes on.

The API key is handed in by the caller (read from the environment), kept
only inside the openai client and scrubbed from every message kept.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import JudgeError, MissingDependencyError, ProtocolUnsupportedError
from evalkit.retry_after import parse_retry_after

__all__ = ["JudgeClient", "CallOutcome", "parse_retry_after", "MAX_RETRY_AFTER_S", "PROBE_MARK"]

#: A server asking to wait longer than this stops the run instead.
MAX_RETRY_AFTER_S = 120.0
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


def _quota_exhausted(exc: Any) -> bool:
    body = getattr(exc, "body", None)
    code = getattr(exc, "code", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = code or body["error"].get("code") or body["error"].get("type")
    return str(code or "") in ("insufficient_quota", "quota_exceeded", "billing_hard_limit_reached")


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", exc))


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
        max_retries: int = 5,
        concurrency: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        try:
            import openai
        except ModuleNotFoundError:
            raise MissingDependencyError("the openai package", install="pip install openai") from None
        self._openai = openai
        # max_retries=0: evalkit retries itself, to count attempts and stop on auth errors.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._secret = api_key if len(api_key) >= 6 else None
        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
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
        return json.loads(raw)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return ceiling * (0.5 + 0.5 * random.random())

    async def complete(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> CallOutcome:
        """One judge call, retried as the module docstring says."""
        openai = self._openai
        async with self._slots:
            started = time.perf_counter()
            last = ""
            for attempt in range(self.max_retries + 1):
                if attempt:
                    self.retries += 1
                self.requests_sent += 1
                delay: float | None = None
                try:
                    completion = await self._post_chat(messages, params)
                except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                    raise JudgeError(
                        f"the judge server at {self.base_url} refused the credentials "
                        f"(HTTP {exc.status_code}): {self.scrub(_status_message(exc))}",
                        hint="check the API key variable (--api-key-env) and the model's access",
                    ) from None
                except openai.RateLimitError as exc:
                    if _quota_exhausted(exc):
                        raise JudgeError(
                            f"the judge's quota is exhausted (HTTP 429): {self.scrub(_status_message(exc))}"
                        ) from None
                    last = f"HTTP 429: {self.scrub(_status_message(exc))}"
                    delay = parse_retry_after(exc.response.headers)
                except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                    return CallOutcome(
                        error=f"HTTP {exc.status_code} from the judge: {self.scrub(_status_message(exc))}"[:500],
                        latency_s=time.perf_counter() - started,
                        attempts=attempt + 1,
                    )
                except openai.NotFoundError as exc:
                    raise JudgeError(
                        f"HTTP 404 from {self.base_url}: {self.scrub(_status_message(exc))}",
                        hint="check --base-url (it usually ends in /v1) and --model",
                    ) from None
                except openai.APIStatusError as exc:
                    if exc.status_code in (408, 409) or exc.status_code >= 500:
                        last = f"HTTP {exc.status_code}: {self.scrub(_status_message(exc))}"
                        delay = parse_retry_after(exc.response.headers)
                    else:
                        raise JudgeError(
                            f"HTTP {exc.status_code} from the judge server: {self.scrub(_status_message(exc))}"
                        ) from None
                except openai.APITimeoutError:
                    last = f"no answer within the {self.timeout:g} s timeout"
                except openai.APIConnectionError as exc:
                    cause = exc.__cause__ or exc
                    last = f"connection failed: {type(cause).__name__}: {self.scrub(str(cause))}"[:300]
                except (openai.APIResponseValidationError, ValueError) as exc:
                    return CallOutcome(
                        error=f"malformed response from the judge server: {self.scrub(str(exc))}"[:500],
                        latency_s=time.perf_counter() - started,
                        attempts=attempt + 1,
                    )
                else:
                    try:
                        response = normalize_response(completion)
                    except (ValueError, AttributeError, TypeError, IndexError) as exc:
                        return CallOutcome(
                            error=f"malformed response from the judge server: {exc}"[:500],
                            latency_s=time.perf_counter() - started,
                            attempts=attempt + 1,
                        )
                    return CallOutcome(
                        response=response,
                        usage=_usage(completion),
                        latency_s=time.perf_counter() - started,
                        attempts=attempt + 1,
                    )
                if attempt == self.max_retries:
                    break
                if delay is not None and delay > MAX_RETRY_AFTER_S:
                    raise JudgeError(
                        f"the judge server asked to wait {delay:.0f} s (Retry-After) before retrying",
                        hint="try again later or lower --concurrency",
                    )
                await self._sleep(delay if delay is not None else self._backoff(attempt))
            return CallOutcome(
                error=f"gave up after {self.max_retries + 1} attempts; last: {last}",
                latency_s=time.perf_counter() - started,
                attempts=self.max_retries + 1,
            )

    async def probe(self, protocol: str, *, backend: str = "gbnf") -> None:
        """Check the server before a run: it answers, accepts the credentials
        and supports ``protocol``; raise :class:`JudgeError` or
        :class:`ProtocolUnsupportedError` if not. Never falls back."""
        openai = self._openai
        self.probe_requests += 1
        self.requests_sent += 1
        try:
            await self._client.models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise JudgeError(
                f"the judge server at {self.base_url} refused the credentials (HTTP {exc.status_code})",
                hint="check the API key variable (--api-key-env)",
            ) from None
        except openai.APIConnectionError as exc:
            raise JudgeError(
                f"cannot reach the judge server at {self.base_url}: {type(exc.__cause__ or exc).__name__}",
                hint="start the server, check --base-url, or use --judge local",
            ) from None
        except openai.APIStatusError:
            pass  # some servers have no /models; the chat probe below still checks them
        if protocol == "text":
            return
        messages = [{"role": "user", "content": f"{PROBE_MARK}: reply with Q7."}]
        params: dict[str, Any] = {"max_tokens": 12, "temperature": 0}
        if protocol == "grammar":
            if backend == "gbnf":
                params["extra_body"] = {"grammar": 'root ::= "Q7"'}
            elif backend == "choice":
                params["extra_body"] = {"guided_choice": ["Q7"]}
            else:
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "verdict",
                        "strict": True,
                        "schema": {
                            "type": "object",
                            "properties": {"verdict": {"type": "string", "enum": ["Q7"]}},
                            "required": ["verdict"],
                            "additionalProperties": False,
                        },
                    },
                }
        else:
            params.update(logprobs=True, top_logprobs=5, max_tokens=1)
        self.probe_requests += 1
        self.requests_sent += 1
        what = f"the {protocol} protocol" + (f" ({backend})" if protocol == "grammar" else "")
        try:
            completion = await self._post_chat(messages, params)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise JudgeError(f"the judge server refused the credentials (HTTP {exc.status_code})") from None
        except openai.APIStatusError as exc:
            raise ProtocolUnsupportedError(
                f"the judge server at {self.base_url} rejected {what}: "
                f"HTTP {exc.status_code}: {self.scrub(_status_message(exc))[:300]}",
                hint=_protocol_hint(protocol, backend),
            ) from None
        except openai.APIConnectionError as exc:
            raise JudgeError(f"the judge server at {self.base_url} failed during the capability probe: {exc}") from None
        except ValueError as exc:
            raise JudgeError(
                f"the judge server at {self.base_url} answered the capability probe with bad JSON: {exc}"
            ) from None
        response = normalize_response(completion)
        if protocol == "grammar":
            content = (response.get("content") or "").strip()
            expected = '{"verdict":"Q7"}' if backend == "json_schema" else "Q7"
            if content.replace(" ", "") != expected:
                raise ProtocolUnsupportedError(
                    f"the judge server at {self.base_url} ignored the {backend} constraint of {what} "
                    f"(asked for {expected!r}, got {content[:80]!r})",
                    hint=_protocol_hint(protocol, backend),
                )
        elif not response.get("top_logprobs") or len(response["top_logprobs"]) < 2:
            raise ProtocolUnsupportedError(
                f"the judge server at {self.base_url} returned no top_logprobs, so {what} cannot work",
                hint=_protocol_hint(protocol, backend),
            )


def _protocol_hint(protocol: str, backend: str) -> str:
    if protocol == "logprobs":
        return "llama.cpp needs --logits_all true; or choose --protocol text or grammar"
    if backend == "gbnf":
        return "the gbnf backend needs llama.cpp; use --grammar-backend choice (vLLM) or json_schema (OpenAI), or --protocol text"
    return "choose another --grammar-backend or --protocol text"
