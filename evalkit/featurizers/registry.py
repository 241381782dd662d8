"""Featurizers by name: ``minilm``, ``hf:MODEL``, ``openai:MODEL``, ``npy:PATH``.

>>> parse_spec("hf:gpt2-large")
('hf', 'gpt2-large')
>>> get_featurizer("openai:text-embedding-3-small", openai_base_url="http://127.0.0.1:9/v1").id
'openai:text-embedding-3-small@127.0.0.1:9/v1'
"""

from __future__ import annotations

import threading

from evalkit.errors import ConfigError
from evalkit.featurizers.base import Featurizer

__all__ = ["FEATURIZER_NAMES", "get_featurizer", "parse_spec"]

#: The accepted forms, for messages and docs.
FEATURIZER_NAMES = ("minilm", "hf:MODEL", "openai:MODEL", "npy:PATH")

# One featurizer object per spec and settings, so that a model loads once per
# process however many Mauve instances (systems, seeds) use it.
_INSTANCES: dict[tuple[str, str, int | None, int | None, str | None, str | None], Featurizer] = {}
_LOCK = threading.Lock()


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``"kind:argument"``; raise :class:`ConfigError` for an unknown kind."""
    spec = spec.strip()
    kind, sep, argument = spec.partition(":")
    kind = kind.lower()
    if kind == "minilm" and not sep:
        return "minilm", ""
    if sep and kind in ("hf", "openai", "npy"):
        if not argument:
            raise ConfigError(
                f"featurizer {spec!r} needs a name after the colon",
                hint=f"choose one of: {', '.join(FEATURIZER_NAMES)}",
            )
        return kind, argument
    raise ConfigError(f"unknown featurizer {spec!r}", hint=f"choose one of: {', '.join(FEATURIZER_NAMES)}")


def get_featurizer(
    spec: str,
    *,
    max_text_length: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    openai_base_url: str | None = None,
) -> Featurizer:
    """The featurizer named by ``spec``. Building one loads nothing heavy:
    models load on the first ``featurize``."""
    kind, argument = parse_spec(spec)
    key = (kind, argument, max_text_length, batch_size, device, openai_base_url)
    with _LOCK:
        if key in _INSTANCES:
            return _INSTANCES[key]
        featurizer: Featurizer
        if kind == "minilm":
            from evalkit.featurizers.minilm import MiniLMFeaturizer

            featurizer = MiniLMFeaturizer(max_text_length=max_text_length, batch_size=batch_size or 32, device=device)
        elif kind == "hf":
            from evalkit.featurizers.hf_causal import HFCausalFeaturizer

            featurizer = HFCausalFeaturizer(
                argument, max_text_length=max_text_length, batch_size=batch_size or 8, device=device
            )
        elif kind == "openai":
            from evalkit.featurizers.openai_embeddings import OpenAIEmbeddingsFeaturizer

            featurizer = OpenAIEmbeddingsFeaturizer(argument, base_url=openai_base_url, batch_size=batch_size or 64)
        else:
            from evalkit.featurizers.npy import NpyFeaturizer

            featurizer = NpyFeaturizer(argument)
        if kind != "npy":  # npy re-reads its files, which may change between runs
            _INSTANCES[key] = featurizer
        return featurizer
