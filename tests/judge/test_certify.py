"""``evalkit judge certify`` end to end against scripted judges of known
behaviour on a tiny labelled set, with every number of the card computed by
hand below; ``--compare``; bad ``--set`` names and bad cards."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
from scripted_server import Reply

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Seven items. answer_1 of item i contains "one<i>", answer_2 "two<i>"; their
# lengths (characters) make answer_1 longer on items 0-2, answer_2 longer on
# 3-5, and item 6 a draw.
LENGTHS = [(40, 10), (35, 12), (30, 8), (9, 31), (11, 44), (7, 25), (20, 20)]
# Three annotators per item; majority: a, a, b, b, a, tie, a.
VOTES = [
    ("a", "a", "a"),
    ("a", "a", "b"),
    ("b", "b", "b"),
    ("b", "b", "tie"),
    ("a", "a", "a"),
    ("tie", "tie", "a"),
    ("a", "a", "a"),
]
NAMES = {"a": "answer_1", "b": "answer_2", "tie": "tie"}


def _answer(tag: str, i: int, length: int) -> str:
    head = f"{tag}{i} "
    return head + "x" * (length - len(head))


def make_set(folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir()
    lines = {"prompts": [], "answer_1": [], "answer_2": []}
    for i, (la, lb) in enumerate(LENGTHS):
        lines["prompts"].append({"text": f"question q{i}"})
        lines["answer_1"].append({"text": _answer("one", i, la)})
        lines["answer_2"].append({"text": _answer("two", i, lb)})
    for name, rows in lines.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = [
        {"item": i, "system_a": "answer_1", "system_b": "answer_2", "winner": NAMES[v], "annotator": f"h{k}"}
        for i, votes in enumerate(VOTES)
        for k, v in enumerate(votes)
    ]
    (folder / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    (folder / "set.toml").write_text(
        'name = "tiny"\ndescription = "seven hand-made pairs"\nprompts = "prompts.jsonl"\n'
        'labels = "labels.jsonl"\nitems = 7\nlabel_rows = 21\nannotators = 3\nlicence = "CC0"\n'
        'source = "tests"\n\n[systems]\nanswer_1 = "answer_1.jsonl"\nanswer_2 = "answer_2.jsonl"\n'
    )
    return folder


def shown_first(request) -> tuple[str, int]:
    """("one" or "two", item) of the answer shown first in a judge request."""
    text = "\n".join(str(m.get("content", "")) for m in request["messages"])
    found = re.search(r"\b(one|two)(\d)\b", text)
    return found.group(1), int(found.group(2))


def longer_judge(request, n):
    """Always the longer answer; on a draw, the first one shown."""
    first, item = shown_first(request)
    la, lb = LENGTHS[item]
    first_len, second_len = (la, lb) if first == "one" else (lb, la)
    return Reply("Verdict: [[A]]" if first_len >= second_len else "Verdict: [[B]]")


def first_judge(request, n):
    """Always the answer shown first."""
    return Reply("Verdict: [[A]]")


def evalkit(*args):
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "evalkit.cli", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def certify(server, tmp_path, name):
    out = tmp_path / name
    result = evalkit(
        "judge", "certify", "--set", make_set(tmp_path / f"set-{name}"),
        "--base-url", server.base_url, "--model", name, "--template", "pairwise",
        "--cache", tmp_path / "cache.sqlite", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((out / "card.json").read_text()), result.stdout, out


def test_card_of_a_judge_that_always_picks_the_longer_answer(scripted, tmp_path):
    card, stdout, out = certify(scripted(longer_judge), tmp_path, "longer")
    # Reconciled verdicts a, a, a, b, b, b, tie against humans a, a, b, b, a, tie, a:
    # credits 1, 1, 0, 1, 0, 0.5 (decisive vs a human tie), 0.5 (tie vs decisive) = 4 / 7.
    assert card["agreement"] == pytest.approx(4 / 7)
    # Cohen's kappa: p_o = 3/7; p_e = (3*4 + 3*2 + 1*1) / 49 = 19/49; (21 - 19) / (49 - 19).
    assert card["kappa"] == pytest.approx(2 / 30)
    assert card["agreement_without_ties"] == pytest.approx(3 / 5)  # items 0-4 decisive on both sides
    # Every annotator pair of every item: 3+1+3+1+3+1+3 matches of 21.
    assert card["human_agreement"] == pytest.approx(15 / 21)
    assert card["longer_preferred"] == {"share": 1.0, "n": 6}  # every decisive verdict; item 6 is a draw
    # Humans decisive on items 0-4 (item 6 a draw): longer chosen on 0, 1, 3.
    assert card["human_longer_preferred"] == {"share": 0.6, "n": 5}
    # 14 calls: one "first" per item 0-5 (the longer shown first), two on the draw.
    assert card["first_position_rate"] == pytest.approx(8 / 14)
    assert card["position_consistency"] == pytest.approx(6 / 7)
    # Constant judges: always answer_1 4.5/7, always tie 4/7, always answer_2 2.5/7.
    assert (card["constant_judge"], card["constant"], card["chance"]) == ("answer_1", pytest.approx(4.5 / 7), 0.5)
    assert (card["items"], card["labelled"], card["annotators"], card["unscored"]) == (7, 7, 3, 0)
    assert card["calls"] == 14 and card["prompt_tokens"] == 14 * 100 and card["completion_tokens"] == 14 * 10
    assert card["agreement_ci"][0] <= card["agreement"] <= card["agreement_ci"][1]
    assert "No better than chance" in stdout and "0.5714 [" in stdout
    assert "1.0000 of 6 decisive" in stdout and "humans: 0.6000 of 5 decisive" in stdout
    assert (out / "card.md").read_text() == stdout
    assert json.loads((out / "summary.json").read_text())["pairs"][0]["n"] == 7


def test_card_of_a_judge_that_always_picks_the_first_position(scripted, tmp_path):
    card, stdout, _ = certify(scripted(first_judge), tmp_path, "first")
    assert card["first_position_rate"] == 1.0
    assert card["position_consistency"] == 0.0
    # Every item a reconciled tie: half credit on the 6 decisive labels, full on item 5's tie.
    assert card["agreement"] == pytest.approx(4 / 7)
    assert card["longer_preferred"] == {"share": None, "n": 0}
    assert "n/a (no decisive verdict)" in stdout
    assert card["human_longer_preferred"] == {"share": 0.6, "n": 5}


def oracle_judge(request, n):
    """The humans' majority, in both orders (a tie label: [[tie]])."""
    first, item = shown_first(request)
    human = majority[item]
    if human == "tie":
        return Reply("Verdict: [[tie]]")
    return Reply("Verdict: [[A]]" if (human == "a") == (first == "one") else "Verdict: [[B]]")


majority = ["a", "a", "b", "b", "a", "tie", "a"]


def test_card_of_a_judge_that_agrees_with_the_humans(scripted, tmp_path):
    card, stdout, _ = certify(scripted(oracle_judge), tmp_path, "oracle")
    assert (card["agreement"], card["kappa"], card["agreement_both_orders"]) == (1.0, 1.0, 1.0)
    assert card["agreement_ci"] == [1.0, 1.0]
    # Its decisive verdicts are the humans': longer on items 0, 1, 3 of 0-4 (6 is a draw).
    assert card["longer_preferred"] == {"share": 0.6, "n": 5}
    # One "first" per decisive item (6 of them), of 14 scored calls (item 5's two are "tie").
    assert card["first_position_rate"] == pytest.approx(6 / 14)
    assert "Better than chance (0.5000; 0.6429 for a judge that always answers 'answer_1')" in stdout


def contrary_judge(request, n):
    """The opposite of the humans' majority in both orders (a decisive verdict where they tie)."""
    first, item = shown_first(request)
    human = majority[item]
    pick_first = (human != "a") == (first == "one") if human != "tie" else True
    return Reply("Verdict: [[A]]" if pick_first else "Verdict: [[B]]")


def test_card_of_a_judge_that_contradicts_the_humans_says_worse_than_chance(scripted, tmp_path):
    card, stdout, _ = certify(scripted(contrary_judge), tmp_path, "contrary")
    # Six decisive items all wrong (0 each); item 5 a reconciled tie against a human tie (1): 1/7.
    assert card["agreement"] == pytest.approx(1 / 7)
    assert card["agreement_ci"][1] < 0.5
    assert "Worse than chance on this set" in stdout and "No better than chance" not in stdout


def test_compare_prints_one_table_across_cards(scripted, tmp_path):
    _, _, out_longer = certify(scripted(longer_judge), tmp_path, "longer")
    _, _, out_first = certify(scripted(first_judge), tmp_path, "first")
    result = evalkit("judge", "certify", "--compare", out_longer / "card.json", out_first / "card.json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("| judge")
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = dict(zip(header, cells))
    assert (row["judge"], row["set"], row["longer (judge)"], row["longer (humans)"]) == (
        "longer",
        "tiny",
        "1.0000",
        "0.6000",
    )
    assert row["first-position"] == "0.5714" and row["best constant"] == "0.6429"
    second = dict(zip(header, [c.strip() for c in lines[3].strip("|").split("|")]))
    assert (second["judge"], second["first-position"], second["consistency"]) == ("first", "1.0000", "0.0000")


@pytest.mark.parametrize("option", [["--shard", "1/2"], ["--null-canary"], ["--canary", "c.jsonl"], ["--baseline", "x"]])
def test_certify_refuses_the_options_a_card_cannot_take(option):
    # a card needs every call of the set, and the set fixes the pair it judges
    result = evalkit("judge", "certify", "--set", "llmbar-natural", "--judge", "local", *option)
    assert result.returncode == 2 and f"unrecognized arguments: {option[0]}" in result.stderr


def test_an_unknown_set_exits_2_listing_the_shipped_sets():
    result = evalkit("judge", "certify", "--set", "mtbench", "--judge", "local")
    assert result.returncode == 2
    assert "--set 'mtbench': no such human-labelled set" in result.stderr
    assert "llmbar-natural" in result.stderr and "pandalm-test" in result.stderr
    assert "Traceback" not in result.stderr
    shown = evalkit("judge", "certify", "--help")
    assert shown.returncode == 0 and "(llmbar-natural,pandalm-test)" in "".join(shown.stdout.split())


def test_compare_of_a_file_that_is_not_a_card_exits_2(tmp_path):
    bad = tmp_path / "summary.json"
    bad.write_text('{"mode": "pairwise"}')
    result = evalkit("judge", "certify", "--compare", bad)
    assert result.returncode == 2
    assert f"{bad}" in result.stderr and "not an evalkit report card" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_set_folder_with_a_broken_set_toml_exits_2(tmp_path):
    folder = make_set(tmp_path / "own")
    (folder / "set.toml").write_text('name = "own"\n[systems]\nanswer_1 = "answer_1.jsonl"\n')
    result = evalkit("judge", "certify", "--set", folder, "--judge", "local")
    assert result.returncode == 2
    assert f"{folder / 'set.toml'}: not a labelled set's set.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_judge_whose_every_answer_is_unscored_gets_no_verdict_never_a_zero(scripted, tmp_path):
    card, stdout, _ = certify(scripted(lambda request, n: Reply("I cannot decide.")), tmp_path, "mute")
    assert (card["unscored"], card["unscored_rate"], card["labelled"]) == (7, 1.0, 0)
    assert card["agreement"] is None and card["kappa"] is None and card["human_agreement"] is None
    assert (card["constant"], card["constant_judge"]) == (None, None)
    assert "No verdict: no item had both a human label and a scored judge verdict." in stdout
    assert "n/a (no labelled, scored item)" in stdout and "always one verdict: n/a" in stdout
