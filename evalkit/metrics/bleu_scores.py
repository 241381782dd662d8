"""Sentence BLEU of many rows at once, with sacrebleu's bits.

sacrebleu scores a sentence with ``BLEU.compute_bleu`` (``exp`` smoothing
and effective order, its sentence-level defaults): per order before the
first without n-grams, the precision ``100 * correct / total`` or, without
matches, ``100 / (2 ** k * total)`` (``k`` counts the orders so far without
matches); the score is ``bp * exp(sum(log(p)) / orders)``. Every division
and product here is the same IEEE operation on the same operands, done on
numpy columns; ``log`` and ``exp`` are ``math.log`` and ``math.exp``
themselves, mapped over the values (numpy's own may differ in the last
bit), and the logs are summed left to right as Python's ``sum`` does.
``tests/metrics/test_bleu_scores.py`` compares the bits with
:func:`evalkit.metrics.bleu_engine.sentence_scorer` and sacrebleu.

>>> from evalkit.metrics.bleu_engine import sentence_scorer
>>> row = [6, 6, 5, 3, 1, 0, 6, 5, 4, 3]
>>> exp_effective_scores([row], order=4) == [sentence_scorer(4, "exp", None, True)(row)]
True
>>> exp_effective_scores([[3, 3, 0, 0, 0, 3, 2, 1]], order=3)
[0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["exp_effective_scores"]


def _mapped(function: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    """``function`` (a ``math`` function) applied to each value."""
    return np.fromiter(map(function, values.tolist()), dtype=np.float64, count=len(values))


def exp_effective_scores(rows: Sequence[Sequence[int]] | np.ndarray, *, order: int) -> list[float]:
    """The sentence score of each row ``[hyp_len, ref_len, correct_1..N,
    total_1..N]`` with ``exp`` smoothing and effective order (``N = order``)."""
    stats = np.asarray(rows, dtype=np.int64).reshape(-1, 2 + 2 * order)
    scores = np.zeros(len(stats), dtype=np.float64)
    # no match at all: 0.0; no unigram either (a summed row): every
    # precision 0.0, whose log sacrebleu floors to -9999999999: 0.0 again
    live = stats[:, 2 : 2 + order].any(axis=1) & (stats[:, 2 + order] != 0)
    stats = stats[live]
    if not len(stats):
        return scores.tolist()
    sums, orders = _log_sums(stats[:, 2 : 2 + order], stats[:, 2 + order :])
    scores[live] = _brevity(stats[:, 0], stats[:, 1]) * _mapped(math.exp, sums / orders)
    return scores.tolist()


def _log_sums(correct: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the logs of the precisions summed left to right, and how
    many orders they cover (those before the first without n-grams)."""
    sums = np.zeros(len(correct), dtype=np.float64)
    smooth = np.ones(len(correct), dtype=np.float64)
    used = np.logical_and.accumulate(total != 0, axis=1)
    for n in range(correct.shape[1]):
        rows = np.flatnonzero(used[:, n])
        hits, count = correct[rows, n], total[rows, n].astype(np.float64)
        missed = hits == 0
        smooth[rows[missed]] *= 2
        precision = np.where(missed, 100.0 / (smooth[rows] * count), 100.0 * hits.astype(np.float64) / count)
        sums[rows] += _mapped(math.log, precision)
    return sums, used.sum(axis=1).astype(np.float64)


def _brevity(sys_len: np.ndarray, ref_len: np.ndarray) -> np.ndarray:
    """``exp(1 - ref_len / sys_len)`` where the hypothesis is shorter (0 when
    it is empty), else 1."""
    bp = np.ones(len(sys_len), dtype=np.float64)
    short = np.flatnonzero((sys_len < ref_len) & (sys_len > 0))
    bp[short] = _mapped(math.exp, 1 - ref_len[short].astype(np.float64) / sys_len[short].astype(np.float64))
    bp[(sys_len < ref_len) & (sys_len == 0)] = 0.0
    return bp
