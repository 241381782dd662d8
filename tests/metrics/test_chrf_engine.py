"""The fast chrF / chrF++ engine's rows equal sacrebleu's, bit for bit.

Every expected row comes from ``sacrebleu.metrics.CHRF._extract_corpus_statistics``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import CHRF

from evalkit.metrics import chrf_engine, word_ids
from evalkit.metrics.chrf_engine import chrf_statistics
from tests.metrics.sacrebleu_strategies import items, reference_streams
from tests.textgen import varied_pairs


def _expected(predictions, references, **options):
    return CHRF(**options)._extract_corpus_statistics(predictions, reference_streams(references))


def _ours(predictions, references, jobs=1, **options):
    return chrf_statistics(predictions, references, metric=CHRF(**options), jobs=jobs)


PREDS, REFS = varied_pairs(240, long_words=400)

OPTIONS = [
    {},
    {"word_order": 2},
    {"word_order": 1, "char_order": 3},
    {"char_order": 1},
    {"char_order": 9, "word_order": 4},
    {"lowercase": True, "word_order": 2},
    {"whitespace": True},
    {"whitespace": True, "word_order": 2, "lowercase": True},
    {"beta": 1, "eps_smoothing": True, "word_order": 2},
]


@pytest.mark.parametrize("threshold", [0, 10**12], ids=["bytes", "strings"])
@pytest.mark.parametrize("options", OPTIONS, ids=repr)
def test_rows_equal_sacrebleu_on_varied_pairs(options, threshold, monkeypatch):
    # unicode, empty lines, punctuation only, 400-word lines, 1-4 references;
    # chrF++'s words through numpy ("bytes") or as strings
    monkeypatch.setattr(word_ids, "THRESHOLD", threshold)
    assert _ours(PREDS, REFS, **options) == _expected(PREDS, REFS, **options)


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    data=items(),
    char_order=st.integers(1, 7),
    word_order=st.integers(0, 3),
    lowercase=st.booleans(),
    whitespace=st.booleans(),
    eps_smoothing=st.booleans(),
    beta=st.integers(0, 3),
)
def test_rows_equal_sacrebleu_property(data, char_order, word_order, lowercase, whitespace, eps_smoothing, beta):
    predictions, references = data
    options = dict(
        char_order=char_order,
        word_order=word_order,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps_smoothing,
        beta=beta,
    )
    expected = _expected(predictions, references, **options)
    assert _ours(predictions, references, **options) == expected
    with pytest.MonkeyPatch.context() as patch:  # chrF++'s words through numpy
        patch.setattr(word_ids, "THRESHOLD", 0)
        assert _ours(predictions, references, **options) == expected


def test_the_first_of_equally_good_references_is_kept():
    # two references with the same f-score but different statistics
    predictions, references = ["ab cd"], [["ab", "cd", "ab"]]
    assert _ours(predictions, references) == _expected(predictions, references)
    predictions, references = ["abc"], [["xyz", "", "abd", "abd x"]]
    assert _ours(predictions, references, word_order=2) == _expected(predictions, references, word_order=2)


def test_many_distinct_characters_take_the_per_order_road(monkeypatch):
    # 20,000 distinct characters do not fit six to an int64 with the pair
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 20_000)]
    predictions = ["".join(rng.choice(alphabet) for _ in range(30)) for _ in range(50)]
    references = [[p[5:] + p[:5]] for p in predictions]
    used = []
    original = chrf_engine._matches_per_order
    monkeypatch.setattr(chrf_engine, "_matches_per_order", lambda *a: used.append(1) or original(*a))
    assert _ours(predictions, references) == _expected(predictions, references)
    assert used


def test_chunks_and_processes_do_not_change_rows(monkeypatch):
    expected = _expected(PREDS, REFS, word_order=2)
    monkeypatch.setattr(chrf_engine, "_CHUNK", 5)
    assert _ours(PREDS, REFS, word_order=2) == expected
    assert _ours(PREDS, REFS, jobs=2, word_order=2) == expected


def test_texts_holding_the_mark_are_split_word_by_word():
    predictions, references = ["a\x00b c.", "x"], [["a\x00b c .", "c."], ["x\x00"]]
    assert _ours(predictions, references, word_order=2) == _expected(predictions, references, word_order=2)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="2 predictions but 1"):
        _ours(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="at least one reference"):
        _ours(["a"], [[]])
    with pytest.raises(ValueError, match="char_order >= 1"):
        _ours(["a"], [["a"]], char_order=0)
    assert _ours([], []) == []
