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
  than the apostrophe) is its own only token; a word whose only such
  character is its last (``word,``, ``89%``) keeps it or loses it to a
  token of its own as a table made with sacrebleu's patterns says (see
  :func:`_last_character_table`); the other new words with such
  characters go through sacrebleu's regular expressions together, in one
  string, once per batch.
* a batch of texts is joined into one string and split once; words become
  word ids (:mod:`evalkit.metrics.word_ids`: through numpy for long
  batches) and token ids through numpy.

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

from evalkit.metrics.ngram_counts import ragged_positions
from evalkit.metrics.word_ids import number_new, word_ids

__all__ = ["BleuVocabulary", "Ids", "TokenizedTexts", "WordTokens", "lookup", "split_13a", "tokenize_texts"]

_ACTIVE_CLASS = r"[\{-\~\[-\`!-\&\(-\+\:-\@\/.,\-]"
# Characters that one of TokenizerRegexp's four patterns can act on inside a
# word: the first pattern's class without the space, the dot and comma of the
# second and third, the dash of the fourth (checked against sacrebleu's
# patterns in the tests), as a table over ASCII (index 128: any other character).
_ACTIVE_TABLE = np.array([bool(re.fullmatch(_ACTIVE_CLASS, chr(c))) for c in range(128)] + [False])
MARK = "\x00"  # a word of its own between texts, and between words in a batch
_MAX_WORDS = 1_000_000  # past this many distinct words a vocabulary should be renewed


class Ids(dict[str, int]):
    """String -> id; a new string gets the next id (one Python call per new
    string, none per known one)."""

    def __missing__(self, key: str) -> int:
        self[key] = found = len(self)
        return found


def lookup(ids: Ids, keys: Sequence[str]) -> np.ndarray:
    """The ids of ``keys`` (new keys numbered in order of first appearance)."""
    return np.fromiter(map(ids.__getitem__, keys), dtype=np.int64, count=len(keys))


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

    def take(self, texts: np.ndarray) -> TokenizedTexts:
        """The texts numbered ``texts``, in that order."""
        lengths = self.lengths[texts]
        return TokenizedTexts(self.flat[ragged_positions(self.starts[texts], lengths)], lengths)

    @classmethod
    def from_lists(cls, per_text: Sequence[Sequence[int] | np.ndarray]) -> TokenizedTexts:
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        flat = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in per_text]) if per_text else lengths[:0]
        return cls(flat.astype(np.int64), lengths)


class WordTokens:
    """Word -> word id -> token ids, for a word-by-word splitting.

    ``split_words(words)`` gives each new word's tokens (a batch at a time);
    ids stay valid for as long as the object lives, and :meth:`too_large`
    says when a caller should start a new one (between batches).
    """

    def __init__(self, split_words: Callable[[list[str]], list[list[str]]]) -> None:
        self._split_words = split_words
        self.token_ids = Ids()
        self._word_ids = Ids({MARK: 0})  # word 0, no tokens: it marks where a text ends
        self._first = np.zeros(1, dtype=np.int64)
        self._count = np.zeros(1, dtype=np.int64)
        self._flat = np.zeros(0, dtype=np.int64)

    def too_large(self) -> bool:
        return max(len(self.token_ids), len(self._word_ids)) > _MAX_WORDS

    def tokens(self, ids: Sequence[int]) -> list[str]:
        """The tokens of ``ids`` (for tests and examples)."""
        names = {i: t for t, i in self.token_ids.items()}
        return [names[i] for i in ids]

    def texts(
        self, segments: Sequence[str], rewrite: Callable[[str], str] | None = None, rewrites: str = ""
    ) -> TokenizedTexts | None:
        """Token ids of every segment, or None when a segment holds the mark.
        ``rewrite`` is applied to each segment first when any holds one of
        the characters ``rewrites`` (it must leave other segments alone)."""
        joined = f" {MARK} ".join(segments)
        if rewrite is not None and any(c in joined for c in rewrites):
            joined = f" {MARK} ".join(map(rewrite, segments))
        if joined.count(MARK) != len(segments) - 1:
            return None
        known = len(self._word_ids)
        words = word_ids(joined, self._word_ids)
        if len(self._word_ids) > known:
            self._learn(list(itertools.islice(self._word_ids, known, None)))
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
        counts = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        tokens = list(chain.from_iterable(pieces))
        number_new(self.token_ids, dict.fromkeys(tokens))
        flat = lookup(self.token_ids, tokens)
        self._first = np.concatenate((self._first, len(self._flat) + np.cumsum(counts) - counts))
        self._count = np.concatenate((self._count, counts))
        self._flat = np.concatenate((self._flat, flat))


class Substitution:
    """``pattern.sub(template, text)`` for a template of group references and
    literal text, without a Python call per match (Python 3.11 expands a
    template in Python at every match): ``pattern.split`` returns the text
    between matches and every match's groups, the template's literal pieces
    are glued to the groups with C-level ``map``, and one ``join`` rebuilds
    the text. Exactly ``sub``'s result for patterns that match no empty
    string and whose groups all take part in every match (sacrebleu's)."""

    def __init__(self, pattern: re.Pattern[str], template: str) -> None:
        self.pattern = pattern
        pieces = re.split(r"\\([1-9])", template)
        literals, groups = pieces[0::2], [int(g) for g in pieces[1::2]]
        if groups != list(range(1, pattern.groups + 1)) or any("\\" in piece for piece in literals):
            raise ValueError(f"template {template!r} is not the groups of {pattern.pattern!r} in order")
        # group k gets the literal before it; the last group also the one after it
        self._before = literals[:-1]
        self._after = literals[-1]

    def __call__(self, text: str) -> str:
        parts = self.pattern.split(text)
        step = self.pattern.groups + 1
        for k, before in enumerate(self._before, 1):
            group = parts[k::step]
            if before:
                group = list(map(before.__add__, group))
            if k == len(self._before) and self._after:
                group = list(map(str.__add__, group, itertools.repeat(self._after)))
            parts[k::step] = group
        return "".join(parts)


class split_13a:  # noqa: N801 - used like a function
    """``Tokenizer13a``'s tokens of single words (see the module docstring)."""

    def __init__(self, tokenizer: object) -> None:
        post = tokenizer._post_tokenizer  # type: ignore[attr-defined]
        # sacrebleu's TokenizerRegexp: its patterns and templates, in order
        self._substitutions = [Substitution(pattern, template) for pattern, template in post._re]
        self._last = _last_character_table(self._post)

    def _post(self, text: str) -> str:
        """``TokenizerRegexp.__call__`` (without its cache, which a batch would only fill)."""
        for substitute in self._substitutions:
            text = substitute(text)
        return " ".join(text.split())

    def __call__(self, words: list[str]) -> list[list[str]]:
        pieces = [[word] for word in words]
        active, last = _active_words(words)
        # A word whose only active character is its last one: the table says
        # whether that character stays on the word or becomes a token of its own.
        outcome = self._last[last]
        for k in np.compress(outcome == _CUT, active).tolist():
            word = words[k]
            pieces[k] = [word[:-1], word[-1]]
        active = np.compress(outcome == _REGEX, active).tolist()
        if not active:
            return pieces
        # One pass of the regular expressions over the other active words. The
        # mark comes out whole; newlines are whitespace like the space but
        # outside the first pattern's class, so they cost no substitution.
        joined = f"\n{MARK}\n".join([words[k] for k in active])
        if joined.count(MARK) == len(active) - 1:
            found = split_at(self._post(f"\n{joined}\n").split(), MARK)
        else:  # a word holds the mark: word by word
            found = [self._post(f" {words[k]} ").split() for k in active]
        for k, piece in zip(active, found, strict=True):
            pieces[k] = piece
        return pieces


# What the table of split_13a gives a word whose only active character is its last
_REGEX, _KEEP, _CUT = 0, 1, 2  # not known: the regular expressions; the word whole; [word[:-1], word[-1]]
# the character before it: none (a one-character word), an ASCII digit, any other
_ALONE, _DIGIT, _OTHER = 0, 1, 2


def _last_character_table(post: Callable[[str], str]) -> np.ndarray:
    """``table[3 * code + before]``: what ``post`` (sacrebleu's patterns) makes
    of a word whose one active character, ``code``, is its last, by the kind
    of character before it; ``_REGEX`` for every other row.

    Each pattern matches the active character with one neighbour at most:
    the one before it, where only being an ASCII digit or not matters
    (``[^0-9]``, ``[0-9]``), and the whitespace after it (``[^0-9]``). The
    rest of the word holds no active character, so no pattern acts there:
    asking ``post`` with the stand-ins "" / "5" / "a" for the word before
    the character answers for every such word. A test checks the table
    against sacrebleu word by word."""
    table = np.full(3 * 129, _REGEX, dtype=np.uint8)
    for code in np.flatnonzero(_ACTIVE_TABLE).tolist():
        for before, stand_in in ((_ALONE, ""), (_DIGIT, "5"), (_OTHER, "a")):
            word = stand_in + chr(code)
            tokens = post(f" {word} ").split()
            if tokens == [word]:
                table[3 * code + before] = _KEEP
            elif tokens == [stand_in, chr(code)]:
                table[3 * code + before] = _CUT
    return table


def _active_words(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``words`` (no whitespace in them) hold a character of
    ``_ACTIVE_CLASS``, and for each of those its row of the table of
    :func:`_last_character_table` (a row past the table's ASCII rows when
    the last character is not its only active one)."""
    codes = np.frombuffer("\n".join(words).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = np.cumsum(codes == 10)  # "\n" ends a word
    is_active = _ACTIVE_TABLE[np.minimum(codes, 128)]
    per_word = np.bincount(word[is_active], minlength=len(words))
    active = np.flatnonzero(per_word)
    # each word's last character: before the next "\n", or the end
    last_at = np.append(np.flatnonzero(codes == 10) - 1, len(codes) - 1)[active]
    only_last = (per_word[active] == 1) & is_active[last_at]
    before_at = last_at - 1
    alone = (before_at < 0) | (codes[np.maximum(before_at, 0)] == 10)
    digit = (codes[np.maximum(before_at, 0)] - 48) < 10  # unsigned: "0".."9"
    before = np.where(alone, _ALONE, np.where(digit, _DIGIT, _OTHER))
    row = np.where(only_last, 3 * codes[last_at].astype(np.int64) + before, 3 * 128)
    return active, row


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
        found = vocabulary.words.texts(segments, rewrite=line_13a, rewrites="<\n&")
        if found is not None:
            return found
    # other tokenizers, or a text that holds the mark: sacrebleu's tokenizer, text by text
    tokenizer, token_ids = vocabulary.tokenizer, vocabulary.words.token_ids
    return TokenizedTexts.from_lists([lookup(token_ids, tokenizer(segment).split()) for segment in segments])
