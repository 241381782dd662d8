"""Capability ``partitioned``: results scored on consecutive parts merge into
the result of one pass over all items (what the Dask engine relies on)."""

from __future__ import annotations

import math

import pytest

from evalkit.metrics import registry
from evalkit.metrics.base import has_capability
from tests.textgen import varied_pairs

PREDICTIONS, REFERENCES = varied_pairs(n=60, seed=5, long_words=30)
PREDICTIONS = [p if i % 7 else None for i, p in enumerate(PREDICTIONS)]
# cuts: single items, a part with no scored item (items 0 and 7 are None), uneven sizes
CUTS = [(1,), (5, 6, 7, 8), (20, 40), (59,)]


def _parts(name, cuts, references):
    bounds = [0, *cuts, len(PREDICTIONS)]
    return [
        registry.create_metric(name).score(predictions=PREDICTIONS[a:b], references=references[a:b])
        for a, b in zip(bounds, bounds[1:])
    ]


@pytest.mark.parametrize("name", ["bleu", "chrf", "ter"])
@pytest.mark.parametrize("cuts", CUTS)
def test_corpus_metrics_merge_bit_for_bit(name, cuts):
    whole = registry.create_metric(name).score(predictions=PREDICTIONS, references=REFERENCES)
    merged = registry.create_metric(name).merge_parts(_parts(name, cuts, REFERENCES))
    assert merged == whole  # value, per_item, details, unscored, signature...
    assert merged.item_statistics.dtype == whole.item_statistics.dtype
    assert merged.item_statistics.tolist() == whole.item_statistics.tolist()
    assert "nrefs:var" in merged.signature


@pytest.mark.parametrize("name", ["bleu", "ter"])
def test_the_number_of_references_is_settled_over_the_whole(name):
    """Parts with 1 and with 2 references each: the whole has a varying number."""
    refs = [[r[0]] if i < 30 else [r[0], r[0] + " x"] for i, r in enumerate(REFERENCES)]
    first = registry.create_metric(name).score(predictions=PREDICTIONS[:30], references=refs[:30])
    second = registry.create_metric(name).score(predictions=PREDICTIONS[30:], references=refs[30:])
    assert "nrefs:1" in first.signature and "nrefs:2" in second.signature
    merged = registry.create_metric(name).merge_parts([first, second])
    assert merged.signature == registry.create_metric(name).score(predictions=PREDICTIONS, references=refs).signature
    assert "nrefs:var" in merged.signature
    same = registry.create_metric(name).merge_parts([first, first])
    assert "nrefs:1" in same.signature


@pytest.mark.parametrize("name", ["rouge1", "rouge2", "rougeL", "rougeLsum"])
@pytest.mark.parametrize("cuts", CUTS)
def test_rouge_merges_the_mean_exactly_and_its_parts_within_1e_12(name, cuts):
    whole = registry.create_metric(name).score(predictions=PREDICTIONS, references=REFERENCES)
    merged = registry.create_metric(name).merge_parts(_parts(name, cuts, REFERENCES))
    assert (merged.value, merged.per_item, merged.unscored, merged.signature) == (
        whole.value, whole.per_item, whole.unscored, whole.signature)
    assert merged.details["fmeasure"] == whole.details["fmeasure"]
    for key in ("precision", "recall"):
        assert math.isclose(merged.details[key], whole.details[key], rel_tol=0, abs_tol=1e-12)


def test_nothing_scored_merges_to_no_value():
    preds = [None, None, None]
    parts = [registry.create_metric("bleu").score(predictions=preds[:a], references=["x"] * a) for a in (1, 2)]
    merged = registry.create_metric("bleu").merge_parts(parts)
    assert (merged.value, merged.n_scored, merged.n_unscored) == (None, 0, 3)


def test_the_metrics_that_cannot_merge_say_so():
    assert not has_capability(registry.get_metric_class("mauve")[0], "partitioned")
    assert all(has_capability(registry.get_metric_class(n)[0], "partitioned") for n in ("bleu", "chrf", "ter", "rougeL"))
