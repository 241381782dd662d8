"""The human-labelled sets shipped in datasets/human/: every file parses
through evalkit's own readers, and the counts match set.toml and the README."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from evalkit.judge.agreement import majority_label
from evalkit.judge.inputs import load_inputs
from evalkit.judge.labels import load_labels
from evalkit.judge.sets import labelled_set, shipped_sets
from evalkit.judge.types import JudgeData

SETS = sorted(shipped_sets())
README_LINE = re.compile(
    r"Items: (\d+) · label rows: (\d+) · annotators per item: (\d+) · (?:majority )?winners: "
    r"answer_1 (\d+), answer_2 (\d+), tie (\d+)"
)


def test_both_sets_are_shipped():
    assert SETS == ["llmbar-natural", "pandalm-test"]


@pytest.mark.parametrize("name", SETS)
def test_a_shipped_set_parses_and_matches_its_readme(name):
    s = labelled_set(name)
    inputs = load_inputs(JudgeData(prompts=str(s.prompts), systems={k: str(v) for k, v in s.systems.items()}))
    labels = load_labels(str(s.labels), mode="pairwise", n_items=inputs.n_items, systems=list(inputs.systems))
    by_item = labels.for_pair(*s.pair)
    winners = Counter(majority_label(votes) for votes in by_item.values())
    counts = (inputs.n_items, len(labels.pairs), labels.n_annotators(*s.pair))
    assert counts == (s.items, s.label_rows, s.annotators)
    assert sorted(by_item) == list(range(s.items))  # every item labelled
    assert all(len(votes) == s.annotators for votes in by_item.values())
    readme = (s.folder / "README.md").read_text(encoding="utf-8")
    found = README_LINE.search(readme)
    assert found, "the README's first line gives the counts"
    assert tuple(map(int, found.groups())) == (*counts, winners["a"], winners["b"], winners["tie"])
    assert all(p is not None for p in inputs.prompts)
    assert (s.folder / "LICENSE").is_file() and s.licence in readme
    assert re.search(r"commit\s+`[0-9a-f]{40}`", readme) and re.search(r"/blob/[0-9a-f]{40}/", s.source)


def test_pandalm_keeps_three_annotators_who_sometimes_disagree():
    s = labelled_set("pandalm-test")
    inputs_n = s.items
    labels = load_labels(str(s.labels), mode="pairwise", n_items=inputs_n, systems=list(s.systems))
    split = [votes for votes in labels.for_pair(*s.pair).values() if len(set(votes)) > 1]
    assert len(split) == 33  # the README: the three agree on 267 items, two of three on 33
