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

import numpy as np

__all__ = ["GramIds", "clipped_matches", "dense_ids", "ragged_positions", "window_bits", "window_matches"]


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


def window_bits(symbols: int, order: int, groups: int) -> int:
    """Bits :func:`window_matches` needs (at most 63 to run)."""
    return max(1, (groups - 1).bit_length()) + _bits(symbols + 2) * order + 1


def window_matches(
    tokens: np.ndarray,
    lengths: np.ndarray,
    pair_hyp: np.ndarray,
    pair_ref: np.ndarray,
    order: int,
) -> np.ndarray:
    """Matches ``sum_g min(count_hyp(g), count_ref(g))`` of every order 1..``order``
    for each pair (text ``pair_hyp[k]``, text ``pair_ref[k]``), shape (order, pairs).

    One sort for all orders: every position of a pair's two texts gets the
    key ``pair | the order tokens from it | side``, the tokens past the end
    of its text replaced by an end mark of its side (0 for the hypothesis, 1
    for the reference; tokens are shifted by 2). Sorted, the positions whose
    n-grams are equal are adjacent for every n; a run of equal first n
    tokens either holds n-grams of both sides, or holds end marks and only
    one side, which matches nothing. ``tokens`` are dense ids; needs
    :func:`window_bits` <= 63.
    """
    pairs = len(pair_hyp)
    symbol_bits = _bits(int(tokens.max(initial=0)) + 3)
    width = symbol_bits * order
    windows, window_start = _windows(tokens, lengths, (pair_hyp, pair_ref), order, symbol_bits)
    # segments in pair order, hypothesis then reference: the keys come out
    # sorted by pair already, and the stable sort (timsort) only orders pairs
    segment_start = np.stack(window_start, axis=1).reshape(-1)
    segment_length = np.stack((lengths[pair_hyp], lengths[pair_ref]), axis=1).reshape(-1)
    at = ragged_positions(segment_start, segment_length)
    pair_side = np.repeat(np.arange(2 * pairs, dtype=np.int64), segment_length)
    keys = ((pair_side >> 1) << (width + 1)) | (windows[at] << 1) | (pair_side & 1)
    keys.sort(kind="stable")
    out = np.zeros((order, pairs), dtype=np.int64)
    if not len(keys):
        return out
    changed = keys[1:] ^ keys[:-1]
    references = np.concatenate(([0], np.cumsum(keys & 1)))
    pair = keys >> (width + 1)
    boundary = np.empty(len(keys), dtype=bool)
    boundary[0] = True
    shifted = np.empty_like(changed)
    for n in range(1, order + 1):
        # a new run where the pair or one of the first n tokens differs
        np.right_shift(changed, 1 + symbol_bits * (order - n), out=shifted)
        np.not_equal(shifted, 0, out=boundary[1:])
        first = np.flatnonzero(boundary)
        stop = np.append(first[1:], len(keys))
        reference = references[stop] - references[first]
        clipped = np.minimum(stop - first - reference, reference)
        out[n - 1] = np.bincount(pair[first], weights=clipped, minlength=pairs).astype(np.int64)
    return out


def _windows(
    tokens: np.ndarray, lengths: np.ndarray, roles: tuple[np.ndarray, ...], order: int, symbol_bits: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ``order`` symbols from every position of the texts of each role
    (role r's end mark is r), packed in one int; and where each listed
    text's windows start."""
    starts = np.cumsum(lengths) - lengths
    pieces, offset, where = [], 0, []
    for role, texts in enumerate(roles):
        distinct, inverse = np.unique(texts, return_inverse=True)
        padded_lengths = lengths[distinct] + (order - 1)
        padded = np.full(int(padded_lengths.sum()), role, dtype=np.int64)
        padded_starts = np.cumsum(padded_lengths) - padded_lengths
        padded[ragged_positions(padded_starts, lengths[distinct])] = (
            tokens[ragged_positions(starts[distinct], lengths[distinct])] + 2
        )
        size = len(padded) - (order - 1)
        windows = padded[:size].copy()
        for j in range(1, order):
            windows <<= symbol_bits
            windows |= padded[j : size + j]
        pieces.append(windows)
        where.append(offset + padded_starts[inverse.reshape(-1)])
        offset += size
    return np.concatenate(pieces), where
