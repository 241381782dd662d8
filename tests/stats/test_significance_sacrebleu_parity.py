"""Our paired tests give sacrebleu's own p-values for BLEU, chrF and TER.

The sufficient statistics come from sacrebleu's metric objects here, so these
tests pin the resampling and the p-value formula; the metric classes of
``evalkit.metrics.sacrebleu_metrics`` are checked against the same numbers in
``test_metric_statistics.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest, estimate_ci
from synthetic_mt import SEED, make_corpus

from evalkit.stats import SumStatistics, bootstrap_indices, paired_test


def _statistics(metric, hypotheses, references) -> SumStatistics:
    rows = metric._extract_corpus_statistics(hypotheses, references)
    return SumStatistics(
        np.asarray(rows),
        lambda sums: metric._compute_score_from_stats(sums).score,
        sacrebleu_compatible=True,
    )


METRICS = {"BLEU": BLEU, "chrF2": CHRF, "TER": TER}


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(240, seed=3)


@pytest.mark.parametrize("test_type,method,n", [("bs", "bootstrap", 1000), ("ar", "ar", 3000)])
@pytest.mark.parametrize("name", list(METRICS))
def test_p_value_equals_sacrebleu_paired_test(monkeypatch, corpus, test_type, method, n, name):
    base, system, refs = corpus
    monkeypatch.setenv("SACREBLEU_SEED", str(SEED))
    metric = METRICS[name]()
    _, scores = PairedTest([("base", base), ("sys", system)], {name: metric}, refs, test_type=test_type, n_samples=n)()
    (result_name,) = [k for k in scores if k != "System"]
    expected = scores[result_name][1]

    ours = paired_test(
        _statistics(METRICS[name](), system, refs),
        _statistics(METRICS[name](), base, refs),
        method=method,
        n_resamples=n,
        seed=SEED,
    )
    assert ours.p_value == expected.p_value
    assert ours.system_value == expected.score
    assert ours.baseline_value == scores[result_name][0].score
    # the difference is not so large that every p-value is the minimum
    assert ours.p_value > 1 / (n + 1)


@pytest.mark.parametrize("name", list(METRICS))
def test_bootstrap_resamples_equal_sacrebleus(monkeypatch, corpus, name):
    """sacrebleu's paired-bs CI (mean, half-width) from our resampled scores."""
    base, system, refs = corpus
    monkeypatch.setenv("SACREBLEU_SEED", str(SEED))
    _, scores = PairedTest(
        [("base", base), ("sys", system)], {name: METRICS[name]()}, refs, test_type="bs", n_samples=500
    )()
    (result_name,) = [k for k in scores if k != "System"]
    expected = scores[result_name][1]
    stats = _statistics(METRICS[name](), system, refs)
    values = stats.resampled_values(bootstrap_indices(stats.n_items, n_resamples=500, seed=SEED))
    mean, half_width = estimate_ci(values)
    assert mean == expected.mean
    assert half_width == expected.ci


def test_value_from_statistics_equals_corpus_score(corpus):
    base, _, refs = corpus
    for name, cls in METRICS.items():
        assert _statistics(cls(), base, refs).value() == cls().corpus_score(base, refs).score, name


def _sacrebleu_cli(paths, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sacrebleu",
            str(paths["ref0"]),
            str(paths["ref1"]),
            "-i",
            str(paths["base"]),
            str(paths["sys"]),
            "-m",
            "bleu",
            "chrf",
            "ter",
            *args,
        ],
        capture_output=True,
        text=True,
        env={"SACREBLEU_SEED": str(SEED), "PATH": ""},
        check=True,
    ).stdout


def test_p_value_equals_sacrebleu_command_line(tmp_path, corpus):
    base, system, refs = corpus
    paths = {}
    for label, lines in {"ref0": refs[0], "ref1": refs[1], "base": base, "sys": system}.items():
        paths[label] = tmp_path / f"{label}.txt"
        paths[label].write_text("\n".join(lines) + "\n", encoding="utf-8")

    def ours(cls, method, n):
        return paired_test(
            _statistics(cls(), system, refs),
            _statistics(cls(), base, refs),
            method=method,
            n_resamples=n,
            seed=SEED,
        ).p_value

    # --paired-ar with JSON output: the full float
    candidate = json.loads(_sacrebleu_cli(paths, "--paired-ar", "--paired-ar-n", "2000", "-f", "json"))[1]
    for key, cls in (("BLEU", BLEU), ("chrF2", CHRF), ("TER", TER)):
        assert ours(cls, "ar", 2000) == candidate[key]["p_value"], key

    # --paired-bs cannot print JSON in sacrebleu 2.6.0 (float32 is not JSON
    # serialisable): read the table's "(p = 0.0180)" cells, four decimals.
    table = _sacrebleu_cli(paths, "--paired-bs", "--paired-bs-n", "1000", "-f", "text", "--no-color")
    (p_line,) = [line for line in table.splitlines() if "(p = " in line]
    printed = [float(x) for x in re.findall(r"\(p = ([0-9.]+)\)", p_line)]
    assert printed == [round(ours(cls, "bootstrap", 1000), 4) for cls in (BLEU, CHRF, TER)]


def test_identical_systems_get_p_one_not_sacrebleus_minimum(corpus):
    base, _, refs = corpus
    stats = _statistics(BLEU(), base, refs)
    for method in ("ar", "bootstrap"):
        assert paired_test(stats, _statistics(BLEU(), base, refs), method=method, n_resamples=200).p_value == 1.0
