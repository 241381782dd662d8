"""Human labels end to end: ``evalkit judge pairwise|single --labels`` against a
scripted judge whose agreement with the labels is known, gates on
``agreement`` in ``evalkit run``, bad labels files, and one short run of the
real local judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from scripted_server import Reply, user_text

from tests.conftest import run_evalkit

#: what each system answers per item: the scripted judge prefers "good"
X = ["good", "good", "good", "good", "bad", "bad", "bad", "bad"]
Y = ["bad", "bad", "good", "good", "good", "good", "bad", "bad"]
# The judge (no position bias) says: x, x, tie, tie, y, y, tie, tie.
# Labels (annotator h1 on every item, h2 on items 0 and 2), majority:
#   x (match), y (opposite: 0), tie (match), x (judge tie: 1/2),
#   y (match), y (match), tie (match), y (judge tie: 1/2)
LABELS = [
    {"item": 0, "system_a": "x", "system_b": "y", "winner": "x", "annotator": "h1", "category": "easy"},
    {"item": 0, "system_a": "y", "system_b": "x", "winner": "x", "annotator": "h2", "category": "easy"},
    {"item": 1, "system_a": "x", "system_b": "y", "winner": "y", "annotator": "h1", "category": "easy"},
    {"item": 2, "system_a": "x", "system_b": "y", "winner": "tie", "annotator": "h1", "category": "easy"},
    {"item": 2, "system_a": "x", "system_b": "y", "winner": "x", "annotator": "h2", "category": "easy"},
    {"item": 3, "system_a": "y", "system_b": "x", "winner": "x", "annotator": "h1", "category": "easy"},
    {"item": 4, "system_a": "x", "system_b": "y", "winner": "y", "annotator": "h1", "category": "hard"},
    {"item": 5, "system_a": "x", "system_b": "y", "winner": "y", "annotator": "h1", "category": "hard"},
    {"item": 6, "system_a": "x", "system_b": "y", "winner": "tie", "annotator": "h1", "category": "hard"},
    {"item": 7, "system_a": "x", "system_b": "y", "winner": "y", "annotator": "h1", "category": "hard"},
]


def _answer(text: str, slot: str) -> str:
    found = re.search(rf"<<<{slot} \S+>>>\n(.*?)\n<<<END {slot}", text, flags=re.S)
    assert found is not None, text
    return found.group(1)


def prefers_good(request: dict, n: int) -> Reply:
    text = user_text(request)
    first, second = ("good" in _answer(text, slot) for slot in ("ANSWER_A", "ANSWER_B"))
    if first == second:
        return Reply("Equal. [[C]]")
    return Reply("[[A]]" if first else "[[B]]")


def write_data(tmp_path: Path, labels: list[dict] | None = None) -> list[str]:
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(len(X))))
    for name, answers in (("x", X), ("y", Y)):
        (tmp_path / f"{name}.txt").write_text("".join(f"a {a} answer to {i}\n" for i, a in enumerate(answers)))
    rows = LABELS if labels is None else labels
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return ["--prompts", tmp_path / "prompts.txt", "--system", f"x={tmp_path / 'x.txt'}"] + [
        "--system",
        f"y={tmp_path / 'y.txt'}",
    ]


def judge_args(tmp_path: Path, base_url: str) -> list:
    return ["--base-url", base_url, "--model", "scripted", "--template", "mt-bench-pairwise"] + [
        "--cache",
        tmp_path / "cache.sqlite",
        "--out",
        tmp_path / "out",
    ]


def test_pairwise_labels_recover_the_known_agreement(scripted, tmp_path):
    server = scripted(prefers_good)
    args = write_data(tmp_path)
    result = run_evalkit(
        "judge", "pairwise", *args, *judge_args(tmp_path, server.base_url), "--labels", tmp_path / "labels.jsonl"
    )
    assert result.returncode == 0, result.stderr
    (pair,) = json.loads((tmp_path / "out" / "summary.json").read_text())["pairs"]
    a = pair["human_agreement"]
    assert (a["system_a"], a["system_b"], a["n"], a["n_annotators"]) == ("x", "y", 8, 2)
    assert a["accuracy"] == pytest.approx(6 / 8)
    # no position bias: each order alone gives the reconciled verdict
    assert a["accuracy_ab"] == a["accuracy_ba"] == pytest.approx(6 / 8)
    assert a["accuracy_both"] == a["agreement_with_ties"] == pytest.approx(5 / 8)
    assert (a["agreement_without_ties"], a["n_without_ties"]) == (pytest.approx(3 / 4), 4)
    # judge (1/4 x, 1/4 y, 1/2 tie), humans (1/4, 1/2, 1/4): p_e = 5/16, p_o = 5/8
    assert a["kappa"] == pytest.approx((5 / 8 - 5 / 16) / (1 - 5 / 16))
    assert a["human_human_agreement"] == pytest.approx(1 / 2)  # item 0 agree, item 2 not
    low, high = a["accuracy_ci"]
    assert 0.0 <= low <= 0.75 <= high <= 1.0
    assert a["by_category"]["easy"]["accuracy"] == pytest.approx((1 + 0 + 1 + 0.5) / 4)
    assert a["by_category"]["hard"]["accuracy"] == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    for text in (result.stdout, (tmp_path / "out" / "report.md").read_text()):
        assert "Agreement with human labels" in text
        assert re.search(r"\| x +\| y +\| +2 \| +8 \| 0\.7500 \[", text)


def test_without_labels_the_record_is_null(scripted, tmp_path):
    server = scripted(prefers_good)
    result = run_evalkit("judge", "pairwise", *write_data(tmp_path), *judge_args(tmp_path, server.base_url))
    assert result.returncode == 0, result.stderr
    (pair,) = json.loads((tmp_path / "out" / "summary.json").read_text())["pairs"]
    assert pair["human_agreement"] is None
    assert "Agreement with human labels" not in result.stdout


def grades_as_told(request: dict, n: int) -> Reply:
    """A single-mode judge that gives the grade the answer asks for."""
    found = re.search(r"answer-grade-(\d+)", user_text(request))
    return Reply(f"Rating: [[{found.group(1)}]]" if found else "Rating: [[1]]")


def test_single_labels_by_prompt_id(scripted, tmp_path):
    server = scripted(grades_as_told)
    prompts = "".join(json.dumps({"id": f"q{i}", "text": f"question {i}"}) + "\n" for i in range(4))
    (tmp_path / "prompts.jsonl").write_text(prompts)
    (tmp_path / "x.txt").write_text("".join(f"answer-grade-{g}\n" for g in (2, 5, 3, 8)))
    # humans: 3, 5 (4 and 6), 2, 9 against the judge's 2, 5, 3, 8; rows in another order than the prompts
    rows = ["q3,x,9,h1", "q0,x,3,h1", "q1,x,4,h1", "q1,x,6,h2", "q2,x,2,h1"]
    (tmp_path / "labels.csv").write_text("item,system,score,annotator\n" + "\n".join(rows) + "\n")
    result = run_evalkit(
        "judge", "single", "--prompts", tmp_path / "prompts.jsonl", "--prompt-field", "text",
        "--system", f"x={tmp_path / 'x.txt'}", "--base-url", server.base_url, "--model", "scripted",
        "--template", "mt-bench-single", "--no-cache", "--out", tmp_path / "out",
        "--labels", tmp_path / "labels.csv", "--id-field", "id",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (system,) = json.loads((tmp_path / "out" / "summary.json").read_text())["systems"]
    a = system["human_agreement"]
    assert (a["system"], a["n"], a["n_annotators"]) == ("x", 4, 2)
    # ranks 1,3,2,4 against 2,3,1,4: sum d^2 = 2, rho = 1 - 6*2/(4*15); one of 6 pairs discordant
    assert a["spearman"] == pytest.approx(0.8)
    assert a["kendall"] == pytest.approx(4 / 6)
    assert a["mae"] == pytest.approx((1 + 0 + 1 + 1) / 4)
    assert "Spearman" in result.stdout and "0.8000 [" in result.stdout


@pytest.mark.parametrize(
    "row, line, message",
    [
        ({"item": 8, "system_a": "x", "system_b": "y", "winner": "x"}, 2, "item 8 is not a prompt index (0 to 7)"),
        ({"item": 1, "system_a": "x", "system_b": "z", "winner": "x"}, 2, "system 'z' is not judged"),
        ({"item": 1, "system_a": "x", "system_b": "y", "winner": "me"}, 2, "winner 'me' is neither"),
    ],
)
def test_a_bad_labels_file_is_exit_2_with_file_and_line_and_nothing_is_sent(scripted, tmp_path, row, line, message):
    server = scripted(prefers_good)
    args = write_data(tmp_path, [{"item": 0, "system_a": "x", "system_b": "y", "winner": "x"}, row])
    labels = tmp_path / "labels.jsonl"
    result = run_evalkit("judge", "pairwise", *args, *judge_args(tmp_path, server.base_url), "--labels", labels)
    assert result.returncode == 2
    assert f"{labels}:{line}: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == []


def run_config(tmp_path: Path, base_url: str, fail_if: str, labels: bool = True) -> Path:
    write_data(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
out = "out"
metrics = ["rouge1"]
references = "x.txt"
[systems]
x = "x.txt"
y = "y.txt"
[run]
bootstrap = 200
fail_if = ["{fail_if}"]
[judge]
mode = "pairwise"
base_url = "{base_url}"
model = "scripted"
template = "mt-bench-pairwise"
prompts = "prompts.txt"
cache = "cache.sqlite"
{'labels = "labels.jsonl"' if labels else ""}
[judge.systems]
x = "x.txt"
y = "y.txt"
""",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("rule, status", [("agreement < 0.75", 0), ("agreement < 0.8", 1)])
def test_a_gate_on_agreement(scripted, tmp_path, rule, status):
    server = scripted(prefers_good)
    result = run_evalkit("run", run_config(tmp_path, server.base_url, rule))
    assert result.returncode == status, result.stderr
    if status:
        assert f"FAIL {rule} [x]" in result.stderr and "agreement of 'x' = 0.75" in result.stderr
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Agreement with human labels" in report
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    assert summary["pairs"][0]["human_agreement"]["accuracy"] == pytest.approx(0.75)
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'id="judge-agreement"' in page and "<td>0.7500 [" in page
    # the item explorer marks the items where the judge and the majority label differ: 1, 3 and 7
    judged = re.findall(r'"item":(\d+),"systems":\["x","y"\],"outcome":"(\w+)".*?"human":"(\w+)","agrees":(\w+)', page)
    assert {int(i): (o, h, a) for i, o, h, a in judged} == {
        0: ("win", "win", "true"), 1: ("win", "loss", "false"), 2: ("tie", "tie", "true"),
        3: ("tie", "win", "false"), 4: ("loss", "loss", "true"), 5: ("loss", "loss", "true"),
        6: ("tie", "tie", "true"), 7: ("tie", "loss", "false"),
    }  # fmt: skip


def test_a_gate_on_agreement_without_labels_is_a_config_error(scripted, tmp_path):
    server = scripted(prefers_good)
    result = run_evalkit("run", run_config(tmp_path, server.base_url, "agreement < 0.75", labels=False))
    assert result.returncode == 2
    assert "gate 'agreement < 0.75' measures the judge against human labels, but no labels are given" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == []  # refused before the judge runs


@pytest.mark.local_judge
def test_the_local_judge_with_labels(local_judge, tmp_path):
    """The real local judge over 3 items with labels: the human_agreement
    object agrees with the judgments it was computed from."""
    args = write_data(tmp_path)
    result = run_evalkit(
        "judge", "pairwise", *args, "--base-url", local_judge.base_url, "--model", local_judge.model,
        "--protocol", "grammar", "--merge-system", "--concurrency", "1", "--timeout", "300",
        "--limit", "3", "--no-cache", "--out", tmp_path / "out",
        "--labels", tmp_path / "labels.jsonl",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (pair,) = json.loads((tmp_path / "out" / "summary.json").read_text())["pairs"]
    a = pair["human_agreement"]
    assert a is not None, "no item of the local run was scored"
    humans = {0: "a", 1: "b", 2: "tie"}  # the majority labels of items 0-2
    outcomes = _reconciled(tmp_path / "out" / "judgments.jsonl")
    assert a["n"] == len(outcomes) == pair["n"] - pair["unscored"]
    value = {"a": 1.0, "tie": 0.5, "b": 0.0}
    expected = sum(1 - abs(value[outcomes[i]] - value[humans[i]]) for i in outcomes) / len(outcomes)
    assert a["accuracy"] == pytest.approx(expected)
    assert a["agreement_with_ties"] == pytest.approx(sum(outcomes[i] == humans[i] for i in outcomes) / len(outcomes))


def _reconciled(path: Path) -> dict[int, str]:
    """item -> the judge's class from x's side, reconciled MT-Bench's way from judgments.jsonl."""
    orders: dict[int, dict[str, str | None]] = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        meaning = r["meaning"]
        cls = None if meaning is None else ("tie" if meaning == "tie" else meaning)
        if cls in ("first", "second"):
            cls = {("ab", "first"): "a", ("ab", "second"): "b", ("ba", "first"): "b", ("ba", "second"): "a"}[
                (r["order"], cls)
            ]
        orders.setdefault(r["item"], {})[r["order"]] = cls
    out = {}
    for item, both in orders.items():
        if None in both.values() or len(both) < 2:
            continue
        out[item] = both["ab"] if both["ab"] == both["ba"] else "tie"
    return out


def test_a_single_mode_gate_reads_spearman(scripted, tmp_path):
    server = scripted(grades_as_told)
    (tmp_path / "prompts.txt").write_text("".join(f"question {i}\n" for i in range(4)))
    (tmp_path / "x.txt").write_text("".join(f"answer-grade-{g}\n" for g in (2, 5, 3, 8)))
    (tmp_path / "y.txt").write_text("".join(f"answer-grade-{g}\n" for g in (4, 4, 6, 1)))
    # x: rho 0.8 as in test_single_labels_by_prompt_id; y: humans 1, 2, 3, 4 against 4, 4, 6, 1
    rows = [f"{i},x,{s}" for i, s in enumerate((3, 5, 2, 9))] + [f"{i},y,{i + 1}" for i in range(4)]
    (tmp_path / "labels.csv").write_text("item,system,score\n" + "\n".join(rows) + "\n")
    config = tmp_path / "run.toml"
    config.write_text(
        f"""
out = "out"
[systems]
x = "x.txt"
y = "y.txt"
[run]
fail_if = ["agreement < 0.5"]
[judge]
mode = "single"
base_url = "{server.base_url}"
model = "scripted"
template = "mt-bench-single"
prompts = "prompts.txt"
cache = false
labels = "labels.csv"
[judge.systems]
x = "x.txt"
y = "y.txt"
""",
        encoding="utf-8",
    )
    result = run_evalkit("run", config)
    assert result.returncode == 1, result.stderr
    assert "FAIL agreement < 0.5 [y]" in result.stderr and "[x]" not in result.stderr.split("check(s) failed")[-1]
    summary = json.loads((tmp_path / "out" / "judge" / "summary.json").read_text())
    rho = {s["system"]: s["human_agreement"]["spearman"] for s in summary["systems"]}
    # y: judge ranks 2.5, 2.5, 4, 1 against 1, 2, 3, 4: Pearson of the ranks = -1.5 / sqrt(4.5 * 5)
    assert rho["x"] == pytest.approx(0.8) and rho["y"] == pytest.approx(-1.5 / (4.5 * 5) ** 0.5)


def test_categories_from_the_labels_file_are_escaped(tmp_path):
    from evalkit.judge.agreement import pairwise_agreement
    from evalkit.judge.agreement_report import agreement_markdown
    from evalkit.judge.labels import HumanLabels, PairLabel
    from evalkit.judge.templates import load_template
    from evalkit.judge.types import ItemVerdict, JudgeRun, JudgeSettings
    from evalkit.reports.html import _agreement_section

    evil = "<script>alert(1)</script>|x"
    items = [ItemVerdict("pairwise", 0, ("x", "y"), (), 1.0, "win")]
    labels = HumanLabels("pairwise", "l.csv", pairs=(PairLabel(0, "x", "y", "x", category=evil),))
    agreement = pairwise_agreement(items, labels, "x", "y", rounds=10)
    run = JudgeRun(
        "pairwise", JudgeSettings(), load_template("pairwise"), "grammar", "sig", ("x", "y"), 1, "", "m",
        agreement=(agreement,),
    )  # fmt: skip
    markdown = "\n".join(agreement_markdown(run))
    assert "<script>" not in markdown and "&lt;script>alert(1)&lt;/script>\\|x" in markdown
    page = "\n".join(_agreement_section([run]))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page


def test_an_id_field_without_labels_is_a_config_error(scripted, tmp_path):
    server = scripted(prefers_good)
    args = write_data(tmp_path)
    result = run_evalkit("judge", "pairwise", *args, *judge_args(tmp_path, server.base_url), "--id-field", "id")
    assert result.returncode == 2 and "id_field is set but no labels" in result.stderr
    assert "Traceback" not in result.stderr and server.requests == []
