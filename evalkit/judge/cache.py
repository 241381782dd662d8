"""A SQLite cache of successful, parsed judge calls (WAL, one row per call).

The key hashes the server URL, model, template name and version, protocol,
the request parameters (sampling, grammar, logprobs) and the messages with
the run's nonce replaced by a placeholder, so that a rerun (with a new
nonce) finds the calls of an earlier one. The API key is never part of the
key or the stored value. Each row is committed as soon as its call
completes: a run killed with ``kill -9`` keeps every call that finished.

>>> import tempfile, pathlib
>>> c = JudgeCache(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite")
>>> k = cache_key(base_url="http://x/v1", model="m", template_id="t@1", protocol="text",
...               params={"temperature": 0}, messages=[{"role": "user", "content": "hi"}], nonce="")
>>> c.put(k, {"content": "[[A]]"}); c.get(k)
{'content': '[[A]]'}
>>> c.close()
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evalkit.errors import ConfigError
from evalkit.judge.render import NONCE_PLACEHOLDER

__all__ = ["JudgeCache", "cache_key", "default_cache_path"]

_SCHEMA = "evalkit-judge-cache-v1"


def default_cache_path() -> pathlib.Path:
    """``$XDG_CACHE_HOME/evalkit/judge.sqlite`` (``~/.cache/...`` by default)."""
    import os

    root = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(root) / "evalkit" / "judge.sqlite"


def cache_key(
    *,
    base_url: str,
    model: str,
    template_id: str,
    protocol: str,
    params: Mapping[str, Any],
    messages: Sequence[Mapping[str, str]],
    nonce: str,
) -> str:
    """A hex digest that identifies one judge call (never includes a secret)."""
    if nonce:
        messages = [{k: v.replace(nonce, NONCE_PLACEHOLDER) for k, v in m.items()} for m in messages]
    payload = {
        "schema": _SCHEMA,
        "base_url": base_url.rstrip("/"),
        "model": model,
        "template": template_id,
        "protocol": protocol,
        "params": dict(params),
        "messages": list(messages),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class JudgeCache:
    """Key -> stored response. ``path=None`` keeps nothing (``--no-cache``)."""

    def __init__(self, path: pathlib.Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(target, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL under WAL: a committed call survives the process being killed.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"{path}: cannot open the judge cache: {exc}", hint="pass another --cache PATH") from None

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM calls WHERE key IN ({marks})", chunk):
                out[key] = json.loads(value)
        return out

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        text = json.dumps(dict(value), ensure_ascii=False, sort_keys=True)
        self._db.execute(
            "INSERT OR REPLACE INTO calls (key, value, created) VALUES (?, ?, ?)", (key, text, time.time())
        )

    def copy_from(self, path: pathlib.Path) -> int:
        """Add the rows of the cache file ``path`` that this cache lacks
        (``evalkit judge merge`` joins the shards' caches); the rows added."""
        before = len(self)
        try:
            other = sqlite3.connect(str(path), timeout=30.0)
            try:
                rows = other.execute("SELECT key, value, created FROM calls").fetchall()
            finally:
                other.close()
        except sqlite3.Error as exc:
            raise ConfigError(f"{path}: cannot read this judge cache: {exc}") from None
        self._db.executemany("INSERT OR IGNORE INTO calls (key, value, created) VALUES (?, ?, ?)", rows)
        return len(self) - before

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        self._db.close()
