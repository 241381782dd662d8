"""``openai:MODEL``: vectors from an OpenAI-compatible ``/v1/embeddings``
endpoint (OpenAI, vLLM, llama.cpp's server...).

The endpoint is ``openai_base_url`` (a MAUVE option), else
``$OPENAI_BASE_URL``, else OpenAI's own. The key comes from
``$OPENAI_API_KEY`` only and is never logged, cached or put in the id. Texts
go in batches of ``batch_size``; failures are classified and retried by
evalkit's one retry policy (:mod:`evalkit.retry`): 408, 409, 429, a 5xx
status, a timeout or a dropped connection is retried with exponential
backoff, waiting what the server's ``Retry-After`` asks for when it says;
anything else stops with a :class:`~evalkit.errors.ServiceError`.

The client's own retries are off (``max_retries=0``) so that one loop
decides, and a test can count requests.

>>> OpenAIEmbeddingsFeaturizer("text-embedding-3-small",
...                            base_url="http://127.0.0.1:8080/v1").id
'openai:text-embedding-3-small@127.0.0.1:8080/v1'
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from evalkit.errors import ConfigError, MissingDependencyError, ServiceError
from evalkit.retry import RetryPolicy, retry_sync

if TYPE_CHECKING:
    import numpy as np

__all__ = ["OpenAIEmbeddingsFeaturizer"]

OPENAI_URL = "https://api.openai.com/v1"


class OpenAIEmbeddingsFeaturizer:
    """Embeddings from an OpenAI-compatible server."""

    cacheable: ClassVar[bool] = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        batch_size: int = 64,
        max_retries: int = 6,
        timeout: float = 120.0,
    ) -> None:
        if not model:
            raise ConfigError("openai: needs a model name", hint="for example: openai:text-embedding-3-small")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"openai_base_url {self.base_url!r} is not an http(s) URL",
                hint="for example: http://127.0.0.1:8080/v1",
            )
        self.batch_size = batch_size
        self.policy = RetryPolicy(max_retries=max_retries)
        self.timeout = timeout
        self._client: Any = None

    @property
    def id(self) -> str:
        # host and path name the server; credentials embedded in the URL and
        # the query string stay out of the id (and so out of cache and reports)
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return f"openai:{self.model}@{host}{parts.path}"

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise MissingDependencyError("the openai client", install="pip install openai") from exc
            key = os.environ.get("OPENAI_API_KEY")
            if not key:
                if self.base_url == OPENAI_URL:
                    raise ConfigError(
                        "openai: featurizer needs an API key for api.openai.com",
                        hint="set OPENAI_API_KEY in the environment (never in a config file)",
                    )
                key = "no-key"  # local servers (vLLM, llama.cpp) accept any key
            self._client = openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=self.timeout)
        return self._client

    def featurize(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        client = self._get_client()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            response = retry_sync(
                functools.partial(client.embeddings.create, model=self.model, input=chunk, encoding_format="float"),
                policy=self.policy,
                server=self.id,
                what=f"embeddings request to {self.id}",
            )
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(chunk):
                raise ServiceError(
                    f"{self.id} returned {len(data)} embeddings for {len(chunk)} texts",
                    hint="the server does not follow the /v1/embeddings protocol for batched input",
                )
            rows.extend(list(d.embedding) for d in data)
        try:
            return np.asarray(rows, dtype=np.float32)
        except ValueError as exc:  # ragged vectors
            raise ServiceError(f"{self.id} returned embeddings of different sizes: {exc}") from None
