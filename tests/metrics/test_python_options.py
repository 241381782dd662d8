"""Metric options given from Python are checked against the same declaration
as ``--set`` and config files (the ``__init__`` signature, or the judge's
settings), and nothing is converted: a wrong type is a ConfigError naming the
option and what it should be. The command line's strings are still converted
before they reach the constructor."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from evalkit.errors import ConfigError
from evalkit.judge.types import Price
from evalkit.metrics.judge import JudgePairwise, JudgeScore
from evalkit.metrics.mauve import Mauve
from evalkit.metrics.registry import create_metric
from evalkit.metrics.rouge import Rouge
from evalkit.metrics.sacrebleu_metrics import BLEU, CHRF, TER
from tests.conftest import run_evalkit

JUDGE = {"base_url": "http://127.0.0.1:9/v1", "model": "m"}  # never contacted: nothing is scored

WRONG = [
    (Rouge, {"use_stemmer": "true"}, r"option rouge\.use_stemmer='true': input should be a valid boolean"),
    (Rouge, {"jobs": "2"}, r"option rouge\.jobs='2': input should be a valid integer"),
    (Rouge, {"jobs": 2.0}, r"option rouge\.jobs=2\.0: input should be a valid integer"),
    (Rouge, {"rouge_type": 1}, r"option rouge\.rouge_type=1: input should be a valid string"),
    (Rouge, {"engine": "slow"}, r"option rouge\.engine='slow': input should be 'fast' or 'reference'"),
    (BLEU, {"max_ngram_order": "4"}, r"option bleu\.max_ngram_order='4': input should be a valid integer"),
    (BLEU, {"lowercase": "no"}, r"option bleu\.lowercase='no': input should be a valid boolean"),
    (BLEU, {"smooth_value": "0.1"}, r"option bleu\.smooth_value='0\.1': input should be a valid number"),
    (BLEU, {"tokenize": 13}, r"option bleu\.tokenize=13: input should be a valid string"),
    (CHRF, {"char_order": "6"}, r"option chrf\.char_order='6': input should be a valid integer"),
    (CHRF, {"beta": 2.5}, r"option chrf\.beta=2\.5: input should be a valid integer"),
    (CHRF, {"word_order": None}, r"option chrf\.word_order=None: input should be a valid integer"),
    (TER, {"normalized": "1"}, r"option ter\.normalized='1': input should be a valid boolean"),
    (TER, {"case_sensitive": 1}, r"option ter\.case_sensitive=1: input should be a valid boolean"),
    (TER, {"engine": 3}, r"option ter\.engine=3: input should be 'fast' or 'reference'"),
    (Mauve, {"seeds": "3"}, r"option mauve\.seeds='3': input should be a valid integer"),
    (Mauve, {"seeds": True}, r"option mauve\.seeds=True: input should be a valid integer"),
    (Mauve, {"cache": "no"}, r"option mauve\.cache='no': input should be a valid boolean"),
    (Mauve, {"kmeans_explained_var": "0.5"}, r"option mauve\.kmeans_explained_var='0\.5': input should be a valid number"),
    (Mauve, {"num_buckets": "8"}, r"option mauve\.num_buckets='8': input should be a valid integer or input should be 'auto'"),
    (JudgeScore, {**JUDGE, "concurrency": "4"}, r"metric judge: concurrency = '4': Input should be a valid integer"),
    (JudgeScore, {**JUDGE, "temperature": "0"}, r"metric judge: temperature = '0': Input should be a valid number"),
    (JudgeScore, {**JUDGE, "model": 5}, r"metric judge: model = 5: Input should be a valid string"),
    (JudgePairwise, {**JUDGE, "swap": "yes"}, r"metric judge_pairwise: swap = 'yes': Input should be a valid boolean"),
    (JudgePairwise, {**JUDGE, "repeats": 1.5}, r"metric judge_pairwise: repeats = 1\.5: Input should be a valid integer"),
]  # fmt: skip


@pytest.mark.parametrize("cls, options, message", WRONG, ids=lambda v: getattr(v, "__name__", None))
def test_a_wrong_type_from_python_is_a_config_error_naming_the_option(cls, options, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        cls(**options)


@pytest.mark.parametrize(
    "cls, options, message",
    [
        (Rouge, {"nope": 1}, "unknown option 'nope' for metric 'rouge'"),
        (BLEU, {"order": 4}, "unknown option 'order' for metric 'bleu'"),
        (Mauve, {"seed_count": 3}, "unknown option 'seed_count' for metric 'mauve'"),
        (JudgeScore, {**JUDGE, "swap": False}, "metric judge: unknown key 'swap'"),  # a pairwise setting
    ],
    ids=["rouge", "bleu", "mauve", "judge"],
)
def test_an_unknown_option_from_python_is_a_config_error(cls, options, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        cls(**options)


HYPS = ["The cats were sitting on the mat", "a quick brown fox jumped"]
REFS = ["the cat sat on the mat", "the quick brown fox jumps"]


def test_right_types_still_give_the_reference_libraries_numbers():
    ours = BLEU(max_ngram_order=2, lowercase=True, smooth_value=0.1, smooth_method="floor")
    theirs = sacrebleu.metrics.BLEU(max_ngram_order=2, lowercase=True, smooth_value=0.1, smooth_method="floor")
    assert ours.score(predictions=HYPS, references=REFS).value == pytest.approx(
        theirs.corpus_score(HYPS, [REFS]).score, abs=1e-12
    )
    chrf = CHRF(char_order=4, word_order=2, beta=1).score(predictions=HYPS, references=REFS).value
    assert chrf == pytest.approx(
        sacrebleu.metrics.CHRF(char_order=4, word_order=2, beta=1).corpus_score(HYPS, [REFS]).score, abs=1e-12
    )
    ter = TER(case_sensitive=True, normalized=True).score(predictions=HYPS, references=REFS).value
    assert ter == pytest.approx(
        sacrebleu.metrics.TER(case_sensitive=True, normalized=True).corpus_score(HYPS, [REFS]).score, abs=1e-12
    )
    rouge = Rouge(rouge_type="rouge1", use_stemmer=True, jobs=1).score(predictions=HYPS, references=REFS)
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    expected = [scorer.score(r, h)["rouge1"].fmeasure for h, r in zip(HYPS, REFS)]
    assert rouge.per_item == pytest.approx(expected, abs=1e-12)
    # with stemming "cats"/"cat" and "jumped"/"jumps" match: the option reached the scorer
    assert rouge.value > Rouge(rouge_type="rouge1").score(predictions=HYPS, references=REFS).value


def test_right_types_are_kept_as_given():
    mauve = Mauve(seeds=3, seed=10, num_buckets=4, kmeans_explained_var=0.5, mauve_scaling_factor=2, cache=False)
    assert mauve.seed_list == [10, 11, 12]
    assert (mauve.num_buckets, mauve.kmeans_explained_var, mauve.mauve_scaling_factor) == (4, 0.5, 2)
    assert Mauve(num_buckets="auto", max_text_length=None).num_buckets == "auto"
    judge = JudgeScore(**JUDGE, concurrency=4, temperature=0, price="1,2", template="mt-bench-single")
    assert (judge.settings.concurrency, judge.settings.temperature) == (4, 0)
    assert judge.settings.price == Price(1.0, 2.0)  # the documented "IN,OUT" form
    assert JudgePairwise(**JUDGE, price=[0.5, 4], swap=False).settings.price == Price(0.5, 4.0)
    assert BLEU(tokenize="none", smooth_value=None).options["tokenize"] == "none"


def test_a_subclass_calling_its_parent_is_checked_against_the_parent_s_options():
    class Bigram(BLEU):
        def __init__(self, *, case: bool = False) -> None:
            super().__init__(max_ngram_order=2, lowercase=not case)

    assert Bigram().options["max_ngram_order"] == 2
    assert Bigram(case=True).options["lowercase"] is False


def test_strings_from_the_command_line_and_config_are_still_converted():
    assert create_metric("bleu", max_ngram_order="2", lowercase="true").options == (
        BLEU(max_ngram_order=2, lowercase=True).options
    )
    assert create_metric("mauve", seeds="3", num_buckets="auto").seed_list == [25, 26, 27]
    judge = create_metric("judge", **JUDGE, concurrency="4", temperature="0.5", template="mt-bench-single")
    assert (judge.settings.concurrency, judge.settings.temperature) == (4, 0.5)
    with pytest.raises(ConfigError, match=r"^option bleu\.max_ngram_order='x': input should be a valid integer"):
        create_metric("bleu", max_ngram_order="x")


def test_set_options_on_the_command_line_are_converted(write):
    hyp = write("hyp.txt", "\n".join(HYPS) + "\n")
    ref = write("ref.txt", "\n".join(REFS) + "\n")
    proc = run_evalkit(
        "compare", "--system", f"s={hyp}", "--references", ref, "--metrics", "bleu,rouge1", "--format", "json",
        "--set", "bleu.max_ngram_order=2", "--set", "bleu.lowercase=true", "--set", "rouge.use_stemmer=true",
        "--set", "rouge.jobs=1", "--out", write("out/.keep", "").parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    values = {r["metric"]: r["value"] for r in json.loads(proc.stdout)["results"]}
    assert values["bleu"] == pytest.approx(
        BLEU(max_ngram_order=2, lowercase=True).score(predictions=HYPS, references=REFS).value, abs=1e-9
    )
    assert values["rouge1"] == pytest.approx(
        Rouge(rouge_type="rouge1", use_stemmer=True).score(predictions=HYPS, references=REFS).value, abs=1e-9
    )
