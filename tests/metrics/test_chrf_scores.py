"""chrF sentence scores computed on numpy columns have the bits of
sacrebleu's ``CHRF._compute_f_score``, row for row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import CHRF

from evalkit.metrics.chrf_engine import chrf_statistics
from evalkit.metrics.chrf_scores import f_scores
from evalkit.metrics.sacrebleu_metrics import CHRF as EvalkitCHRF
from tests.textgen import varied_pairs


def _bits(values: list[float]) -> list[str]:
    return [float(v).hex() for v in values]


def _expected(rows, metric):
    return [metric._compute_f_score(list(row)) for row in rows]


@st.composite
def _rows(draw, order: int):
    """Rows of [hyp, ref, match] per order, as the engine makes them
    (match <= both counts) or anything non-negative, zeros often."""
    count = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 10**6))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = []
        for _ in range(order):
            hyp, ref = draw(count), draw(count)
            match = draw(st.one_of(st.integers(0, min(hyp, ref)), count))
            row += [hyp, ref, match]
        rows.append(row)
    return rows


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    data=st.data(),
    char_order=st.integers(1, 7),
    word_order=st.integers(0, 3),
    beta=st.sampled_from([0, 1, 2, 3, 0.5, 1e-200, 1e150]),
    eps_smoothing=st.booleans(),
)
def test_scores_have_sacrebleus_bits(data, char_order, word_order, beta, eps_smoothing):
    metric = CHRF(char_order=char_order, word_order=word_order, beta=beta, eps_smoothing=eps_smoothing)
    rows = data.draw(_rows(char_order + word_order))
    assert _bits(f_scores(rows, metric)) == _bits(_expected(rows, metric))


def test_cases_by_hand():
    metric = CHRF(char_order=1, word_order=0)
    # precision 3/4, recall 3/6: 100 * 5 * 0.75 * 0.5 / (4 * 0.75 + 0.5)
    assert f_scores([[4, 6, 3]], metric) == [100 * (5 * 0.75 * 0.5) / (4 * 0.75 + 0.5)]
    # no n-grams on either side, or no matches: 0
    assert f_scores([[0, 0, 0], [3, 3, 0]], metric) == [0.0, 0.0]
    # eps smoothing: the order's own f-score, 1e-16 where precision and recall are both 0
    smoothed = CHRF(char_order=2, word_order=0, eps_smoothing=True)
    assert f_scores([[2, 2, 2, 1, 1, 0]], smoothed) == [100 * (1.0 + 1e-16) / 2]
    assert f_scores([], metric) == []


@pytest.mark.parametrize("options", [{}, {"word_order": 2}, {"beta": 1, "eps_smoothing": True, "word_order": 2}])
def test_sentence_scores_of_real_rows_and_the_metric(options):
    predictions, references = varied_pairs(300, long_words=50)
    metric = CHRF(**options)
    rows = chrf_statistics(predictions, references, metric=metric)
    assert _bits(f_scores(rows, metric)) == _bits(_expected(rows, metric))
    # the metric's per-item scores are sacrebleu's sentence scores (1-4 references)
    result = EvalkitCHRF(**options).score(predictions=predictions, references=references)
    sacre = CHRF(**options)
    expected = [sacre.sentence_score(p, refs).score for p, refs in zip(predictions, references, strict=True)]
    assert _bits(result.per_item) == _bits(expected)
