"""Fixtures for featurizer tests: a private feature cache, a deterministic
fake featurizer that counts its calls, and a tiny random GPT-2 saved to disk
(the only causal LM that can exist offline)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest


class HashFeaturizer:
    """Deterministic vectors from a text's hash; counts calls and texts."""

    cacheable = True

    def __init__(self, dim: int = 8, id: str = "hash@1") -> None:
        self.dim = dim
        self.id = id
        self.calls: list[list[str]] = []

    def featurize(self, texts):
        import numpy as np

        self.calls.append(list(texts))
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).normal(size=self.dim))
        return np.asarray(rows, dtype=np.float32)

    @property
    def texts_seen(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture
def hash_featurizer():
    return HashFeaturizer()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Never touch the user's ~/.cache: every test gets its own cache root."""
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "evalkit-cache"))
    return tmp_path / "evalkit-cache" / "features"


WORDS = "the a cat dog sat ran on mat park fast slow red blue and then it is was".split()


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide GPT-2 with random weights and a word-level
    tokenizer, saved with save_pretrained. The folder name contains "gpt2"
    because mauve-text only loads models whose name says gpt2 or bert."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2Model, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("models") / "tiny-gpt2"
    vocab = {"<unk>": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", eos_token="<eos>").save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=64, n_layer=2, n_embd=32, n_head=2, bos_token_id=1, eos_token_id=1
    )
    GPT2Model(config).save_pretrained(folder)
    return folder
