"""evalkit's BLEU/chrF/TER classes resample from sacrebleu's own sufficient
statistics: through ``evalkit.stats.analysis`` the p-values equal sacrebleu's
``PairedTest`` for the same seed and number of resamples, and the interval's
point estimate is the corpus score."""

from __future__ import annotations

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest
from synthetic_mt import SEED, make_corpus

import evalkit
from evalkit.metrics.sacrebleu_metrics import BLEU as EvalkitBLEU
from evalkit.stats.analysis import analyze

SACREBLEU = {"bleu": ("BLEU", BLEU), "chrf": ("chrF2", CHRF), "ter": ("TER", TER)}


@pytest.fixture(scope="module")
def data():
    base, system, refs = make_corpus(150, seed=8)
    references = list(zip(*refs))
    comparison = evalkit.compare({"base": base, "sys": system}, references=references, metrics="bleu,chrf,ter")
    return base, system, refs, comparison


@pytest.mark.parametrize("method,test_type,n", [("ar", "ar", 1500), ("bootstrap", "bs", 600)])
def test_analysis_p_values_equal_sacrebleu(monkeypatch, data, method, test_type, n):
    base, system, refs, comparison = data
    analysis = analyze(comparison, baseline="base", paired_test_method=method, n_trials=n, n_resamples=200, seed=SEED)
    monkeypatch.setenv("SACREBLEU_SEED", str(SEED))
    for metric, (key, cls) in SACREBLEU.items():
        _, scores = PairedTest(
            [("base", base), ("sys", system)], {key: cls()}, refs, test_type=test_type, n_samples=n
        )()
        st = analysis.stat("sys", metric)
        assert st.test.p_value == scores[key][1].p_value, metric
        assert st.kind == "corpus statistics"


def test_interval_is_around_the_corpus_score(data):
    *_, comparison = data
    analysis = analyze(comparison, baseline="base", n_resamples=300)
    for metric in ("bleu", "chrf", "ter"):
        for system in ("base", "sys"):
            st = analysis.stat(system, metric)
            assert st.interval.value == comparison.result(system, metric).value
            assert st.interval.low < st.value < st.interval.high


def test_value_from_statistics_of_one_summed_row_is_the_corpus_score(data):
    base, _, refs, _ = data
    metric = EvalkitBLEU()
    rows = metric.item_statistics(predictions=base, references=list(zip(*refs)))
    sums = [sum(column) for column in zip(*rows)]
    assert metric.value_from_statistics([sums]) == BLEU().corpus_score(base, refs).score


def test_unscored_predictions_are_left_out_of_the_paired_test(data):
    base, system, refs, _ = data
    system = list(system)
    system[3] = None
    system[7] = None
    comparison = evalkit.compare({"base": base, "sys": system}, references=list(zip(*refs)), metrics="bleu,rouge1")
    analysis = analyze(comparison, baseline="base", n_resamples=100, n_trials=200)
    for metric in ("bleu", "rouge1"):
        st = analysis.stat("sys", metric)
        assert (st.n_paired, st.n_excluded) == (148, 2), metric
        assert "2 item(s) unscored" in st.note
        assert st.interval is not None
