"""Fast ROUGE with rouge-score's exact numbers.

:func:`score_rouge` returns, per ROUGE type and per item, the same
``(precision, recall, fmeasure)`` as rouge-score 0.1.2's ``RougeScorer`` with
its default tokenizer (``.score`` for one reference, ``.score_multi`` for
several), to the last bit; the parity tests compare every input class.

How, per chunk of a few thousand pairs:

* every distinct text of the chunk is tokenised once, all texts in one C-level
  pass, into integer ids (:mod:`evalkit.metrics.rouge_tokenize`); stems are
  cached per word;
* n-gram overlaps (``sum(min(count_pred, count_ref))``) of all pairs come
  from one numpy sort of (pair, n-gram) keys per n;
* the LCS length is bit-parallel (rapidfuzz's C++ ``LCSseq`` when installed);
  rougeLsum replays rouge-score's own backtracking on bit vectors
  (:mod:`evalkit.metrics.rouge_lcs`) only when a side has several lines: with
  one line each its union LCS is the plain LCS;
* a score is a function of three integers (overlap, prediction size,
  reference size): each distinct triple is computed once, with rouge-score's
  formulas, and shared, which also keeps a million results small;
* large inputs are split across processes (:mod:`evalkit.parallel`).

>>> s = score_rouge(["the cat sat on the mat"], [("the cat lay on the mat",)])
>>> [round(x, 4) for x in s["rouge1"][0]], [round(x, 4) for x in s["rouge2"][0]]
([0.8333, 0.8333, 0.8333], [0.6, 0.6, 0.6])
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain

import numpy as np

from evalkit.metrics.collector import paused
from evalkit.metrics.rouge_lcs import lcs_length, lcs_positions, match_masks
from evalkit.metrics.rouge_tokenize import TokenizedBatch, Vocabulary, tokenize_batch

__all__ = ["score_rouge", "clear_caches", "DEFAULT_TYPES", "PARALLEL_MIN_PAIRS"]

DEFAULT_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

# Below this many pairs, starting processes costs more than a second core gives.
PARALLEL_MIN_PAIRS = 5_000
_CHUNK = 5_000  # pairs scored together: bounds memory, amortises numpy calls

Triple = tuple[float, float, float]

# (overlap, prediction size, reference size) -> (precision, recall, F)
_triples: dict[tuple[int, int, int], Triple] = {}
_MAX_TRIPLES = 1_000_000

# One vocabulary per stemmer setting, kept between calls (its stems and ids
# are reused). A call takes it out of the slot and puts it back, so
# concurrent calls never share one.
_vocabularies: dict[bool, Vocabulary] = {}


def _triple(overlap: int, n_prediction: int, n_reference: int) -> Triple:
    """rouge-score's scores for one count triple (computed once, then shared).

    n-grams: precision = overlap / max(n_pred, 1); LCS: 0 when either side is
    empty. Both are 0.0 whenever a size is 0, since the overlap is 0 then.
    """
    key = (overlap, n_prediction, n_reference)
    found = _triples.get(key)
    if found is None:
        precision = overlap / n_prediction if n_prediction else 0.0
        recall = overlap / n_reference if n_reference else 0.0
        # rouge_score.scoring.fmeasure, same operations in the same order
        if precision + recall > 0:
            fmeasure = 2 * precision * recall / (precision + recall)
        else:
            fmeasure = 0.0
        found = (precision, recall, fmeasure)
        if len(_triples) >= _MAX_TRIPLES:
            _triples.clear()
        _triples[key] = found
    return found


class _Plan:
    """The requested types, in output order, and what each needs."""

    def __init__(self, rouge_types: Sequence[str]) -> None:
        if isinstance(rouge_types, str):
            rouge_types = (rouge_types,)
        self.types: list[str] = list(dict.fromkeys(rouge_types))
        if not self.types:
            raise ValueError("no ROUGE type requested")
        self.kinds: list[int] = []  # n >= 1 for rougeN, 0 for rougeL, -1 for rougeLsum
        for rouge_type in self.types:
            if rouge_type == "rougeL":
                self.kinds.append(0)
            elif rouge_type == "rougeLsum":
                self.kinds.append(-1)
            elif isinstance(rouge_type, str) and re.fullmatch(r"rouge[1-9]", rouge_type):
                self.kinds.append(int(rouge_type[5:]))
            else:
                raise ValueError(f"Invalid rouge type: {rouge_type!r} (use rouge1..rouge9, rougeL or rougeLsum)")


def _ragged_positions(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows ``k`` with ``counts[k]`` items from ``starts[k]`` on: the row
    of each item and its position, all rows concatenated."""
    total = int(counts.sum())
    row = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, np.repeat(starts, counts) + offsets


def _ngram_overlaps(batch: TokenizedBatch, n: int, pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, ...]:
    """Clipped n-gram overlap, n-gram counts of prediction and reference, per pair.

    The overlap is ``sum over n-grams g of min(count_pred(g), count_ref(g))``
    (rouge_scorer._score_ngrams): sort all (pair, g, side) keys once; each run
    of equal (pair, g) holds both sides' copies of g, predictions' first.
    """
    grams = batch.gram_ids(n)
    n_pred = np.maximum(batch.lengths[pred] - (n - 1), 0)
    n_ref = np.maximum(batch.lengths[ref] - (n - 1), 0)
    pair_p, at_p = _ragged_positions(batch.starts[pred], n_pred)
    pair_r, at_r = _ragged_positions(batch.starts[ref], n_ref)
    gram_p, gram_r = grams[at_p], grams[at_r]
    # one int64 key per n-gram copy: pair | gram | side (0 prediction, 1 reference)
    gram_bits = int(grams.max(initial=0)).bit_length()
    if gram_bits + len(pred).bit_length() + 1 > 63:
        dense = np.unique(np.concatenate((gram_p, gram_r)), return_inverse=True)[1].reshape(-1)
        gram_p, gram_r = dense[: len(gram_p)], dense[len(gram_p) :]
        gram_bits = int(dense.max(initial=0)).bit_length()
    shift = gram_bits + 1
    keys = np.concatenate(((pair_p << shift) | (gram_p << 1), (pair_r << shift) | (gram_r << 1) | 1))
    keys.sort()
    if not len(keys):
        return np.zeros(len(pred), dtype=np.int64), n_pred, n_ref
    gram_key = keys >> 1
    run_start = np.flatnonzero(np.concatenate(([True], gram_key[1:] != gram_key[:-1])))
    run_length = np.diff(np.append(run_start, len(keys)))
    from_ref = np.add.reduceat(keys & 1, run_start)
    clipped = np.minimum(run_length - from_ref, from_ref)
    overlap = np.bincount(gram_key[run_start] >> gram_bits, weights=clipped, minlength=len(pred))
    return overlap.astype(np.int64), n_pred, n_ref


def _summary_hits(pred_lines: list[list[int]], ref_lines: list[list[int]]) -> int:
    """rouge_scorer._summary_level_lcs's hit count: per reference line, the
    union of the LCS positions against every prediction line, counted at most
    as often as the token occurs on both sides."""
    remaining_p = Counter(chain.from_iterable(pred_lines))
    remaining_r = Counter(chain.from_iterable(ref_lines))
    hits = 0
    for line in ref_lines:
        masks = match_masks(line)
        union = 0
        for other in pred_lines:
            union |= lcs_positions(masks, len(line), other)
        while union:
            lowest = union & -union
            token = line[lowest.bit_length() - 1]
            if remaining_p[token] > 0 and remaining_r[token] > 0:
                hits += 1
                remaining_p[token] -= 1
                remaining_r[token] -= 1
            union ^= lowest
    return hits


def _lcs_lengths(batch: TokenizedBatch, pred: list[int], ref: list[int]) -> np.ndarray:
    """LCS length per pair (rougeL)."""
    lists = batch.token_lists()
    return np.array([lcs_length(lists[p], lists[r]) for p, r in zip(pred, ref)], dtype=np.int64)


def _summary_counts(batch: TokenizedBatch, pred: np.ndarray, ref: np.ndarray, lcs: np.ndarray) -> np.ndarray:
    """Union-LCS hits per pair (rougeLsum). With one line on each side every
    LCS token passes the count guard, so the hits are the LCS length; only
    pairs with several lines on a side need the union."""
    counts = np.array(batch.line_counts, dtype=np.int64)
    several = np.flatnonzero((counts[pred] > 1) | (counts[ref] > 1))
    if not len(several):
        return lcs
    hits = lcs.copy()
    for k, p, r in zip(several.tolist(), pred[several].tolist(), ref[several].tolist()):
        hits[k] = _summary_hits(batch.lines(p), batch.lines(r))
    return hits


def _triples_for(overlap: np.ndarray, n_pred: np.ndarray, n_ref: np.ndarray) -> tuple[list[Triple], np.ndarray]:
    """The distinct triples of these counts and, per pair, which one it is."""
    if len(overlap) and max(int(n_pred.max()), int(n_ref.max())) < (1 << 21):
        packed = (overlap << 42) | (n_pred << 21) | n_ref
        keys, which = np.unique(packed, return_inverse=True)
        mask = (1 << 21) - 1
        distinct = [_triple(k >> 42, (k >> 21) & mask, k & mask) for k in keys.tolist()]
    else:  # a text of two million tokens or more: no packing
        rows, which = np.unique(np.stack((overlap, n_pred, n_ref), axis=1), axis=0, return_inverse=True)
        distinct = [_triple(*row) for row in rows.tolist()]
    return distinct, which.reshape(-1)


def _score_chunk(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    plan: _Plan,
    use_stemmer: bool,
) -> list[list[Triple]]:
    """Score pairs in this process: one list of triples per type."""
    vocabulary = _vocabularies.pop(use_stemmer, None)
    if vocabulary is None or vocabulary.too_large():
        vocabulary = Vocabulary(use_stemmer)
    # The chunk allocates no reference cycles; the collector's passes over
    # its many small objects would only cost time.
    try:
        with paused():
            return _score_with(vocabulary, predictions, references, plan)
    finally:
        _vocabularies[use_stemmer] = vocabulary


def _score_with(
    vocabulary: Vocabulary,
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    plan: _Plan,
) -> list[list[Triple]]:
    # Each distinct text once; pairs refer to texts by number.
    number: dict[str, int] = {}
    add = number.setdefault
    pred_text = [add(p, len(number)) for p in predictions]
    pair_pred: list[int] = []
    pair_ref: list[int] = []
    first_pair: list[int] = []  # index of each item's first pair
    for p, refs in zip(pred_text, references):
        if isinstance(refs, str):
            refs = (refs,)
        first_pair.append(len(pair_ref))
        for reference in refs:
            pair_pred.append(p)
            pair_ref.append(add(reference, len(number)))
    single = len(pair_ref) == len(pred_text)
    batch = tokenize_batch(list(number), vocabulary)
    pred = np.array(pair_pred, dtype=np.int64)
    ref = np.array(pair_ref, dtype=np.int64)
    starts = np.array(first_pair, dtype=np.int64)

    columns: list[list[Triple]] = []
    lcs: np.ndarray | None = None
    for kind in plan.kinds:
        if kind > 0:
            overlap, n_pred, n_ref = _ngram_overlaps(batch, kind, pred, ref)
        else:
            n_pred, n_ref = batch.lengths[pred], batch.lengths[ref]
            if lcs is None:
                lcs = _lcs_lengths(batch, pair_pred, pair_ref)
            overlap = lcs if kind == 0 else _summary_counts(batch, pred, ref, lcs)
        distinct, which = _triples_for(overlap, n_pred, n_ref)
        if not single:
            which = which[_best_pairs(distinct, which, starts)]
        columns.append(list(map(distinct.__getitem__, which.tolist())))
    return columns


def _best_pairs(distinct: list[Triple], which: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per item, its pair with the highest F, the first of equals (score_multi
    takes ``np.argmax`` over the references' F)."""
    fmeasure = np.array([t[2] for t in distinct], dtype=np.float64)[which]
    best = np.maximum.reduceat(fmeasure, starts)
    item = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(which))))
    position = np.where(fmeasure == best[item], np.arange(len(which)), len(which))
    return np.minimum.reduceat(position, starts)


def _choose_jobs(jobs: int | None, n: int) -> int:
    from evalkit.parallel import available_cores

    if jobs is None:
        return available_cores() if n >= PARALLEL_MIN_PAIRS else 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer or None, not {jobs!r}")
    return jobs


def score_rouge(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    rouge_types: Sequence[str] = DEFAULT_TYPES,
    use_stemmer: bool = False,
    jobs: int | None = 1,
) -> dict[str, list[Triple]]:
    """ROUGE (precision, recall, F) per type and item, equal to rouge-score's.

    ``references`` holds one sequence of one or more reference strings per
    prediction (a bare string counts as one reference). With several, each
    type takes the reference with the highest F, the first one on ties, as
    ``RougeScorer.score_multi`` does. ``rougeLsum`` treats "\\n" as the
    sentence boundary (rouge-score with ``split_summaries=False``).
    ``jobs``: processes to use; ``None`` picks the machine's cores when there
    are at least ``PARALLEL_MIN_PAIRS`` pairs. Results do not depend on it.

    >>> s = score_rouge(["a b c"], [("a c", "a b")], rouge_types=["rouge2", "rougeL"])
    >>> s["rouge2"][0], s["rougeL"][0]
    ((0.5, 1.0, 0.6666666666666666), (0.6666666666666666, 1.0, 0.8))
    """
    plan = _Plan(rouge_types)
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references: give one entry per prediction"
        )
    for refs in references:
        if not isinstance(refs, str) and len(refs) == 0:
            raise ValueError("every prediction needs at least one reference")
    n = len(predictions)
    workers = _choose_jobs(jobs, n)
    score = functools.partial(_score_serial, plan=plan, use_stemmer=bool(use_stemmer))
    if workers > 1 and n >= 2:
        from evalkit.parallel import map_parts

        parts = map_parts(score, (predictions, references), n, jobs=workers)
        columns = parts[0]
        for part in parts[1:]:
            for column, piece in zip(columns, part):
                column.extend(piece)
    else:
        columns = score(predictions, references)
    return dict(zip(plan.types, columns))


def _score_serial(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    plan: _Plan,
    use_stemmer: bool,
) -> list[list[Triple]]:
    """Score in this process, chunk by chunk (memory stays bounded)."""
    columns: list[list[Triple]] = [[] for _ in plan.types]
    for start in range(0, len(predictions), _CHUNK):
        stop = start + _CHUNK
        part = _score_chunk(predictions[start:stop], references[start:stop], plan=plan, use_stemmer=use_stemmer)
        for column, piece in zip(columns, part):
            column.extend(piece)
    return columns


def clear_caches() -> None:
    """Forget cached vocabularies, stems and score triples (benchmarks use it
    to time a cold start; results never depend on the caches)."""
    from evalkit.metrics import rouge_tokenize

    _vocabularies.clear()
    _triples.clear()
    rouge_tokenize._stems.clear()
