"""An on-disk cache of text features, keyed by featurizer id and text hash.

Layout: ``ROOT/<slug>-<hash of id>/`` holds ``id.txt`` (the featurizer id, for
people) and shards ``*.npz``, each with ``keys`` (sha256 of the UTF-8 text,
hex) and ``features`` (float32, one row per key). A shard is written to a
temporary file and renamed, so an interrupted run leaves whole shards only,
and two processes filling the same cache never write the same file.

``ROOT`` is ``$EVALKIT_CACHE_DIR/features`` when that variable is set, else
``$XDG_CACHE_HOME/evalkit/features`` (``~/.cache/evalkit/features``).

>>> import numpy as np, tempfile
>>> cache = FeatureCache(tempfile.mkdtemp())
>>> cache.store("toy@1", ["a", "b"], np.eye(2, dtype=np.float32))
>>> sorted(cache.lookup("toy@1", ["b", "c"]))
['b']
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    import numpy as np

    from evalkit.featurizers.base import Featurizer

__all__ = ["FeatureCache", "default_cache_dir", "featurize_texts", "text_key"]

#: New features are written in shards of at most this many texts, so that an
#: interrupted run keeps most of its work.
SHARD_SIZE = 1024


def default_cache_dir() -> Path:
    """Where features are cached unless ``cache_dir`` says otherwise."""
    if os.environ.get("EVALKIT_CACHE_DIR"):
        return Path(os.environ["EVALKIT_CACHE_DIR"]).expanduser() / "features"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "evalkit" / "features"


def text_key(text: str) -> str:
    """The cache key of one text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class FeatureCache:
    """Features on disk, one folder per featurizer id.

    Shards are read once per featurizer id and kept in memory, so scoring
    several systems against the same references reads the disk once.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self._loaded: dict[str, dict[str, np.ndarray]] = {}

    def folder(self, featurizer_id: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", featurizer_id)[:60]
        digest = hashlib.sha256(featurizer_id.encode("utf-8")).hexdigest()[:16]
        return self.root / f"{slug}-{digest}"

    def _entries(self, featurizer_id: str) -> dict[str, np.ndarray]:
        if featurizer_id in self._loaded:
            return self._loaded[featurizer_id]
        import numpy as np

        entries: dict[str, np.ndarray] = {}
        folder = self.folder(featurizer_id)
        for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, features = data["keys"], data["features"]
                if features.ndim != 2 or len(keys) != len(features):
                    raise ValueError(f"keys {keys.shape} and features {features.shape} do not match")
            except Exception as exc:  # a damaged shard is a cache miss, not a failed run
                warnings.warn(f"ignoring unreadable feature cache shard {shard}: {exc}", stacklevel=3)
                continue
            for key, row in zip(keys.tolist(), features):
                entries[key] = row
        self._loaded[featurizer_id] = entries
        return entries

    def lookup(self, featurizer_id: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """``{text: vector}`` for the texts that are cached."""
        entries = self._entries(featurizer_id)
        out = {}
        for text in texts:
            row = entries.get(text_key(text))
            if row is not None:
                out[text] = row
        return out

    def store(self, featurizer_id: str, texts: Sequence[str], features: np.ndarray) -> None:
        """Add ``features`` (one row per text) to the cache, atomically."""
        import numpy as np

        if not len(texts):
            return
        keys = np.array([text_key(t) for t in texts])
        features = np.ascontiguousarray(features, dtype=np.float32)
        folder = self.folder(featurizer_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            id_file = folder / "id.txt"
            if not id_file.exists():
                id_file.write_text(featurizer_id + "\n", encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, keys=keys, features=features)
                os.replace(tmp, folder / f"{uuid.uuid4().hex}.npz")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise EvalkitError(
                f"cannot write the feature cache in {folder}: {exc.strerror or exc}",
                hint="set mauve.cache_dir (or $EVALKIT_CACHE_DIR) to a writable folder, or mauve.cache=false",
            ) from exc
        entries = self._entries(featurizer_id)
        for key, row in zip(keys.tolist(), features):
            entries[key] = row


def featurize_texts(
    featurizer: Featurizer,
    texts: Sequence[str],
    *,
    cache: FeatureCache | None,
    batch_size: int,
    desc: str = "texts",
) -> np.ndarray:
    """Features of ``texts`` (float32, one row per text, in order).

    Each distinct text is featurized once; texts already in ``cache`` are not
    featurized at all. New features go to the cache in shards as they come.
    A progress bar runs on stderr when stderr is a terminal.
    """
    import numpy as np
    from tqdm import tqdm

    active = cache if cache is not None and getattr(featurizer, "cacheable", True) else None
    unique = list(dict.fromkeys(texts))
    found = active.lookup(featurizer.id, unique) if active is not None else {}
    missing = [t for t in unique if t not in found]

    pending_texts: list[str] = []
    pending_rows: list[np.ndarray] = []
    with tqdm(
        total=len(missing),
        desc=f"featurizing {desc} ({featurizer.id})",
        unit="text",
        file=sys.stderr,
        disable=not (sys.stderr.isatty() and missing),
        leave=False,
    ) as bar:
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            rows = _checked(featurizer, chunk, featurizer.featurize(chunk))
            found.update(zip(chunk, rows))
            if active is not None:
                pending_texts.extend(chunk)
                pending_rows.append(rows)
                if len(pending_texts) >= SHARD_SIZE:
                    active.store(featurizer.id, pending_texts, np.concatenate(pending_rows))
                    pending_texts, pending_rows = [], []
            bar.update(len(chunk))
    if active is not None and pending_texts:
        active.store(featurizer.id, pending_texts, np.concatenate(pending_rows))

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    dims = {found[t].shape[0] for t in unique}
    if len(dims) != 1:
        raise EvalkitError(
            f"featurizer {featurizer.id} gave vectors of different sizes: {sorted(dims)}",
            hint="clear its feature cache folder if the model behind the id changed",
        )
    return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


def _checked(featurizer: Featurizer, chunk: Sequence[str], rows: np.ndarray) -> np.ndarray:
    import numpy as np

    rows = np.asarray(rows, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[0] != len(chunk):
        raise EvalkitError(
            f"featurizer {featurizer.id} returned an array of shape {rows.shape} "
            f"for {len(chunk)} texts; expected ({len(chunk)}, dim)"
        )
    if not np.isfinite(rows).all():
        raise EvalkitError(f"featurizer {featurizer.id} returned NaN or infinite values")
    return rows
