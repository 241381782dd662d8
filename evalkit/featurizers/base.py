"""What a featurizer is, and the helpers every featurizer shares.

A featurizer turns texts into one fixed-size vector each. Its ``id`` names the
model and every setting that changes the vectors (truncation length, model
revision...): the id enters the feature cache's key and MAUVE's signature, so
two featurizers with the same id must give the same vectors.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from evalkit.errors import MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Featurizer", "MAUVE_INSTALL", "quiet_transformers", "require", "resolve_device", "set_offline"]

#: The pip line that brings every MAUVE dependency (the ``mauve`` extra).
MAUVE_INSTALL = "pip install 'evalkit[mauve]'"


@runtime_checkable
class Featurizer(Protocol):
    """Turns texts into vectors.

    ``featurize`` returns a float32 array of shape ``(len(texts), dim)``;
    texts are never empty (MAUVE drops empty texts before featurizing).
    An optional class attribute ``cacheable = False`` keeps a featurizer out
    of the feature cache (``npy:``, whose vectors are on disk already).
    """

    @property
    def id(self) -> str:
        """The model and every setting that changes the vectors."""
        ...

    def featurize(self, texts: Sequence[str]) -> np.ndarray: ...


def require(*modules: str, what: str = "MAUVE's dependencies") -> None:
    """Import ``modules`` or raise :class:`MissingDependencyError` with the
    ``pip install`` line of the ``mauve`` extra.

    A module set to ``None`` in ``sys.modules`` counts as missing, as Python's
    own import does.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependencyError(f"{what} ({name})", install=MAUVE_INSTALL) from exc


def set_offline() -> None:
    """Keep Hugging Face libraries off the network: evalkit runs offline and
    must fail fast on a missing model instead of hanging on a download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def resolve_device(device: str | None) -> str:
    """``None`` or ``"auto"``: the first CUDA device when there is one, else CPU."""
    if device in (None, "", "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def quiet_transformers() -> None:
    """Turn off transformers' own "Loading weights" bars: evalkit draws one
    bar for the whole featurization instead."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # a transformers without it: cosmetic only
        pass
