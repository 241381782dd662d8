"""File reading rules: one segment per line, JSONL fields, CSV/TSV columns,
and an InputError naming file and line for every bad file."""

from __future__ import annotations

import json

import pytest

from evalkit.errors import InputError
from evalkit.inputs import read_segments


@pytest.mark.parametrize(
    "content, expected",
    [
        ("a\nb\n", ["a", "b"]),
        ("a\nb", ["a", "b"]),  # no final newline
        ("a\r\nb\r\n", ["a", "b"]),  # CRLF tolerated
        ("a\n\nc\n", ["a", "", "c"]),  # an empty line is a segment
        ("\n", [""]),
        ("x\u2028y\n", ["x\u2028y"]),  # only \n splits
        ("tab\tinside\n", ["tab\tinside"]),
    ],
)
def test_plain_text_lines(write, content, expected):
    assert read_segments(write("p.txt", content)) == expected


def test_invalid_utf8_names_line_and_byte(write):
    path = write("bad.txt", b"fine\nalso fine\nbad \xff here\n")
    with pytest.raises(InputError) as info:
        read_segments(path)
    message = str(info.value)
    assert f"{path}:3:" in message and "invalid UTF-8 at byte 19" in message and "byte 4 of the line" in message


def test_missing_and_empty_files(tmp_path, write):
    with pytest.raises(InputError, match="no such file"):
        read_segments(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="the file is empty"):
        read_segments(write("empty.txt", ""))


def test_jsonl_fields_null_and_lists(write):
    path = write("p.jsonl", '{"output": "a"}\n\n{"output": null}\n{"output": ["r1", "r2"]}\n')
    with pytest.raises(InputError, match=r"p.jsonl:4: field 'output'"):
        read_segments(path, field="output")  # a list is not a prediction
    assert read_segments(path, field="output", allow_lists=True) == ["a", None, ["r1", "r2"]]


def test_jsonl_default_field_is_found(write):
    assert read_segments(write("p.jsonl", '{"id": 1, "text": "hi"}\n')) == ["hi"]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"text": "a"}\n{"text": "b"\n', r"p.jsonl:2: not valid JSON"),
        ('{"text": "a"}\n{"other": "b"}\n', r"p.jsonl:2: the object has no field 'text'"),
        ('["a"]\n', r"p.jsonl:1: each line must be a JSON object"),
        ('{"text": 3}\n', r"p.jsonl:1: field 'text' is 3"),
    ],
)
def test_jsonl_errors_name_the_line(write, content, message):
    with pytest.raises(InputError, match=message):
        read_segments(write("p.jsonl", content), field="text")


def test_csv_and_tsv_columns(write):
    csv_path = write("p.csv", 'id,output\n1,"a, with comma"\n2,"multi\nline"\n')
    assert read_segments(csv_path, field="output") == ["a, with comma", "multi\nline"]
    assert read_segments(csv_path, field="1") == ["a, with comma", "multi\nline"]
    tsv_path = write("p.tsv", "text\tid\nhello\t1\n")
    assert read_segments(tsv_path) == ["hello"]


def test_csv_errors(write):
    with pytest.raises(InputError, match=r"p.csv:1: no column 'missing'"):
        read_segments(write("p.csv", "a,b\n1,2\n"), field="missing")
    with pytest.raises(InputError, match=r"q.csv:3: 1 columns, the header has 2"):
        read_segments(write("q.csv", "text,b\n1,2\nonly\n"))


def test_field_on_plain_text_is_refused(write):
    with pytest.raises(InputError, match="plain-text file"):
        read_segments(write("p.txt", "a\n"), field="text")


# -- a UTF-8 byte-order mark is not text (issue 9, defect 2) ---------------------------

BOM = "\ufeff".encode()


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("p.txt", "first line\nsecond\n", ["first line", "second"]),
        ("p.jsonl", '{"text": "first"}\n{"text": "second"}\n', ["first", "second"]),
        ("p.csv", "text,id\nfirst,1\nsecond,2\n", ["first", "second"]),
        ("p.tsv", "text\tid\nfirst\t1\nsecond\t2\n", ["first", "second"]),
    ],
)
def test_a_leading_bom_is_dropped_in_every_format(write, name, content, expected):
    plain = read_segments(write(name, content))
    with_bom = read_segments(write("bom-" + name, BOM + content.encode()))
    assert with_bom == plain == expected


def test_a_bom_csv_finds_its_first_column_by_name(write):
    # the reported failure: "no column 'text' (columns: \ufefftext, id)"
    path = write("p.csv", BOM + b"text,id\nhello,1\n")
    assert read_segments(path, field="text") == ["hello"]
    assert read_segments(path, field=0) == ["hello"]


def test_only_a_leading_bom_is_dropped(write):
    # U+FEFF inside the text is a (zero-width no-break) character, kept as is
    path = write("p.txt", BOM + "a\n\ufeffb\n".encode())
    assert read_segments(path) == ["a", "\ufeffb"]


def test_a_file_holding_only_a_bom_is_empty(write):
    with pytest.raises(InputError, match="the file is empty"):
        read_segments(write("p.txt", BOM))


def test_bom_reference_copy_scores_bleu_100_through_the_cli(write, evalkit_cli):
    text = "the cat sat on the mat\na quick brown fox jumps over the lazy dog\nhello there\n"
    predictions = write("pred.txt", text)
    references = write("ref.txt", BOM + text.encode())
    done = evalkit_cli(
        "score", "--metric", "bleu", "--predictions", predictions, "--references", references, "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["value"] == pytest.approx(100.0)
