"""DataFrames as inputs of evalkit.compare (evalkit.frames), without a cluster."""

from __future__ import annotations

import pandas as pd
import pytest

import evalkit
from evalkit.errors import ConfigError, InputError

REFS = ["the cat sat on the mat", "a dog ran in the park", "it rained all day"]
A = ["the cat sat on a mat", None, "it rained all day long"]
B = ["a cat sat", "the dog ran in a park", "rain all day"]


def test_a_pandas_frame_scores_like_lists():
    frame = pd.DataFrame({"reference": REFS, "a": A, "b": B})
    from_frame = evalkit.compare(frame, references="reference", metrics="bleu,rougeL")
    from_lists = evalkit.compare({"a": A, "b": B}, references=REFS, metrics="bleu,rougeL")
    assert from_frame.systems == ("a", "b")
    assert from_frame.results == from_lists.results
    assert from_frame.result("a", "bleu").unscored == {1: "missing prediction"}


def test_several_reference_columns_give_several_references():
    frame = pd.DataFrame({"r1": REFS, "r2": ["x"] * 3, "a": A})
    c = evalkit.compare(frame, references=["r1", "r2"], metrics="bleu")
    lists = evalkit.compare({"a": A}, references=[[r, "x"] for r in REFS], metrics="bleu")
    assert c.result("a", "bleu") == lists.result("a", "bleu")
    assert "nrefs:2" in c.result("a", "bleu").signature


def test_a_missing_column_is_named():
    frame = pd.DataFrame({"reference": REFS, "a": A})
    with pytest.raises(InputError, match=r"the frame has no column 'gold' \(columns: reference, a\)"):
        evalkit.compare(frame, references="gold", metrics="bleu")


def test_dask_engine_options_are_checked_before_any_cluster():
    with pytest.raises(ConfigError, match="partition_size must be a positive integer, not 0"):
        evalkit.compare({"a": A}, references=REFS, metrics="bleu", engine="dask", partition_size=0)
    with pytest.raises(ConfigError, match="takes no prompts"):
        evalkit.compare({"a": A}, references=REFS, metrics="bleu", engine="dask", prompts=["q"] * 3)


def test_a_frame_on_dask_takes_only_metrics_that_merge():
    frame = pd.DataFrame({"reference": REFS, "a": A})
    with pytest.raises(ConfigError, match="mauve cannot be merged from partitions"):
        evalkit.compare(frame, references="reference", metrics="bleu,mauve", engine="dask")
