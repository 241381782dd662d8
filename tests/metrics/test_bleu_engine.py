"""The fast BLEU engine's rows and sentence scores equal sacrebleu's, bit for bit.

Every expected row comes from ``sacrebleu.metrics.BLEU._extract_corpus_statistics``
(the rows sacrebleu's corpus score, sentence score and significance tests
are computed from), every expected score from ``_compute_score_from_stats``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU

from evalkit.metrics import bleu_engine, word_ids
from evalkit.metrics.bleu_engine import bleu_statistics, sentence_scorer
from tests.metrics.sacrebleu_strategies import TOKENIZERS, items, reference_streams
from tests.textgen import varied_pairs


def _expected(predictions, references, **options):
    return BLEU(**options)._extract_corpus_statistics(predictions, reference_streams(references))


def _ours(predictions, references, jobs=1, **options):
    metric = BLEU(**options)
    rows = bleu_statistics(
        predictions,
        references,
        tokenizer=metric.tokenizer,
        lowercase=metric.lowercase,
        max_ngram_order=metric.max_ngram_order,
        jobs=jobs,
    )
    assert rows.dtype == np.int64 and rows.shape == (len(predictions), 2 + 2 * metric.max_ngram_order)
    return rows.tolist()


PREDS, REFS = varied_pairs(240, long_words=400)


@pytest.fixture(params=["strings", "bytes"])
def word_road(request, monkeypatch):
    """Both roads of :func:`evalkit.metrics.word_ids.word_ids`: every batch of
    words through numpy ("bytes"), or none ("strings")."""
    monkeypatch.setattr(word_ids, "THRESHOLD", 0 if request.param == "bytes" else 10**12)
    bleu_engine.clear_caches()
    yield request.param
    bleu_engine.clear_caches()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lowercase": True},
        {"tokenize": "intl"},
        {"tokenize": "char", "max_ngram_order": 6},
        {"tokenize": "zh"},
        {"tokenize": "none"},
        {"max_ngram_order": 1},
        {"max_ngram_order": 2, "lowercase": True},
        {"max_ngram_order": 9},
    ],
    ids=repr,
)
def test_rows_equal_sacrebleu_on_varied_pairs(options, word_road):
    # unicode, empty lines, punctuation only, 400-word lines, 1-4 references
    assert _ours(PREDS, REFS, **options) == _expected(PREDS, REFS, **options)


@pytest.mark.parametrize("tokenize", TOKENIZERS)
@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=items(), lowercase=st.booleans(), order=st.integers(1, 5))
def test_rows_equal_sacrebleu_property(tokenize, data, lowercase, order):
    predictions, references = data
    options = {"tokenize": tokenize, "lowercase": lowercase, "max_ngram_order": order}
    expected = _expected(predictions, references, **options)
    assert _ours(predictions, references, **options) == expected
    with pytest.MonkeyPatch.context() as patch:  # every batch of words through numpy
        patch.setattr(word_ids, "THRESHOLD", 0)
        assert _ours(predictions, references, **options) == expected


def test_closest_reference_length_prefers_the_shorter_on_ties():
    # hypothesis of 4 tokens, references of 3 and 5 tokens: sacrebleu takes 3
    predictions, references = ["a b c d"], [["x y z", "x y z w v"]]
    assert _ours(predictions, references)[0][1] == 3 == _expected(predictions, references)[0][1]
    references = [["x y z w v", "x y z"]]  # order does not matter
    assert _ours(predictions, references)[0][1] == 3 == _expected(predictions, references)[0][1]


def test_repeated_ngrams_are_clipped_by_the_best_reference():
    predictions = ["the the the the cat cat"]
    references = [["the cat the", "the the cat", "cat cat cat"]]
    assert _ours(predictions, references) == _expected(predictions, references)


def test_chunks_processes_and_caches_do_not_change_rows(monkeypatch):
    expected = _expected(PREDS, REFS)
    monkeypatch.setattr(bleu_engine, "_CHUNK", 7)
    assert _ours(PREDS, REFS) == expected
    monkeypatch.setattr(bleu_engine, "_BLOCK", 23)  # blocks of whole chunks and a ragged last one
    assert _ours(PREDS, REFS) == expected
    bleu_engine.clear_caches()
    assert _ours(PREDS, REFS, jobs=2) == expected
    assert _ours(PREDS, REFS, jobs=3) == expected  # warm word cache


def test_documented_example_rows():
    # sacrebleu's README: BLEU = 48.53 82.4/50.0/45.5/37.5 (... hyp_len = 17 ref_len = 18)
    refs = [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
    ]
    hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    rows = _ours(hyps, [list(r) for r in zip(*refs)])
    sums = [sum(column) for column in zip(*rows)]
    assert sums[:2] == [17, 18]
    assert [round(100 * c / t, 1) for c, t in zip(sums[2:6], sums[6:])] == [82.4, 50.0, 45.5, 37.5]


def test_bad_arguments_raise_value_errors():
    tokenizer = BLEU().tokenizer
    with pytest.raises(ValueError, match="2 predictions but 1"):
        bleu_statistics(["a", "b"], [["a"]], tokenizer=tokenizer)
    with pytest.raises(ValueError, match="at least one reference"):
        bleu_statistics(["a"], [[]], tokenizer=tokenizer)
    with pytest.raises(ValueError, match="max_ngram_order"):
        bleu_statistics(["a"], [["a"]], tokenizer=tokenizer, max_ngram_order=0)
    assert bleu_statistics([], [], tokenizer=tokenizer).tolist() == []


# ------------------------------------------------------------ sentence scores

_SMOOTHING = [
    ("exp", None),
    ("none", None),
    ("floor", None),
    ("floor", 0.3),
    ("add-k", None),
    ("add-k", 2),
    ("add-k", 0.5),
]


def _rows(order: int, count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        hyp_len = rng.choice([0, 1, 2, 3, 5, 8, 20, 60])
        ref_len = rng.choice([0, 1, 3, 5, 8, 21, 59])
        totals = [max(hyp_len - n, 0) for n in range(order)]
        correct = [rng.randint(0, t) if rng.random() < 0.8 else 0 for t in totals]
        rows.append([hyp_len, ref_len, *correct, *totals])
    return rows


@pytest.mark.parametrize("order", [1, 2, 4, 6])
@pytest.mark.parametrize("effective_order", [False, True])
@pytest.mark.parametrize(("smooth_method", "smooth_value"), _SMOOTHING)
def test_sentence_scores_equal_compute_bleu(order, effective_order, smooth_method, smooth_value):
    metric = BLEU(
        max_ngram_order=order, effective_order=effective_order, smooth_method=smooth_method, smooth_value=smooth_value
    )
    score = sentence_scorer(order, smooth_method, smooth_value, effective_order)
    rows = _rows(order, 300, seed=order)
    # also summed rows: corpus-sized counts
    rows += [[sum(c) for c in zip(*rows[k : k + 30])] for k in range(0, len(rows), 30)]
    for row in rows:
        assert score(row) == metric._compute_score_from_stats(row).score, row
