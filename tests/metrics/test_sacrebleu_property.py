"""Property: for any items and options, the fast engine's BLEU, chrF and TER
results equal the reference engine's (sacrebleu's own statistics), field for
field: corpus value, sentence scores, details, signature, item statistics;
so bootstrap intervals and paired tests computed from them are equal too.

Text is hard on tokenizers (unicode, empty lines, punctuation only, unicode
whitespace, entities, NUL); one to three references per item; every
tokenizer sacrebleu runs offline. Derandomised, no example database.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.metrics.sacrebleu_metrics import BLEU, CHRF, TER
from evalkit.stats import SumStatistics, bootstrap_ci, paired_test
from tests.metrics.sacrebleu_strategies import TOKENIZERS, items
from tests.textgen import varied_pairs

_SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _same_results(metric_class, predictions, references, **options):
    fast = metric_class(**options).score(predictions=predictions, references=references)
    reference = metric_class(**options, engine="reference").score(predictions=predictions, references=references)
    assert fast == reference  # value, per_item, details, unscored, signature, ...
    assert fast.item_statistics.tolist() == reference.item_statistics.tolist()
    assert "engine:" not in fast.signature
    return fast


@_SETTINGS
@given(
    data=items(),
    tokenize=st.sampled_from(TOKENIZERS),
    lowercase=st.booleans(),
    smooth=st.sampled_from([("exp", None), ("floor", 0.2), ("add-k", 1.0), ("none", None)]),
    effective_order=st.sampled_from([None, False, True]),
    order=st.integers(1, 5),
)
def test_bleu(data, tokenize, lowercase, smooth, effective_order, order):
    predictions, references = data
    _same_results(
        BLEU,
        predictions,
        references,
        tokenize=tokenize,
        lowercase=lowercase,
        smooth_method=smooth[0],
        smooth_value=smooth[1],
        effective_order=effective_order,
        max_ngram_order=order,
    )


@_SETTINGS
@given(
    data=items(),
    char_order=st.integers(1, 7),
    word_order=st.integers(0, 2),
    lowercase=st.booleans(),
    whitespace=st.booleans(),
    eps_smoothing=st.booleans(),
)
def test_chrf(data, char_order, word_order, lowercase, whitespace, eps_smoothing):
    predictions, references = data
    _same_results(
        CHRF,
        predictions,
        references,
        char_order=char_order,
        word_order=word_order,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps_smoothing,
    )


@_SETTINGS
@given(data=items(), normalized=st.booleans(), no_punct=st.booleans(), asian=st.booleans(), case=st.booleans())
def test_ter(data, normalized, no_punct, asian, case):
    predictions, references = data
    _same_results(
        TER,
        predictions,
        references,
        normalized=normalized,
        no_punct=no_punct,
        asian_support=asian,
        case_sensitive=case,
    )


@settings(max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=items(max_items=8), missing=st.lists(st.booleans(), min_size=8, max_size=8))
def test_missing_predictions_are_unscored_with_both_engines(data, missing):
    predictions, references = data
    with_gaps: list[str | None] = [None if gone else p for p, gone in zip(predictions, missing)]
    for metric_class in (BLEU, CHRF, TER):
        result = _same_results(metric_class, with_gaps, references)
        assert all((v is None) == (p is None) for v, p in zip(result.per_item, with_gaps))


def test_long_lines_and_resampling_are_equal():
    # 1,500-word lines among short ones; bootstrap interval and paired test
    # computed from either engine's statistics are the same numbers
    predictions, references = varied_pairs(120, seed=11, long_words=1500)
    baseline = [p[::-1] for p in predictions]
    for metric_class in (BLEU, CHRF, TER):
        if metric_class is TER:  # sacrebleu's TER search is slow on such lines
            predictions, references = varied_pairs(120, seed=11, long_words=150)
            baseline = [p[::-1] for p in predictions]
        outcomes = []
        for engine in ("fast", "reference"):
            metric = metric_class(engine=engine)
            system = metric.score(predictions=predictions, references=references)
            base = metric.score(predictions=baseline, references=references)

            def value(sums, metric=metric):
                return metric.value_from_statistics([sums])

            ours = SumStatistics(np.asarray(system.item_statistics), value, sacrebleu_compatible=True)
            theirs = SumStatistics(np.asarray(base.item_statistics), value, sacrebleu_compatible=True)
            interval = bootstrap_ci(ours, n_resamples=200, seed=1)
            test = paired_test(ours, theirs, method="bootstrap", n_resamples=200, seed=1)
            outcomes.append((system, base, interval, test.p_value))
        assert outcomes[0] == outcomes[1]
