"""The fast TER engine equals sacrebleu's, bit for bit.

Expected values come from ``sacrebleu.metrics.lib_ter`` (``translation_edit_rate``,
``BeamEditDistance``) and ``TER._extract_corpus_statistics``, computed in the test.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein
from sacrebleu.metrics import TER, lib_ter

from evalkit.metrics import ter_engine
from evalkit.metrics.ter_engine import edit_rate, ter_statistics
from tests.metrics.sacrebleu_strategies import items, reference_streams
from tests.textgen import varied_pairs


def test_limits_are_sacrebleus():
    assert ter_engine._MAX_SHIFT_SIZE == lib_ter._MAX_SHIFT_SIZE
    assert ter_engine._MAX_SHIFT_DIST == lib_ter._MAX_SHIFT_DIST
    assert ter_engine._BEAM_WIDTH == lib_ter._BEAM_WIDTH
    assert ter_engine._MAX_SHIFT_CANDIDATES == lib_ter._MAX_SHIFT_CANDIDATES
    assert (lib_ter._COST_INS, lib_ter._COST_DEL, lib_ter._COST_SUB) == (1, 1, 1)


def _random_pair(rng: random.Random, alphabet: str, n: int) -> tuple[str, str]:
    ref = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))
    hyp = list(ref)
    for _ in range(rng.randint(0, max(1, n // 3))):
        kind = rng.random()
        if kind < 0.3 and hyp:
            del hyp[rng.randrange(len(hyp))]
        elif kind < 0.6:
            hyp.insert(rng.randrange(len(hyp) + 1), rng.choice(alphabet))
        elif kind < 0.8 and hyp:
            hyp[rng.randrange(len(hyp))] = rng.choice(alphabet)
        elif len(hyp) > 3:  # move a block: what shifts are for
            a = rng.randrange(len(hyp))
            b = rng.randrange(a, len(hyp) + 1)
            block = hyp[a:b]
            del hyp[a:b]
            at = rng.randrange(len(hyp) + 1)
            hyp[at:at] = block
    return "".join(hyp), ref


def test_trace_equals_beam_edit_distance_where_the_band_is_full():
    rng = random.Random(1)
    for _ in range(2000):
        hyp, ref = _random_pair(rng, "abcd"[: rng.randint(1, 4)], 14)
        if not ref:
            continue
        expected = lib_ter.BeamEditDistance(list(ref))(list(hyp))
        assert (Levenshtein.distance(hyp, ref), ter_engine._trace(hyp, ref)) == expected, (hyp, ref)


def test_band_bound_gives_exact_distance_and_trace_on_long_lines():
    rng = random.Random(2)
    held = 0
    for _ in range(600):
        hyp, ref = _random_pair(rng, "abcdefghijklmnop"[: rng.randint(2, 16)], 160)
        if not ref:
            continue
        distance = ter_engine._Distance(ref, len(hyp))
        expected = lib_ter.BeamEditDistance(list(ref))(list(hyp))
        assert distance.with_trace(hyp) == expected
        assert distance(hyp) == expected[0]
        held += distance.band.holds(Levenshtein.distance(hyp, ref))
    assert 100 < held < 600  # both roads were taken


def test_band_bound_is_tight_for_a_known_case():
    # 60 reference words, 30 hypothesis words: the beam (25 wide around the
    # scaled diagonal) cannot hold paths far from it
    band = ter_engine._Band(30, 60)
    assert band.floor == 30
    assert not band.holds(10**6)


@pytest.mark.parametrize(("seed", "pairs", "sizes"), [(0, 300, (3, 10, 25)), (1, 150, (40, 60)), (2, 6, (120,))])
def test_edit_rate_equals_translation_edit_rate(seed, pairs, sizes):
    # sacrebleu's own search is slow on long lines with many moves: few of those
    rng = random.Random(seed)
    for _ in range(pairs):
        hyp, ref = _random_pair(rng, "abcdefg"[: rng.randint(1, 7)], rng.choice(sizes))
        assert edit_rate(list(hyp), list(ref)) == lib_ter.translation_edit_rate(list(hyp), list(ref)), (hyp, ref)


def test_edit_rate_special_cases():
    assert edit_rate([], []) == lib_ter.translation_edit_rate([], []) == (0, 0)
    assert edit_rate(["a", "b"], []) == lib_ter.translation_edit_rate(["a", "b"], []) == (2, 0)
    assert edit_rate([], ["a", "b"]) == lib_ter.translation_edit_rate([], ["a", "b"]) == (2, 2)
    words = "the cat sat on the mat".split()
    assert edit_rate(words, words) == (0, 6)
    # the candidate limit: a long line with one repeated word
    hyp, ref = ["a"] * 80 + ["b"] * 80, ["b"] * 80 + ["a"] * 81
    assert edit_rate(hyp, ref) == lib_ter.translation_edit_rate(hyp, ref)


TER_PREDS, TER_REFS = varied_pairs(240, long_words=120)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"case_sensitive": True},
        {"normalized": True},
        {"no_punct": True},
        {"normalized": True, "no_punct": True, "case_sensitive": True},
        {"asian_support": True, "normalized": True},
        {"asian_support": True, "no_punct": True},
    ],
    ids=repr,
)
def test_rows_equal_sacrebleu(options):
    expected = TER(**options)._extract_corpus_statistics(TER_PREDS, reference_streams(TER_REFS))
    assert ter_statistics(TER_PREDS, TER_REFS, metric=TER(**options)) == expected


@settings(
    max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=items(), normalized=st.booleans(), no_punct=st.booleans(), asian=st.booleans(), case=st.booleans())
def test_rows_equal_sacrebleu_property(data, normalized, no_punct, asian, case):
    predictions, references = data
    options = dict(normalized=normalized, no_punct=no_punct, asian_support=asian, case_sensitive=case)
    expected = TER(**options)._extract_corpus_statistics(predictions, reference_streams(references))
    assert ter_statistics(predictions, references, metric=TER(**options)) == expected


def test_processes_and_chunks_do_not_change_rows(monkeypatch):
    expected = TER()._extract_corpus_statistics(TER_PREDS, reference_streams(TER_REFS))
    monkeypatch.setattr(ter_engine, "_CHUNK", 5)
    assert ter_statistics(TER_PREDS, TER_REFS, metric=TER()) == expected
    assert ter_statistics(TER_PREDS, TER_REFS, metric=TER(), jobs=2) == expected


def test_rows_keep_sacrebleus_types():
    rows = ter_statistics(["a b", "c"], [["a b", "a"], ["d e"]], metric=TER())
    assert rows == [[0, 1.5], [2, 2.0]]
    assert [type(x) for x in rows[0]] == [int, float]


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="2 predictions but 1"):
        ter_statistics(["a", "b"], [["a"]], metric=TER())
    with pytest.raises(ValueError, match="at least one reference"):
        ter_statistics(["a"], [[]], metric=TER())
