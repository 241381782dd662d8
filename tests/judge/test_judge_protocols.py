"""Verdict protocols: strict parsing; nothing clamped or guessed."""

from __future__ import annotations

import math

import pytest

from evalkit.judge.protocols import gbnf_grammar, json_schema, parse_verdict
from evalkit.judge.templates import load_template

SINGLE = load_template("mt-bench-single")
PAIR = load_template("mt-bench-pairwise")
PLAIN_PAIR = load_template("pairwise")


def text(content, finish="stop"):
    return {"content": content, "finish_reason": finish}


@pytest.mark.parametrize(
    "template, content, value",
    [
        (SINGLE, "Good answer. Rating: [[7]]", 7),
        (SINGLE, "Rating: [[3]] on second thought Rating: [[8]]", 8),  # the last match wins
        (SINGLE, "[[10]]", 10),  # MT-Bench's parser accepts [[N]] without 'Rating:'
        (PAIR, "A is longer but B is right. [[B]]", "second"),
        (PAIR, "both fine [[C]]", "tie"),
        (PLAIN_PAIR, "reasons... Verdict: [[tie]]", "tie"),
        (PLAIN_PAIR, "Verdict:  [[ A ]]", "first"),
    ],
)
def test_text_protocol_reads_the_last_verdict(template, content, value):
    verdict = parse_verdict(template, "text", text(content))
    assert verdict.ok and verdict.value == value


@pytest.mark.parametrize(
    "template, response, reason",
    [
        (SINGLE, text("Rating: [[11]]"), "outside the scale 1-10"),
        (SINGLE, text("Rating: [[0]]"), "outside the scale 1-10"),
        (SINGLE, text("Rating: [[7.5]]"), "outside the scale 1-10"),
        (SINGLE, text("Rating: [[seven]]"), "outside the scale"),
        (SINGLE, text("I would give it a seven."), "no verdict in the format"),
        (SINGLE, text(""), "empty answer"),
        (SINGLE, text("   \n"), "empty answer"),
        (SINGLE, {"content": None, "finish_reason": "stop"}, "empty answer"),
        (SINGLE, text("Rating: [[9]] and then", finish="length"), "truncated"),
        (SINGLE, text("I'm sorry, but I can't evaluate this."), "refusal"),
        (SINGLE, {"content": None, "refusal": "I cannot help"}, "refusal"),
        (PAIR, text("[[D]]"), "not one of A, B, C"),
        (PAIR, text("[[a]]"), "not one of A, B, C"),
        (PAIR, text("Assistant A is better."), "no verdict"),
    ],
)
def test_text_protocol_leaves_bad_answers_unscored(template, response, reason):
    verdict = parse_verdict(template, "text", response)
    assert not verdict.ok and verdict.value is None and verdict.p_first is None
    assert reason in verdict.unscored


def test_grammar_protocol_accepts_exactly_a_legal_label():
    assert parse_verdict(PAIR, "grammar", text("B")).value == "second"
    assert parse_verdict(SINGLE, "grammar", text("4\n")).value == 4
    assert parse_verdict(PLAIN_PAIR, "grammar", text("tie")).value == "tie"
    # A server that ignored the grammar is caught, not parsed leniently.
    ignored = parse_verdict(PAIR, "grammar", text("I think [[A]]"))
    assert not ignored.ok and "does not follow the grammar" in ignored.unscored
    assert not parse_verdict(SINGLE, "grammar", text("11")).ok
    assert "truncated" in parse_verdict(PAIR, "grammar", text("A", finish="length")).unscored


def test_grammar_json_schema_is_validated():
    assert parse_verdict(SINGLE, "grammar", text('{"verdict": 6}'), backend="json_schema").value == 6
    # llama.cpp does not enforce integer bounds: the value must still be checked.
    huge = parse_verdict(SINGLE, "grammar", text('{"verdict": 1000000000000000}'), backend="json_schema")
    assert not huge.ok and "outside the scale" in huge.unscored
    assert "not JSON" in parse_verdict(PAIR, "grammar", text("[[A]]"), backend="json_schema").unscored
    assert "lacks 'verdict'" in parse_verdict(PAIR, "grammar", text('{"v": "A"}'), backend="json_schema").unscored


def test_gbnf_and_schema_admit_only_legal_verdicts():
    assert gbnf_grammar(PAIR) == 'root ::= "A" | "B" | "C"'
    assert gbnf_grammar(PLAIN_PAIR) == 'root ::= "A" | "B" | "tie"'
    assert gbnf_grammar(SINGLE) == "root ::= " + " | ".join(f'"{i}"' for i in range(1, 11))
    assert json_schema(SINGLE)["properties"]["verdict"]["enum"] == list(range(1, 11))


def lp(*pairs):
    return {
        "content": pairs[0][0],
        "finish_reason": "length",
        "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in pairs],
    }


def test_logprobs_pairwise_renormalises_legal_tokens():
    verdict = parse_verdict(PAIR, "logprobs", lp(("A", 0.5), ("**", 0.2), (" B", 0.15), ("B", 0.05), ("C", 0.1)))
    assert verdict.ok and verdict.label == "A" and verdict.value == "first"
    # legal mass 0.8: A 0.5/0.8, B (two spellings) 0.2/0.8, C 0.1/0.8
    assert verdict.probabilities["A"] == pytest.approx(0.625)
    assert verdict.probabilities["B"] == pytest.approx(0.25)
    assert verdict.p_first == pytest.approx(0.625 + 0.5 * 0.125)
    assert verdict.missing_labels == ()


def test_logprobs_single_expected_score_and_missing_label_bound():
    verdict = parse_verdict(SINGLE, "logprobs", lp(("8", 0.6), ("7", 0.3), ("x", 0.05)))
    assert verdict.value == pytest.approx((8 * 0.6 + 7 * 0.3) / 0.9)
    assert set(verdict.missing_labels) == {"1", "2", "3", "4", "5", "6", "9", "10"}
    # Each missing label is below the smallest top-k probability, and together
    # they are below the mass the top-k leaves out.
    assert verdict.missing_mass_bound == pytest.approx(min(1 - 0.95, 8 * 0.05))


def test_logprobs_without_a_legal_token_is_unscored():
    verdict = parse_verdict(PAIR, "logprobs", lp(("The", 0.7), ("I", 0.2)))
    assert not verdict.ok and "no legal verdict token" in verdict.unscored
    assert "no top_logprobs" in parse_verdict(PAIR, "logprobs", text("A")).unscored
