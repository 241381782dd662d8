"""The real entry point: output formats, report files, config runs."""

from __future__ import annotations

import csv
import io
import json
import re

import sacrebleu

from tests.conftest import REPO

DEMO = REPO / "datasets" / "demo"


def test_score_json_schema_and_values(evalkit_cli, write):
    pred = write("p.txt", "the cat sat on the mat\nhello world\n\n")
    ref = write("r.txt", "the cat sat on a mat\nhello there world\nsomething\n")
    proc = evalkit_cli("score", "--metric", "bleu,chrf", "--predictions", pred, "--references", ref, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["metric"] for r in doc["results"]] == ["bleu", "chrf"]
    for record in doc["results"]:
        assert set(record) == {"system", "metric", "value", "details", "n_scored", "n_unscored", "signature"}
        assert record["system"] == "p" and record["n_scored"] == 3 and record["n_unscored"] == 0
    hyps = ["the cat sat on the mat", "hello world", ""]
    refs = [["the cat sat on a mat", "hello there world", "something"]]
    assert doc["results"][0]["value"] == sacrebleu.corpus_bleu(hyps, refs).score
    assert doc["results"][1]["value"] == sacrebleu.corpus_chrf(hyps, refs).score


def test_score_several_references_files(evalkit_cli, write):
    pred = write("p.txt", "the cat sat on the mat\n")
    r1 = write("r1.txt", "a cat sat on a mat\n")
    r2 = write("r2.txt", "the cat sat on the mat\n")
    proc = evalkit_cli(
        "score", "--metric", "bleu", "--predictions", pred, "--references", r1, "--references", r2, "--format", "csv"
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert (
        float(rows[0]["value"])
        == sacrebleu.corpus_bleu(["the cat sat on the mat"], [["a cat sat on a mat"], ["the cat sat on the mat"]]).score
    )
    assert rows[0]["signature"].startswith("nrefs:2|")


def test_jsonl_with_varying_reference_lists(evalkit_cli, write):
    pred = write("p.jsonl", '{"output": "a b c d"}\n{"output": "e f g h"}\n')
    ref = write("r.jsonl", '{"refs": ["a b c d"]}\n{"refs": ["x", "e f g h"]}\n')
    proc = evalkit_cli(
        "score",
        "--metric",
        "bleu",
        "--predictions",
        pred,
        "--references",
        ref,
        "--prediction-field",
        "output",
        "--reference-field",
        "refs",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)["results"][0]
    assert abs(record["value"] - 100.0) < 1e-9  # both items match one of their references
    assert record["signature"].startswith("nrefs:var|")


def test_compare_writes_all_reports_and_prints_the_table(evalkit_cli, tmp_path):
    out = tmp_path / "out"
    proc = evalkit_cli(
        "compare",
        "--references",
        DEMO / "references.txt",
        "--system",
        f"strong={DEMO / 'system_strong.txt'}",
        "--system",
        f"weak={DEMO / 'system_weak.txt'}",
        "--metrics",
        "rougeL,bleu,ter",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["system", "rougeL", "bleu", "ter", "(lower", "is", "better)"]
    assert lines[2].startswith("strong") and lines[3].startswith("weak")
    assert sorted(p.name for p in out.iterdir()) == [
        "items.csv",
        "report.html",
        "report.md",
        "statistics.json",
        "summary.csv",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    values = {(r["system"], r["metric"]): r["value"] for r in summary["results"]}
    assert values[("strong", "bleu")] > values[("weak", "bleu")]
    assert values[("strong", "ter")] < values[("weak", "ter")]
    items = list(csv.DictReader((out / "items.csv").open()))
    assert len(items) == 120 * 2 * 3
    assert {r["metric"] for r in items} == {"rougeL", "bleu", "ter"}
    report = (out / "report.md").read_text()
    assert re.search(r"^\| strong +\|", report, re.M) and "nrefs:1|case:mixed" in report
    assert report.count("## Confidence intervals") == 1


def test_unscored_item_is_empty_in_csv_and_counted(evalkit_cli, write, tmp_path):
    pred = write("p.jsonl", '{"text": "the cat"}\n{"text": null}\n')
    ref = write("r.txt", "the cat\nthe dog\n")
    out = tmp_path / "o"
    proc = evalkit_cli("compare", "--system", f"s={pred}", "--references", ref, "--metrics", "rouge1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "1 of 2 items unscored" in proc.stdout
    items = list(csv.DictReader((out / "items.csv").open()))
    assert [r["value"] for r in items] == ["1.0", ""]


def test_run_config_equals_compare(evalkit_cli, tmp_path, write):
    config = write(
        "c.toml",
        f'''out = "out"
metrics = ["rouge1", "chrf"]
[references]
paths = ["{DEMO / "references.txt"}", "{DEMO / "references_alt.txt"}"]
[systems]
strong = "{DEMO / "system_strong.txt"}"
[options.rouge]
use_stemmer = true
''',
    )
    proc = evalkit_cli("run", config, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    from_config = json.loads(proc.stdout)["results"]
    proc2 = evalkit_cli(
        "compare",
        "--references",
        DEMO / "references.txt",
        "--references",
        DEMO / "references_alt.txt",
        "--system",
        f"strong={DEMO / 'system_strong.txt'}",
        "--metrics",
        "rouge1,chrf",
        "--set",
        "rouge.use_stemmer=true",
        "--format",
        "json",
        "--out",
        tmp_path / "o2",
    )
    assert json.loads(proc2.stdout)["results"] == from_config
    assert "stem:yes" in from_config[0]["signature"]
    assert (tmp_path / "out" / "summary.json").exists()


def test_metrics_command_lists_groups(evalkit_cli):
    proc = evalkit_cli("metrics")
    assert proc.returncode == 0
    assert "rouge  (= rouge1, rouge2, rougeL, rougeLsum)" in proc.stdout.splitlines()
