"""word_ids gives the ids of ``text.split()``'s words, by either road."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.metrics.sacrebleu_tokenize import Ids
from evalkit.metrics.word_ids import OTHER_SPACE, word_ids
from tests.textgen import varied_pairs


def test_other_space_is_every_space_beyond_asciis_six():
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(OTHER_SPACE) == spaces - set(" \t\n\v\f\r")


def _both_roads(text: str, known: list[str]) -> None:
    known = list(dict.fromkeys(known))
    by_strings, by_bytes = Ids(zip(known, range(len(known)))), Ids(zip(known, range(len(known))))
    expected = [by_strings[w] for w in text.split()]
    found = word_ids(text, by_bytes, threshold=0).tolist()
    assert found == [by_bytes[w] for w in text.split()]  # each word's id in ``ids``
    assert set(by_bytes) == set(by_strings)  # the same words learnt
    assert sorted(by_bytes.values()) == list(range(len(by_bytes)))  # new ones numbered on
    for word in known:
        assert by_bytes[word] == by_strings[word]
    # the same partition: equal ids iff equal words (ids then map one to one)
    assert len(set(zip(found, expected))) == len(set(expected)) == len(set(found))


# words of 0-30 characters: ASCII, accents, CJK, emoji, NUL, lone surrogates,
# and every whitespace character between them
_CHARS = st.sampled_from(list("abcab.,-\x00é漢😀\ud800") + ["x" * 7, "y" * 8, "z" * 9])
_SPACE = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", *OTHER_SPACE])


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(words=st.lists(st.lists(_CHARS, max_size=8).map("".join), max_size=40), spaces=st.data())
def test_bytes_road_equals_split(words, spaces):
    text = "".join(w + spaces.draw(_SPACE) for w in words)
    _both_roads(text, known=words[:3])
    _both_roads(" " + text.strip(), known=[])


@pytest.mark.parametrize("length", [0, 1, 6, 7, 8, 9, 15, 16, 17, 64, 253, 254, 255, 256, 1000])
def test_long_words_differing_in_one_byte(length):
    base = "w" * length
    words = [base + "a", base + "b", base + "a", "a" + base, base, base + "a" * 8, base + "a" * 9]
    # NUL bytes at the end: only the length tells these apart
    words += [base + "\x00", base + "\x00" * 2, base + "\x00" * 9, base + "\x00" * 300, base + "\x00" * 301]
    _both_roads(" ".join(words * 3), known=[])


def test_realistic_text():
    predictions, references = varied_pairs(300, seed=5)
    text = " \x00 ".join(predictions + [r for refs in references for r in refs])
    _both_roads(text, known=["\x00"])


def test_empty_and_blank():
    for text in ["", " ", "\t\n", "a"]:
        _both_roads(text, known=[])


@pytest.mark.parametrize("code", range(128))
def test_every_ascii_character_splits_as_str_split_does(code):
    # the bytes road classes ASCII bytes with arithmetic on uint8: each one
    # inside words, between them, alone and doubled must agree with str.split
    c = chr(code)
    _both_roads(f"a{c}b {c} {c}{c}x{c} y {c}", known=[])


@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_factorize_in_pieces_equals_pandas_at_once(monkeypatch, piece):
    import numpy as np
    import pandas as pd

    from evalkit.metrics import word_ids as module

    rng = np.random.default_rng(piece)
    values = rng.integers(0, 50, 5000).astype(np.uint64) << np.uint64(40)  # repeats across pieces
    monkeypatch.setattr(module, "_PIECE", piece)
    found = module._factorize(values)
    assert found.dtype == np.int64
    assert found.tolist() == pd.factorize(values)[0].tolist()
    # and words split over pieces still get one number per distinct word
    text = " ".join(f"w{v}" for v in rng.integers(0, 300, 4000))
    _both_roads(text, known=[])
