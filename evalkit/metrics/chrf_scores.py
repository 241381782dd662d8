"""chrF sentence scores of many rows at once, equal to sacrebleu 2.6.0's bit for bit.

``CHRF._compute_f_score`` turns one row of chrF statistics into a score
with a few additions, multiplications and divisions per order, one Python
call a row. :func:`f_scores` runs the same IEEE operations, in the same
order, on numpy columns, for all rows at once:

* ``n_match / n_hyp`` of two int64 columns converts both to float64 and
  divides, which is what Python does for ints below 2**53 (counts are far
  below it); ``int * float`` is ``float(int) * float`` on both sides;
* sacrebleu adds a precision to its running average only where both
  counts are positive: adding 0.0 elsewhere leaves a non-negative sum
  unchanged, so the column sums run order by order as its loop does;
* a branch that sacrebleu does not take is computed and thrown away
  (``np.where``), so no division by zero is ever used.

``tests/metrics/test_chrf_scores.py`` compares every score's bits with
``_compute_f_score`` on generated rows and options.

>>> from sacrebleu.metrics import CHRF
>>> metric = CHRF(char_order=2, word_order=0)
>>> rows = [[4, 4, 3, 3, 3, 1], [0, 0, 0, 0, 0, 0]]
>>> f_scores(rows, metric) == [metric._compute_f_score(row) for row in rows]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["f_scores"]

_EPS = 1e-16  # sacrebleu's ``eps`` in ``_compute_f_score``


def f_scores(rows: Sequence[Sequence[int]] | np.ndarray, metric: Any) -> list[float]:
    """``[metric._compute_f_score(row) for row in rows]`` for rows of ints
    (``metric`` is a ``sacrebleu.metrics.CHRF``)."""
    order = metric.order
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 3 * order)
    factor = metric.beta**2
    # branches sacrebleu does not take may divide by zero; a huge beta may
    # overflow to inf, as Python floats do
    with np.errstate(all="ignore"):
        score = np.zeros(len(rows))
        avg_prec, avg_rec = np.zeros(len(rows)), np.zeros(len(rows))
        effective = np.zeros(len(rows), dtype=np.int64)
        for i in range(order):
            n_hyp, n_ref, n_match = table[:, 3 * i], table[:, 3 * i + 1], table[:, 3 * i + 2]
            prec = np.where(n_hyp > 0, n_match / n_hyp, _EPS)
            rec = np.where(n_ref > 0, n_match / n_ref, _EPS)
            if metric.eps_smoothing:
                denom = factor * prec + rec
                score = score + np.where(denom > 0, (1 + factor) * prec * rec / denom, _EPS)
            both = (n_hyp > 0) & (n_ref > 0)
            avg_prec = avg_prec + np.where(both, prec, 0.0)
            avg_rec = avg_rec + np.where(both, rec, 0.0)
            effective += both
        if metric.eps_smoothing:
            return (100 * score / order).tolist()
        avg_prec = np.where(effective > 0, avg_prec / effective, 0.0)
        avg_rec = np.where(effective > 0, avg_rec / effective, 0.0)
        # counts are non-negative: a positive average precision needs matches,
        # hence a positive recall, so the divisor is positive where used
        nonzero = (avg_prec + avg_rec) != 0
        denom = (factor * avg_prec) + avg_rec
        value = (1 + factor) * avg_prec * avg_rec
        value = value / denom
        return np.where(nonzero, 100 * value, 0.0).tolist()
