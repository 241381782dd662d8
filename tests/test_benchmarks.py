"""benchmarks/run.py reports a broken public API as an error (issue 9,
defect 6): no silent fallback to the raw ROUGE engine, no "identical: yes"
for a call that never ran. Tiny sizes: this checks the bookkeeping, not speed."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from types import ModuleType

import pytest

import evalkit
from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evalkit_benchmarks_run", REPO / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)  # it puts benchmarks/ on sys.path for its data module
    finally:
        sys.path[:] = saved
    return module


@pytest.fixture(scope="module")
def pairs(bench: ModuleType) -> tuple[list[str], list[str]]:
    return bench.data.sentence_pairs(12, seed=0)


def _rouge_api_rows(bench: ModuleType, pairs: tuple[list[str], list[str]]) -> list[dict]:
    rows = bench.rouge_rows(*pairs, repeats=1)
    assert [r["task"] for r in rows[:2]] == ["rouge 1/2/L/Lsum (pairs/s)", "rouge 1/2/L/Lsum, stemmer (pairs/s)"]
    return rows[:2]  # the third row times the engine itself, not the public API


def test_the_public_api_rows_are_identical_when_it_works(bench, pairs):
    for r in _rouge_api_rows(bench, pairs):
        assert r["identical"] is True and r["max_abs_diff"] == 0.0, r
        assert not r["note"].startswith("error"), r


def test_a_broken_score_many_is_an_error_row(bench, pairs, monkeypatch):
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("score_many is broken")

    monkeypatch.setattr(evalkit, "score_many", broken, raising=False)
    for r in _rouge_api_rows(bench, pairs):
        assert r["note"].startswith("error: RuntimeError('score_many is broken')"), r
        assert r["identical"] is None and r["met"] is None and r["evalkit_per_s"] is None, r
    table = bench.render(_rouge_api_rows(bench, pairs), {})
    assert table.count("| error |") == 2


def test_a_missing_score_many_is_an_error_row(bench, pairs, monkeypatch):
    # what the old fallback was written for: the API "not there yet"
    def no_such_attribute(name: str) -> object:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")

    monkeypatch.delattr(evalkit, "score_many", raising=False)
    monkeypatch.setattr(evalkit, "__getattr__", no_such_attribute)
    for r in _rouge_api_rows(bench, pairs):
        assert r["note"].startswith("error: AttributeError"), r
        assert r["identical"] is None and r["met"] is None, r


def test_wrong_scores_from_the_public_api_are_not_identical(bench, pairs, monkeypatch):
    real = evalkit.score_many

    def off_by_a_bit(*args: object, **kwargs: object) -> dict:
        results = real(*args, **kwargs)
        first = results["rougeL"]
        shifted = (first.per_item[0] + 1e-6, *first.per_item[1:])
        return {**results, "rougeL": dataclasses.replace(first, per_item=shifted)}

    monkeypatch.setattr(evalkit, "score_many", off_by_a_bit)
    for r in _rouge_api_rows(bench, pairs):
        assert r["identical"] is False and r["met"] is False, r
        assert r["max_abs_diff"] == pytest.approx(1e-6, rel=1e-3), r


def test_a_result_of_the_wrong_shape_is_an_error_row(bench, pairs, monkeypatch):
    monkeypatch.setattr(evalkit, "score_many", lambda *args, **kwargs: {"rouge1": 0.5})
    for r in _rouge_api_rows(bench, pairs):
        assert r["note"].startswith("error: TypeError"), r
