"""Ctrl-C while ``compare`` writes its reports (issue 9, defect 7): exit 130,
no temp file left in the output folder, and the previous run's reports intact
byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalkit.cli import main

REFERENCES = "the cat sat on the mat\na quick brown fox jumps over the lazy dog\nit is raining today\n"
FIRST = "the cat sat on a mat\na quick brown fox jumped over a lazy dog\nit rains today\n"
SECOND = "a cat is on the mat\nthe fox jumps over the dog\nraining it is\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _compare(tmp_path: Path, out: Path) -> int:
    return main(
        [
            "compare",
            "--system",
            f"base={tmp_path / 'base.txt'}",
            "--system",
            f"new={tmp_path / 'new.txt'}",
            "--references",
            str(tmp_path / "ref.txt"),
            "--metrics",
            "bleu,rouge1",
            "--baseline",
            "base",
            "--bootstrap",
            "50",
            "--out",
            str(out),
        ]
    )


@pytest.mark.parametrize("interrupt_at", [1, 2, 4])  # the n-th file synced: report.md ... summary.json
def test_interrupted_compare_exits_130_and_keeps_the_previous_reports(tmp_path, monkeypatch, capsys, interrupt_at):
    (tmp_path / "ref.txt").write_text(REFERENCES, encoding="utf-8")
    (tmp_path / "base.txt").write_text(REFERENCES, encoding="utf-8")
    (tmp_path / "new.txt").write_text(FIRST, encoding="utf-8")
    out = tmp_path / "out"
    assert _compare(tmp_path, out) == 0
    before = _snapshot(out)
    assert {"report.md", "summary.csv", "items.csv", "summary.json"} <= set(before)

    # A second run with other predictions, interrupted while it writes.
    (tmp_path / "new.txt").write_text(SECOND, encoding="utf-8")
    real_fsync = os.fsync
    calls = []

    def fsync_then_interrupt(fd: int) -> None:
        calls.append(fd)
        if len(calls) == interrupt_at:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_interrupt)
    capsys.readouterr()
    assert _compare(tmp_path, out) == 130
    assert "evalkit: interrupted" in capsys.readouterr().err
    assert len(calls) == interrupt_at
    after = _snapshot(out)
    assert sorted(after) == sorted(before), "no temp file left, no file lost"
    for name, content in before.items():
        assert after[name] == content, f"{name} changed"

    # The same run, not interrupted, does change the reports: the check above
    # could have failed.
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert _compare(tmp_path, out) == 0
    finished = _snapshot(out)
    assert sorted(finished) == sorted(before)
    assert finished["report.md"] != before["report.md"] and finished["summary.json"] != before["summary.json"]
