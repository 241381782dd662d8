"""``hf:MODEL``: a Hugging Face causal LM, featurized as the MAUVE paper does.

Each text is tokenized (truncated to ``max_text_length`` tokens, default 1024
as in mauve-text), run through the model, and represented by the final
layer's hidden state at its last token. Batches are right-padded with an
attention mask, so a text's vector does not depend on its neighbours.
``hf:gpt2-large`` gives mauve-text's own default features.

``MODEL`` is a Hub id whose weights are already in the local Hugging Face
cache (nothing is downloaded), or a local folder saved with
``save_pretrained``.

>>> HFCausalFeaturizer("gpt2-large").model_name
'gpt2-large'
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from evalkit.errors import ConfigError, InputError
from evalkit.featurizers.base import quiet_transformers, require, resolve_device, set_offline

if TYPE_CHECKING:
    import numpy as np
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["HFCausalFeaturizer"]

#: mauve-text's default truncation
DEFAULT_MAX_TOKENS = 1024
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.h5", "*.msgpack")

_MODELS: dict[tuple[str, str], tuple[PreTrainedTokenizerBase, PreTrainedModel]] = {}
_LOCK = threading.Lock()


class HFCausalFeaturizer:
    """Last-token, final-layer hidden states of a causal LM."""

    cacheable: ClassVar[bool] = True

    def __init__(
        self,
        model: str,
        *,
        max_text_length: int | None = None,
        batch_size: int = 8,
        device: str | None = None,
    ) -> None:
        if not model:
            raise ConfigError("hf: needs a model name or folder", hint="for example: hf:gpt2-large")
        self.model_name = model
        self.max_tokens = DEFAULT_MAX_TOKENS if max_text_length is None else max_text_length
        if self.max_tokens < 1:
            raise ConfigError(f"max_text_length must be at least 1, not {self.max_tokens}")
        self.batch_size = batch_size
        self.device = device
        self._folder: Path | None = None
        self._id: str | None = None

    def _missing(self, detail: str) -> InputError:
        return InputError(
            f"the weights of Hugging Face model {self.model_name!r} are not available offline: {detail}",
            hint=f"on a machine with network access run `hf download {self.model_name}` "
            "(or copy its cache into $HF_HOME), or pass hf:/path/to/a/saved/model",
        )

    def folder(self) -> Path:
        """The local folder holding the model's files (resolved once)."""
        if self._folder is not None:
            return self._folder
        local = Path(self.model_name).expanduser()
        if local.is_dir():
            folder = local.resolve()
        elif local.exists() or self.model_name.startswith((".", "/", "~")):
            raise InputError(f"hf:{self.model_name}: not a folder with a saved model")
        else:
            set_offline()  # before the imports: huggingface_hub reads it once, at import
            require("huggingface_hub", "transformers", "torch")
            from huggingface_hub import snapshot_download

            try:
                folder = Path(snapshot_download(repo_id=self.model_name, local_files_only=True))
            except Exception as exc:  # not cached, or not a valid id at all
                raise self._missing(f"{type(exc).__name__}: not in the local cache") from None
        if not any(any(folder.glob(p)) for p in _WEIGHT_PATTERNS):
            raise self._missing(f"no weight files in {folder}")
        self._folder = folder
        return folder

    @property
    def id(self) -> str:
        if self._id is None:
            folder = self.folder()
            if folder.parent.name == "snapshots":
                # a Hub cache snapshot: its folder name is the commit hash
                revision = folder.name[:12]
                label = self.model_name
            else:
                revision = "sha256-" + _hash_folder(folder)[:12]
                label = folder.name
            self._id = f"hf:{label}@{revision}+len{self.max_tokens}+last-token"
        return self._id

    def _load(self) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
        set_offline()
        require("torch", "transformers")
        device = resolve_device(self.device)
        folder = self.folder()
        with _LOCK:
            key = (str(folder), device)
            if key not in _MODELS:
                from transformers import AutoModel, AutoTokenizer

                quiet_transformers()
                try:
                    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
                    model = AutoModel.from_pretrained(str(folder), local_files_only=True)
                    model = model.to(device).eval()
                except (OSError, ValueError) as exc:
                    raise self._missing(str(exc).splitlines()[0]) from None
                _MODELS[key] = (tokenizer, model)
            return _MODELS[key]

    def featurize(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np
        import torch

        tokenizer, model = self._load()
        device = next(model.parameters()).device
        ids = [tokenizer.encode(t, truncation=True, max_length=self.max_tokens) for t in texts]
        for text, row in zip(texts, ids):
            if not row:
                raise InputError(
                    f"hf:{self.model_name} turns the text {text[:40]!r} into no tokens",
                    hint="MAUVE needs at least one token per text; remove or fix it",
                )
        out = []
        with torch.no_grad():
            for start in range(0, len(ids), self.batch_size):
                chunk = ids[start : start + self.batch_size]
                lengths = [len(row) for row in chunk]
                width = max(lengths)
                input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for i, row in enumerate(chunk):
                    input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
                    mask[i, : len(row)] = 1
                outputs = model(
                    input_ids=input_ids.to(device),
                    attention_mask=mask.to(device),
                    output_hidden_states=True,
                    return_dict=True,
                )
                last_layer = outputs.hidden_states[-1]
                index = torch.tensor([n - 1 for n in lengths], device=last_layer.device)
                rows = last_layer[torch.arange(len(chunk), device=last_layer.device), index]
                out.append(rows.float().cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)


def _hash_folder(folder: Path) -> str:
    """Content hash of a saved model: its config and weight files."""
    digest = hashlib.sha256()
    files = [folder / "config.json"] + sorted(f for p in _WEIGHT_PATTERNS for f in folder.glob(p) if f.is_file())
    for path in files:
        if not path.is_file():
            continue
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
