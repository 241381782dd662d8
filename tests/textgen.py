"""Deterministic, varied text pairs for parity tests: multi-reference (varying
counts), unicode, empty strings, punctuation-only, very long lines."""

from __future__ import annotations

import random

WORDS = (
    "the a of to and in is was for on that with as by at from it be this are were "
    "council city voted budget school river bridge new old report said officials "
    "running runs ran runner quickly quick studies studied studying university "
    "researchers found evidence climate warming temperatures rose degrees percent "
    "market prices fell sharply investors rallied growth economy national team won "
    "match final season coach players injured hospital patients doctors treatment"
).split()
UNICODE = ["café", "naïve", "Zürich", "東京", "北京大学", "Москва", "😀", "ü", "ß", "ελληνικά", "عربى", "hé-llo"]
PUNCT = ["!", "?", ".", ",", "...", "--", "(", ")", "'", '"', ";", ":"]


def sentence(rng: random.Random, n: int) -> str:
    tokens = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            tokens.append(rng.choice(UNICODE))
        elif r < 0.16:
            tokens.append(rng.choice(PUNCT))
        elif r < 0.2:
            tokens.append(str(rng.randint(0, 2000)))
        else:
            word = rng.choice(WORDS)
            tokens.append(word.capitalize() if rng.random() < 0.1 else word)
    return " ".join(tokens)


def perturb(rng: random.Random, text: str) -> str:
    tokens = text.split()
    out = []
    for t in tokens:
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            out.append(rng.choice(WORDS))
        else:
            out.append(t)
        if rng.random() < 0.05:
            out.append(rng.choice(WORDS))
    return " ".join(out)


def varied_pairs(n: int = 240, seed: int = 7, long_words: int = 2500) -> tuple[list[str], list[list[str]]]:
    """``n`` predictions and, per item, 1-4 references; every 12th item is a
    line of ``long_words`` words (TER is quadratic in length: keep it small there)."""
    rng = random.Random(seed)
    predictions: list[str] = []
    references: list[list[str]] = []
    for i in range(n):
        kind = i % 12
        base = sentence(rng, rng.randint(3, 40))
        if kind == 0:
            pred, refs = "", [base]
        elif kind == 1:
            pred, refs = base, [""]
        elif kind == 2:
            pred, refs = " ".join(rng.choice(PUNCT) for _ in range(5)), [base]
        elif kind == 3:
            long_text = sentence(rng, long_words)
            pred, refs = perturb(rng, long_text), [long_text]
        elif kind == 4:
            pred = " ".join(rng.choice(UNICODE) for _ in range(8))
            refs = [" ".join(rng.choice(UNICODE) for _ in range(8))]
        elif kind == 5:
            pred, refs = base, [base]
        else:
            pred = perturb(rng, base)
            refs = [perturb(rng, base) for _ in range(rng.randint(1, 4))]
        predictions.append(pred)
        references.append(refs)
    return predictions, references


def ref_streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-item reference lists -> sacrebleu's streams padded with None."""
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else None for r in references] for k in range(width)]
