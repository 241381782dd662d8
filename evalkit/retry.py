"""The one retry policy of evalkit's HTTP clients, and the one place that maps
a foreign client's exceptions (openai, and httpx under it) to evalkit's error
tree.

Two modules talk HTTP: the judge's client (:mod:`evalkit.judge.client`) and
the OpenAI embeddings featurizer. Both classify a failure with
:func:`classify` and ask a :class:`RetryPolicy` how long to wait:

- ``retry``: 429, 5xx, 408, 409, timeouts and dropped connections; the wait is
  the server's ``Retry-After`` when it gives one, else exponential backoff
  with jitter; a server asking for more than ``max_retry_after`` seconds
  stops the run;
- ``fatal``: refused credentials (401/403), an exhausted quota (429
  ``insufficient_quota``), 404 and any other status: the run stops with a
  :class:`~evalkit.errors.ServiceError` (the judge raises its subclass);
- ``item``: 400/422 (a context overflow, a rejected parameter) and a body that
  is not JSON: the judge leaves that call unscored; the featurizer stops.

>>> policy = RetryPolicy(max_retries=2, backoff_base=1.0, jitter=False)
>>> [policy.wait(attempt, Failure("retry", "HTTP 503")) for attempt in range(3)]
[1.0, 2.0, None]
>>> policy.wait(0, Failure("retry", "HTTP 429", retry_after=7.0))
7.0
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from evalkit.errors import ServiceError

__all__ = ["Failure", "RetryPolicy", "classify", "parse_retry_after", "retry_sync"]

T = TypeVar("T")

FailureKind = Literal["retry", "fatal", "item"]


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or
    an HTTP date); ``None`` when absent or unreadable, ``0.0`` for a date in
    the past.

    >>> parse_retry_after({"Retry-After": "2"})
    2.0
    >>> parse_retry_after({"retry-after-ms": "250", "retry-after": "9"})
    0.25
    >>> parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
    10.0
    """
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            if name == "retry-after-ms":
                continue
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError):
                return None
            seconds = when - (time.time() if now is None else now)
        if seconds != seconds:  # NaN
            return None
        return max(0.0, seconds)
    return None


@dataclass(frozen=True)
class Failure:
    """A classified failure of one request.

    ``message`` is safe to show (the caller scrubs secrets before it is
    built); ``hint`` says what to do when the failure stops the run.
    """

    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None
    hint: str | None = None
    #: the credentials were refused (401/403): no other request can succeed
    credentials: bool = False

    def error(self, cls: type[ServiceError] = ServiceError, *, prefix: str = "") -> ServiceError:
        """The error of the tree that stops the run."""
        return cls(prefix + self.message, hint=self.hint)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a request again."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    #: a server asking to wait longer than this stops the run instead
    max_retry_after: float = 120.0
    jitter: bool = True

    def backoff(self, attempt: int) -> float:
        """Exponential backoff for the ``attempt``-th retry (0-based), capped,
        with jitter within [half, all] of the step."""
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return ceiling * (0.5 + 0.5 * random.random()) if self.jitter else ceiling

    def wait(self, attempt: int, failure: Failure) -> float | None:
        """Seconds to wait before retrying after ``failure`` on attempt
        ``attempt`` (0-based); ``None`` when the retries are used up.

        Raises :class:`ServiceError` when the server asks to wait too long.
        """
        if failure.kind != "retry" or attempt >= self.max_retries:
            return None
        if failure.retry_after is None:
            return self.backoff(attempt)
        if failure.retry_after > self.max_retry_after:
            raise ServiceError(
                f"the server asked to wait {failure.retry_after:.0f} s (Retry-After) before retrying "
                f"({failure.message})",
                hint="try again later or send fewer requests at once (--concurrency)",
            )
        return failure.retry_after


def _status_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", exc))


def _quota_exhausted(exc: Any) -> bool:
    body = getattr(exc, "body", None)
    code = getattr(exc, "code", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = code or body["error"].get("code") or body["error"].get("type")
    return str(code or "") in ("insufficient_quota", "quota_exceeded", "billing_hard_limit_reached")


def _status_failure(exc: Any, server: str, scrub: Callable[[str], str]) -> Failure:
    import openai

    status = int(exc.status_code)
    text = scrub(_status_message(exc))
    headers = exc.response.headers if getattr(exc, "response", None) is not None else None
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return Failure(
            "fatal",
            f"the server at {server} refused the credentials (HTTP {status}): {text}",
            status,
            hint="check the API key variable (--api-key-env, OPENAI_API_KEY) and the model's access",
            credentials=True,
        )
    if isinstance(exc, openai.RateLimitError) and _quota_exhausted(exc):
        return Failure("fatal", f"the quota is exhausted (HTTP 429): {text}", status, hint="check the account's quota")
    if status == 429 or status in (408, 409) or status >= 500:
        return Failure("retry", f"HTTP {status}: {text}", status, parse_retry_after(headers))
    if status in (400, 422):
        return Failure("item", f"HTTP {status}: {text}"[:500], status)
    if status == 404:
        return Failure(
            "fatal",
            f"HTTP 404 from {server}: {text}",
            status,
            hint="check the base URL (it usually ends in /v1) and the model name",
        )
    return Failure("fatal", f"HTTP {status} from {server}: {text}", status)


def classify(
    exc: BaseException, *, server: str, timeout: float | None = None, scrub: Callable[[str], str] = str
) -> Failure | None:
    """The :class:`Failure` that ``exc``, raised by the openai client (or a
    ``ValueError`` from decoding its body), stands for; ``None`` for an
    exception that is not a request failure (a bug: let it propagate).

    ``server`` names the endpoint in messages; ``scrub`` masks secrets in any
    text that the server sent back.
    """
    import openai

    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, server, scrub)
    if isinstance(exc, openai.APITimeoutError):
        limit = f" {timeout:g} s" if timeout is not None else ""
        return Failure("retry", f"no answer within the{limit} timeout")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return Failure(
            "retry",
            f"connection failed: {type(cause).__name__}: {scrub(str(cause))}"[:300],
            hint="start the server or check its URL",
        )
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        return Failure("item", f"malformed response from {server}: {scrub(str(exc))}"[:500])
    return None


def retry_sync(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    server: str,
    what: str = "request",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call`` under ``policy``; a failure that is not retried, or the
    last one, raises :class:`ServiceError` naming ``what``."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            failure = classify(exc, server=server)
            if failure is None:
                raise
        wait = policy.wait(attempt, failure)
        if wait is None:
            if failure.kind == "retry":
                raise ServiceError(
                    f"{what} still failed after {attempt + 1} tries (last: {failure.message})",
                    hint="is the server running and reachable? retry later",
                ) from None
            raise failure.error(prefix=f"{what} failed: ") from None
        sleep(wait)
        attempt += 1
