"""Reading human labels (evalkit.judge.labels): the three formats, ids, and
every bad row as one InputError naming the file and line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from evalkit.errors import InputError
from evalkit.judge.labels import PairLabel, ScoreLabel, load_labels, load_prompt_ids

PAIRWISE = [
    PairLabel(0, "x", "y", "x", "ann", "math", 2),
    PairLabel(1, "y", "x", "tie", None, None, 3),
]


@pytest.mark.parametrize(
    "name, text",
    [
        ("l.csv", "item,system_a,system_b,winner,annotator,category\n0,x,y,x,ann,math\n1,y,x,TIE,,\n"),
        ("l.tsv", "item\tsystem_a\tsystem_b\twinner\tannotator\tcategory\n0\tx\ty\tx\tann\tmath\n1\ty\tx\ttie\t\t\n"),
        (
            "l.jsonl",
            '{"item": 0, "system_a": "x", "system_b": "y", "winner": "x", "annotator": "ann", "category": "math"}\n'
            '{"item": 1, "system_a": "y", "system_b": "x", "winner": "tie", "note": "ignored"}\n',
        ),
    ],
)
def test_pairwise_formats_read_the_same(write, name, text):
    labels = load_labels(str(write(name, text)), mode="pairwise", n_items=2, systems=["x", "y"])
    offset = 0 if name.endswith(".jsonl") else 1  # a header row comes first
    assert labels.pairs == tuple(replace(p, line=p.line - 1 + offset) for p in PAIRWISE)
    assert labels.for_pair("x", "y") == {0: ["a"], 1: ["tie"]}
    assert labels.for_pair("y", "x") == {0: ["b"], 1: ["tie"]}
    assert labels.categories("x", "y") == {0: "math"}


def test_single_labels_and_annotator_counts(write):
    path = write("s.jsonl", '{"item": 0, "system": "x", "score": 7}\n{"item": 0, "system": "x", "score": "8.5"}\n')
    labels = load_labels(str(path), mode="single", n_items=1, systems=["x"])
    assert labels.scores == (ScoreLabel(0, "x", 7.0, line=1), ScoreLabel(0, "x", 8.5, line=2))
    assert labels.for_system("x") == {(0, "x"): [7.0, 8.5]}
    assert labels.n_annotators("x") == 2  # unnamed rows on one item are distinct annotators


def test_items_by_prompt_id(write):
    prompts = write("p.jsonl", '{"id": 17, "text": "a"}\n{"id": "q2", "text": "b"}\n')
    ids = load_prompt_ids(str(prompts), "id")
    assert ids == ["17", "q2"]
    path = write("l.jsonl", '{"item": "q2", "system_a": "x", "system_b": "y", "winner": "y"}\n')
    labels = load_labels(str(path), mode="pairwise", n_items=2, systems=["x", "y"], ids=ids)
    assert labels.pairs[0].item == 1


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("item,system_a,system_b,winner\n0,x,y,x\n0,x,y\n", 3, "3 columns, the header has 4"),
        ("item,system_a,system_b,winner\n0,x,y,x\n5,x,y,x\n", 3, "item '5' is not a prompt index (0 to 1)"),
        ("item,system_a,system_b,winner\n-1,x,y,x\n", 2, "item '-1' is not a prompt index"),
        ("item,system_a,system_b,winner\n0,x,z,x\n", 2, "system 'z' is not judged in this run"),
        ("item,system_a,system_b,winner\n0,x,y,both\n", 2, "winner 'both' is neither 'x', 'y' nor 'tie'"),
        ("item,system_a,system_b,winner\n0,x,x,x\n", 2, "system_a and system_b are both 'x'"),
        ("item,system_a,winner\n0,x,x\n", 2, "no 'system_b'"),
        ("item,system_a,system_b,winner,annotator\n0,x,y,x,h\n0,y,x,x,h\n", 3, "annotator 'h' labels item 0 twice"),
        ("item,system_a,system_b,winner,category\n0,x,y,x,a\n0,x,y,y,b\n", 3, "item 0 has category 'b' here"),
    ],
)
def test_bad_pairwise_rows_name_file_and_line(write, text, line, message):
    path = write("bad.csv", text)
    with pytest.raises(InputError) as err:
        load_labels(str(path), mode="pairwise", n_items=2, systems=["x", "y"])
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ('{"item": 0, "system": "x", "score": "good"}\n', 1, "score 'good' is not a number"),
        ('{"item": 0, "system": "x", "score": true}\n', 1, "score True is not a number"),
        ('{"item": 0, "system": "x"}\n', 1, "no 'score'"),
        ('{"item": 0, "system": "x", "score": 1}\n{"item": 0.5, "system": "x", "score": 1}\n', 2, "item 0.5"),
        ('{"item": 0, "system": "x", "score": 1}\nnot json\n', 2, "not valid JSON"),
    ],
)
def test_bad_single_rows_name_file_and_line(write, text, line, message):
    path = write("bad.jsonl", text)
    with pytest.raises(InputError) as err:
        load_labels(str(path), mode="single", n_items=1, systems=["x"])
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)


def test_unknown_id_and_duplicate_ids(write):
    path = write("l.csv", "item,system_a,system_b,winner\nq9,x,y,x\n")
    with pytest.raises(InputError, match=r"l\.csv:2: item 'q9' is not the id of any prompt"):
        load_labels(str(path), mode="pairwise", n_items=1, systems=["x", "y"], ids=["q1"])
    prompts = write("p.csv", "id,text\nq1,a\nq1,b\n")
    with pytest.raises(InputError, match=r"p\.csv:3: id 'q1' is used twice \(also line 2\)"):
        load_prompt_ids(str(prompts), "id")


def test_a_plain_text_or_empty_labels_file_is_refused(write):
    with pytest.raises(InputError, match="not a .jsonl, .csv or .tsv file"):
        load_labels(str(write("l.txt", "0 x y x\n")), mode="pairwise", n_items=1, systems=["x", "y"])
    with pytest.raises(InputError, match="no labels"):
        load_labels(str(write("l.csv", "item,system_a,system_b,winner\n")), mode="pairwise", n_items=1, systems=["x"])
