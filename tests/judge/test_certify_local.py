"""One real report card of the local judge (llama.cpp + Gemma 3 270M) on a
small subset of a shipped set, through the real command line; the card's
numbers are derived again here from its judgments.jsonl and the set's files."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections import Counter

import pytest

pytestmark = pytest.mark.local_judge

ROOT = pathlib.Path(__file__).resolve().parents[2]
SET = ROOT / "datasets" / "human" / "pandalm-test"
LIMIT = 4
CLASS = {("ab", "first"): "a", ("ab", "second"): "b", ("ba", "first"): "b", ("ba", "second"): "a"}
VALUE = {"a": 1.0, "tie": 0.5, "b": 0.0}


def _jsonl(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _majority(votes: list[str]) -> str:
    counts = Counter(votes).most_common()
    return "tie" if len(counts) > 1 and counts[0][1] == counts[1][1] else counts[0][0]


def test_certify_the_local_judge_on_four_pairs(tmp_path):
    out = tmp_path / "card"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "evalkit.cli", "judge", "certify", "--set", "pandalm-test", "--judge", "local",
         "--protocol", "grammar", "--limit", str(LIMIT), "--no-cache", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    card = json.loads((out / "card.json").read_text())
    calls = _jsonl(out / "judgments.jsonl")
    assert (card["items"], card["calls"], card["model"], card["local"]) == (LIMIT, 2 * LIMIT, "gemma-3-270m", True)
    scored = [c for c in calls if c["unscored"] is None]
    assert card["first_position_rate"] == pytest.approx(sum(c["meaning"] == "first" for c in scored) / len(scored))
    # The reconciled verdict of each item from answer_1's side, and the humans' majority.
    by_item: dict[int, dict[str, str]] = {}
    for c in scored:
        by_item.setdefault(c["item"], {})[c["order"]] = (
            "tie" if c["meaning"] == "tie" else CLASS[(c["order"], c["meaning"])]
        )
    judge = {i: (o["ab"] if o["ab"] == o["ba"] else "tie") for i, o in by_item.items() if len(o) == 2}
    votes: dict[int, list[str]] = {}
    for row in _jsonl(SET / "labels.jsonl"):
        side = "tie" if row["winner"] == "tie" else ("a" if row["winner"] == "answer_1" else "b")
        votes.setdefault(row["item"], []).append(side)
    human = {i: _majority(votes[i]) for i in judge}
    credit = [1 - abs(VALUE[judge[i]] - VALUE[human[i]]) for i in judge]
    assert card["labelled"] == len(judge) and card["unscored"] == LIMIT - len(judge)
    assert card["agreement"] == pytest.approx(sum(credit) / len(credit))
    assert card["position_consistency"] == pytest.approx(sum(o["ab"] == o["ba"] for o in by_item.values()) / LIMIT)
    # Length preference of the humans on the same four items (characters).
    a = [r["text"] for r in _jsonl(SET / "answer_1.jsonl")[:LIMIT]]
    b = [r["text"] for r in _jsonl(SET / "answer_2.jsonl")[:LIMIT]]
    decisive = [i for i in range(LIMIT) if _majority(votes[i]) != "tie" and len(a[i]) != len(b[i])]
    longer = sum((_majority(votes[i]) == "a") == (len(a[i]) > len(b[i])) for i in decisive)
    assert card["human_longer_preferred"] == {"share": longer / len(decisive) if decisive else None, "n": len(decisive)}
    assert card["annotators"] == 3 and card["human_agreement"] is not None
    assert (out / "card.md").read_text() == result.stdout
    assert "What this judge may be used for" in result.stdout
