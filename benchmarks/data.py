"""Deterministic, realistic benchmark data: English-like sentence pairs.

Sentences are ~25 words: function words and content words drawn with Zipf-like
frequencies, content words inflected (plurals, -ed, -ing, -ly, -ness, ...)
so that Porter stemming changes the matches, plus capitals, numbers and
punctuation. A prediction keeps about half of its reference's words, swaps
some for other inflections of the same lemma, replaces the rest and shifts a
few; rouge1 F lands around 0.4-0.6, as for real summaries.

>>> preds, refs = sentence_pairs(2, seed=1)
>>> len(preds), len(refs), preds == sentence_pairs(2, seed=1)[0]
(2, 2, True)
"""

from __future__ import annotations

import bisect
import itertools
import random

__all__ = ["sentence_pairs", "short_pairs", "vocabulary"]

_FUNCTION_WORDS = (
    "the of and to a in that is was for on with as by at from it this be are "
    "has have had not but or an which were their its they will would been "
    "after also more than who about over into new said up one two can could "
    "other when there some all most may last first year years"
).split()

_NOUNS = (
    "report market government company plan price worker city study health "
    "school family official police country policy budget election leader "
    "team player season result research scientist patient hospital student "
    "teacher industry product customer service network system program project "
    "community agreement decision increase growth change problem question "
    "development statement investigation analysis economy energy water "
    "weather storm climate village river bridge road vehicle driver airport "
    "flight border court judge lawyer trial evidence minister parliament "
    "committee member vote campaign candidate supporter protest crowd event "
    "festival museum artist album film director actor audience story book"
).split()

_VERBS = (
    "announce increase develop expect reduce include provide support follow "
    "create report decide continue receive remain consider improve suggest "
    "require describe protect prepare propose approve reject invest launch "
    "publish discover confirm declare operate manage measure predict compare "
    "connect collect deliver explain examine estimate respond warn arrest "
    "charge release record perform organize celebrate attend travel return"
).split()

_ADJECTIVES = (
    "national economic public significant local recent major strong political "
    "financial international environmental social medical general personal "
    "similar serious different important traditional regional federal "
    "careful quick slow bright dark heavy effective successful modern"
).split()

_SYLLABLES = (
    "bar ten lo mar vin sel dra cor pen ta lis mon fer gal ri nos ket ul dor ma ver sa tun bel kri po dan ex ha rum"
).split()


def _inflections(lemma: str, kind: str) -> list[str]:
    """Regular English inflections of a lemma; stems agree under Porter."""
    if kind == "noun":
        plural = (
            lemma[:-1] + "ies"
            if lemma.endswith("y") and lemma[-2] not in "aeiou"
            else (lemma + "es" if lemma.endswith(("s", "x", "ch", "sh")) else lemma + "s")
        )
        return [lemma, plural, lemma + "'s"]
    if kind == "verb":
        stem = lemma[:-1] if lemma.endswith("e") else lemma
        noun = stem + "ion" if lemma.endswith("ate") else stem + "ation"
        return [lemma, lemma + "s", stem + "ed", stem + "ing", noun]
    stem = lemma[:-1] if lemma.endswith("y") else lemma
    return [lemma, stem + "ly", lemma + "ness", lemma + "er"]


def vocabulary(n_synthetic: int = 6_000, seed: int = 0) -> list[tuple[str, list[str]]]:
    """Lemmas (real ones first, then syllable-built ones) with their forms."""
    rng = random.Random(seed)
    lemmas: list[tuple[str, list[str]]] = []
    for kind, words in (("noun", _NOUNS), ("verb", _VERBS), ("adjective", _ADJECTIVES)):
        lemmas += [(w, _inflections(w, kind)) for w in dict.fromkeys(words)]
    rng.shuffle(lemmas)
    seen = {w for w, _ in lemmas}
    kinds = ("noun", "noun", "verb", "adjective")
    target = len(lemmas) + n_synthetic
    while len(lemmas) < target:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        if word not in seen:
            seen.add(word)
            lemmas.append((word, _inflections(word, rng.choice(kinds))))
    return lemmas


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lemmas = vocabulary(seed=seed)
        # Zipf-Mandelbrot weights (rank + 10)^-1.07 for lemmas (no content word
        # is as frequent as "the"), rank^-1 for function words
        self.lemma_cum = list(itertools.accumulate(1 / (r + 10) ** 1.07 for r in range(len(self.lemmas))))
        self.function_cum = list(itertools.accumulate(1 / (r + 1) for r in range(len(_FUNCTION_WORDS))))

    def _pick(self, cumulative: list[float]) -> int:
        return bisect.bisect(cumulative, self.rng.random() * cumulative[-1])

    def content_word(self) -> tuple[int, str]:
        index = self._pick(self.lemma_cum)
        forms = self.lemmas[index][1]
        # base form most often, then the inflections
        form = forms[0] if self.rng.random() < 0.5 else self.rng.choice(forms)
        return index, form

    def word(self) -> tuple[int, str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return -1, _FUNCTION_WORDS[self._pick(self.function_cum)]
        if roll < 0.48:
            return -2, rng.choice(
                (str(rng.randrange(2, 100)), str(rng.randrange(1990, 2030)), f"{rng.randrange(1, 99)}%")
            )
        return self.content_word()

    def sentence(self, length: int) -> list[tuple[int, str]]:
        return [self.word() for _ in range(length)]

    def render(self, words: list[tuple[int, str]]) -> str:
        rng = self.rng
        out = []
        for position, (_, w) in enumerate(words):
            if position == 0 or rng.random() < 0.04:  # sentence start, names
                w = w[:1].upper() + w[1:]
            if 0 < position < len(words) - 1 and rng.random() < 0.06:
                w += rng.choice((",", ",", ";", ":"))
            out.append(w)
        return " ".join(out) + rng.choice((".", ".", ".", "!", "?"))

    def paraphrase(self, words: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Keep ~half, re-inflect some, replace the rest, shift a few."""
        rng = self.rng
        out: list[tuple[int, str]] = []
        for lemma, w in words:
            roll = rng.random()
            if roll < 0.45:
                out.append((lemma, w))
            elif roll < 0.6 and lemma >= 0:
                out.append((lemma, rng.choice(self.lemmas[lemma][1])))
            elif roll < 0.92:
                out.append(self.word())
            # else: dropped
            if rng.random() < 0.05:
                out.append(self.word())  # inserted
        if len(out) > 6 and rng.random() < 0.3:  # move a clause
            cut = rng.randrange(2, len(out) - 2)
            out = out[cut:] + out[:cut]
        return out or [self.word()]


def sentence_pairs(n: int, *, seed: int = 0, words: int = 25) -> tuple[list[str], list[str]]:
    """``n`` (prediction, reference) sentence pairs of about ``words`` words."""
    gen = _Generator(seed)
    predictions, references = [], []
    for _ in range(n):
        length = max(8, min(3 * words, int(gen.rng.gauss(words, words / 5))))
        reference = gen.sentence(length)
        references.append(gen.render(reference))
        predictions.append(gen.render(gen.paraphrase(reference)))
    return predictions, references


def short_pairs(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` short pairs (~8 words), for the memory test."""
    return sentence_pairs(n, seed=seed, words=8)
