"""Every bad input gets exit code 2 and one clear message on stderr: no
traceback, no report written."""

from __future__ import annotations

import pytest


@pytest.fixture
def files(write):
    return {
        "pred": write("pred.txt", "the cat sat\na dog ran\n"),
        "ref": write("ref.txt", "the cat sat down\na dog ran off\n"),
        "ref3": write("ref3.txt", "one\ntwo\nthree\n"),
        "bad_utf8": write("bad.txt", b"ok line\nbroken \xc3\x28 here\n"),
        "empty": write("empty.txt", ""),
        "bad_json": write("pred.jsonl", '{"text": "a"}\n{"text": "b",}\n'),
        "no_field": write("nofield.jsonl", '{"text": "a"}\n{"output": "b"}\n'),
    }


CASES = [
    (
        ["score", "--metric", "bleu", "--predictions", "{pred}", "--references", "{ref3}"],
        ["2 predictions in", "pred.txt", "3 references in", "ref3.txt"],
    ),
    (
        ["score", "--metric", "bleu", "--predictions", "{bad_utf8}", "--references", "{ref}"],
        ["bad.txt:2:", "invalid UTF-8 at byte 15", "byte 7 of the line"],
    ),
    (
        ["score", "--metric", "bleu", "--predictions", "{tmp}/missing.txt", "--references", "{ref}"],
        ["missing.txt", "no such file"],
    ),
    (
        ["score", "--metric", "blue", "--predictions", "{pred}", "--references", "{ref}"],
        ["unknown metric 'blue'", "known metrics:", "bleu", "rougeL"],
    ),
    (
        [
            "score",
            "--metric",
            "rouge",
            "--predictions",
            "{pred}",
            "--references",
            "{ref}",
            "--set",
            "rouge.use_stemer=true",
        ],
        ["unknown option 'use_stemer'", "use_stemmer"],
    ),
    (
        [
            "score",
            "--metric",
            "rouge",
            "--predictions",
            "{pred}",
            "--references",
            "{ref}",
            "--set",
            "rouge.use_stemmer=maybe",
        ],
        ["use_stemmer='maybe'", "input should be a valid boolean"],
    ),
    (
        [
            "score",
            "--metric",
            "bleu",
            "--predictions",
            "{pred}",
            "--references",
            "{ref}",
            "--set",
            "bleu.max_ngram_order=four",
        ],
        ["bleu.max_ngram_order='four'", "input should be a valid integer"],
    ),
    (
        ["score", "--metric", "bleu", "--predictions", "{pred}", "--references", "{ref}", "--set", "bleu_tokenize"],
        ["is not METRIC.OPTION=VALUE"],
    ),
    (
        ["score", "--metric", "bleu", "--predictions", "{bad_json}", "--references", "{ref}"],
        ["pred.jsonl:2:", "not valid JSON"],
    ),
    (
        [
            "score",
            "--metric",
            "bleu",
            "--predictions",
            "{no_field}",
            "--references",
            "{ref}",
            "--prediction-field",
            "text",
        ],
        ["nofield.jsonl:2:", "no field 'text'"],
    ),
    (
        ["score", "--metric", "bleu", "--predictions", "{empty}", "--references", "{ref}"],
        ["empty.txt", "the file is empty"],
    ),
    (
        ["compare", "--system", "a={pred}", "--system", "b={ref3}", "--references", "{ref}", "--out", "{tmp}/out"],
        ["3 predictions in", "ref3.txt", "system 'b'", "2 references"],
    ),
    (
        ["compare", "--system", "a={pred}", "--system", "a={pred}", "--references", "{ref}", "--out", "{tmp}/out"],
        ["--system: the name 'a' is given twice"],
    ),
    (["compare", "--system", "nameless", "--references", "{ref}", "--out", "{tmp}/out"], ["is not NAME=FILE"]),
    (["score", "--metric", "bleu", "--predictions", "{pred}"], ["needs references"]),
    (
        [
            "score",
            "--metric",
            "rouge",
            "--predictions",
            "{pred}",
            "--references",
            "{ref}",
            "--set",
            "rouge.split_summaries=true",
        ],
        ["punkt_tab", "sentence_splitter=simple"],
    ),
]


@pytest.mark.parametrize("argv, expected", CASES, ids=[" ".join(c[0][:2]) + f"-{i}" for i, c in enumerate(CASES)])
def test_bad_input_exits_2_with_one_clear_message(evalkit_cli, files, tmp_path, argv, expected):
    args = [a.format(tmp=tmp_path, **files) for a in argv]
    proc = evalkit_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("evalkit: error: ")
    for fragment in expected:
        assert fragment in proc.stderr, (fragment, proc.stderr)
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_bad_config_exits_2(evalkit_cli, write):
    config = write("c.toml", 'metrics = ["bleu"]\n[systems]\na = "missing.txt"\n[references]\npath = "r.txt"\n')
    proc = evalkit_cli("run", config)
    assert proc.returncode == 2 and "r.txt" in proc.stderr and "no such file" in proc.stderr
    bad = write("bad.toml", "metrics = [\n")
    proc = evalkit_cli("run", bad)
    assert proc.returncode == 2 and "invalid TOML" in proc.stderr and "Traceback" not in proc.stderr
    typo = write("typo.toml", 'metrics = ["bleu"]\nsystem = {}\n')
    proc = evalkit_cli("run", typo)
    assert proc.returncode == 2 and "unknown key 'system'" in proc.stderr
