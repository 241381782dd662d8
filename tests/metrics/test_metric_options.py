"""Metric options reach the library unchanged: a legal choice of the library
is never turned into something else on the way (the review found the string
"none" silently replaced by the default tokenizer)."""

from __future__ import annotations

import pytest
import sacrebleu

import evalkit
from evalkit.errors import ConfigError
from tests.conftest import run_evalkit

HYPS = ["The cat, sat on the mat!", "Hello,world -- it's 3.5 % better", "a b c d e f"]
REFS = ["The cat sat on the mat.", "Hello, world: it is 3.5% better", "a b c d e g"]

#: every string option of our metrics whose legal values include "none"
NONE_CHOICES = [("bleu", "tokenize", "tok:none"), ("bleu", "smooth_method", "smooth:none")]


@pytest.mark.parametrize("metric,option,signature", NONE_CHOICES)
def test_the_string_none_reaches_the_library(metric, option, signature):
    ours = evalkit.score(metric, predictions=HYPS, references=REFS, **{option: "none"})
    theirs = sacrebleu.metrics.BLEU(**{option: "none"}).corpus_score(HYPS, [REFS])
    assert signature in ours.signature
    assert ours.value == pytest.approx(theirs.score, abs=1e-12)
    if option == "tokenize":  # on this data the tokenizer changes the score: it was not dropped
        assert ours.value != evalkit.score(metric, predictions=HYPS, references=REFS).value


@pytest.mark.parametrize("metric,option,signature", NONE_CHOICES)
def test_the_string_none_reaches_the_library_from_the_command_line(write, metric, option, signature):
    hyp = write("hyp.txt", "\n".join(HYPS) + "\n")
    ref = write("ref.txt", "\n".join(REFS) + "\n")
    proc = run_evalkit(
        "score",
        "--metric",
        metric,
        "--predictions",
        hyp,
        "--references",
        ref,
        "--set",
        f"{metric}.{option}=none",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    assert signature in proc.stdout


def test_json_null_still_means_not_set():
    result = evalkit.score("bleu", predictions=HYPS, references=REFS, tokenize=None)
    assert "tok:13a" in result.signature


def test_constrained_option_is_refused_with_the_metric_and_option_named():
    from evalkit.metrics.registry import create_metric

    with pytest.raises(ConfigError, match=r"option mauve\.num_buckets=1: .*greater than or equal to 2"):
        create_metric("mauve", num_buckets=1)
