"""Fast TER statistics, equal to sacrebleu 2.6.0's bit for bit.

:func:`ter_statistics` returns, per item, the row that sacrebleu's
``TER._extract_corpus_statistics`` returns for it: ``[edits, average
reference length]``, the edits being the fewest over the references of
``lib_ter.translation_edit_rate`` (an int), the length a float.

:func:`edit_rate` is ``translation_edit_rate`` step for step: the same
greedy search over the same shift candidates in the same order, the same
ranking, the same limits (``_MAX_SHIFT_SIZE``, ``_MAX_SHIFT_DIST``,
``_MAX_SHIFT_CANDIDATES``). Only the edit distance is computed faster:

* sacrebleu's ``BeamEditDistance`` fills only a band of ``_BEAM_WIDTH``
  cells around the (length-scaled) diagonal of the edit-distance matrix.
  Every cell (i, j) on a path of cost d satisfies
  ``|i - j| + |(n - i) - (m - j)| <= d``. When all those cells lie inside
  the band, the band holds an optimal path, so the banded distance is the
  plain Levenshtein distance d, and every cell on an optimal path, with
  every predecessor that ties with it, holds its exact value. Whether that
  is so depends only on d (all candidates of a pair have the hypothesis's
  length): :class:`_Band` computes the largest such d once per pair.
* inside that bound the distance of a candidate is rapidfuzz's Levenshtein
  distance (C++, words as characters of a string) and the trace that picks
  the next candidates comes from a bit-parallel (Myers/Hyyrö) pass over the
  hypothesis whose per-row deltas replay sacrebleu's choice of operation at
  every cell (match/substitution, then deletion, then insertion);
* outside it (long lines with many edits) sacrebleu's own
  ``BeamEditDistance`` computes the distance, exactly as sacrebleu does.

``tests/metrics/test_ter_engine.py`` checks the traces, distances and rows
against sacrebleu on generated and adversarial pairs.

>>> edit_rate("a b c d e".split(), "c d e a b".split())
(1, 5)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from itertools import count
from typing import Any

from evalkit.metrics.collector import paused

__all__ = ["edit_rate", "edit_rate_text", "ter_statistics"]

# sacrebleu.metrics.lib_ter's limits (the tests check they did not change)
_MAX_SHIFT_SIZE = 10
_MAX_SHIFT_DIST = 50
_BEAM_WIDTH = 25
_MAX_SHIFT_CANDIDATES = 1000


class _Band:
    """sacrebleu's beam for a hypothesis of ``n`` words and a reference of
    ``m``, and the largest distance up to which it holds every optimal path."""

    def __init__(self, n: int, m: int) -> None:
        ratio = m / n if n else 1
        width = math.ceil(ratio / 2 + _BEAM_WIDTH) if _BEAM_WIDTH < ratio / 2 else _BEAM_WIDTH
        delta = m - n
        slack = math.inf
        for i in range(1, n + 1):
            diagonal = math.floor(i * ratio)
            low = max(0, diagonal - width)
            high = m + 1 if i == n else min(m + 1, diagonal + width)
            # the cells with |i - j| + |j - i - delta| <= d are
            # i + min(0, delta) - e <= j <= i + max(0, delta) + e, e = (d - |delta|) // 2
            if low > 0:
                slack = min(slack, i + min(0, delta) - low)
            if high - 1 < m:
                slack = min(slack, high - 1 - i - max(0, delta))
        self.floor = abs(delta)
        self.slack = slack

    def holds(self, distance: int) -> bool:
        return (distance - self.floor) // 2 <= self.slack


def _trace(hyp: str, ref: str) -> str:
    """sacrebleu's ``BeamEditDistance`` trace without a band: ' ' match,
    's' substitution, 'd' deletion (a hypothesis word), 'i' insertion (a
    reference word), ties broken in that order at every cell, read back from
    the end. One bit-parallel pass keeps each row's vertical and horizontal
    deltas; the read-back needs no other cell value."""
    m = len(ref)
    full = (1 << m) - 1
    equal: dict[str, int] = {}
    for j, word in enumerate(ref):
        equal[word] = equal.get(word, 0) | (1 << j)
    # row i: bit j-1 of up/down is D[i][j] - D[i][j-1] = +1/-1; of plus/minus, D[i][j] - D[i-1][j]
    up, down = [full], [0]
    plus, minus = [0], [0]
    vp, vn = full, 0
    for word in hyp:
        eq = equal.get(word, 0)
        xv = eq | vn
        xh = (((eq & vp) + vp) ^ vp) | eq
        hp = (vn | ~(xh | vp)) & full
        hn = vp & xh
        plus.append(hp)
        minus.append(hn)
        hp = ((hp << 1) | 1) & full
        hn = (hn << 1) & full
        vp = (hn | ~(xv | hp)) & full
        vn = hp & xv
        up.append(vp)
        down.append(vn)
    ops = []
    i, j = len(hyp), m
    while i > 0 or j > 0:
        if j == 0:
            op = "d"
        elif i == 0:
            op = "i"
        else:
            bit = 1 << (j - 1)
            # D[i][j] - D[i-1][j-1] = (D[i][j] - D[i-1][j]) + (D[i-1][j] - D[i-1][j-1])
            diagonal = (1 if plus[i] & bit else -1 if minus[i] & bit else 0) + (
                1 if up[i - 1] & bit else -1 if down[i - 1] & bit else 0
            )
            same = hyp[i - 1] == ref[j - 1]
            if diagonal == (0 if same else 1):
                op = " " if same else "s"
            elif plus[i] & bit:
                op = "d"
            else:
                op = "i"
        ops.append(op)
        if op in " s":
            i -= 1
            j -= 1
        elif op == "i":
            j -= 1
        else:
            i -= 1
    return "".join(reversed(ops))


class _Distance:
    """Distances (and traces) to one reference, as ``BeamEditDistance`` gives them."""

    def __init__(self, ref: str, n_hyp: int) -> None:
        from rapidfuzz.distance import Levenshtein

        self.ref = ref
        self.band = _Band(n_hyp, len(ref))
        self._levenshtein = Levenshtein.distance
        self._beam: Any = None

    def _exact(self) -> Any:
        if self._beam is None:
            from sacrebleu.metrics.lib_ter import BeamEditDistance

            self._beam = BeamEditDistance(list(self.ref))
        return self._beam

    def __call__(self, hyp: str) -> int:
        distance: int = self._levenshtein(hyp, self.ref)
        if self.band.holds(distance):
            return distance
        return int(self._exact()(list(hyp))[0])

    def with_trace(self, hyp: str) -> tuple[int, str]:
        distance: int = self._levenshtein(hyp, self.ref)
        if self.band.holds(distance):
            return distance, _trace(hyp, self.ref)
        found, trace = self._exact()(list(hyp))
        return int(found), trace


def _alignment(inverse_trace: str) -> tuple[list[int], list[int], list[int]]:
    """``lib_ter.trace_to_alignment`` of the flipped trace: the hypothesis
    position aligned to each reference position, and the running counts of
    reference and hypothesis errors (prefix sums, for range sums)."""
    align: list[int] = []
    ref_errors, hyp_errors = [0], [0]
    pos_hyp = -1
    for op in inverse_trace:
        # flipped: a deletion of the hypothesis word is an insertion here
        if op == " " or op == "s":
            pos_hyp += 1
            align.append(pos_hyp)
            error = op == "s"
            hyp_errors.append(hyp_errors[-1] + error)
            ref_errors.append(ref_errors[-1] + error)
        elif op == "d":
            pos_hyp += 1
            hyp_errors.append(hyp_errors[-1] + 1)
        else:
            align.append(pos_hyp)
            ref_errors.append(ref_errors[-1] + 1)
    return align, ref_errors, hyp_errors


def _shifted(words: str, start: int, length: int, target: int) -> str:
    """``lib_ter._perform_shift``."""
    if target < start:
        return words[:target] + words[start : start + length] + words[target:start] + words[start + length :]
    if target > start + length:
        return words[:start] + words[start + length : target] + words[start : start + length] + words[target:]
    return (
        words[:start]
        + words[start + length : length + target]
        + words[start : start + length]
        + words[length + target :]
    )


def _shift(
    hyp: str, ref: str, positions: dict[str, list[int]], distance: _Distance, checked: int, lowest: int
) -> tuple[int, str, int]:
    """``lib_ter._shift``: the best shift (gain, shifted hypothesis) and the
    candidates evaluated so far."""
    if distance(hyp) == lowest:
        return 0, hyp, checked
    before, inverse_trace = distance.with_trace(hyp)
    align, ref_errors, hyp_errors = _alignment(inverse_trace)
    best: tuple[int, int, int, int] | None = None
    best_words = hyp
    n_hyp, n_ref = len(hyp), len(ref)
    for start_h in range(n_hyp):
        for start_r in positions.get(hyp[start_h], ()):
            if start_r - start_h > _MAX_SHIFT_DIST:
                break
            if start_h - start_r > _MAX_SHIFT_DIST:
                continue
            # lib_ter._find_shifted_pairs: every length of the common run
            length = 0
            while hyp[start_h + length] == ref[start_r + length] and length < _MAX_SHIFT_SIZE:
                length += 1
                if hyp_errors[start_h + length] - hyp_errors[start_h] and (
                    ref_errors[start_r + length] - ref_errors[start_r]
                    and not start_h <= align[start_r] < start_h + length
                ):
                    found, best_words, checked = _targets(
                        hyp, start_h, start_r, length, align, before, distance, (best, best_words, checked)
                    )
                    best = found
                    if checked >= _MAX_SHIFT_CANDIDATES:
                        return (best[0] if best else 0), best_words, checked
                if n_hyp == start_h + length or n_ref == start_r + length:
                    break
    return (best[0] if best else 0), best_words, checked


def _targets(
    hyp: str,
    start_h: int,
    start_r: int,
    length: int,
    align: list[int],
    before: int,
    distance: _Distance,
    state: tuple[tuple[int, int, int, int] | None, str, int],
) -> tuple[tuple[int, int, int, int] | None, str, int]:
    """The targets of one shift: ``lib_ter._shift``'s inner loop."""
    best, best_words, checked = state
    previous = -1
    for offset in range(-1, length):
        if start_r + offset == -1:
            target = 0  # before the beginning
        elif start_r + offset < len(align):
            target = align[start_r + offset] + 1
        else:
            break
        if target == previous:
            continue
        previous = target
        words = _shifted(hyp, start_h, length, target)
        # (gain, longest, earliest start, earliest target); equal keys mean
        # equal shifted words, which sacrebleu's fifth element cannot order
        candidate = (before - distance(words), length, -start_h, -target)
        checked += 1
        if best is None or candidate > best:
            best, best_words = candidate, words
    return best, best_words, checked


def edit_rate(hyp_words: Sequence[str], ref_words: Sequence[str]) -> tuple[int, int]:
    """``lib_ter.translation_edit_rate(hyp_words, ref_words)``: (edits, reference length)."""
    symbols: dict[str, str] = {}
    code = count()

    def text(words: Sequence[str]) -> str:
        return "".join([symbols.get(w) or symbols.setdefault(w, chr(next(code))) for w in words])

    return edit_rate_text(text(hyp_words), text(ref_words))


def edit_rate_text(hyp: str, ref: str) -> tuple[int, int]:
    """:func:`edit_rate` with every word already one character."""
    n_ref = len(ref)
    if n_ref == 0:
        return len(hyp), 0
    if hyp == ref:
        return 0, n_ref
    distance = _Distance(ref, len(hyp))
    positions: dict[str, list[int]] = {}
    for j, word in enumerate(ref):
        positions.setdefault(word, []).append(j)
    # A shift keeps the length, and no distance is below the difference of
    # lengths: once there, no shift gains and sacrebleu's loop ends.
    lowest = abs(len(hyp) - n_ref)
    shifts = 0
    checked = 0
    while True:
        gain, shifted, checked = _shift(hyp, ref, positions, distance, checked, lowest)
        if checked >= _MAX_SHIFT_CANDIDATES or gain <= 0:
            break
        shifts += 1
        hyp = shifted
    return shifts + distance(hyp), n_ref


_CHUNK = 4096  # items whose words share one symbol table


class _Symbols(dict[str, str]):
    """Word -> one character (not a surrogate), a new word the next one."""

    def __missing__(self, word: str) -> str:
        code = len(self)
        found = self[word] = chr(code if code < 0xD800 else code + 0x800)
        return found


class _Texts(dict[str, str]):
    """Text -> its TER words as symbols, through ``preprocess``."""

    def __init__(self, preprocess: Any, symbols: _Symbols) -> None:
        super().__init__()
        self._preprocess = preprocess
        self._symbols = symbols

    def __missing__(self, text: str) -> str:
        found = self[text] = "".join(map(self._symbols.__getitem__, self._preprocess(text).split()))
        return found


def _twice(preprocess: Any) -> Any:
    """sacrebleu preprocesses a reference twice: ``_cache_references`` does,
    then ``TER._extract_reference_info`` again (not idempotent with
    ``normalized``), the hypothesis once."""

    def both(text: str) -> str:
        return str(preprocess(preprocess(text)))

    return both


def ter_statistics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metric: Any,
    jobs: int = 1,
) -> list[list[float]]:
    """sacrebleu's TER statistics row of every item, for ``metric`` (a
    ``sacrebleu.metrics.TER``, whose tokenizer is used).

    ``references[i]`` holds item ``i``'s one or more reference strings (no
    ``None``); ``jobs`` processes share the work without changing the rows.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference entries")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("every prediction needs at least one reference")
    serial = functools.partial(_serial, preprocess=metric._preprocess_segment)
    if jobs > 1 and len(predictions) > 1:
        from evalkit.parallel import map_parts

        parts = map_parts(serial, (predictions, references), len(predictions), jobs=jobs)
        return [row for part in parts for row in part]
    return serial(predictions, references)


def _serial(predictions: Sequence[str], references: Sequence[Sequence[str]], *, preprocess: Any) -> list[list[float]]:
    with paused():  # no reference cycles here; the collector's passes only cost time
        rows: list[list[float]] = []
        hyps = refs_of = _Texts(preprocess, _Symbols())
        for k, (prediction, refs) in enumerate(zip(predictions, references)):
            if k % _CHUNK == 0:
                symbols = _Symbols()
                hyps, refs_of = _Texts(preprocess, symbols), _Texts(_twice(preprocess), symbols)
            hyp = hyps[prediction]
            # TER._compute_segment_statistics
            best = int(1e16)
            ref_lengths = 0
            for ref in refs:
                edits, length = edit_rate_text(hyp, refs_of[ref])
                ref_lengths += length
                if edits < best:
                    best = edits
            rows.append([best, ref_lengths / len(refs)])
        return rows
