"""The ROUGE metric class: both engines equal rouge-score, several references
pick the best F per type, unscored items stay None, and the runner scores the
four types in one pass."""

from __future__ import annotations

import pytest
from rouge_score.rouge_scorer import RougeScorer

import evalkit
from evalkit.metrics.rouge import Rouge
from tests.textgen import varied_pairs

PREDS, REFS = varied_pairs(240, seed=11, long_words=800)
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def expected(types, preds, refs, use_stemmer):
    scorer = RougeScorer(types, use_stemmer=use_stemmer)
    rows = [scorer.score(r[0], p) if len(r) == 1 else scorer.score_multi(r, p) for p, r in zip(preds, refs)]
    return {t: [(s[t].precision, s[t].recall, s[t].fmeasure) for s in rows] for t in types}


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("use_stemmer", [False, True])
def test_engines_equal_rouge_score(engine, use_stemmer):
    # newlines inside texts make rougeLsum differ from rougeL
    preds = [p.replace(" . ", " .\n") for p in PREDS]
    refs = [[r.replace(" ? ", " ?\n") for r in rs] for rs in REFS]
    want = expected(TYPES, preds, refs, use_stemmer)
    results = evalkit.score_many(
        "rouge", predictions=preds, references=refs, options={"rouge": {"use_stemmer": use_stemmer, "engine": engine}}
    )
    for t in TYPES:
        result = results[t]
        fs = [f for _, _, f in want[t]]
        assert result.per_item == pytest.approx(fs, abs=1e-12, rel=0)
        assert result.value == pytest.approx(sum(fs) / len(fs), abs=1e-12, rel=0)
        assert result.details["precision"] == pytest.approx(sum(p for p, _, _ in want[t]) / len(fs), abs=1e-12, rel=0)
        assert result.details["recall"] == pytest.approx(sum(r for _, r, _ in want[t]) / len(fs), abs=1e-12, rel=0)
        assert f"engine:{engine}" in result.signature and f"stem:{'yes' if use_stemmer else 'no'}" in result.signature


def test_documented_rouge_score_example():
    # rouge-score's README: score('The quick brown fox jumps over the lazy dog',
    #   'The quick brown dog jumps on the log.') prints rouge1 P=0.75 R=0.6667
    #   F=0.7059 and rougeL P=0.625 R=0.5556 F=0.5882
    r1 = evalkit.score(
        "rouge1",
        predictions=["The quick brown dog jumps on the log."],
        references=["The quick brown fox jumps over the lazy dog"],
    )
    assert r1.details["precision"] == 0.75 and r1.details["recall"] == pytest.approx(2 / 3)
    rl = evalkit.score(
        "rougeL",
        predictions=["The quick brown dog jumps on the log."],
        references=["The quick brown fox jumps over the lazy dog"],
    )
    assert round(r1.value, 4) == 0.7059
    assert (rl.details["precision"], round(rl.details["recall"], 4), round(rl.value, 4)) == (0.625, 0.5556, 0.5882)


def test_missing_prediction_is_unscored():
    result = Rouge(rouge_type="rouge1").score(predictions=["a b", None], references=["a b", "c"])
    assert result.per_item == (1.0, None)
    assert (result.n_scored, result.n_unscored, result.value) == (1, 1, 1.0)
    assert result.unscored[1] == "missing prediction"


def test_runner_scores_rouge_types_jointly(monkeypatch):
    calls = []
    original = Rouge._compute

    def counting(self, types, preds, refs):
        calls.append(tuple(types))
        return original(self, types, preds, refs)

    monkeypatch.setattr(Rouge, "_compute", counting)
    evalkit.compare({"a": ["x y"], "b": ["y z"]}, references=["x y z"], metrics="rouge,bleu")
    assert calls == [tuple(TYPES), tuple(TYPES)]  # one pass per system, not four


def test_simple_sentence_splitter_feeds_rougelsum():
    text = "The cat sat. The dog ran! Did it rain?"
    split = evalkit.score(
        "rougeLsum",
        predictions=[text],
        references=["The dog ran. The cat sat."],
        split_summaries=True,
        sentence_splitter="simple",
    )
    joined = evalkit.score("rougeLsum", predictions=[text], references=["The dog ran. The cat sat."])
    scorer = RougeScorer(["rougeLsum"])
    want = scorer.score("The dog ran.\nThe cat sat.", "The cat sat.\nThe dog ran!\nDid it rain?")["rougeLsum"].fmeasure
    assert split.value == pytest.approx(want, abs=1e-12)
    assert joined.value != split.value
    assert "split:simple" in split.signature


def test_group_name_in_score_points_to_score_many():
    with pytest.raises(evalkit.ConfigError, match="score_many"):
        evalkit.score("rouge", predictions=["a"], references=["a"])
