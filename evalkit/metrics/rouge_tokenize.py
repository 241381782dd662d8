"""rouge-score's default tokenizer, applied to many texts at once.

rouge-score 0.1.2 (``rouge_score/tokenize.py``) lowercases a text, turns every
run of characters outside ``[a-z0-9]`` into a space, splits on whitespace,
Porter-stems (NLTK's stemmer) only tokens longer than 3 characters, and drops
tokens that are not ``[a-z0-9]+``. The tokens are therefore exactly the
maximal ``[a-z0-9]+`` runs of ``text.lower()``, each mapped through the
stemmer: :func:`tokenize` does that for one text.

:func:`tokenize_batch` does it for a whole chunk of texts at once, in C:
the texts are joined with "\\x00" (a separator the tokenizer would drop
anyway) and lowercased once; encoding to ASCII with "?" for every other
character, then mapping every byte outside ``[a-z0-9]`` to a space, leaves
exactly rouge-score's tokens between spaces (two to three times faster than a
regular expression). "\\x00" and "\\n" stay behind as marker tokens, so that
text and line boundaries survive. Tokens become integer ids (a :class:`Vocabulary`),
which numpy can count and rapidfuzz can compare exactly. Stems are cached
per word, because the Porter stemmer is the whole cost of ``use_stemmer``.

>>> tokenize("The quick-brown Fox's 2 jumps!", use_stemmer=True)
['the', 'quick', 'brown', 'fox', 's', '2', 'jump']
>>> batch = tokenize_batch(["a b a", "", "b\\n\\nc d"], Vocabulary(False))
>>> [batch.tokens(i) for i in range(3)], batch.lines(2)
([[0, 1, 0], [], [1, 2, 3]], [[1], [2, 3]])
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["tokenize", "Vocabulary", "TokenizedBatch", "tokenize_batch"]

_TOKEN_RE = re.compile(r"[a-z0-9]+")
_VALID_TOKEN_RE = re.compile(r"^[a-z0-9]+$")


def _translation_table() -> bytes:
    """For bytes.translate: [a-z0-9] and "\\x00" (between texts) stay, "\\n"
    becomes "\\x01" (bytes.split would eat "\\n" as whitespace), the rest a space."""
    table = bytearray(b" " * 256)
    for byte in b"abcdefghijklmnopqrstuvwxyz0123456789\x00":
        table[byte] = byte
    table[ord("\n")] = 1
    return bytes(table)


_TABLE = _translation_table()
_TEXT_MARK = b"\x00"
_LINE_MARK = b"\x01"

_TEXT_END = -2  # "\x00" between two texts
_LINE_END = -3  # "\n" inside a text
_DROPPED = -1  # a stem that rouge-score's validity check would drop

_MAX_STEMS = 500_000  # past this the stem cache is emptied (bounded memory)
_MAX_VOCABULARY = 1_000_000

_stemmer = None
_stems: dict[str, str] = {}


def _stem(word: str) -> str:
    """rouge-score's stemming of one lowercase token, cached."""
    stem = _stems.get(word)
    if stem is None:
        global _stemmer
        if _stemmer is None:
            from nltk.stem import porter

            _stemmer = porter.PorterStemmer()
        stem = _stemmer.stem(word) if len(word) > 3 else word
        if len(_stems) >= _MAX_STEMS:
            _stems.clear()
        _stems[word] = stem
    return stem


def tokenize(text: str, use_stemmer: bool = False) -> list[str]:
    """The tokens rouge-score's ``DefaultTokenizer(use_stemmer)`` returns."""
    words = _TOKEN_RE.findall(text.lower())
    if not use_stemmer:
        return words
    stems = [_stem(w) for w in words]
    return [s for s in stems if _VALID_TOKEN_RE.match(s)]


class _Ids(dict[bytes | str, int]):
    """Token (bytes; a stem is str) -> integer id; a new token gets the next free id."""

    def __init__(self) -> None:
        super().__init__({_TEXT_MARK: _TEXT_END, _LINE_MARK: _LINE_END})

    def __missing__(self, token: bytes | str) -> int:
        self[token] = new = len(self) - 2
        return new


class _StemIds(dict[bytes, int]):
    """Word -> id of its stem (``_DROPPED`` when rouge-score drops the stem)."""

    def __init__(self, ids: _Ids) -> None:
        super().__init__({_TEXT_MARK: _TEXT_END, _LINE_MARK: _LINE_END})
        self._ids = ids

    def __missing__(self, word: bytes) -> int:
        stem = _stem(word.decode("ascii"))
        self[word] = new = self._ids[stem] if _VALID_TOKEN_RE.match(stem) else _DROPPED
        return new


class Vocabulary:
    """Token ids of one tokenizer setting. Ids compare equal iff tokens do
    (after stemming, with ``use_stemmer``); they are >= 0."""

    def __init__(self, use_stemmer: bool) -> None:
        self.use_stemmer = use_stemmer
        self._ids = _Ids()
        self._lookup: _Ids | _StemIds = _StemIds(self._ids) if use_stemmer else self._ids

    def __len__(self) -> int:
        return len(self._ids) - 2

    def too_large(self) -> bool:
        """True once it holds so many tokens that it should be replaced."""
        return max(len(self._ids), len(self._lookup)) > _MAX_VOCABULARY

    def ids(self, tokens: Sequence[bytes]) -> list[int]:
        """Ids of tokens (and of the two marker tokens) in one C-level pass."""
        return list(map(self._lookup.__getitem__, tokens))


class TokenizedBatch:
    """Token ids of many texts, concatenated.

    ``flat[starts[i] : starts[i] + lengths[i]]`` are text ``i``'s tokens.
    ``line_counts[i]`` is how many of its lines have tokens, and
    :meth:`lines` gives their ids (rougeLsum's sentences; lines without
    tokens cannot add to a union LCS, so they are left out).
    """

    def __init__(
        self,
        flat: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        multiline: dict[int, list[list[int]]],
    ) -> None:
        self.flat = flat
        self.starts = starts
        self.lengths = lengths
        self._multiline = multiline
        self.line_counts = [1 if n else 0 for n in lengths.tolist()]
        for i, lines in multiline.items():
            self.line_counts[i] = len(lines)
        self._lists: list[list[int]] | None = None
        self._grams: dict[int, np.ndarray] = {1: flat}

    def tokens(self, i: int) -> list[int]:
        """Text ``i``'s token ids as a list."""
        return self.token_lists()[i]

    def lines(self, i: int) -> list[list[int]]:
        """Token ids of each line of text ``i`` that has tokens."""
        found = self._multiline.get(i)
        if found is not None:
            return found
        return [self.tokens(i)] if self.line_counts[i] else []

    def token_lists(self) -> list[list[int]]:
        """Every text's token ids as a Python list (for the LCS)."""
        if self._lists is None:
            flat = self.flat.tolist()
            self._lists = [flat[s : s + n] for s, n in zip(self.starts.tolist(), self.lengths.tolist())]
        return self._lists

    def gram_ids(self, n: int) -> np.ndarray:
        """Id (>= 0) of the n-gram that starts at each position of ``flat``,
        equal iff the n-grams are equal; -1 where fewer than n tokens of the
        same text remain."""
        found = self._grams.get(n)
        if found is not None:
            return found
        shorter = self.gram_ids(n - 1)
        size = len(self.flat)
        ends = np.repeat(self.starts + self.lengths, self.lengths)
        valid = np.flatnonzero(np.arange(size) + (n - 1) < ends)
        grams = np.full(size, -1, dtype=np.int64)
        if len(valid):
            head = shorter[valid]
            token_bits = int(self.flat.max()).bit_length()
            if int(head.max()).bit_length() + token_bits <= 48:
                # (shorter n-gram, next token) packed in one int: no sort
                grams[valid] = (head << token_bits) | self.flat[valid + (n - 1)]
            else:  # too wide to pack: one dense id per distinct pair
                pairs = (head << 32) | self.flat[valid + (n - 1)]
                grams[valid] = np.unique(pairs, return_inverse=True)[1].reshape(-1)
        self._grams[n] = grams
        return grams


def tokenize_batch(texts: Sequence[str], vocabulary: Vocabulary) -> TokenizedBatch:
    """Tokenise ``texts`` as rouge-score does, into one :class:`TokenizedBatch`."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:
        # "\x00" inside a text: it separates tokens like any other symbol,
        # so a space in its place tokenises the same and frees the marker
        joined = "\x00".join(t.replace("\x00", " ") for t in texts)
    # One lower() for all texts equals one per text or per line on [a-z0-9]:
    # only Greek final sigma is context-dependent, and it is not ASCII. Some
    # non-ASCII letters lowercase to ASCII ones ("\u0130" -> "i\u0307", the
    # Kelvin sign -> "k"), so lower() comes before the ASCII encoding.
    data = joined.lower().encode("ascii", "replace").translate(_TABLE)
    data = data.replace(_TEXT_MARK, b" \x00 ").replace(_LINE_MARK, b" \x01 ")
    ids = np.array(vocabulary.ids(data.split()), dtype=np.int64)
    text_of = np.cumsum(ids == _TEXT_END)
    keep = ids >= 0
    flat = ids[keep]
    lengths = np.bincount(text_of[keep], minlength=len(texts))
    starts = np.cumsum(lengths) - lengths
    multiline: dict[int, list[list[int]]] = {}
    line_ends = np.flatnonzero(ids == _LINE_END)
    if len(line_ends):
        bounds = np.flatnonzero(ids == _TEXT_END)
        text_starts = np.concatenate(([0], bounds + 1)).tolist()
        text_stops = np.concatenate((bounds, [len(ids)])).tolist()
        for i in np.unique(text_of[line_ends]).tolist():
            lines = _split_lines(ids[text_starts[i] : text_stops[i]].tolist())
            if len(lines) > 1:
                multiline[i] = lines
    return TokenizedBatch(flat, starts, lengths, multiline)


def _split_lines(ids: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    line: list[int] = []
    for token in ids:
        if token >= 0:
            line.append(token)
        elif token == _LINE_END and line:
            out.append(line)
            line = []
    if line:
        out.append(line)
    return out
