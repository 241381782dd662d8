"""Longest common subsequences for ROUGE-L and ROUGE-Lsum, bit-parallel.

rouge-score fills an O(m·n) Python table for every sentence pair. Here one
sequence lives in the bits of a Python int and the other is scanned once
(Hyyrö's bit-vector LCS), so a 25-token pair costs ~25 big-int operations.

ROUGE-Lsum needs more than the length: it unions the *positions* that
rouge-score's own backtracking (``rouge_scorer._backtrack_norec``) picks, and
different LCS alignments can pick different tokens. :func:`lcs_positions`
replays that backtracking exactly from the stored bit vectors (see its
docstring for why the rule is the same).

>>> a, b = [1, 2, 3, 4], [2, 4, 3]
>>> lcs_length(a, b)
2
>>> bin(lcs_positions(match_masks(a), len(a), b))  # rouge-score's lcs_ind picks [1, 2]
'0b110'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["lcs_length", "match_masks", "lcs_positions", "HAVE_RAPIDFUZZ"]

_rapidfuzz_lcs: Callable[[Sequence[int], Sequence[int]], int] | None
try:  # C++ LCS length; exact on integer token ids (their hash is the id itself)
    from rapidfuzz.distance import LCSseq

    _rapidfuzz_lcs = LCSseq.similarity
    HAVE_RAPIDFUZZ = True
except ImportError:  # pragma: no cover - exercised by a test that hides rapidfuzz
    _rapidfuzz_lcs = None
    HAVE_RAPIDFUZZ = False


def match_masks(tokens: Sequence[int]) -> dict[int, int]:
    """Map each token to the bit mask of the positions where it occurs."""
    masks: dict[int, int] = {}
    get = masks.get
    bit = 1
    for token in tokens:
        masks[token] = get(token, 0) | bit
        bit <<= 1
    return masks


def lcs_length_python(a: Sequence[int], b: Sequence[int]) -> int:
    """LCS length in pure Python (Hyyrö 2004); the fallback without rapidfuzz."""
    if not a or not b:
        return 0
    full = (1 << len(a)) - 1
    vector = full
    get = match_masks(a).get
    for token in b:
        match = get(token)
        if match:
            u = vector & match
            vector = ((vector + u) | (vector - u)) & full
    # zero bits of the vector are the rows where the LCS grows
    return len(a) - vector.bit_count()


def lcs_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of a longest common subsequence of two token-id sequences."""
    if _rapidfuzz_lcs is not None:
        return int(_rapidfuzz_lcs(a, b))
    return lcs_length_python(a, b)


def lcs_positions(masks: dict[int, int], m: int, other: Sequence[int]) -> int:
    """Positions of ``ref`` (given as ``match_masks(ref)``, ``m = len(ref)``)
    in the LCS that rouge-score's ``lcs_ind(ref, other)`` returns, as a bit mask.

    rouge-score walks its table ``t`` back from ``(m, n)``: on equal tokens it
    takes the match; otherwise it moves left iff ``t[i][j-1] > t[i-1][j]``,
    else up. Without a match ``t[i][j] = max(t[i-1][j], t[i][j-1])`` and both
    neighbours lie in ``{t[i][j] - 1, t[i][j]}``, so "left" happens exactly
    when ``t[i-1][j] < t[i][j]``: when row ``i`` is a step of column ``j``.
    Column ``j``'s steps are the zero bits of the bit vector after scanning
    ``other[:j]``. So, in column ``j`` from row ``i``, the walk goes up to the
    highest row ``i' <= i`` that is a match or a step (one ``bit_length``), takes
    the match there or moves left, and each column costs O(1) big-int work.
    """
    if not m or not other:
        return 0
    full = (1 << m) - 1
    vector = full
    get = masks.get
    # Per column j: the rows where column j's LCS values step up, and the rows
    # that match other[j]. A column without a match leaves the vector as it
    # was, and in a run of such columns the walk moves left without changing
    # row after the first one: one column stands for the whole run.
    steps: list[int] = []
    matches: list[int] = []
    missing_before = False
    for token in other:
        match = get(token)
        if match is None:
            if not missing_before:
                missing_before = True
                steps.append(~vector & full)
                matches.append(0)
            continue
        missing_before = False
        u = vector & match
        vector = ((vector + u) | (vector - u)) & full
        steps.append(~vector & full)
        matches.append(match)
    if vector == full:
        return 0  # no token in common
    picked = 0
    i = m
    for j in range(len(steps) - 1, -1, -1):
        match = matches[j]
        candidates = (steps[j] | match) & ((1 << i) - 1)
        if not candidates:
            break  # the walk climbs to row 0 in this column
        row = candidates.bit_length() - 1  # 0-based index of row i'
        if (match >> row) & 1:
            picked |= 1 << row
            i = row
            if not i:
                break
        else:
            i = row + 1
    return picked
