"""Synthetic machine-translation-like data for the statistics tests:
references, a second reference, and two noisy systems of different quality."""

from __future__ import annotations

import numpy as np

SEED = 777

WORDS = (
    "the a one this that cat dog bird house river city road car train storm night morning "
    "runs sat walks sees finds builds crossed opened quickly slowly very big small old new "
    "red blue under over near with without , . ! ? ' café naïve Zürich"
).split()


def make_corpus(n_items: int, seed: int):
    rng = np.random.default_rng(seed)

    def sentence():
        return " ".join(rng.choice(WORDS, size=int(rng.integers(0, 25))))

    def noisy(text: str, rate: float) -> str:
        words = text.split()
        out = [w for w in words if rng.uniform() > rate]
        for _ in range(int(rng.poisson(rate * 4))):
            out.insert(int(rng.integers(0, len(out) + 1)), str(rng.choice(WORDS)))
        return " ".join(out)

    refs_a = [sentence() for _ in range(n_items)]
    refs_b = [noisy(r, 0.3) for r in refs_a]
    base = [noisy(r, 0.35) for r in refs_a]
    system = [noisy(r, 0.30) for r in refs_a]
    return base, system, [refs_a, refs_b]
