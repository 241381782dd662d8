"""Sentence BLEU computed on numpy columns has the bits of sacrebleu's
``BLEU.compute_bleu`` (exp smoothing, effective order), row for row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU as SacreBLEU

from evalkit.metrics.bleu_engine import sentence_scorer
from evalkit.metrics.bleu_scores import exp_effective_scores
from evalkit.metrics.sacrebleu_metrics import BLEU
from tests.textgen import varied_pairs


def _bits(values: list[float]) -> list[str]:
    return [float(v).hex() for v in values]


@st.composite
def _rows(draw, order: int):
    """Rows as the engine makes them (totals falling by one per order,
    matches up to the total) or summed ones (any counts), zeros often."""
    count = st.one_of(st.just(0), st.integers(0, 6), st.integers(0, 10**6))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        hyp_len, ref_len = draw(count), draw(count)
        if draw(st.booleans()):
            totals = [max(hyp_len - n, 0) for n in range(order)]
        else:
            totals = [draw(count) for _ in range(order)]
        correct = [draw(st.one_of(st.just(0), st.integers(0, max(t, 0)))) for t in totals]
        rows.append([hyp_len, ref_len, *correct, *totals])
    return rows


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(data=st.data(), order=st.integers(1, 6))
def test_scores_have_sacrebleus_bits(data, order):
    rows = data.draw(_rows(order))
    theirs = SacreBLEU(max_ngram_order=order, effective_order=True)
    expected = [theirs._compute_score_from_stats(list(row)).score for row in rows]
    assert _bits(exp_effective_scores(rows, order=order)) == _bits(expected)
    scorer = sentence_scorer(order, "exp", None, True)
    assert _bits(exp_effective_scores(rows, order=order)) == _bits([scorer(row) for row in rows])


def test_cases_by_hand():
    # no match at all: 0; an empty hypothesis: 0
    assert exp_effective_scores([[3, 3, 0, 0, 0, 0, 3, 2, 1, 0], [0, 4, 0, 0, 0, 0, 0, 0, 0, 0]], order=4) == [0.0, 0.0]
    # two words, both match, the bigram too; shorter than its 4-word reference:
    # effective order 2, precisions 100 and 100, brevity exp(1 - 4/2)
    import math

    assert exp_effective_scores([[2, 4, 2, 1, 0, 0, 2, 1, 0, 0]], order=4) == [
        pytest.approx(math.exp(1 - 2.0) * 100.0, rel=1e-15)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bleu_per_item_equals_sentence_score(seed):
    predictions, references = varied_pairs(120, seed=seed)
    result = BLEU().score(predictions=predictions, references=references)
    theirs = SacreBLEU(effective_order=True)
    expected = [theirs.sentence_score(p, list(r)).score for p, r in zip(predictions, references, strict=True)]
    assert _bits(result.per_item) == _bits(expected)
