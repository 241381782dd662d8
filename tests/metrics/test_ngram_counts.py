"""The numpy n-gram counting behind the BLEU and chrF engines, against
Python's ``Counter`` (the way sacrebleu counts)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from evalkit.metrics.ngram_counts import GramIds, Segments, clipped_matches, dense_ids, window_matches


def _counter_matches(texts, segments, order):
    """sum over n-grams of min(hypothesis count, the most of any reference), per group and order."""
    out = np.zeros((order, segments.groups), dtype=np.int64)
    for n in range(1, order + 1):
        grams = [Counter(tuple(t[i : i + n]) for i in range(len(t) - n + 1)) for t in texts]
        for group in range(segments.groups):
            mine = [k for k in range(len(segments.text)) if segments.group[k] == group]
            hyp = Counter()
            best = Counter()
            for k in mine:
                counts = grams[segments.text[k]]
                if segments.tag[k] == 0:
                    hyp += counts
                else:
                    for gram, c in counts.items():
                        best[gram] = max(best[gram], c)
            out[n - 1, group] = sum(min(c, best[g]) for g, c in hyp.items())
    return out


def _random_case(seed, references, alphabet, groups=40):
    rng = np.random.default_rng(seed)
    texts = [rng.integers(0, alphabet, size=rng.integers(0, 25)).tolist() for _ in range(groups * 2)]
    group, text, tag = [], [], []
    for g in range(groups):
        group.append(g)
        text.append(int(rng.integers(0, len(texts))))
        tag.append(0)
        for k in range(1, int(rng.integers(1, references + 1)) + 1):
            group.append(g)
            text.append(int(rng.integers(0, len(texts))))
            tag.append(k)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    flat = np.array([x for t in texts for x in t], dtype=np.int64)
    segments = Segments(np.array(group), np.array(text), np.array(tag), groups)
    return texts, flat, lengths, segments


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("references", [1, 3])
@pytest.mark.parametrize("alphabet", [2, 6, 300])
def test_window_and_per_order_matches_equal_counters(seed, references, alphabet):
    texts, flat, lengths, segments = _random_case(seed, references, alphabet)
    order = 5
    expected = _counter_matches(texts, segments, order)
    tokens = dense_ids(flat)[0]
    windows = window_matches(tokens, lengths, segments, order)
    assert windows is not None and (windows == expected).all()
    starts = np.cumsum(lengths) - lengths
    tag_bits = max(1, int(segments.tag.max()).bit_length())
    grams = GramIds(tokens, lengths, budget=20)  # small: renumbering happens
    for n in range(1, order + 1):
        ids, bits = grams.order(n)
        counts = np.maximum(lengths[segments.text] - (n - 1), 0)
        got = clipped_matches(ids, bits, segments.group, starts[segments.text], counts, segments.tag, tag_bits, 40)
        assert (got == expected[n - 1]).all()


def test_window_matches_declines_keys_wider_than_63_bits():
    # 4,000 distinct tokens on both sides: 6 symbols of 12 bits do not fit
    rng = np.random.default_rng(0)
    lengths = np.full(100, 40, dtype=np.int64)
    tokens = dense_ids(rng.permutation(4000).repeat(1)[np.arange(4000)])[0]
    groups = np.arange(100, dtype=np.int64).repeat(2)
    texts = np.arange(100, dtype=np.int64).repeat(2)  # each text against itself
    segments = Segments(groups, texts, np.tile([0, 1], 100), 100)
    assert window_matches(tokens, lengths, segments, 6) is None
    assert window_matches(tokens, lengths, segments, 2) is not None


def test_dense_ids_keep_order_and_equality():
    values = np.array([50, 3, 50, 10**12, 3, -7])
    ids, count = dense_ids(values)
    assert ids.tolist() == [2, 1, 2, 3, 1, 0] and count == 4
    ids, count = dense_ids(np.array([5, 9, 5, 6]))  # the table road
    assert ids.tolist() == [0, 2, 0, 1] and count == 3
    assert dense_ids(np.zeros(0, dtype=np.int64))[1] == 0
