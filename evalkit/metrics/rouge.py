"""ROUGE-1/2/L/Lsum with rouge-score's exact numbers.

Two engines give the same precision, recall and F (parity-tested to 1e-12):
``fast`` (default, :mod:`evalkit.metrics.rouge_engine`) and ``reference``
(rouge-score's ``RougeScorer`` itself). Several references per prediction:
per type the reference with the best F, as ``RougeScorer.score_multi`` picks.
The headline ``value`` is the mean F-measure (0-1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import ClassVar, Literal

import numpy as np

from evalkit.errors import ConfigError
from evalkit.exact_sum import exact_sum
from evalkit.item_scores import ItemScores, ordered_sum
from evalkit.metrics.base import ReferencesInput, check_predictions, join_parts, normalize_references
from evalkit.options import checked_options
from evalkit.result import MetricResult

__all__ = ["Rouge", "ROUGE_TYPES"]

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")

Triple = tuple[float, float, float]


def _split_sentences(text: str, splitter: str) -> str:
    """Put one sentence per line, for rougeLsum (as split_summaries does)."""
    if splitter == "nltk":
        import nltk

        return "\n".join(nltk.sent_tokenize(text))
    # "simple": end of sentence = . ! or ? followed by whitespace. Offline,
    # and not identical to NLTK's punkt (abbreviations such as "Dr." split).
    return "\n".join(s for s in re.split(r"(?<=[.!?])\s+", text) if s)


def _nltk_punkt_available() -> bool:
    try:
        import nltk

        nltk.data.find("tokenizers/punkt_tab/english/")
        return True
    except (LookupError, ImportError):
        return False


#: details whose per-item values a result does not keep: their exact sums travel instead
_SUMMED = ("precision", "recall")


def _details(sums: Mapping[str, Fraction], scores: np.ndarray) -> dict[str, float]:
    """Mean precision and recall (correctly rounded, from exact sums) and
    mean F (summed in item order, as the headline)."""
    n = len(scores)
    if not n:
        return {}
    details = {key: float(sums[key] / n) for key in _SUMMED}
    details["fmeasure"] = ordered_sum(scores) / n
    return details


class Rouge:
    """ROUGE through rouge-score's definitions.

    >>> r = Rouge(rouge_type="rouge1").score(predictions=["the cat sat"],
    ...                                      references=[["the cat sat down"]])
    >>> round(r.value, 4), round(r.details["recall"], 2)
    (0.8571, 0.75)
    """

    name: ClassVar[str] = "rouge"
    needs_references: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"joint_scoring", "partitioned"})

    @checked_options
    def __init__(
        self,
        *,
        rouge_type: str = "rougeL",
        use_stemmer: bool = False,
        split_summaries: bool = False,
        sentence_splitter: Literal["nltk", "simple"] = "nltk",
        engine: Literal["fast", "reference"] = "fast",
        jobs: int | None = None,
    ) -> None:
        if not re.fullmatch(r"rouge[1-9]|rougeL|rougeLsum", rouge_type):
            raise ConfigError(f"unknown ROUGE type {rouge_type!r}", hint="use rouge1..rouge9, rougeL or rougeLsum")
        if jobs is not None and jobs < 1:
            raise ConfigError(f"rouge.jobs must be at least 1, not {jobs}")
        if split_summaries and sentence_splitter == "nltk" and not _nltk_punkt_available():
            raise ConfigError(
                "rouge.split_summaries=true needs NLTK's 'punkt_tab' sentence data, which is not installed",
                hint="install it (python -m nltk.downloader punkt_tab), or set "
                "rouge.sentence_splitter=simple for an offline splitter (not identical to NLTK's), "
                "or put one sentence per line yourself and leave split_summaries off",
            )
        self.rouge_type = rouge_type
        self.name = rouge_type  # type: ignore[misc]
        self.use_stemmer = use_stemmer
        self.split_summaries = split_summaries
        self.sentence_splitter = sentence_splitter
        self.engine = engine
        self.jobs = jobs

    # Metrics with the same joint key are scored in one pass by the runner:
    # the four ROUGE types share tokenisation.
    def joint_key(self) -> tuple[str | bool | int | None, ...]:
        return ("rouge", self.use_stemmer, self.split_summaries, self.sentence_splitter, self.engine, self.jobs)

    def signature(self) -> str:
        from importlib.metadata import version

        split = f"{self.sentence_splitter}" if self.split_summaries else "no"
        return (
            f"{self.rouge_type}|stem:{'yes' if self.use_stemmer else 'no'}|split:{split}"
            f"|engine:{self.engine}|rouge-score:{version('rouge-score')}"
        )

    def score(self, *, predictions: Sequence[str | None], references: ReferencesInput | None = None) -> MetricResult:
        return self.score_jointly([self], predictions=predictions, references=references)[0]

    @staticmethod
    def score_jointly(
        metrics: Sequence[Rouge],
        *,
        predictions: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> list[MetricResult]:
        """Score several ROUGE types (same options) in one pass."""
        first = metrics[0]
        preds = check_predictions(predictions)
        refs = normalize_references(references, len(preds), metric=first.rouge_type)
        scored = [i for i, p in enumerate(preds) if p is not None]
        types = [m.rouge_type for m in metrics]
        p_in = [preds[i] for i in scored]
        r_in = [refs[i] for i in scored]
        if "rougeLsum" in types and first.split_summaries:
            p_in = [_split_sentences(p, first.sentence_splitter) for p in p_in]  # type: ignore[arg-type]
            r_in = [tuple(_split_sentences(r, first.sentence_splitter) for r in rs) for rs in r_in]
        triples = first._compute(types, p_in, r_in)  # type: ignore[arg-type]
        results = []
        for metric in metrics:
            rows = triples[metric.rouge_type]
            per_item = ItemScores.from_scored(len(preds), scored, (f for _, _, f in rows))
            n = len(rows)
            sums = {key: exact_sum(np.fromiter((r[k] for r in rows), np.float64, n)) for k, key in enumerate(_SUMMED)}
            unscored = {i: "missing prediction" for i, p in enumerate(preds) if p is None}
            results.append(metric._result(per_item, sums, unscored))
        return results

    def merge_parts(self, parts: Sequence[MetricResult]) -> MetricResult:
        """The whole's result from parts scored one after the other (a Dask
        run). The mean F is summed from the per-item scores in item order, as
        one pass sums it; precision and recall, whose per-item values a result
        does not keep, from the parts' exact sums (``exact_sums``): bit for bit
        the one-pass means, however the items were split.

        >>> preds, refs = ["the cat sat", "a dog", "on the mat"], ["the cat sat down", "a dog ran", "on a mat"]
        >>> m = Rouge(rouge_type="rouge1")
        >>> merged = m.merge_parts([m.score(predictions=preds[:1], references=refs[:1]),
        ...                         m.score(predictions=preds[1:], references=refs[1:])])
        >>> merged.value == m.score(predictions=preds, references=refs).value
        True
        """
        per_item, unscored = join_parts(parts)
        compact = per_item if isinstance(per_item, ItemScores) else ItemScores.from_values(per_item)
        sums = {key: sum((p.exact_sums[key] for p in parts if p.n_scored), Fraction(0)) for key in _SUMMED}
        return self._result(compact, sums, unscored)

    def _result(self, per_item: ItemScores, sums: Mapping[str, Fraction], unscored: dict[int, str]) -> MetricResult:
        details = _details(sums, per_item.scored_values())
        return MetricResult(
            metric=self.rouge_type,
            value=details.get("fmeasure"),
            per_item=per_item,
            details=details,
            unscored=unscored,
            signature=self.signature(),
            scale="0-1",
            exact_sums=sums,
        )

    def _compute(self, types: list[str], preds: list[str], refs: list[tuple[str, ...]]) -> dict[str, list[Triple]]:
        if not preds:
            return {t: [] for t in types}
        if self.engine == "fast":
            from evalkit.metrics.rouge_engine import score_rouge

            return score_rouge(preds, refs, rouge_types=types, use_stemmer=self.use_stemmer, jobs=self.jobs)
        return _reference_scores(types, preds, refs, self.use_stemmer)


def _reference_scores(
    types: list[str], preds: list[str], refs: list[tuple[str, ...]], use_stemmer: bool
) -> dict[str, list[Triple]]:
    from rouge_score.rouge_scorer import RougeScorer

    # sentences were split (or not) by us; rouge-score then splits on "\n"
    scorer = RougeScorer(types, use_stemmer=use_stemmer, split_summaries=False)
    out: dict[str, list[Triple]] = {t: [] for t in types}
    for pred, rs in zip(preds, refs):
        scores = scorer.score(rs[0], pred) if len(rs) == 1 else scorer.score_multi(list(rs), pred)
        for t in types:
            s = scores[t]
            out[t].append((s.precision, s.recall, s.fmeasure))
    return out
