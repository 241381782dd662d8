"""items.csv is written in pieces as its rows are read, with the text one
string would give."""

from __future__ import annotations

import csv

import evalkit
from evalkit.reports import csv_writer
from tests.conftest import run_evalkit


def test_items_csv_streams_pieces_that_join_to_the_whole_table(monkeypatch):
    comparison = evalkit.compare(
        {"s": ["a b", None, "a c"]}, references=["a b", "x", "a b"], metrics="rouge1,bleu"
    )
    monkeypatch.setattr(csv_writer, "ROWS_PER_PIECE", 2)
    pieces = list(csv_writer.items_csv(comparison))
    # a header, then 6 rows (3 items x 2 metrics) two at a time
    assert len(pieces) == 4 and pieces[0] == "item,system,metric,value\n"
    rows = list(csv.reader("".join(pieces).splitlines()))
    # rouge1 by hand: F = 1 for "a b" vs "a b"; P = R = 1/2 for "a c" vs "a b"; item 1 unscored (empty, not 0)
    assert rows[1:4] == [["0", "s", "rouge1", "1.0"], ["1", "s", "rouge1", ""], ["2", "s", "rouge1", "0.5"]]
    bleu = comparison.result("s", "bleu").per_item
    assert rows[4:] == [["0", "s", "bleu", repr(bleu[0])], ["1", "s", "bleu", ""], ["2", "s", "bleu", repr(bleu[2])]]


def test_the_cli_writes_the_streamed_items_csv(tmp_path):
    (tmp_path / "p.txt").write_text("a b\na c\n")
    (tmp_path / "r.txt").write_text("a b\na b\n")
    out = tmp_path / "out"
    proc = run_evalkit(
        "compare", "--metrics", "rouge1", "--bootstrap", "0", "--no-html",
        "--system", f"m={tmp_path / 'p.txt'}", "--references", str(tmp_path / "r.txt"), "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "items.csv").read_text() == "item,system,metric,value\n0,m,rouge1,1.0\n1,m,rouge1,0.5\n"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
