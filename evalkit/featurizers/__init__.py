"""Featurizers turn texts into vectors for MAUVE; a cache keeps the vectors.

- :class:`Featurizer`: the protocol (a stable ``id`` and ``featurize(texts)``);
- :func:`get_featurizer`: one by name: ``minilm``, ``hf:MODEL``,
  ``openai:MODEL``, ``npy:PATH``;
- :class:`FeatureCache` and :func:`featurize_texts`: features on disk keyed
  by featurizer id and text hash, so that nothing is featurized twice.

Importing this package loads no model library; each featurizer imports its
own (torch, sentence-transformers, transformers, openai) when it first runs.

>>> from evalkit.featurizers import get_featurizer
>>> get_featurizer("minilm").id.startswith("minilm@")
True
"""

from __future__ import annotations

from evalkit.featurizers.base import Featurizer
from evalkit.featurizers.cache import FeatureCache, default_cache_dir, featurize_texts
from evalkit.featurizers.registry import FEATURIZER_NAMES, get_featurizer, parse_spec

__all__ = [
    "FEATURIZER_NAMES",
    "FeatureCache",
    "Featurizer",
    "default_cache_dir",
    "featurize_texts",
    "get_featurizer",
    "parse_spec",
]
