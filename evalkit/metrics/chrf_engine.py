"""Fast chrF / chrF++ statistics, equal to sacrebleu 2.6.0's bit for bit.

:func:`chrf_statistics` returns, per item, the row that sacrebleu's
``CHRF._extract_corpus_statistics`` returns for it: for each character
order 1..``char_order`` and then each word order 1..``word_order``, the
triple ``[hypothesis n-grams (0 when the reference has none of that order),
reference n-grams, matches]`` (Python ints). With several references the
row is that of the reference with the highest sentence chrF, the first
one on ties, as sacrebleu picks it (with sacrebleu's own ``_compute_f_score``).

How, per chunk of a few thousand (prediction, reference) pairs:

* a text is lowercased when asked; its characters (whitespace removed
  unless ``whitespace``) become integer ids through one UTF-32 encoding of
  the whole chunk; with ``word_order`` its words go through sacrebleu's
  ``_remove_punctuation`` once per distinct word, into word ids;
* n-gram counts of a text of length L are L - n + 1; matches come from one
  sort of int64 keys per order (:mod:`evalkit.metrics.ngram_counts`).

>>> from sacrebleu.metrics import CHRF
>>> chrf_statistics(["a cat"], [["the cat", "a bat"]], metric=CHRF(char_order=2, word_order=1))
[[4, 4, 3, 3, 3, 1, 2, 2, 1]]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.metrics.collector import paused
from evalkit.metrics.ngram_counts import GramIds, Segments, clipped_matches, dense_ids, number_texts, window_matches
from evalkit.metrics.sacrebleu_tokenize import MARK, TokenizedTexts, WordTokens, lookup, split_at

__all__ = ["chrf_statistics"]

_CHUNK = 1024  # (prediction, reference) pairs scored together


def _punctuation_split(metric: Any) -> Callable[[list[str]], list[list[str]]]:
    """chrF++'s ``_remove_punctuation`` of single words, a batch in one call:
    it treats every whitespace-separated word alone, and the one-character
    mark between words comes out whole."""

    def split(words: list[str]) -> list[list[str]]:
        return split_at(metric._remove_punctuation(f" {MARK} ".join(words)), MARK)

    return split


def chrf_statistics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metric: Any,
    jobs: int = 1,
) -> list[list[int]]:
    """sacrebleu's chrF statistics row of every item, for ``metric``
    (a ``sacrebleu.metrics.CHRF``, whose options and ``_compute_f_score`` are used).

    ``references[i]`` holds item ``i``'s one or more reference strings (no
    ``None``); ``jobs`` processes share the work without changing the rows.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference entries")
    if metric.char_order < 1 or metric.word_order < 0:
        raise ValueError("the fast chrF needs char_order >= 1 and word_order >= 0")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every prediction needs at least one reference")
    serial = functools.partial(_serial, metric=metric)
    if jobs > 1 and len(predictions) > 1:
        from evalkit.parallel import map_parts

        parts = map_parts(serial, (predictions, references), len(predictions), jobs=jobs)
        return [row for part in parts for row in part]
    return serial(predictions, references)


def _serial(predictions: Sequence[str], references: Sequence[Sequence[str]], *, metric: Any) -> list[list[int]]:
    words = WordTokens(_punctuation_split(metric)) if metric.word_order else None
    with paused():  # no reference cycles here; the collector's passes only cost time
        rows: list[list[int]] = []
        start = 0
        while start < len(predictions):
            # whole items, about _CHUNK pairs
            stop = start + 1
            pairs = len(references[start])
            while stop < len(predictions) and pairs + len(references[stop]) <= _CHUNK:
                pairs += len(references[stop])
                stop += 1
            rows.extend(_chunk(predictions[start:stop], references[start:stop], metric, words))
            start = stop
        return rows


def _chunk(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    metric: Any,
    words: WordTokens | None,
) -> list[list[int]]:
    # one pair (prediction, reference) per reference, in item order
    texts, hyp_of_item, ref, counts = number_texts(predictions, references)
    hyp = np.repeat(hyp_of_item, counts)
    if metric.lowercase:
        texts = [t.lower() for t in texts]
    stats = _pair_statistics(_characters(texts, metric.whitespace), hyp, ref, metric.char_order)
    if words is not None:
        batch = words.texts(texts)
        if batch is None:  # a text holds the mark: word by word
            split = metric._remove_punctuation
            batch = TokenizedTexts.from_lists([lookup(words.token_ids, split(t)) for t in texts])
        word_ids = (batch.flat, batch.lengths)
        stats = np.concatenate((stats, _pair_statistics(word_ids, hyp, ref, metric.word_order)), axis=1)
    rows: list[list[int]] = stats.tolist()
    if len(rows) == len(predictions):
        return rows
    return _best_rows(rows, counts.tolist(), metric)


def _best_rows(rows: list[list[int]], counts: list[int], metric: Any) -> list[list[int]]:
    """Per item, the row of the reference with the highest f-score, the first on ties."""
    out = []
    position = 0
    for count in counts:
        best, best_f = rows[position], -1.0
        if count > 1:
            for row in rows[position : position + count]:
                f = metric._compute_f_score(row)
                if f > best_f:
                    best_f, best = f, row
        out.append(best)
        position += count
    return out


def _characters(texts: list[str], whitespace: bool) -> tuple[np.ndarray, np.ndarray]:
    """Code points of every text, concatenated, and each text's length."""
    if not whitespace:
        texts = ["".join(t.split()) for t in texts]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # surrogatepass: a lone surrogate is a character like any other for Python
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes.astype(np.int64), lengths


def _pair_statistics(
    tokens_and_lengths: tuple[np.ndarray, np.ndarray], hyp: np.ndarray, ref: np.ndarray, order: int
) -> np.ndarray:
    """``[hyp count (0 without reference n-grams), ref count, matches]`` per pair and order."""
    tokens, lengths = tokens_and_lengths
    pairs = len(hyp)
    segments = Segments(
        np.repeat(np.arange(pairs, dtype=np.int64), 2),
        np.stack((hyp, ref), axis=1).reshape(-1),
        np.tile(np.array([0, 1], dtype=np.int64), pairs),
        pairs,
    )
    matches = window_matches(tokens, lengths, segments, order)
    if matches is None:  # too many distinct symbols to pack ``order`` of them: one sort per order
        matches = _matches_per_order(tokens, lengths, segments, order)
    columns = []
    for n in range(1, order + 1):
        hyp_count = np.maximum(lengths[hyp] - (n - 1), 0)
        ref_count = np.maximum(lengths[ref] - (n - 1), 0)
        columns += [np.where(ref_count > 0, hyp_count, 0), ref_count, matches[n - 1]]
    return np.column_stack(columns) if columns else np.zeros((pairs, 0), dtype=np.int64)


def _matches_per_order(tokens: np.ndarray, lengths: np.ndarray, segments: Segments, order: int) -> np.ndarray:
    tokens = dense_ids(tokens)[0]
    starts = np.cumsum(lengths) - lengths
    tag_bits = max(1, (segments.tags - 1).bit_length())
    grams = GramIds(tokens, lengths, budget=63 - max(1, (segments.groups - 1).bit_length()) - tag_bits)
    out = np.zeros((order, segments.groups), dtype=np.int64)
    for n in range(1, order + 1):
        counts = np.maximum(lengths[segments.text] - (n - 1), 0)
        ids, bits = grams.order(n)
        out[n - 1] = clipped_matches(
            ids, bits, segments.group, starts[segments.text], counts, segments.tag, tag_bits, segments.groups
        )
    return out
