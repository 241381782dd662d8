"""evalkit's BLEU/chrF/TER equal sacrebleu's corpus and sentence scores,
with either engine (``fast``, the default, and ``reference``)."""

from __future__ import annotations

import functools
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


ENGINES = ["fast", "reference"]


@functools.cache
def _sacrebleu_corpus(theirs, options):
    """sacrebleu's corpus score, signature and rows for one case (shared by both engines' tests)."""
    PREDS, REFS = _data(theirs)
    metric = theirs(**dict(options))
    score = metric.corpus_score(PREDS, ref_streams(REFS)).score
    rows = tuple(tuple(row) for row in metric._extract_corpus_statistics(PREDS, ref_streams(REFS)))
    return score, metric.get_signature().format(), rows


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=lambda x: str(x) if isinstance(x, dict) else "")
def test_corpus_score_and_signature_equal_sacrebleu(ours, theirs, kwargs, engine):
    PREDS, REFS = _data(theirs)
    score, signature, rows = _sacrebleu_corpus(theirs, tuple(sorted(kwargs.items())))
    result = ours(**kwargs, engine=engine).score(predictions=PREDS, references=REFS)
    assert result.value == score
    assert result.signature == signature
    assert result.n_scored == len(PREDS) and result.n_unscored == 0
    # one int32 (BLEU's, chrF's small counts) or float64 (TER) array, the same numbers as sacrebleu's rows
    assert result.item_statistics.dtype == ("float64" if ours is TER else "int32")
    assert result.item_statistics.tolist() == [list(row) for row in rows]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=lambda x: str(x) if isinstance(x, dict) else "")
def test_per_item_equals_sentence_score(ours, theirs, kwargs, engine):
    PREDS, REFS = _data(theirs)
    sentence_kwargs = dict(kwargs)
    if theirs is SBLEU:
        sentence_kwargs.setdefault("effective_order", True)
    metric = theirs(**sentence_kwargs)
    result = ours(**kwargs, engine=engine).score(predictions=PREDS, references=REFS)
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


README_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
README_SYS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]


@pytest.mark.parametrize("engine", ENGINES)
def test_documented_sacrebleu_example(engine):
    # sacrebleu's README (its package description), which prints its scores to
    # two decimals: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944
    # hyp_len = 17 ref_len = 18), nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp, chrF2 = 59.73
    per_item_refs = [list(r) for r in zip(*README_REFS)]
    bleu = BLEU(engine=engine).score(predictions=README_SYS, references=per_item_refs)
    assert round(bleu.value, 2) == 48.53
    assert [round(p, 1) for p in bleu.details["precisions"]] == [82.4, 50.0, 45.5, 37.5]
    assert (round(bleu.details["brevity_penalty"], 3), round(bleu.details["ratio"], 3)) == (0.943, 0.944)
    assert (bleu.details["sys_len"], bleu.details["ref_len"]) == (17, 18)
    assert bleu.signature.startswith("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    chrf = CHRF(engine=engine).score(predictions=README_SYS, references=per_item_refs)
    assert round(chrf.value, 2) == 59.73
    assert round(evalkit.score("bleu", predictions=README_SYS, references=per_item_refs).value, 2) == 48.53


@pytest.mark.parametrize("engine", ENGINES)
def test_documented_variable_references_example(engine):
    # sacrebleu's README, the first reference of the first sentence removed:
    # BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19), nrefs:var
    per_item_refs = [list(r) for r in zip(*README_REFS)]
    per_item_refs[0] = per_item_refs[0][1:]
    bleu = BLEU(engine=engine).score(predictions=README_SYS, references=per_item_refs)
    assert round(bleu.value, 2) == 29.44
    assert [round(p, 1) for p in bleu.details["precisions"]] == [82.4, 42.9, 27.3, 12.5]
    assert (round(bleu.details["brevity_penalty"], 3), round(bleu.details["ratio"], 3)) == (0.889, 0.895)
    assert (bleu.details["sys_len"], bleu.details["ref_len"]) == (17, 19)
    assert bleu.signature.startswith("nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:")


def test_engines_give_the_same_result_and_jobs_do_not_matter():
    for ours in (BLEU, CHRF, TER):
        preds, refs = _data(STER if ours is TER else SBLEU)
        reference = ours(engine="reference").score(predictions=preds, references=refs)
        for jobs in (1, 2):
            fast = ours(jobs=jobs).score(predictions=preds, references=refs)
            assert fast == reference  # value, per_item, details, signature, ...
            assert fast.item_statistics.tolist() == reference.item_statistics.tolist()


def test_options_the_fast_engine_does_not_take_fall_back_and_say_so():
    bleu = BLEU(max_ngram_order=0, smooth_method="none")
    result = bleu.score(predictions=["a b"], references=["a b"])
    expected = SBLEU(max_ngram_order=0, smooth_method="none")
    assert result.value == expected.corpus_score(["a b"], [["a b"]]).score
    assert result.signature == expected.get_signature().format() + "|engine:reference(auto)"
    # asked for by name, the reference engine signs as sacrebleu does
    named = BLEU(max_ngram_order=0, smooth_method="none", engine="reference")
    assert named.score(predictions=["a b"], references=["a b"]).signature == expected.get_signature().format()
    chrf = CHRF(char_order=0, word_order=2).score(predictions=["a b"], references=["a b"])
    assert chrf.signature.endswith("|engine:reference(auto)")


def test_bad_engine_or_jobs_is_a_config_error():
    # from Python as through the registry: one declaration, one message
    with pytest.raises(evalkit.ConfigError, match="option bleu.engine='turbo': input should be 'fast' or 'reference'"):
        BLEU(engine="turbo")
    with pytest.raises(evalkit.ConfigError, match="jobs must be a positive integer"):
        TER(jobs=0)
    with pytest.raises(evalkit.ConfigError, match="option chrf.engine='turbo': input should be 'fast' or 'reference'"):
        evalkit.score("chrf", predictions=["a"], references=["a"], engine="turbo")


def test_a_tokenizer_without_its_package_is_a_missing_dependency():
    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        with pytest.raises(evalkit.MissingDependencyError, match="pip install sentencepiece"):
            BLEU(tokenize="flores200")
    else:  # pragma: no cover - sentencepiece is not a dependency
        pytest.skip("sentencepiece is installed here")


def test_engine_and_jobs_options_through_the_api():
    result = evalkit.score("ter", predictions=["a b c"], references=["a c b"], engine="reference", jobs="2")
    assert result.value == STER().corpus_score(["a b c"], [["a c b"]]).score


def test_tokenized_period_warning_as_sacrebleu(caplog):
    preds = [f"sentence number {i} ." for i in range(120)]
    with caplog.at_level("WARNING", logger="sacrebleu"):
        BLEU().score(predictions=preds, references=preds)
    assert "That's 100 lines that end in a tokenized period ('.')" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="sacrebleu"):
        BLEU(force=True).score(predictions=preds, references=preds)
    assert "tokenized period" not in caplog.text


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


@pytest.mark.parametrize("engine", ENGINES)
def test_item_statistics_sum_to_corpus_score(engine):
    metric = BLEU(engine=engine)
    stats = metric.item_statistics(predictions=PREDS, references=REFS)
    assert len(stats) == len(PREDS)
    assert math.isclose(
        metric.value_from_statistics(stats),
        metric.score(predictions=PREDS, references=REFS).value,
        rel_tol=0,
        abs_tol=0,
    )


def test_chunked_statistics_equal_one_pass(monkeypatch):
    # the reference engine extracts statistics in chunks to bound memory; the
    # corpus score, sentence scores and nrefs:var signature must not change
    import evalkit.metrics.sacrebleu_metrics as module

    whole = BLEU(engine="reference").score(predictions=PREDS, references=REFS)
    monkeypatch.setattr(module, "_CHUNK", 7)
    chunked = BLEU(engine="reference").score(predictions=PREDS, references=REFS)
    assert chunked.value == whole.value and chunked.per_item == whole.per_item
    assert chunked.signature == whole.signature and "nrefs:var" in chunked.signature
