"""``npy:PATH``: precomputed features, looked up by text.

MAUVE featurizes the references and every system; precomputed features must
therefore say which text each row belongs to. ``PATH`` is one of:

- ``FILE.npz`` with two arrays: ``texts`` (strings, ``np.array(texts, dtype=str)``)
  and ``features`` (shape ``(len(texts), dim)``);
- ``FILE.npy`` of shape ``(n, dim)`` next to ``FILE.txt`` with the ``n`` texts,
  one per line, read as evalkit reads any text file;
- a folder: every such ``.npz`` and ``.npy``/``.txt`` pair in it.

Every text that MAUVE scores must be found, or the run stops with an
:class:`~evalkit.errors.InputError` naming it.

>>> import numpy as np, tempfile, os
>>> folder = tempfile.mkdtemp()
>>> np.savez(os.path.join(folder, "f.npz"), texts=np.array(["a", "b"]), features=np.eye(2))
>>> NpyFeaturizer(os.path.join(folder, "f.npz")).featurize(["b"]).tolist()
[[0.0, 1.0]]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from evalkit.errors import InputError
from evalkit.inputs import read_segments

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NpyFeaturizer"]


class NpyFeaturizer:
    """Rows of precomputed feature files, found by their text."""

    # the features are on disk already: caching would only copy them
    cacheable: ClassVar[bool] = False

    def __init__(self, path: str) -> None:
        if not path:
            raise InputError("npy: needs a path", hint="for example: npy:features.npz")
        self.path = Path(path).expanduser()
        self._table: dict[str, np.ndarray] | None = None
        self._digest = ""

    @property
    def id(self) -> str:
        self._load()
        return f"npy:{self.path.name}@sha256-{self._digest[:12]}"

    def _files(self) -> list[Path]:
        if not self.path.exists():
            raise InputError(
                "no such file or folder",
                path=str(self.path),
                hint="npy:PATH takes a .npz, a .npy with a .txt beside it, or a folder of them",
            )
        if self.path.is_dir():
            files = sorted(p for p in self.path.iterdir() if p.suffix in (".npz", ".npy"))
            if not files:
                raise InputError("folder holds no .npz or .npy files", path=str(self.path))
            return files
        if self.path.suffix not in (".npz", ".npy"):
            raise InputError("not a .npz or .npy file", path=str(self.path))
        return [self.path]

    def _load(self) -> dict[str, np.ndarray]:
        if self._table is not None:
            return self._table

        table: dict[str, np.ndarray] = {}
        digest = hashlib.sha256()
        dim = None
        for file in self._files():
            texts, features = _read_pair(file)
            digest.update(file.read_bytes())
            if file.suffix == ".npy":
                digest.update(file.with_suffix(".txt").read_bytes())
            if dim is not None and features.shape[1] != dim:
                raise InputError(
                    f"features have {features.shape[1]} dimensions, other files here have {dim}",
                    path=str(file),
                )
            dim = features.shape[1]
            for text, row in zip(texts, features):
                table.setdefault(text, row)
        self._table, self._digest = table, digest.hexdigest()
        return table

    def featurize(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        table = self._load()
        missing = [t for t in texts if t not in table]
        if missing:
            raise InputError(
                f"{len(missing)} text(s) have no precomputed features, the first: {missing[0][:80]!r}",
                path=str(self.path),
                hint="precompute features for every reference and prediction text",
            )
        return np.stack([table[t] for t in texts]).astype(np.float32)


def _read_pair(file: Path) -> tuple[list[str], np.ndarray]:
    import numpy as np

    try:
        if file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as data:
                if "texts" not in data or "features" not in data:
                    raise InputError(
                        f"a .npz needs arrays 'texts' and 'features'; it has {sorted(data.files)}",
                        path=str(file),
                    )
                texts, features = data["texts"], data["features"]
            if texts.dtype.kind != "U" or texts.ndim != 1:
                raise InputError(
                    "'texts' must be a 1-D array of strings",
                    path=str(file),
                    hint="save it as np.array(texts, dtype=str)",
                )
            texts = texts.tolist()
        else:
            features = np.load(file, allow_pickle=False)
            sidecar = file.with_suffix(".txt")
            if not sidecar.is_file():
                raise InputError(
                    f"no {sidecar.name} beside it to say which text each row is",
                    path=str(file),
                    hint="write the texts one per line in a .txt of the same name, or use a .npz",
                )
            texts = read_segments(sidecar, format="text")
            if len(texts) != len(features):
                raise InputError(
                    f"{len(features)} feature rows but {sidecar.name} has {len(texts)} lines",
                    path=str(file),
                )
    except InputError:
        raise
    except (OSError, ValueError) as exc:  # corrupt file, pickled objects...
        raise InputError(f"cannot read features: {exc}", path=str(file)) from None
    if features.ndim != 2 or features.dtype.kind not in "fiu":
        raise InputError(
            f"features must be a 2-D numeric array (texts x dimensions), not {features.dtype} {features.shape}",
            path=str(file),
        )
    if len(texts) != len(features):
        raise InputError(f"{len(texts)} texts but {len(features)} feature rows", path=str(file))
    if not np.isfinite(features).all():
        raise InputError("features contain NaN or infinite values", path=str(file))
    return texts, features
