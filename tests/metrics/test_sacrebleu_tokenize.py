"""The fast BLEU tokenisation gives sacrebleu's tokens, text for text.

Every expected token list comes from sacrebleu's own tokenizer object in
the test (``BLEU(...).tokenizer``, after BLEU's lowercasing and ``rstrip``).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from evalkit.metrics import sacrebleu_tokenize
from evalkit.metrics.sacrebleu_tokenize import BleuVocabulary, WordTokens, split_13a, tokenize_texts
from tests.metrics.sacrebleu_strategies import TOKENIZERS, texts


def _expected(batch: list[str], tokenize: str, lowercase: bool) -> list[list[str]]:
    tokenizer = BLEU(tokenize=tokenize).tokenizer
    return [tokenizer((t.lower() if lowercase else t).rstrip()).split() for t in batch]


def _ours(batch: list[str], vocabulary: BleuVocabulary, lowercase: bool) -> list[list[str]]:
    found = tokenize_texts(batch, vocabulary, lowercase=lowercase)
    return [vocabulary.words.tokens(found.ids(i)) for i in range(len(batch))]


def test_active_characters_are_those_sacrebleus_patterns_act_on():
    # the first pattern's class (without the space), the dot and comma of the
    # second and third, the dash of the fourth: the module's word shortcut
    patterns = Tokenizer13a()._post_tokenizer._re
    first_class = {chr(c) for c in range(0x110000) if patterns[0][0].fullmatch(chr(c))}
    assert first_class <= {chr(c) for c in range(128)}  # an ASCII class: no other character can act
    expected = (first_class - {" "}) | {".", ",", "-"}
    active = {chr(c) for c in range(128) if sacrebleu_tokenize._ACTIVE_TABLE[c]}
    assert active == expected
    assert not sacrebleu_tokenize._ACTIVE_TABLE[128]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(word=st.text(min_size=1, max_size=12).filter(lambda w: not any(c.isspace() for c in w)))
def test_a_word_without_active_characters_is_its_only_token(word):
    post = Tokenizer13a()._post_tokenizer
    tokens = post(f" {word} ").split()
    if not len(sacrebleu_tokenize._active_words([word])[0]):
        assert tokens == [word]
    # and any word alone is what split_13a makes of it
    assert split_13a(Tokenizer13a())([word]) == [tokens]


_ACTIVE = [chr(c) for c in range(128) if sacrebleu_tokenize._ACTIVE_TABLE[c]]


def test_every_active_last_character_takes_the_shortcut():
    # no row of the table falls back to the regular expressions: a word with
    # trailing punctuation never pays for them
    table = split_13a(Tokenizer13a())._last.reshape(129, 3)
    assert all(table[ord(c)].min() > sacrebleu_tokenize._REGEX for c in _ACTIVE)
    assert (table[[c for c in range(129) if chr(c) not in _ACTIVE]] == sacrebleu_tokenize._REGEX).all()


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    stem=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Zs", "Zl", "Zp", "Cc"]), max_size=6).filter(
        lambda w: not any(c.isspace() or c in _ACTIVE for c in w)
    ),
    digit=st.sampled_from(["", "0", "7", "9", "a", "/"]),
    last=st.sampled_from(_ACTIVE),
)
def test_a_word_ending_in_its_one_active_character_is_split_as_sacrebleu_splits_it(stem, digit, last):
    post = Tokenizer13a()._post_tokenizer
    words = [stem + digit + last, stem + last, last + stem + digit + last, "a" + last]
    assert split_13a(Tokenizer13a())(words) == [post(f" {word} ").split() for word in words]


@settings(
    max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(batch=st.lists(texts(), min_size=1, max_size=8), lowercase=st.booleans())
def test_13a_batches_equal_the_tokenizer(batch, lowercase):
    vocabulary = BleuVocabulary(Tokenizer13a())
    assert _ours(batch, vocabulary, lowercase) == _expected(batch, "13a", lowercase)
    # a second batch through the same vocabulary (known words, new words)
    again = [t[::-1] for t in batch] + batch
    assert _ours(again, vocabulary, lowercase) == _expected(again, "13a", lowercase)


@pytest.mark.parametrize("tokenize", TOKENIZERS)
@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(texts(), min_size=1, max_size=6), lowercase=st.booleans())
def test_every_tokenizer_equals_sacrebleu(tokenize, batch, lowercase):
    vocabulary = BleuVocabulary(BLEU(tokenize=tokenize).tokenizer)
    assert _ours(batch, vocabulary, lowercase) == _expected(batch, tokenize, lowercase)


def test_13a_cases_by_hand():
    batch = [
        "It costs $5.",
        "it costs 5.0 ",
        "A&amp;B &lt;x&gt; &quot;q&quot;",
        "end-\nof line\nnext",
        "<skipped>skip<skipped> me",
        "1,000.5 and 3-4, a.b.c,, ..x ,.y",
        "tab\tseparated\u3000ideographic\xa0nbsp\x1cfs",
        "",
        "   ",
        "nul\x00inside",  # the mark inside a text: sacrebleu's tokenizer text by text
    ]
    vocabulary = BleuVocabulary(Tokenizer13a())
    assert _ours(batch, vocabulary, False) == _expected(batch, "13a", False)
    assert _ours(batch[:-1], vocabulary, True) == _expected(batch[:-1], "13a", True)


def test_long_random_text_equals_the_tokenizer():
    rng = random.Random(5)
    alphabet = "ab1.,-$ &;()'\n\t"
    batch = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3000))) for _ in range(40)]
    vocabulary = BleuVocabulary(Tokenizer13a())
    assert _ours(batch, vocabulary, False) == _expected(batch, "13a", False)


def test_word_tokens_ids_are_stable_and_the_mark_is_refused():
    words = WordTokens(lambda ws: [[w, w] for w in ws])
    first = words.texts(["a b", "b"])
    assert first is not None and [first.ids(0), first.ids(1)] == [[0, 0, 1, 1], [1, 1]]
    again = words.texts(["b c"])
    assert again is not None and again.ids(0) == [1, 1, 2, 2]
    assert words.texts(["a\x00b"]) is None  # a text that holds the mark
    assert words.tokens([2, 0]) == ["c", "a"]
