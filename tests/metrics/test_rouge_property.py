"""Property: for any texts, the fast ROUGE engine equals rouge-score 0.1.2.

Texts are drawn from a small vocabulary (so that n-grams and LCS overlap,
with repeats, several lines and stemmer-sensitive forms) mixed with random
unicode; one to three references per prediction. Derandomised, no example
database: the same examples run on every machine.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from evalkit.metrics.rouge_engine import score_rouge

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
_SCORERS = {stem: rouge_scorer.RougeScorer(TYPES, use_stemmer=stem) for stem in (False, True)}

_VOCABULARY = [
    "the",
    "a",
    "of",
    "run",
    "runs",
    "running",
    "ran",
    "happy",
    "happiness",
    "sky",
    "skies",
    "cat",
    "cats",
    "connect",
    "connection",
    "ies",
    "dying",
    "2",
    "10s",
    "Über",
    "café",
    "東京",
    "🙂",
]
_SEPARATORS = [" ", " ", " ", "  ", "\n", ", ", ". ", "-", "\t", "!\n", "\r\n", "'"]

_token = st.one_of(
    st.sampled_from(_VOCABULARY),
    st.sampled_from(_VOCABULARY).map(str.upper),
    st.text(min_size=1, max_size=6),  # any unicode, control characters included
)


@st.composite
def _texts(draw) -> str:
    tokens = draw(st.lists(_token, max_size=18))
    out = []
    for token in tokens:
        out.append(token)
        out.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(out[:-1]) if out else draw(st.sampled_from(["", " ", "\n", "?!"]))


_items = st.lists(st.tuples(_texts(), st.lists(_texts(), min_size=1, max_size=3)), min_size=1, max_size=6)


def _expected(prediction: str, references: list[str], stem: bool):
    scorer = _SCORERS[stem]
    scores = (
        scorer.score(references[0], prediction) if len(references) == 1 else scorer.score_multi(references, prediction)
    )
    return {t: tuple(scores[t]) for t in TYPES}


@settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(items=_items, stem=st.booleans())
def test_engine_equals_rouge_score(items, stem):
    predictions = [p for p, _ in items]
    references = [tuple(r) for _, r in items]
    got = score_rouge(predictions, references, rouge_types=TYPES, use_stemmer=stem)
    for i, (prediction, refs) in enumerate(items):
        want = _expected(prediction, refs, stem)
        for t in TYPES:
            for g, w in zip(got[t][i], want[t]):
                assert abs(g - w) <= 1e-12, (t, prediction, refs, got[t][i], want[t])
