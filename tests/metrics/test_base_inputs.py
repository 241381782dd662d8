"""The checks every metric runs on its Python inputs, on both of their roads
(the all-strings shortcut and the item-by-item loop)."""

from __future__ import annotations

import pytest

from evalkit.errors import InputError
from evalkit.metrics.base import check_predictions, normalize_references


class Text(str):
    """A str subclass: accepted like a str, but off the shortcut."""


def test_predictions_strings_and_none_pass_through():
    assert check_predictions(("a", None, Text("b"))) == ["a", None, "b"]


@pytest.mark.parametrize("bad", [3, b"bytes", ["a"]])
def test_a_prediction_that_is_not_a_string_is_named(bad):
    with pytest.raises(InputError, match=f"prediction 1 is a {type(bad).__name__}, not a string"):
        check_predictions(["a", bad, "c"])


def test_one_reference_string_an_item_becomes_one_tuples():
    refs = normalize_references(["a", "b"], 2, metric="bleu")
    assert refs == [("a",), ("b",)] and all(type(r) is tuple for r in refs)
    assert normalize_references([Text("a"), ["b", "c"]], 2, metric="bleu") == [("a",), ("b", "c")]


def test_bad_references_are_named():
    with pytest.raises(InputError, match="reference for item 1 is a int"):
        normalize_references(["a", ["b", 3]], 2, metric="bleu")
    with pytest.raises(InputError, match="item 0 has no reference"):
        normalize_references([[], "b"], 2, metric="bleu")
    with pytest.raises(InputError, match="2 predictions but 1 references"):
        normalize_references(["a"], 2, metric="bleu")
