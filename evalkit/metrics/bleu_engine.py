"""Fast BLEU statistics, equal to sacrebleu 2.6.0's bit for bit.

:func:`bleu_statistics` returns, per item, the row that sacrebleu's
``BLEU._extract_corpus_statistics`` returns for it:
``[hyp_len, ref_len, correct_1 .. correct_N, total_1 .. total_N]`` (one
int64 array, a row an item), where ``ref_len`` is the closest reference length (the shorter one
on ties), ``correct_n`` the hypothesis's n-grams clipped by the maximum
count over the references, ``total_n`` its number of n-grams. Corpus
score, sentence scores, signature and every resampled score follow from
these rows, so they are sacrebleu's too; :func:`sentence_scorer` gives
``BLEU.compute_bleu``'s arithmetic, operation for operation, without
building a ``BLEUScore`` (whose string formatting costs more than the sum).

How, per block of items (chunks of a thousand for the counts):

* each distinct text of a block of items is tokenised once with
  sacrebleu's tokenizer object (13a through its word cache, see
  :mod:`evalkit.metrics.sacrebleu_tokenize`) into integer ids;
* the clipped counts of every order come from one sort of int64 keys per
  order (:mod:`evalkit.metrics.ngram_counts`); lengths and the closest
  reference length are numpy arithmetic;
* large inputs can be split across processes (:mod:`evalkit.parallel`).

>>> from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
>>> bleu_statistics(["the cat sat on the mat"], [["the cat is on the mat", "a cat"]], tokenizer=Tokenizer13a()).tolist()
[[6, 6, 5, 3, 1, 0, 6, 5, 4, 3]]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sacrebleu.metrics.bleu import BLEU as _SacreBLEU
from sacrebleu.utils import my_log

from evalkit.metrics.collector import paused
from evalkit.metrics.ngram_counts import GramIds, Segments, clipped_matches, dense_ids, number_texts, window_matches
from evalkit.metrics.sacrebleu_tokenize import BleuVocabulary, TokenizedTexts, tokenize_texts

__all__ = ["bleu_statistics", "sentence_scorer", "clear_caches"]

_CHUNK = 1024  # items whose n-grams are counted together: small enough that four word ids pack in an int64
_BLOCK = 16 * _CHUNK  # items whose texts are tokenised together

# The 13a word cache, kept between calls (taken out while in use).
_vocabularies: dict[str, BleuVocabulary] = {}


def clear_caches() -> None:
    """Forget the cached 13a words (benchmarks time a cold start with it)."""
    _vocabularies.clear()


def _vocabulary_for(tokenizer: Callable[[str], str]) -> tuple[BleuVocabulary, str | None]:
    vocabulary = BleuVocabulary(tokenizer)
    if not vocabulary.fast_13a:
        return vocabulary, None
    kept = _vocabularies.pop("13a", None)
    if kept is not None and not kept.too_large():
        return kept, "13a"
    return vocabulary, "13a"


def bleu_statistics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    tokenizer: Callable[[str], str],
    lowercase: bool = False,
    max_ngram_order: int = 4,
    jobs: int = 1,
) -> np.ndarray:
    """sacrebleu's BLEU statistics row of every item.

    ``references[i]`` holds item ``i``'s one or more reference strings (no
    ``None``: leave missing references out); ``tokenizer`` is the sacrebleu
    tokenizer object (``sacrebleu.metrics.BLEU(...).tokenizer``); ``jobs``
    processes share the work without changing the rows.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference entries")
    if max_ngram_order < 1:
        raise ValueError(f"max_ngram_order must be at least 1, not {max_ngram_order}")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every prediction needs at least one reference")
    serial = functools.partial(_serial, tokenizer=tokenizer, lowercase=lowercase, order=max_ngram_order)
    if jobs > 1 and len(predictions) > 1:
        from evalkit.parallel import map_parts

        return np.concatenate(map_parts(serial, (predictions, references), len(predictions), jobs=jobs))
    return serial(predictions, references)


def _serial(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    tokenizer: Callable[[str], str],
    lowercase: bool,
    order: int,
) -> np.ndarray:
    vocabulary, slot = _vocabulary_for(tokenizer)
    # The chunks allocate no reference cycles; the collector's passes over
    # their many small objects would only cost time.
    try:
        with paused():
            rows = [np.zeros((0, 2 + 2 * order), dtype=np.int64)]
            for start in range(0, len(predictions), _BLOCK):
                stop = start + _BLOCK
                rows.append(_block(predictions[start:stop], references[start:stop], vocabulary, lowercase, order))
            return np.concatenate(rows)
    finally:
        if slot is not None:
            _vocabularies[slot] = vocabulary


def _block(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    vocabulary: BleuVocabulary,
    lowercase: bool,
    order: int,
) -> np.ndarray:
    """The rows of a block of items: its distinct texts tokenised together
    (word ids cost less per word in large batches), its n-grams counted a
    chunk at a time."""
    texts, hyp, ref, counts = number_texts(predictions, references)
    batch = tokenize_texts(texts, vocabulary, lowercase=lowercase)
    first_ref = np.concatenate(([0], np.cumsum(counts)))
    rows = []
    for start in range(0, len(predictions), _CHUNK):
        stop = min(start + _CHUNK, len(predictions))
        chunk_refs = ref[first_ref[start] : first_ref[stop]]
        used, local = np.unique(np.concatenate((hyp[start:stop], chunk_refs)), return_inverse=True)
        segments = Segments.of_items(local[: stop - start], local[stop - start :], counts[start:stop])
        rows.append(_chunk(batch.take(used), segments, order))
    return np.concatenate(rows)


def _chunk(batch: TokenizedTexts, segments: Segments, order: int) -> np.ndarray:
    """The rows of the items of ``segments`` (a prediction then its
    references each; their texts in ``batch``)."""
    lengths = batch.lengths[segments.text]
    is_hypothesis = segments.tag == 0
    hyp_len = lengths[is_hypothesis]
    columns = [hyp_len, _closest_reference_lengths(hyp_len, lengths, segments.group, is_hypothesis)]
    correct = window_matches(batch.flat, batch.lengths, segments, order)
    if correct is None:  # too many distinct tokens to pack ``order`` of them: one sort per order
        correct = _correct_per_order(dense_ids(batch.flat)[0], batch, segments, order)
    totals = []
    for n in range(1, order + 1):
        columns.append(correct[n - 1])
        totals.append(np.maximum(hyp_len - (n - 1), 0))
    return np.column_stack(columns + totals).astype(np.int64, copy=False)


def _correct_per_order(tokens: np.ndarray, batch: TokenizedTexts, segments: Segments, order: int) -> np.ndarray:
    tag_bits = max(1, (segments.tags - 1).bit_length())
    grams = GramIds(tokens, batch.lengths, budget=63 - max(1, (segments.groups - 1).bit_length()) - tag_bits)
    starts = batch.starts[segments.text]
    lengths = batch.lengths[segments.text]
    out = np.zeros((order, segments.groups), dtype=np.int64)
    for n in range(1, order + 1):
        ids, bits = grams.order(n)
        counts = np.maximum(lengths - (n - 1), 0)
        out[n - 1] = clipped_matches(ids, bits, segments.group, starts, counts, segments.tag, tag_bits, segments.groups)
    return out


def _closest_reference_lengths(
    hyp_len: np.ndarray, lengths: np.ndarray, items: np.ndarray, is_hypothesis: np.ndarray
) -> np.ndarray:
    """Per item, the reference length closest to the hypothesis's, the shorter
    one on ties (``BLEU._get_closest_ref_len``)."""
    ref_items = items[~is_hypothesis]
    ref_lengths = lengths[~is_hypothesis]
    scale = int(lengths.max(initial=0)) + 1
    key = np.abs(hyp_len[ref_items] - ref_lengths) * scale + ref_lengths
    first = np.flatnonzero(np.concatenate(([True], ref_items[1:] != ref_items[:-1])))
    return np.minimum.reduceat(key, first) % scale


def sentence_scorer(
    max_ngram_order: int, smooth_method: str, smooth_value: float | None, effective_order: bool
) -> Callable[[Sequence[int]], float]:
    """``row -> BLEU.compute_bleu(...).score`` with these options: the same
    operations in the same order, without building a ``BLEUScore``."""
    order = max_ngram_order
    # the value as sacrebleu keeps it (add-k's default is the int 1)
    value: Any = _SacreBLEU.SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
    add_k, exp, floor = smooth_method == "add-k", smooth_method == "exp", smooth_method == "floor"
    log = my_log

    def score(row: Sequence[int]) -> float:
        correct: list[Any] = list(row[2 : 2 + order])
        if not any(correct):
            return 0.0
        total: list[Any] = list(row[2 + order :])
        sys_len, ref_len = int(row[0]), int(row[1])
        bp = 1.0
        if sys_len < ref_len:
            bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
        precisions = [0.0] * order
        smooth_mteval = 1.0
        eff_order = order
        for n in range(1, order + 1):
            if add_k and n > 1:
                correct[n - 1] += value
                total[n - 1] += value
            if total[n - 1] == 0:
                break
            if effective_order:
                eff_order = n
            if correct[n - 1] == 0:
                if exp:
                    smooth_mteval *= 2
                    precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
                elif floor:
                    precisions[n - 1] = 100.0 * value / total[n - 1]
            else:
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
        return bp * math.exp(sum([log(p) for p in precisions[:eff_order]]) / eff_order)

    return score
