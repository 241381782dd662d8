"""Judge templates: every shipped one loads; broken files fail naming the file."""

from __future__ import annotations

import pathlib

import pytest

from evalkit.errors import ConfigError, TemplateError
from evalkit.judge.templates import PROTOCOLS, available_templates, load_template

SHIPPED = ["single", "single-ref", "pairwise", "pairwise-ref", "mt-bench-single", "mt-bench-pairwise"]


def test_every_required_template_ships():
    assert set(SHIPPED) <= set(available_templates())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_template_is_complete(name):
    t = load_template(name)
    assert t.name == name and t.version
    assert t.mode == ("single" if "single" in name else "pairwise")
    assert t.needs_reference == name.endswith("-ref")
    for protocol in PROTOCOLS:
        assert t.instructions_for(protocol)
    # Every legal verdict written in the template's own format parses back.
    for label in t.labels:
        match = t.pattern.findall("blah " + t.verdict_text(label))
        assert match and match[-1].strip() == label


def test_mt_bench_formats():
    single = load_template("mt-bench-single")
    assert single.verdict_text("7") == "Rating: [[7]]" and single.labels == tuple(str(i) for i in range(1, 11))
    pair = load_template("mt-bench-pairwise")
    assert [pair.verdict_text(x) for x in pair.labels] == ["[[A]]", "[[B]]", "[[C]]"]
    assert dict(pair.values) == {"A": "first", "B": "second", "C": "tie"}


GOOD = """
name = "t"
version = "3"
mode = "pairwise"
[messages]
system = "Judge. {format_instructions}"
user = "Q {question} A {answer_a} B {answer_b}"
[verdict]
format = "[[{verdict}]]"
labels = { first = "A", second = "B" }
[instructions]
text = "say [[A]] or [[B]]"
"""


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "custom.toml"
    path.write_text(text)
    return path


def test_template_from_path(tmp_path):
    t = load_template(write(tmp_path, GOOD))
    assert t.id == "t@3" and t.labels == ("A", "B")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.replace('version = "3"\n', ""), "missing key 'version'"),
        (lambda s: s.replace("{answer_b}", "{answer_c}"), "unknown placeholder(s) {answer_c}"),
        (lambda s: s.replace("B {answer_b}", "B"), "messages lack {answer_b}"),
        (
            lambda s: s.replace('mode = "pairwise"', 'mode = "triple"'),
            "mode = 'triple': Input should be 'pairwise' or 'single'",
        ),
        (
            lambda s: s.replace('format = "[[{verdict}]]"', 'format = "[[{verdict}]]"\npattern = "(("'),
            "not a valid regex",
        ),
        (lambda s: s.replace('format = "[[{verdict}]]"', 'format = "Verdict: {verdict}"'), "nothing after {verdict}"),
        (lambda s: s.replace("first = ", "firsts = "), "missing key 'verdict.labels.first'"),
        (lambda s: "bogus = 1\n" + s, "unknown key 'bogus'"),
        (lambda s: s.replace("[messages]", "[messages"), "invalid TOML"),
        (lambda s: s.replace('text = "say', 'essay = "say'), "unknown key 'instructions.essay'"),
    ],
)
def test_broken_template_names_file_and_problem(tmp_path, edit, message):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_unknown_template_name_lists_shipped_ones():
    with pytest.raises(ConfigError) as info:
        load_template("no-such-judge")
    assert "no-such-judge" in str(info.value) and "mt-bench-pairwise" in str(info.value)


def test_missing_template_file(tmp_path):
    with pytest.raises(ConfigError, match="template file not found"):
        load_template(tmp_path / "absent.toml")


def test_protocol_without_instructions_is_a_clear_error(tmp_path):
    t = load_template(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="no \\[instructions\\] logprobs"):
        t.instructions_for("logprobs")
    assert t.instructions_for("grammar") == "say [[A]] or [[B]]"  # grammar falls back to text


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda s: s.replace('mode = "pairwise"', 'mode = "pairwise"\nmax_tokens = 0'),
            "max_tokens = 0: Input should be greater than or equal to 1",
        ),
        (
            lambda s: s.replace('first = "A"', 'first = ""'),
            "verdict.labels.first = '': String should have at least 1 character",
        ),
        (lambda s: s.replace('second = "B"', 'second = "A"'), "verdict.labels uses 'A' twice"),
        (lambda s: s.replace('labels = { first = "A", second = "B" }', ""), "verdict.labels is missing"),
        (lambda s: s.replace("[messages]", "[messages]\nsytem = 'x'"), "unknown key 'messages.sytem'"),
    ],
)
def test_template_keys_are_checked_by_the_schema(tmp_path, edit, message):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_a_single_template_needs_a_scale(tmp_path):
    text = GOOD.replace('mode = "pairwise"', 'mode = "single"').replace("{answer_a}", "{answer}")
    text = text.replace(" B {answer_b}", "").replace('labels = { first = "A", second = "B" }', "scale = [10, 1]")
    with pytest.raises(
        TemplateError, match=r"verdict.scale must be \[LOW, HIGH\] with integers LOW < HIGH, not \[10, 1\]"
    ):
        load_template(write(tmp_path, text))
    assert load_template(write(tmp_path, text.replace("[10, 1]", "[0, 3]"))).labels == ("0", "1", "2", "3")
