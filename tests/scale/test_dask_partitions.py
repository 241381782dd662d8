"""Input files cut into partitions (evalkit.partitions) read back exactly
what the one-process reader reads, and bad files exit 2 naming the file."""

from __future__ import annotations

import csv
import json

import pytest

from evalkit.errors import InputError
from evalkit.inputs import read_segments
from evalkit.partitions import plan_file, read_part
from tests.conftest import run_evalkit

ROWS = [f'item {i}, with "quotes" and é' for i in range(23)]


@pytest.fixture
def files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.txt").write_text("\ufeff" + "\n".join(ROWS), encoding="utf-8")  # no final newline
    (tmp_path / "a.jsonl").write_text(
        "".join(json.dumps({"text": r if i % 5 else None}) + "\n" for i, r in enumerate(ROWS)), encoding="utf-8"
    )
    with (tmp_path / "a.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([i, r] for i, r in enumerate(ROWS))
    with (tmp_path / "a.tsv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\r\n")
        writer.writerow(["text"])
        writer.writerows([r] for r in ROWS)
    pq.write_table(pa.table({"text": ROWS}), tmp_path / "a.parquet", row_group_size=5)
    return tmp_path


@pytest.mark.parametrize("name", ["a.txt", "a.jsonl", "a.csv", "a.tsv", "a.parquet"])
@pytest.mark.parametrize("size", [1, 4, 5, 7, 22, 23, 100])
def test_parts_join_into_the_whole_file(files, name, size):
    plan = plan_file(files / name, field=None, format=None, size=size)
    parts = [read_part(plan, k) for k in range(plan.n_parts)]
    assert plan.n_items == 23
    assert plan.n_parts == -(-23 // size)
    assert [len(p) for p in parts] == [min(size, 23 - k * size) for k in range(plan.n_parts)]
    assert [x for p in parts for x in p] == read_segments(files / name)


def test_parquet_reads_only_the_row_groups_of_a_part(files):
    plan = plan_file(files / "a.parquet", field="text", format=None, size=7)
    assert plan.bounds == (0, 7, 14, 21, 23)
    assert read_part(plan, 2) == ROWS[14:21]


def test_a_record_spanning_lines_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('text\nfirst\n"two\nlines"\nfourth\n', encoding="utf-8")
    assert read_segments(path) == ["first", "two\nlines", "fourth"]  # one process joins it
    plan = plan_file(path, field=None, format=None, size=2)
    with pytest.raises(InputError, match=r"q\.csv:3: a record spans lines"):
        read_part(plan, 0)
    plan = plan_file(path, field=None, format=None, size=1)
    with pytest.raises(InputError, match=r"q\.csv:3: a record spans lines"):
        read_part(plan, 1)


def test_invalid_utf8_names_the_line_of_the_whole_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a\nb\nc\n\xff\n")
    plan = plan_file(path, field=None, format=None, size=3)
    with pytest.raises(InputError, match=r"bad\.txt:4: invalid UTF-8"):
        read_part(plan, 1)


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_missing_parquet_column_exits_2_naming_the_file(files, engine):
    result = run_evalkit("compare", "--metrics", "bleu", "--system", f"a={files / 'a.parquet'}",
                         "--references", files / "a.txt", "--prediction-field", "output",
                         "--engine", engine, "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2
    assert f"{files / 'a.parquet'}: no column 'output' (columns: text)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_an_unreadable_parquet_file_exits_2(tmp_path, engine):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    refs = tmp_path / "r.txt"
    refs.write_text("x\n", encoding="utf-8")
    result = run_evalkit("compare", "--metrics", "bleu", "--system", f"a={bad}", "--references", refs,
                         "--engine", engine, "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2
    assert f"{bad}: not a readable Parquet file" in result.stderr
    assert "Traceback" not in result.stderr


def test_counts_are_checked_before_any_cluster_is_reached(files, tmp_path):
    refs = tmp_path / "r.txt"
    refs.write_text("x\ny\n", encoding="utf-8")
    result = run_evalkit("compare", "--metrics", "bleu", "--system", f"a={files / 'a.jsonl'}",
                         "--references", refs, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2
    assert f"23 predictions in {files / 'a.jsonl'} (system 'a') but 2 references in {refs}" in result.stderr
