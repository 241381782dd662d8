"""The local judge's model file: ``--local-model PATH`` checked and named.

The name (the file's stem) goes into reports and the signature; the server
id, which stands for the local judge in cache keys, adds the file's size
and a digest of its first 4 MiB (the GGUF header: architecture, tokenizer,
tensor layout and quantization), so that two local models never share cache
entries.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny-q4.gguf"
>>> _ = path.write_bytes(b"GGUF" + bytes(60))
>>> m = local_model_of(str(path), "chatml")
>>> m.name, m.chat_format, m.server_id.startswith("evalkit-local:tiny-q4:64:")
('tiny-q4', 'chatml', True)
"""

from __future__ import annotations

import hashlib
import pathlib

from evalkit.errors import ConfigError
from evalkit.judge.types import LocalModel

__all__ = ["local_model_of"]

_HEAD = 4 * 1024 * 1024


def local_model_of(path: str, chat_format: str | None) -> LocalModel:
    """Check that ``path`` is a GGUF file and name it; :class:`ConfigError` if not."""
    file = pathlib.Path(path).expanduser()
    hint = "give the path of a .gguf model file (llama.cpp's format), or leave --local-model out for Gemma 3 270M"
    if not file.is_file():
        raise ConfigError(f"--local-model {path}: no such file", hint=hint)
    try:
        with file.open("rb") as handle:
            head = handle.read(_HEAD)
        size = file.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--local-model {path}: cannot read it: {exc.strerror or exc}", hint=hint) from None
    if not head.startswith(b"GGUF"):
        raise ConfigError(f"--local-model {path}: not a GGUF model file (it does not begin with 'GGUF')", hint=hint)
    digest = hashlib.sha256(head).hexdigest()[:16]
    name = file.name[: -len(".gguf")] if file.name.lower().endswith(".gguf") else file.name
    return LocalModel(str(file.resolve()), chat_format, name, f"evalkit-local:{name}:{size}:{digest}")
