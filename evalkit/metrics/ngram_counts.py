"""Clipped n-gram matches of many (hypothesis, references) groups with numpy.

The BLEU and chrF engines describe their texts as integer ids (words or
characters), concatenated, and their groups as *segments*: runs of a text
that belong to one group with a tag, 0 for the hypothesis and 1, 2, ... for
its references. :func:`clipped_matches` returns, per group,

    sum over n-grams g of the hypothesis: min(count_hyp(g), max over references count_ref(g))

which is BLEU's "correct" count (sacrebleu merges the references' counts by
their maximum) and, with one reference per group, chrF's match count. It
sorts one int64 key per n-gram occurrence, ``group | n-gram id | tag``;
groups come in order, so the keys are sorted by group already and numpy's
stable sort (timsort) only orders each group's few keys.

:class:`GramIds` gives the id of the n-gram that starts at every position:
ids of order n pack the id of order n - 1 and the next token into one
integer while that fits, and are renumbered densely (one ``np.unique``)
when it would not.

>>> grams = GramIds(np.array([0, 1, 0, 1, 0, 1]), np.array([3, 3]), budget=40)
>>> ids, bits = grams.order(2)
>>> matches = clipped_matches(ids, bits, np.array([0, 0]), np.array([0, 3]), np.array([2, 2]), np.array([0, 1]), 1, 1)
>>> matches.tolist()  # "a b a" against "b a b": both bigrams match
[2]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = [
    "GramIds",
    "Segments",
    "clipped_matches",
    "dense_ids",
    "number_texts",
    "ragged_positions",
    "window_matches",
]


def ragged_positions(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def dense_ids(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Values renumbered 0..k-1 in order (equal iff equal), and k."""
    if not len(values):
        return values.astype(np.int64), 0
    low, high = int(values.min()), int(values.max())
    if high - low < max(1 << 16, 4 * len(values)):
        # a lookup table over the range: no sort
        seen = np.zeros(high - low + 1, dtype=bool)
        seen[values - low] = True
        table = np.cumsum(seen, dtype=np.int64) - 1
        return table[values - low], int(table[-1]) + 1
    distinct, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), len(distinct)


def _bits(count: int) -> int:
    """Bits for the ids 0..count-1 (at least 1)."""
    return max(1, (count - 1).bit_length())


class GramIds:
    """Ids of the n-grams starting at each position of concatenated texts.

    ``tokens`` are dense ids (0..k-1), text ``i`` is ``lengths[i]`` tokens
    long; ids of order n fit in ``budget`` bits. Positions closer than n to
    the end of their text get an arbitrary id: callers never read them.
    """

    def __init__(self, tokens: np.ndarray, lengths: np.ndarray, *, budget: int) -> None:
        self.tokens = tokens
        self.token_bits = _bits(int(tokens.max()) + 1 if len(tokens) else 1)
        self.budget = budget
        self._remaining = np.repeat(lengths, lengths) - ragged_positions(np.zeros_like(lengths), lengths)
        self._order = 1
        self._ids = tokens
        self._id_bits = self.token_bits

    def order(self, n: int) -> tuple[np.ndarray, int]:
        """(ids, bits) for order ``n``; orders must be asked for in increasing order."""
        if n < self._order:
            raise ValueError("orders must be asked for in increasing order")
        while self._order < n:
            self._extend()
        return self._ids, self._id_bits

    def _extend(self) -> None:
        n = self._order + 1
        valid = self._remaining >= n
        size = len(self.tokens)
        following = self.tokens[np.minimum(np.arange(size) + (n - 1), max(size - 1, 0))]
        ids, bits = self._ids, self._id_bits
        if bits + self.token_bits > self.budget:
            ids, bits = self._renumber(ids, valid)
        ids = np.where(valid, (ids << self.token_bits) | following, 0)
        bits += self.token_bits
        if bits > self.budget:
            ids, bits = self._renumber(ids, valid)
        self._ids, self._id_bits, self._order = ids, bits, n

    @staticmethod
    def _renumber(ids: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
        dense, count = dense_ids(ids[valid])
        out = np.zeros(len(ids), dtype=np.int64)
        out[valid] = dense
        return out, _bits(count)


def clipped_matches(
    ids: np.ndarray,
    id_bits: int,
    segment_group: np.ndarray,
    segment_start: np.ndarray,
    segment_count: np.ndarray,
    segment_tag: np.ndarray,
    tag_bits: int,
    groups: int,
) -> np.ndarray:
    """Per group, the hypothesis's n-grams clipped by the references' maximum counts.

    Segment ``k`` holds the n-grams starting at ``segment_start[k]`` ..
    ``segment_start[k] + segment_count[k] - 1`` of group ``segment_group[k]``
    (non-decreasing), tagged ``segment_tag[k]`` (0: hypothesis, >= 1: a
    reference, < 2**tag_bits). Needs ``groups``'s bits + id_bits + tag_bits <= 63.
    """
    at = ragged_positions(segment_start, segment_count)
    if not len(at):
        return np.zeros(groups, dtype=np.int64)
    group = np.repeat(segment_group, segment_count)
    tag = np.repeat(segment_tag, segment_count)
    keys = (((group << id_bits) | ids[at]) << tag_bits) | tag
    keys.sort(kind="stable")
    run_start = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    run_length = np.diff(np.append(run_start, len(keys)))
    run_key = keys[run_start]
    gram_key = run_key >> tag_bits
    run_tag = run_key & ((1 << tag_bits) - 1)
    first = np.flatnonzero(np.concatenate(([True], gram_key[1:] != gram_key[:-1])))
    # tag 0 sorts first in its (group, n-gram): the hypothesis's count, if any
    hypothesis = np.where(run_tag[first] == 0, run_length[first], 0)
    reference = np.maximum.reduceat(np.where(run_tag > 0, run_length, 0), first)
    clipped = np.minimum(hypothesis, reference)
    out = np.bincount(gram_key[first] >> id_bits, weights=clipped, minlength=groups)
    return out.astype(np.int64)


def number_texts(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct text once: (the texts, each prediction's text number, each
    reference's text number in item order, the number of references per item)."""
    counts = np.fromiter(map(len, references), dtype=np.int64, count=len(references))
    flat = list(itertools.chain.from_iterable(references))
    number = dict(zip(dict.fromkeys(itertools.chain(predictions, flat)), itertools.count()))
    hyp = np.fromiter(map(number.__getitem__, predictions), dtype=np.int64, count=len(predictions))
    ref = np.fromiter(map(number.__getitem__, flat), dtype=np.int64, count=len(flat))
    return list(number), hyp, ref, counts


class Segments:
    """Groups of texts: segment ``k`` is text ``text[k]`` of group ``group[k]``
    (non-decreasing) with tag ``tag[k]``: 0 for the hypothesis, 1, 2, ... for
    its references."""

    def __init__(self, group: np.ndarray, text: np.ndarray, tag: np.ndarray, groups: int) -> None:
        self.group = group
        self.text = text
        self.tag = tag
        self.groups = groups
        self.tags = int(tag.max(initial=0)) + 1

    @classmethod
    def of_items(cls, hyp: np.ndarray, ref: np.ndarray, counts: np.ndarray) -> Segments:
        """Item i: its prediction ``hyp[i]`` then its ``counts[i]`` references (``ref``, in item order)."""
        per_item = counts + 1
        first = np.cumsum(per_item) - per_item
        tag = np.arange(int(per_item.sum()), dtype=np.int64) - np.repeat(first, per_item)
        text = np.empty(len(tag), dtype=np.int64)
        text[first] = hyp
        text[tag > 0] = ref
        return cls(np.repeat(np.arange(len(hyp), dtype=np.int64), per_item), text, tag, len(hyp))


def _symbols(tokens: np.ndarray, lengths: np.ndarray, segments: Segments) -> tuple[np.ndarray, np.ndarray, int]:
    """Each text's tokens as a hypothesis and as a reference: 2 + a dense id
    for a token that occurs on both sides somewhere, else the side's end mark
    (0, 1). A token seen on one side only can match nothing, and neither can
    an n-gram that holds it: the mark keeps both facts."""
    starts = np.cumsum(lengths) - lengths
    size = int(tokens.max(initial=-1)) + 1
    seen = []
    for side in (segments.tag == 0, segments.tag > 0):
        texts = np.unique(segments.text[side])
        found = np.zeros(size, dtype=bool)
        found[tokens[ragged_positions(starts[texts], lengths[texts])]] = True
        seen.append(found)
    common = seen[0] & seen[1]
    number = np.cumsum(common) + 1  # 2 + dense id where common
    as_hyp = np.where(common, number, 0)[tokens]
    as_ref = np.where(common, number, 1)[tokens]
    return as_hyp, as_ref, int(common.sum()) + 2


def window_matches(tokens: np.ndarray, lengths: np.ndarray, segments: Segments, order: int) -> np.ndarray | None:
    """Per order 1..``order`` and group, ``sum_g min(count_hyp(g), max over
    references count_ref(g))``, shape (order, groups): BLEU's clipped counts
    and, with one reference a group, chrF's matches. None when a key would
    not fit in 63 bits (too many distinct symbols for ``order`` of them).

    One sort for all orders: every position of every segment gets the key
    ``group | the order symbols from it | tag``, symbols past the end of its
    text replaced by its side's end mark (see :func:`_symbols`). Sorted, the
    positions whose n-grams are equal are adjacent for every n: a run of
    equal group and first n symbols holds one n-gram's occurrences, or end
    marks of one side only, which match nothing.
    """
    as_hyp, as_ref, symbols = _symbols(tokens, lengths, segments)
    symbol_bits, tag_bits = _bits(symbols), _bits(segments.tags)
    width = symbol_bits * order
    if _bits(segments.groups) + width + tag_bits > 63:
        return None
    segment_start = np.empty(len(segments.text), dtype=np.int64)
    pieces, offset = [], 0
    for side, codes, mark in ((segments.tag == 0, as_hyp, 0), (segments.tag > 0, as_ref, 1)):
        texts, inverse = np.unique(segments.text[side], return_inverse=True)
        packed, starts = _windows(codes, lengths, texts, order, symbol_bits, mark)
        segment_start[side] = offset + starts[inverse.reshape(-1)]
        pieces.append(packed)
        offset += len(packed)
    segment_length = lengths[segments.text]
    at = ragged_positions(segment_start, segment_length)
    # segments come in group order: the keys are sorted by group already, and
    # the stable sort (timsort) only orders each group's few keys
    keys = np.concatenate(pieces)[at]
    keys <<= tag_bits
    keys |= np.repeat((segments.group << (width + tag_bits)) | segments.tag, segment_length)
    keys.sort(kind="stable")
    return _runs(keys, order, symbol_bits, tag_bits, segments)


def _runs(keys: np.ndarray, order: int, symbol_bits: int, tag_bits: int, segments: Segments) -> np.ndarray:
    """Clipped counts of each order from the sorted keys (see :func:`window_matches`).

    Only runs of two keys or more can hold both sides; most runs of the
    higher orders are single keys, so the runs are found from where one key
    continues the previous one (a run starts where a continuation follows a
    break and ends where a break follows a continuation).
    """
    out = np.zeros((order, segments.groups), dtype=np.int64)
    if len(keys) < 2:
        return out
    changed = keys[1:] ^ keys[:-1]
    tag = keys & ((1 << tag_bits) - 1)
    references = np.concatenate(([0], np.cumsum(tag > 0))) if segments.tags == 2 else None
    # continues[i]: key i + 1 is in key i's run; padded with a break at both ends
    continues = np.zeros(len(keys) + 1, dtype=bool)
    shifted = np.empty_like(changed)
    for n in range(1, order + 1):
        # the run goes on while the group and the first n symbols are equal
        np.right_shift(changed, tag_bits + symbol_bits * (order - n), out=shifted)
        np.equal(shifted, 0, out=continues[1:-1])
        first = np.flatnonzero(continues[1:] & ~continues[:-1])
        last = np.flatnonzero(continues[:-1] & ~continues[1:])
        if not len(first):
            continue
        if references is not None:  # one reference: counts from running sums
            reference = references[last + 1] - references[first]
            clipped = np.minimum(last + 1 - first - reference, reference)
        else:  # the most of any one reference, run by run
            clipped = _most_of_any_reference(tag, first, last, segments.tags)
        # runs come in group order: a group's sum is a difference of running sums
        group = keys[first] >> (symbol_bits * order + tag_bits)
        running = np.concatenate(([0], np.cumsum(clipped)))
        bounds = np.searchsorted(group, np.arange(segments.groups + 1))
        out[n - 1] = running[bounds[1:]] - running[bounds[:-1]]
    return out


def _most_of_any_reference(tag: np.ndarray, first: np.ndarray, last: np.ndarray, tags: int) -> np.ndarray:
    """Per run ``[first, last]``: min(hypothesis keys, the most keys of one reference)."""
    length = last + 1 - first
    at = ragged_positions(first, length)
    run = np.repeat(np.arange(len(first), dtype=np.int64), length)
    counts = np.bincount(run * tags + tag[at], minlength=len(first) * tags).reshape(len(first), tags)
    return np.minimum(counts[:, 0], counts[:, 1:].max(axis=1))


def _windows(
    codes: np.ndarray, lengths: np.ndarray, texts: np.ndarray, order: int, symbol_bits: int, mark: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``order`` symbols from every position of ``texts`` (``mark`` past
    a text's end) packed in one int; and where each text's windows start."""
    starts = np.cumsum(lengths) - lengths
    padded_lengths = lengths[texts] + (order - 1)
    padded = np.full(int(padded_lengths.sum()), mark, dtype=np.int64)
    padded_starts = np.cumsum(padded_lengths) - padded_lengths
    padded[ragged_positions(padded_starts, lengths[texts])] = codes[ragged_positions(starts[texts], lengths[texts])]
    size = len(padded) - (order - 1)
    windows = padded[:size].copy()
    for j in range(1, order):
        windows <<= symbol_bits
        windows |= padded[j : size + j]
    return windows, padded_starts
