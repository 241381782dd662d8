"""The ids of a long text's whitespace-separated words, without a Python
object per word.

:func:`word_ids` returns what ``lookup(ids, text.split())`` returns (the
id of every word in ``ids``, new words given the next ids) and leaves the
same keys in ``ids``. Short texts take that road.
Long ones, where it costs a string object and a dictionary lookup per word
(about 150 ns a word here, most of BLEU's time), go through numpy:

* the text is encoded in UTF-8 (``surrogatepass``: one byte string per
  text, equal iff the texts are equal), and words are the runs of bytes
  outside ``str.split``'s whitespace. That is exact when the text holds no
  whitespace beyond ASCII's tab, newline, vertical tab, form feed, carriage
  return and space: every other byte of UTF-8 is part of a non-space
  character. Texts with any other whitespace character (``\\x1c``-``\\x1f``
  and the non-ASCII ones, :data:`OTHER_SPACE`) take the string road.
* each word is numbered exactly, a few bytes at a time
  (``pandas.factorize``, a hash table in C; see :func:`_exact_numbers`):
  equal numbers iff equal bytes.
* only the distinct words become strings, looked up in ``ids`` (the order
  in which new words get their ids may differ from the string road's).

``tests/metrics/test_word_ids.py`` compares both roads on generated text.

>>> from evalkit.metrics.sacrebleu_tokenize import Ids
>>> ids = Ids()
>>> found = word_ids("a rose is a rose", ids, threshold=0).tolist()
>>> [found[0] == found[3], found[1] == found[4], len(set(found)), sorted(ids) == ["a", "is", "rose"]]
[True, True, 3, True]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, MutableMapping

import numpy as np

from evalkit.metrics.ngram_counts import ragged_positions

__all__ = ["OTHER_SPACE", "THRESHOLD", "number_new", "word_ids"]

#: characters ``str.split`` splits at besides ASCII's " \t\n\v\f\r"
OTHER_SPACE = (
    "\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_SPACE = re.compile(f"[{OTHER_SPACE}]")
#: texts shorter than this (characters) take the string road
THRESHOLD = 200_000
_PIECE = 1 << 18  # values factorized together (see _factorize)
_PIECE_MASK = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


def word_ids(text: str, ids: MutableMapping[str, int], *, threshold: int | None = None) -> np.ndarray:
    """The id in ``ids`` of every word of ``text.split()`` (int64); ``ids``
    must give a new key the next id (:class:`~evalkit.metrics.sacrebleu_tokenize.Ids`).
    Texts of ``threshold`` characters or more (default :data:`THRESHOLD`)
    take the bytes road where they can."""
    long_enough = len(text) >= (THRESHOLD if threshold is None else threshold)
    if long_enough and (text.isascii() or not _OTHER_SPACE.search(text)):
        raw = text.encode("utf-8", "surrogatepass")
        byte = np.frombuffer(raw, dtype=np.uint8)
        if not ((byte - 0x1C) < 4).any():  # no \x1c-\x1f (uint8: smaller bytes wrap around)
            starts, lengths = _words((byte == 32) | ((byte - 9) < 5))  # " ", "\t\n\v\f\r"
            numbers, first = _exact_numbers(raw, starts, lengths)
            distinct = _decoded(raw, starts[first], lengths[first])
            number_new(ids, distinct)
            found = np.fromiter(map(ids.__getitem__, distinct), dtype=np.int64, count=len(distinct))
            return found[numbers]
    words = text.split()
    return np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))


def number_new(ids: MutableMapping[str, int], keys: Iterable[str]) -> None:
    """Give the keys not yet in ``ids`` the next ids, in order (``keys``
    distinct): what looking each up in :class:`~evalkit.metrics.sacrebleu_tokenize.Ids`
    does, without a Python call per new key."""
    new = list(itertools.filterfalse(ids.__contains__, keys))
    ids.update(zip(new, itertools.count(len(ids))))


def _words(space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of non-space bytes starts, and its length."""
    edges = np.flatnonzero(np.diff(space, prepend=True, append=True))
    starts = edges[0::2].astype(np.int64)
    return starts, edges[1::2] - starts


def _decoded(raw: bytes, starts: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The words at ``starts``/``lengths`` of ``raw`` as strings, with one
    ``decode``: joined by newlines (a word is whole characters and holds
    no whitespace), decoded, split again."""
    if not len(starts):
        return []
    with_newline = lengths + 1
    joined = np.full(int(with_newline.sum()) - 1, 10, dtype=np.uint8)  # 10: "\n"
    at = np.cumsum(with_newline) - with_newline
    joined[ragged_positions(at, lengths)] = np.frombuffer(raw, dtype=np.uint8)[ragged_positions(starts, lengths)]
    return joined.tobytes().decode("utf-8", "surrogatepass").split("\n")


def _exact_numbers(raw: bytes, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense numbers of the words (equal iff their bytes are equal) and, per
    number, one of its words.

    Round 0 numbers each word by one 64-bit key: its first 7 bytes and its
    length (lengths from 255 on share one value and get their exact length
    in a round of their own). Each later round renumbers, for the words with
    bytes left, the pairs (number so far, next 8 bytes); every round's
    numbers are new ones, so a word that ended earlier keeps a number no
    longer word can get.
    """
    padded = raw + bytes(8)
    pieces = np.ndarray(shape=(len(raw) + 1,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes from every offset
    capped = np.minimum(lengths, 255).astype(np.uint64)
    key = (pieces[starts] & _PIECE_MASK[np.minimum(lengths, 7)]) | (capped << np.uint64(56))
    number = _factorize(key)
    fresh = int(number.max(initial=-1)) + 1
    long = np.flatnonzero(lengths >= 255)
    if len(long):
        fresh = _renumber(number, long, lengths[long].astype(np.uint64), fresh)
    done, left = 7, np.flatnonzero(lengths > 7)
    while len(left):
        rest = lengths[left] - done
        fresh = _renumber(number, left, pieces[starts[left] + done] & _PIECE_MASK[np.minimum(rest, 8)], fresh)
        done, left = done + 8, left[rest > 8]
    return _dense(number, fresh)


def _renumber(number: np.ndarray, words: np.ndarray, values: np.ndarray, fresh: int) -> int:
    """Give ``words`` new numbers from ``fresh`` on, one per distinct pair
    (their number, their value); returns the next fresh number."""
    value = _factorize(values)
    pair = _factorize(number[words] * (int(value.max(initial=0)) + 1) + value)
    number[words] = fresh + pair
    return fresh + int(pair.max(initial=-1)) + 1


def _factorize(values: np.ndarray) -> np.ndarray:
    """``pandas.factorize(values)[0]`` (int64), a piece of :data:`_PIECE` values
    at a time, then the pieces' distinct values together. The same numbers
    (in order of first appearance); but ``factorize`` sizes its hash table
    for every value, and tables past a few MB cost more in fresh memory and
    cache misses than the second pass (measured: 823k word keys with 37k
    distinct, 13-19 ms in pieces against 29-37 ms at once)."""
    import pandas as pd

    if len(values) <= _PIECE:
        return pd.factorize(values)[0].astype(np.int64)
    codes = np.empty(len(values), dtype=np.int64)
    distinct = []
    offset = 0
    for start in range(0, len(values), _PIECE):
        piece_codes, piece_distinct = pd.factorize(values[start : start + _PIECE])
        codes[start : start + _PIECE] = piece_codes + offset
        offset += len(piece_distinct)
        distinct.append(piece_distinct)
    return pd.factorize(np.concatenate(distinct))[0].astype(np.int64)[codes]


def _dense(number: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``number`` (below ``size``) renumbered 0..k-1, and a position of each."""
    seen = np.zeros(size, dtype=bool)
    seen[number] = True
    table = np.cumsum(seen, dtype=np.int64) - 1
    dense = table[number]
    where = np.empty(int(table[-1]) + 1 if size else 0, dtype=np.int64)
    where[dense] = np.arange(len(dense), dtype=np.int64)  # any of a number's words will do: their bytes are equal
    return dense, where
