"""Parity of the fast ROUGE engine with rouge-score 0.1.2, input class by input class.

Every expected value comes from rouge-score itself (``RougeScorer.score`` for
one reference, ``score_multi`` for several), computed in the test; the
documented examples carry rouge-score's own expected numbers.
"""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer, tokenizers

from evalkit.metrics import rouge_engine, rouge_lcs, rouge_tokenize
from evalkit.metrics.rouge_engine import score_rouge

TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
TOLERANCE = 1e-12

# ---------------------------------------------------------------- the cases

_WORDS = (
    "the a of and to in is was run runs running ran runner happy happiness happily "
    "connect connected connection connections study studies studied generalize "
    "generalization sky skies die dying city cities report reported ies sses ing 1990s 3s"
).split()
_UNICODE = [
    "café",
    "naïve",
    "résumé",
    "Ångström",
    "über",
    "Zürich",
    "東京は大きい",
    "北京大学",
    "中文",
    "🙂",
    "👍🏽",
    "👨‍👩‍👧",
    "ΣΟΦΙΑ",
    "σοφός",
    "Москва",
    "İstanbul",
    "\u212aelvin",
    "ſtraße",
    "ﬁle",
    "ＡＢＣ",
    "e\u0301",
    "עברית",
    "عربى",
    "\u200bzero",
    "ǅ",
    "Ⅻ",
    "①",
    "²",
    "٣",
]
_PUNCTUATION = ["!", "?", ".", ",", "...", "--", "—", "(", ")", "'", '"', ";", ":", "/", "#", "&", "\u2026"]


def _sentence(rng: random.Random, n: int, words=_WORDS, unicode_share=0.0, punctuation_share=0.1) -> str:
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < unicode_share:
            out.append(rng.choice(_UNICODE))
        elif roll < unicode_share + punctuation_share:
            out.append(rng.choice(_PUNCTUATION))
        else:
            word = rng.choice(words)
            out.append(word.upper() if rng.random() < 0.05 else word.capitalize() if rng.random() < 0.1 else word)
    glue = rng.choice([" ", " ", "  ", "\t", "-"])
    return glue.join(out)


def _refs(rng: random.Random, make) -> tuple[str, ...]:
    return tuple(make() for _ in range(rng.choice([1, 1, 2, 3, 4])))


def _cases() -> list[tuple[str, str, tuple[str, ...]]]:
    rng = random.Random(20240601)
    cases: list[tuple[str, str, tuple[str, ...]]] = []

    def add(kind: str, prediction: str, references: tuple[str, ...]) -> None:
        cases.append((f"{kind}-{len(cases)}", prediction, references))

    for _ in range(60):  # ASCII, small vocabulary so that n-grams overlap
        add("ascii", _sentence(rng, rng.randint(1, 30)), _refs(rng, lambda: _sentence(rng, rng.randint(1, 30))))
    for _ in range(30):  # accents, CJK, emoji, letters that lowercase to ASCII
        make = lambda: _sentence(rng, rng.randint(1, 20), unicode_share=0.4)  # noqa: E731
        add("unicode", make(), _refs(rng, make))
    for unicode_only in (" ".join(_UNICODE), "東京 大学 🙂", "ΣΟΦΙΑ"):
        add("unicode-only", unicode_only, (unicode_only, "東京"))
    blanks = ["", " ", "\n", "\n\n", "\t", " \n "]
    for blank in blanks:  # empty on either side, and both
        add("empty-pred", blank, ("the report said",))
        add("empty-ref", "the report said", (blank,))
        add("empty-both", blank, (blank, ""))
    add("empty-among-refs", "run runs", ("", "run", ""))
    for _ in range(15):  # punctuation only, on either side
        punct = " ".join(rng.choice(_PUNCTUATION) for _ in range(rng.randint(1, 6)))
        add("punct-pred", punct, _refs(rng, lambda: _sentence(rng, 8)))
        add("punct-ref", _sentence(rng, 8), (punct,))
    add("punct-both", "!!! ...", ("?", "—"))
    for _ in range(20):  # repeated tokens and n-grams
        few = ["the", "a", "run", "the a"]
        add(
            "repeats",
            _sentence(rng, rng.randint(2, 25), few),
            _refs(rng, lambda: _sentence(rng, rng.randint(2, 25), few)),
        )
    add("repeats-one-word", "the the the the the", ("the the", "the the the the the the the"))
    for _ in range(40):  # several lines (rougeLsum), blank and symbol-only lines, CRLF

        def lines() -> str:
            parts = [_sentence(rng, rng.randint(0, 9), punctuation_share=0.2) for _ in range(rng.randint(1, 5))]
            if rng.random() < 0.3:
                parts.insert(rng.randrange(len(parts) + 1), rng.choice(["", "!!", "  "]))
            return rng.choice(["\n", "\n", "\r\n", "\n\n"]).join(parts)

        add("lines", lines(), _refs(rng, lines))
    add("lines-swapped", "Second sentence.\nFirst Sentence.", ("First sentence.\nSecond Sentence.",))
    add("lines-one-vs-many", "a b c d e", ("a b\nc d\nb a\ne",))
    for _ in range(12):  # stemming-sensitive words, short words left unstemmed
        stems = "running runs ran runner happiness happy happily skies sky dying die ies sses ing agreed feed".split()
        add("stems", _sentence(rng, 12, stems), _refs(rng, lambda: _sentence(rng, 12, stems)))
    for text in [
        "a\x00b c",
        "\x00",
        "\x00\x00 run",
        "x\x01y\x1cz\x1dw",
        "a\x85b\u2028c\u2029d",
        "a\rb\x0bc\x0cd",
        "lone\ud800surrogate a",
        "\udfff",
    ]:
        add("controls", text, (text.replace("\x00", " "), "a b c"))  # "\x00" is the engine's text separator
    # Ties between references: equal F, different P and R -> the first wins.
    add("tie", "a b c d", ("a b", "a b c d e f g h"))
    add("tie", "a b c d", ("a b c d e f g h", "a b"))
    add("tie-identical", "run the report", ("the report", "the report"))
    add("tie-zero", "x y", ("p q", "r s", "t"))
    for _ in range(6):
        add("multi-ref", _sentence(rng, 10), tuple(_sentence(rng, 10) for _ in range(4)))
    # Very long lines: 2,000+ words against a few hundred (rouge-score's
    # O(m*n) LCS makes longer pairs too slow for a unit test).
    add("long-pred", _sentence(rng, 2100), (_sentence(rng, 250), _sentence(rng, 120)))
    add("long-ref", _sentence(rng, 250), (_sentence(rng, 2100),))
    long_lines = "\n".join(_sentence(rng, 40) for _ in range(8))
    add("long-lines", long_lines, ("\n".join(_sentence(rng, 30) for _ in range(6)),))
    return cases


CASES = _cases()
assert len(CASES) >= 200


def reference_scores(types, prediction: str, references, use_stemmer: bool) -> dict[str, tuple[float, float, float]]:
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=use_stemmer)
    if isinstance(references, str):
        references = (references,)
    if len(references) == 1:
        scores = scorer.score(references[0], prediction)
    else:
        scores = scorer.score_multi(list(references), prediction)
    return {t: tuple(scores[t]) for t in types}


def assert_close(got, expected, where: str = "") -> None:
    assert len(got) == 3, where
    for name, g, e in zip(("precision", "recall", "fmeasure"), got, expected):
        assert abs(g - e) <= TOLERANCE, f"{where} {name}: engine {g!r} != rouge-score {e!r}"


@pytest.fixture(scope="module", params=[False, True], ids=["nostem", "stem"])
def stem(request):
    return request.param


@pytest.fixture(scope="module")
def expected(stem):
    return [reference_scores(TYPES, p, refs, stem) for _, p, refs in CASES]


@pytest.fixture(scope="module")
def batched(stem):
    preds = [p for _, p, _ in CASES]
    refs = [r for _, _, r in CASES]
    return score_rouge(preds, refs, rouge_types=TYPES, use_stemmer=stem)


# ------------------------------------------------------------------ parity


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_parity_in_one_batch(index, stem, expected, batched):
    for t in TYPES:
        assert_close(batched[t][index], expected[index][t], f"{CASES[index][0]} {t}")


def test_parity_one_pair_at_a_time(stem, expected):
    for (case_id, prediction, refs), want in zip(CASES, expected):
        got = score_rouge([prediction], [refs], use_stemmer=stem)
        for t in TYPES:
            assert_close(got[t][0], want[t], f"{case_id} {t}")


def test_output_shape_and_order(batched):
    assert list(batched) == list(TYPES)
    assert all(len(batched[t]) == len(CASES) for t in TYPES)
    assert all(isinstance(x, float) for t in TYPES for triple in batched[t] for x in triple)


@pytest.mark.parametrize("rouge_type", ["rouge3", "rouge4", "rouge9"])
def test_higher_order_ngrams(rouge_type):
    preds = [p for _, p, _ in CASES[:80]] + ["a b a b a b a b a b", "a b c d e f g h i j"]
    refs = [r for _, _, r in CASES[:80]] + [("a b a b a b a b a",), ("a b c d e f g h i j k",)]
    got = score_rouge(preds, refs, rouge_types=[rouge_type])
    for i, (p, r) in enumerate(zip(preds, refs)):
        assert_close(got[rouge_type][i], reference_scores([rouge_type], p, r, False)[rouge_type], rouge_type)


def test_types_in_any_order_and_subset():
    preds = [p for _, p, _ in CASES[:50]]
    refs = [r for _, _, r in CASES[:50]]
    got = score_rouge(preds, refs, rouge_types=["rougeLsum", "rouge2"])
    assert list(got) == ["rougeLsum", "rouge2"]
    for i, (p, r) in enumerate(zip(preds, refs)):
        want = reference_scores(["rougeLsum", "rouge2"], p, r, False)
        assert_close(got["rougeLsum"][i], want["rougeLsum"])
        assert_close(got["rouge2"][i], want["rouge2"])


# ---------------------------------------- documented examples of rouge-score
# (rouge_score/rouge_scorer_test.py and the RougeScorer docstring)


@pytest.mark.parametrize(
    "types, reference, prediction, want",
    [
        (["rouge1"], "testing one two", "testing", {"rouge1": (1, 1 / 3, 1 / 2)}),
        (["rouge2"], "testing one two", "testing one", {"rouge2": (1, 1 / 2, 2 / 3)}),
        (["rougeL"], "testing one two", "testing one", {"rougeL": (1, 2 / 3, 4 / 5)}),
        (["rougeL"], "testing one two", "testing two", {"rougeL": (1, 2 / 3, 4 / 5)}),
        (
            ["rouge1", "rougeL"],
            "testing one two",
            "testing one",
            {"rouge1": (1, 2 / 3, 4 / 5), "rougeL": (1, 2 / 3, 4 / 5)},
        ),
        (
            ["rougeLsum"],
            "w1 w2 w3 w4 w5",
            "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5",
            {"rougeLsum": (0.4, 0.8, 0.5333333333333333)},
        ),
        (["rougeLsum"], "w1 w2 w3 w4 w5", "", {"rougeLsum": (0, 0, 0)}),
        (["rougeLsum"], "", "w1", {"rougeLsum": (0, 0, 0)}),
        (["rougeLsum"], "w1 w2 w3 w4 w5", "/", {"rougeLsum": (0, 0, 0)}),
        (["rouge1", "rouge2", "rougeL", "rougeLsum"], "testing one two", "", {t: (0, 0, 0) for t in TYPES}),
    ],
)
def test_rouge_score_documented_examples(types, reference, prediction, want):
    got = score_rouge([prediction], [(reference,)], rouge_types=types)
    for t, triple in want.items():
        assert_close(got[t][0], reference_scores([t], prediction, reference, False)[t])
        for g, w in zip(got[t][0], triple):
            assert g == pytest.approx(w, abs=1e-4)


def test_rouge_score_documented_multi_and_lsum_examples():
    got = score_rouge(["text first"], [("first text", "first something")], rouge_types=["rouge1", "rouge2", "rougeL"])
    assert (got["rouge1"][0][2], got["rouge2"][0][2], got["rougeL"][0][2]) == pytest.approx((1, 0, 0.5))
    swapped = score_rouge(
        ["Second sentence.\nFirst Sentence."],
        [("First sentence.\nSecond Sentence.",)],
        rouge_types=["rougeLsum"],
        use_stemmer=True,
    )
    assert swapped["rougeLsum"][0][2] == pytest.approx(1.0)
    joined = score_rouge(
        ["Second sentence. First Sentence."],
        [("First sentence. Second Sentence.",)],
        rouge_types=["rougeLsum"],
        use_stemmer=True,
    )
    assert joined["rougeLsum"][0][2] == pytest.approx(0.5)
    example = score_rouge(
        ["The quick brown dog jumps on the log."],
        [("The quick brown fox jumps over the lazy dog",)],
        rouge_types=["rouge1", "rougeL"],
        use_stemmer=True,
    )
    want = reference_scores(
        ["rouge1", "rougeL"],
        "The quick brown dog jumps on the log.",
        "The quick brown fox jumps over the lazy dog",
        True,
    )
    assert_close(example["rouge1"][0], want["rouge1"])
    assert_close(example["rougeL"][0], want["rougeL"])


# --------------------------------------------------- parallel and chunking


def test_jobs_2_equals_serial_exactly_and_in_order(stem, batched):
    preds = [p for _, p, _ in CASES]
    refs = [r for _, _, r in CASES]
    assert score_rouge(preds, refs, use_stemmer=stem, jobs=2) == batched


def test_jobs_none_equals_serial(monkeypatch, batched):
    preds = [p for _, p, _ in CASES]
    refs = [r for _, _, r in CASES]
    monkeypatch.setattr(rouge_engine, "PARALLEL_MIN_PAIRS", 10)  # make "large enough" reachable
    assert score_rouge(preds, refs, jobs=None) == score_rouge(preds, refs, jobs=1)


def test_small_chunks_and_tight_cache_bounds_change_nothing(monkeypatch, stem, batched):
    preds = [p for _, p, _ in CASES]
    refs = [r for _, _, r in CASES]
    monkeypatch.setattr(rouge_engine, "_CHUNK", 7)
    monkeypatch.setattr(rouge_engine, "_MAX_TRIPLES", 3)
    monkeypatch.setattr(rouge_tokenize, "_MAX_VOCABULARY", 10)
    monkeypatch.setattr(rouge_tokenize, "_MAX_STEMS", 5)
    rouge_engine.clear_caches()
    assert score_rouge(preds, refs, use_stemmer=stem) == batched
    assert score_rouge(preds, refs, use_stemmer=stem, jobs=3) == batched


def test_without_rapidfuzz_the_python_lcs_gives_the_same(monkeypatch, batched, stem):
    monkeypatch.setattr(rouge_lcs, "_rapidfuzz_lcs", None)
    preds = [p for _, p, _ in CASES]
    refs = [r for _, _, r in CASES]
    assert score_rouge(preds, refs, use_stemmer=stem) == batched


def test_a_failing_worker_raises_in_the_caller():
    from evalkit.parallel import map_parts

    def explode(items):
        if items and items[0] >= 5:
            raise KeyError("boom in a worker")
        return len(items)

    with pytest.raises(KeyError, match="boom in a worker"):
        map_parts(explode, (list(range(10)),), 10, jobs=2)
    assert map_parts(explode, (list(range(4)),), 4, jobs=2) == [2, 2]


# ------------------------------------------------------------ input checks


@pytest.mark.parametrize("bad", ["rouge0", "rouge10", "rougen", "rougeLSum", "bleu"])
def test_invalid_rouge_types_raise_like_rouge_score(bad):
    with pytest.raises(ValueError):
        rouge_scorer.RougeScorer([bad]).score("testing one two", "testing")
    with pytest.raises(ValueError, match="Invalid rouge type"):
        score_rouge(["testing"], [("testing one two",)], rouge_types=[bad])


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_invalid_jobs(jobs):
    with pytest.raises(ValueError, match="jobs"):
        score_rouge(["a"], [("a",)], jobs=jobs)


def test_counts_must_match_and_each_item_needs_a_reference():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        score_rouge(["a", "b"], [("a",)])
    with pytest.raises(ValueError, match="at least one reference"):
        score_rouge(["a"], [()])


def test_bare_string_reference_counts_as_one_and_duplicates_collapse():
    assert score_rouge(["a b"], ["a c"]) == score_rouge(["a b"], [("a c",)])
    assert list(score_rouge(["a"], [("a",)], rouge_types=["rouge1", "rouge1"])) == ["rouge1"]
    assert score_rouge([], [], rouge_types=["rouge1", "rougeL"]) == {"rouge1": [], "rougeL": []}


# ------------------------------------------------- tokenizer and LCS units


def test_tokenizer_matches_rouge_score_on_every_case_text(stem):
    theirs = tokenizers.DefaultTokenizer(use_stemmer=stem)
    texts = [p for _, p, _ in CASES] + [r for _, _, refs in CASES for r in refs]
    vocabulary = rouge_tokenize.Vocabulary(stem)
    batch = rouge_tokenize.tokenize_batch(texts, vocabulary)
    pairs = set()
    for i, text in enumerate(texts):
        want = theirs.tokenize(text)
        assert rouge_tokenize.tokenize(text, stem) == want, repr(text)
        assert len(batch.tokens(i)) == len(want), repr(text)
        pairs.update(zip(want, batch.tokens(i)))
        lines = [theirs.tokenize(s) for s in text.split("\n") if s]
        assert sum(1 for line in lines if line) == batch.line_counts[i], repr(text)
    # one id per distinct token across all texts, and the reverse
    assert len({w for w, _ in pairs}) == len({x for _, x in pairs}) == len(pairs)


def test_lcs_positions_replay_rouge_score_backtracking():
    rng = random.Random(7)
    for _ in range(3000):
        alphabet = rng.choice([2, 3, 5, 12])
        a = [rng.randrange(alphabet) for _ in range(rng.randrange(0, 16))]
        b = [rng.randrange(alphabet) for _ in range(rng.randrange(0, 16))]
        picked = rouge_lcs.lcs_positions(rouge_lcs.match_masks(a), len(a), b)
        assert [i for i in range(len(a)) if picked >> i & 1] == rouge_scorer.lcs_ind(a, b), (a, b)
        length = rouge_scorer._lcs_table(a, b)[-1][-1]
        assert rouge_lcs.lcs_length(a, b) == rouge_lcs.lcs_length_python(a, b) == length, (a, b)


def test_lcs_on_long_sequences_spanning_many_machine_words():
    rng = random.Random(11)
    a = [rng.randrange(40) for _ in range(700)]
    b = [rng.randrange(40) for _ in range(650)]
    table = rouge_scorer._lcs_table(a, b)
    assert rouge_lcs.lcs_length(a, b) == rouge_lcs.lcs_length_python(a, b) == table[-1][-1]
    picked = rouge_lcs.lcs_positions(rouge_lcs.match_masks(a), len(a), b)
    assert [i for i in range(len(a)) if picked >> i & 1] == rouge_scorer._backtrack_norec(table, a, b)
