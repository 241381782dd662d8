"""evalkit's BLEU/chrF/TER equal sacrebleu's corpus and sentence scores."""

from __future__ import annotations

import math

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU as SBLEU
from sacrebleu.metrics import CHRF as SCHRF
from sacrebleu.metrics import TER as STER

import evalkit
from evalkit.metrics.sacrebleu_metrics import BLEU, CHRF, TER
from tests.textgen import ref_streams, varied_pairs

PREDS, REFS = varied_pairs(240)
# TER's shift search is far slower on long lines: 120-word ones still test length.
TER_PREDS, TER_REFS = varied_pairs(240, long_words=120)

CASES = [
    (BLEU, SBLEU, {}),
    (BLEU, SBLEU, {"tokenize": "intl", "lowercase": True}),
    (BLEU, SBLEU, {"tokenize": "char", "smooth_method": "floor", "smooth_value": 0.2}),
    (BLEU, SBLEU, {"smooth_method": "add-k", "smooth_value": 2.0, "max_ngram_order": 2}),
    (BLEU, SBLEU, {"tokenize": "none", "smooth_method": "none", "force": True}),
    (BLEU, SBLEU, {"effective_order": True}),
    (CHRF, SCHRF, {}),
    (CHRF, SCHRF, {"word_order": 2}),
    (CHRF, SCHRF, {"char_order": 4, "beta": 1, "lowercase": True, "whitespace": True, "eps_smoothing": True}),
    (TER, STER, {}),
    (TER, STER, {"normalized": True, "no_punct": True, "case_sensitive": True}),
    (TER, STER, {"asian_support": True, "normalized": True}),
]


def _data(theirs):
    return (TER_PREDS, TER_REFS) if theirs is STER else (PREDS, REFS)


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=lambda x: str(x) if isinstance(x, dict) else "")
def test_corpus_score_and_signature_equal_sacrebleu(ours, theirs, kwargs):
    PREDS, REFS = _data(theirs)
    expected_metric = theirs(**kwargs)
    expected = expected_metric.corpus_score(PREDS, ref_streams(REFS))
    result = ours(**kwargs).score(predictions=PREDS, references=REFS)
    assert result.value == expected.score
    assert result.signature == expected_metric.get_signature().format()
    assert result.n_scored == len(PREDS) and result.n_unscored == 0


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=lambda x: str(x) if isinstance(x, dict) else "")
def test_per_item_equals_sentence_score(ours, theirs, kwargs):
    PREDS, REFS = _data(theirs)
    sentence_kwargs = dict(kwargs)
    if theirs is SBLEU:
        sentence_kwargs.setdefault("effective_order", True)
    metric = theirs(**sentence_kwargs)
    result = ours(**kwargs).score(predictions=PREDS, references=REFS)
    # every 3rd item keeps the test fast; long lines are among them
    for i in range(0, len(PREDS), 3):
        assert result.per_item[i] == metric.sentence_score(PREDS[i], REFS[i]).score, i


def test_bleu_details_are_sacrebleus_parts():
    expected = sacrebleu.corpus_bleu(PREDS, ref_streams(REFS))
    details = BLEU().score(predictions=PREDS, references=REFS).details
    assert list(details["precisions"]) == expected.precisions
    assert details["brevity_penalty"] == expected.bp
    assert (details["sys_len"], details["ref_len"]) == (expected.sys_len, expected.ref_len)
    assert list(details["counts"]) == expected.counts and list(details["totals"]) == expected.totals


def test_varying_number_of_references_is_signed_var():
    result = BLEU().score(predictions=["a b c", "d e f"], references=[["a b c"], ["d e f", "d e g"]])
    assert "nrefs:var" in result.signature


def test_documented_sacrebleu_example():
    # sacrebleu's README example, which prints its scores to two decimals
    refs = [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
    ]
    sys_ = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    per_item_refs = [list(r) for r in zip(*refs)]
    assert round(evalkit.score("bleu", predictions=sys_, references=per_item_refs).value, 2) == 48.53
    assert round(evalkit.score("chrf", predictions=sys_, references=per_item_refs).value, 2) == 59.73


def test_missing_prediction_is_unscored_not_zero():
    preds = ["the cat sat on the mat", None, "a dog"]
    refs = ["the cat sat on the mat", "anything", "a dog ran"]
    result = BLEU().score(predictions=preds, references=refs)
    assert result.per_item[1] is None
    assert result.unscored == {1: "missing prediction"}
    assert (result.n_scored, result.n_unscored) == (2, 1)
    # the corpus score covers the scored items only
    assert result.value == sacrebleu.corpus_bleu([preds[0], preds[2]], [[refs[0], refs[2]]]).score


def test_all_missing_gives_no_value():
    result = CHRF().score(predictions=[None, None], references=["a", "b"])
    assert result.value is None and result.n_unscored == 2


def test_bad_option_value_is_config_error():
    with pytest.raises(evalkit.ConfigError):
        evalkit.score("bleu", predictions=["a"], references=["a"], tokenize="no-such-tokenizer")
    with pytest.raises(evalkit.ConfigError, match="unknown option 'colour'"):
        evalkit.score("chrf", predictions=["a"], references=["a"], colour=True)


def test_item_statistics_sum_to_corpus_score():
    metric = BLEU()
    stats = metric.item_statistics(predictions=PREDS, references=REFS)
    assert len(stats) == len(PREDS)
    assert math.isclose(
        metric.value_from_statistics(stats),
        metric.score(predictions=PREDS, references=REFS).value,
        rel_tol=0,
        abs_tol=0,
    )


def test_chunked_statistics_equal_one_pass(monkeypatch):
    # statistics are extracted in chunks to bound memory; the corpus score,
    # sentence scores and nrefs:var signature must not change
    import evalkit.metrics.sacrebleu_metrics as module

    whole = BLEU().score(predictions=PREDS, references=REFS)
    monkeypatch.setattr(module, "_CHUNK", 7)
    chunked = BLEU().score(predictions=PREDS, references=REFS)
    assert chunked.value == whole.value and chunked.per_item == whole.per_item
    assert chunked.signature == whole.signature and "nrefs:var" in chunked.signature
