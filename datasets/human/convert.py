"""Convert the upstream human-labelled pairwise sets into evalkit's files.

Run by hand, once, from a checkout of each upstream repository; evalkit never
downloads anything at run time. Each set becomes a folder of

- ``prompts.jsonl``: one ``{"text": ...}`` per item (plus the upstream id);
- ``answer_1.jsonl``, ``answer_2.jsonl``: the two answers, ``{"text": ...}``;
- ``labels.jsonl``: one row per item per annotator, in the labels format of
  ``--labels`` (``item``, ``system_a``, ``system_b``, ``winner``,
  ``annotator``, optional ``category``);
- ``set.toml``: what ``evalkit judge certify --set NAME`` reads.

Usage::

    python datasets/human/convert.py llmbar-natural PATH/TO/LLMBar/Dataset/LLMBar/Natural/dataset.json
    python datasets/human/convert.py pandalm-test PATH/TO/PandaLM/data/testset-v1.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSTEMS = ("answer_1", "answer_2")
#: PandaLM's test set has 999 items (937 KB); a deterministic subset keeps the repository small.
PANDALM_ITEMS = 300


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _winner(code: int) -> str:
    return {0: "tie", 1: SYSTEMS[0], 2: SYSTEMS[1]}[code]


def _write_set(name: str, prompts: list[dict], answers: list[tuple[str, str]], labels: list[dict]) -> None:
    out = HERE / name
    out.mkdir(exist_ok=True)
    _write_jsonl(out / "prompts.jsonl", prompts)
    for k, system in enumerate(SYSTEMS):
        _write_jsonl(out / f"{system}.jsonl", [{"text": pair[k]} for pair in answers])
    _write_jsonl(out / "labels.jsonl", labels)
    print(f"{name}: {len(prompts)} items, {len(labels)} label rows")


def llmbar_natural(source: Path) -> None:
    """LLMBar's Natural set: 100 pairs, one gold label each (``label`` 1 or 2)."""
    records = json.loads(source.read_text(encoding="utf-8"))
    prompts = [{"text": r["input"], "source_index": i} for i, r in enumerate(records)]
    answers = [(r["output_1"], r["output_2"]) for r in records]
    labels = [
        {"item": i, "system_a": SYSTEMS[0], "system_b": SYSTEMS[1], "winner": _winner(int(r["label"])),
         "annotator": "llmbar"}
        for i, r in enumerate(records)
    ]
    _write_set("llmbar-natural", prompts, answers, labels)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value).capitalize()


def _pandalm_prompt(record: dict) -> str:
    text = record["instruction"].strip()
    extra = record["input"].strip()
    return f"{text}\n\n{extra}" if extra else text


def pandalm_test(source: Path) -> None:
    """PandaLM's human test set: three annotators per pair (0 tie, 1 or 2 the
    better response). The subset: the PANDALM_ITEMS records with the smallest
    SHA-256 of their ``idx``, kept in ``idx`` order."""
    records = json.loads(source.read_text(encoding="utf-8"))
    chosen = sorted(records, key=lambda r: hashlib.sha256(str(r["idx"]).encode()).hexdigest())[:PANDALM_ITEMS]
    chosen.sort(key=lambda r: r["idx"])
    prompts = [{"text": _pandalm_prompt(r), "idx": r["idx"], "models": r["cmp_key"]} for r in chosen]
    # Six upstream responses are the JSON value true, not a string: kept as the text "True".
    answers = [(_text(r["response1"]), _text(r["response2"])) for r in chosen]
    labels = [
        {"item": i, "system_a": SYSTEMS[0], "system_b": SYSTEMS[1], "winner": _winner(int(r[f"annotator{k}"])),
         "annotator": f"annotator{k}", "category": r["motivation_app"]}
        for i, r in enumerate(chosen)
        for k in (1, 2, 3)
    ]
    _write_set("pandalm-test", prompts, answers, labels)


if __name__ == "__main__":
    converters = {"llmbar-natural": llmbar_natural, "pandalm-test": pandalm_test}
    if len(sys.argv) != 3 or sys.argv[1] not in converters:
        sys.exit(f"usage: convert.py {{{'|'.join(converters)}}} SOURCE.json")
    converters[sys.argv[1]](Path(sys.argv[2]))
