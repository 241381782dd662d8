"""sacrebleu's word splitting of many texts at once, into integer ids.

BLEU (sacrebleu 2.6.0, ``BLEU._preprocess_segment``) lowercases a segment
when asked, strips trailing whitespace, runs the tokenizer and splits the
result on whitespace; chrF++ splits a segment on whitespace and each word
with ``CHRF._remove_punctuation``. :func:`tokenize_texts` and
:meth:`WordTokens.texts` return exactly those tokens, as integer ids (equal
ids iff equal tokens) that numpy can count.

Every tokenizer is sacrebleu's own object, called once per distinct text.
The default ``13a`` tokenizer gets a faster road to the same tokens, because
on realistic text its four regular expressions cost about as much as all of
the rest of sacrebleu's BLEU:

* ``Tokenizer13a`` first rewrites the whole line (``<skipped>``, ``-\\n``,
  ``\\n`` and four XML entities), then pads it with spaces and runs the four
  substitutions of ``TokenizerRegexp``. Each substitution matches one or two
  adjacent characters, and where a match touches whitespace the whitespace
  is only a "not a digit" neighbour (the first group of
  ``([^0-9])([\\.,])``, the second of ``([\\.,])([^0-9])``) or the space in
  the first pattern's class (which becomes three spaces). Whitespace is
  never the second character of the first kind of match nor the first of
  the second, so scanning resumes at every word's first character exactly
  as it would for that word alone; matches never join two words and only
  insert spaces. Hence the tokens of a line are the tokens of each of its
  whitespace-separated words, each word padded with whitespace and run
  through sacrebleu's own ``TokenizerRegexp``, concatenated.
* so 13a, like chrF++'s split, is a function of each word alone: a word is
  split once and remembered (word -> word id -> token ids). For 13a, a word
  with none of the characters the patterns act on (ASCII punctuation other
  than the apostrophe) is its own only token; the new words that have such
  characters go through sacrebleu's regular expressions together, in one
  string, once per batch.
* a batch of texts is joined into one string and split once; words become
  word ids in one C-level pass and token ids through numpy.

``tests/metrics/test_sacrebleu_tokenize.py`` compares the result with
``Tokenizer13a`` on generated text dense in digits, dots, commas, dashes,
entities and unicode whitespace.

>>> from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
>>> vocabulary = BleuVocabulary(Tokenizer13a())
>>> batch = tokenize_texts(["It costs $5.", "it costs 5.0 "], vocabulary, lowercase=True)
>>> [vocabulary.words.tokens(batch.ids(i)) for i in range(2)]
[['it', 'costs', '$', '5', '.'], ['it', 'costs', '5.0']]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np

__all__ = ["BleuVocabulary", "TokenizedTexts", "WordTokens", "split_13a", "tokenize_texts"]

_ACTIVE_CLASS = r"[\{-\~\[-\`!-\&\(-\+\:-\@\/.,\-]"
# Characters that one of TokenizerRegexp's four patterns can act on inside a
# word: the first pattern's class without the space, the dot and comma of the
# second and third, the dash of the fourth (checked against sacrebleu's
# patterns in the tests). A whole word with one of them; linear, as a match
# can only start at a word's start.
_ACTIVE_WORD = re.compile(r"(?<!\S)\S*?" + _ACTIVE_CLASS + r"\S*")
MARK = "\x00"  # a word of its own between texts, and between words in a batch
_MAX_WORDS = 1_000_000  # past this many distinct words a vocabulary should be renewed


class _Ids(dict[str, int]):
    """String -> id; a new string gets the next id and is queued in ``new``."""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[str] = []

    def __missing__(self, key: str) -> int:
        self[key] = found = len(self)
        self.new.append(key)
        return found


def split_at(tokens: list[str], mark: str) -> list[list[str]]:
    """``tokens`` cut at every ``mark`` (the marks dropped)."""
    out: list[list[str]] = [[]]
    for token in tokens:
        if token == mark:
            out.append([])
        else:
            out[-1].append(token)
    return out


class TokenizedTexts:
    """Token ids of many texts: ``flat[starts[i] : starts[i] + lengths[i]]``."""

    def __init__(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        self.flat = flat
        self.lengths = lengths
        self.starts = np.cumsum(lengths) - lengths

    def ids(self, i: int) -> list[int]:
        start = int(self.starts[i])
        return self.flat[start : start + int(self.lengths[i])].tolist()

    @classmethod
    def from_lists(cls, per_text: Sequence[Sequence[int]]) -> TokenizedTexts:
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        flat = np.fromiter(chain.from_iterable(per_text), dtype=np.int64, count=int(lengths.sum()))
        return cls(flat, lengths)


class WordTokens:
    """Word -> word id -> token ids, for a word-by-word splitting.

    ``split_words(words)`` gives each new word's tokens (a batch at a time);
    ids stay valid for as long as the object lives, and :meth:`too_large`
    says when a caller should start a new one (between batches).
    """

    def __init__(self, split_words: Callable[[list[str]], list[list[str]]]) -> None:
        self._split_words = split_words
        self.token_ids = _Ids()
        self._word_ids = _Ids()
        self._word_ids[MARK]  # word id 0, no tokens: it marks where a text ends
        self._word_ids.new.clear()
        self._first = np.zeros(1, dtype=np.int64)
        self._count = np.zeros(1, dtype=np.int64)
        self._flat = np.zeros(0, dtype=np.int64)

    def too_large(self) -> bool:
        return max(len(self.token_ids), len(self._word_ids)) > _MAX_WORDS

    def tokens(self, ids: Sequence[int]) -> list[str]:
        """The tokens of ``ids`` (for tests and examples)."""
        names = {i: t for t, i in self.token_ids.items()}
        return [names[i] for i in ids]

    def texts(self, segments: Sequence[str]) -> TokenizedTexts | None:
        """Token ids of every segment, or None when a segment holds the mark."""
        joined = f" {MARK} ".join(segments)
        if joined.count(MARK) != len(segments) - 1:
            return None
        words = np.fromiter(map(self._word_ids.__getitem__, joined.split()), dtype=np.int64)
        if self._word_ids.new:
            self._learn(self._word_ids.new)
            self._word_ids.new = []
        # word 0 is the mark: it ends a text and has no tokens
        text_of_word = np.cumsum(words == 0)
        per_word = self._count[words]
        ends = np.cumsum(per_word)
        total = int(ends[-1]) if len(ends) else 0
        at = np.repeat(self._first[words] - ends + per_word, per_word) + np.arange(total)
        lengths = np.bincount(np.repeat(text_of_word, per_word), minlength=len(segments)).astype(np.int64)
        return TokenizedTexts(self._flat[at], lengths)

    def _learn(self, words: list[str]) -> None:
        """Split new words (their ids follow the last known word's)."""
        pieces = self._split_words(words)
        token_ids = self.token_ids
        counts = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        flat = np.fromiter(map(token_ids.__getitem__, chain.from_iterable(pieces)), dtype=np.int64)
        token_ids.new.clear()
        self._first = np.concatenate((self._first, len(self._flat) + np.cumsum(counts) - counts))
        self._count = np.concatenate((self._count, counts))
        self._flat = np.concatenate((self._flat, flat))


class split_13a:  # noqa: N801 - used like a function
    """``Tokenizer13a``'s tokens of single words (see the module docstring)."""

    def __init__(self, tokenizer: object) -> None:
        post = tokenizer._post_tokenizer  # type: ignore[attr-defined]
        # sacrebleu's TokenizerRegexp.__call__ without its lru_cache (a batch
        # string would only fill the cache)
        self._post: Callable[[str], str] = post.__call__.__wrapped__.__get__(post)

    def __call__(self, words: list[str]) -> list[list[str]]:
        pieces = [[word] for word in words]
        # One pass of the regular expressions over every active word (no word
        # holds the mark: WordTokens.texts checks). The mark comes out whole;
        # newlines are whitespace like the space but outside the first
        # pattern's class, so they cost no substitution.
        active = _ACTIVE_WORD.findall("\n".join(words))
        if active:
            joined = f"\n{MARK}\n".join(active)
            position = dict(zip(words, itertools.count()))
            for word, piece in zip(active, split_at(self._post(f"\n{joined}\n").split(), MARK), strict=True):
                pieces[position[word]] = piece
        return pieces


def line_13a(line: str) -> str:
    """Tokenizer13a's rewriting of the whole line, before its regular expressions."""
    line = line.replace("<skipped>", "")
    line = line.replace("-\n", "")
    line = line.replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"')
        line = line.replace("&amp;", "&")
        line = line.replace("&lt;", "<")
        line = line.replace("&gt;", ">")
    return line


class BleuVocabulary:
    """Token ids for one BLEU tokenizer (sacrebleu's object)."""

    def __init__(self, tokenizer: Callable[[str], str]) -> None:
        from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

        self.tokenizer = tokenizer
        self.fast_13a = type(tokenizer) is Tokenizer13a
        self.words = WordTokens(split_13a(tokenizer) if self.fast_13a else _no_split)

    def too_large(self) -> bool:
        return self.words.too_large()


def _no_split(words: list[str]) -> list[list[str]]:
    return [[word] for word in words]


def tokenize_texts(texts: Sequence[str], vocabulary: BleuVocabulary, *, lowercase: bool) -> TokenizedTexts:
    """sacrebleu BLEU's tokens of each text, as ids of ``vocabulary``."""
    segments = list(map(str.rstrip, map(str.lower, texts) if lowercase else texts))
    if vocabulary.fast_13a:
        whole = "".join(segments)
        lines = list(map(line_13a, segments)) if any(c in whole for c in "<\n&") else segments
        found = vocabulary.words.texts(lines)
        if found is not None:
            return found
    # other tokenizers, or a text that holds the mark: sacrebleu's tokenizer, text by text
    tokenizer, token_id = vocabulary.tokenizer, vocabulary.words.token_ids.__getitem__
    batch = TokenizedTexts.from_lists([list(map(token_id, tokenizer(segment).split())) for segment in segments])
    vocabulary.words.token_ids.new.clear()
    return batch
