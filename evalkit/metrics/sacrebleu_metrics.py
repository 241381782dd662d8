"""BLEU, chrF and TER through sacrebleu.

The headline is sacrebleu's *corpus* score (0-100); ``per_item`` holds the
sentence-level scores (BLEU with effective order unless the caller sets
``effective_order``); the signature is sacrebleu's own.

Per-item statistics are extracted once and reused for the corpus score, the
sentence scores and resampling (bootstrap, paired tests). That uses
sacrebleu's ``_extract_corpus_statistics`` / ``_compute_score_from_stats``,
the same calls sacrebleu's own significance tests make; the version is pinned
and ``tests/metrics/test_sacrebleu_parity.py`` proves the numbers equal the
public ``corpus_score`` / ``sentence_score``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from evalkit.errors import ConfigError
from evalkit.metrics.base import ReferencesInput, check_predictions, normalize_references
from evalkit.result import MetricResult

__all__ = ["BLEU", "CHRF", "TER"]

_CHUNK = 10_000


def _reference_streams(refs: list[tuple[str, ...]]) -> list[list[str | None]]:
    """Per-item reference tuples -> sacrebleu's reference streams, padded with
    ``None`` where an item has fewer references (sacrebleu's documented way to
    give a varying number)."""
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


class _SacrebleuMetric:
    name: ClassVar[str]
    needs_references: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"corpus_statistics"})
    higher_is_better: ClassVar[bool] = True

    def _build(self, **overrides: Any) -> Any:
        raise NotImplementedError

    def _details(self, score: Any) -> dict[str, Any]:
        return {}

    def __init__(self) -> None:
        try:
            self._metric = self._build()
        except (ValueError, TypeError, KeyError, AssertionError, RuntimeError) as exc:
            raise ConfigError(f"invalid option for {self.name}: {exc}") from None

    # -- statistics (also used by resampling) -------------------------------
    def item_statistics(self, *, predictions: Sequence[str], references: ReferencesInput) -> list[list[float]]:
        """One row of sufficient statistics per item; rows sum to the corpus's."""
        preds = check_predictions(predictions)
        refs = normalize_references(references, len(preds), metric=self.name)
        return self._statistics(preds, refs)  # type: ignore[arg-type]

    def _statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> list[list[float]]:
        # In chunks: sacrebleu first caches every reference's n-grams for the
        # whole corpus (~4.5 KB a pair: 5 GB for a million pairs); per chunk
        # the peak stays flat and the rows are the same.
        stats: list[list[float]] = []
        for start in range(0, len(preds), _CHUNK):
            chunk_refs = refs[start : start + _CHUNK]
            stats.extend(
                self._metric._extract_corpus_statistics(preds[start : start + _CHUNK], _reference_streams(chunk_refs))
            )
        self._settle_nrefs(refs)
        return stats

    def _settle_nrefs(self, refs: list[tuple[str, ...]]) -> None:
        """The signature's ``nrefs`` as sacrebleu settles it for a whole corpus."""
        counts = {len(r) for r in refs}
        self._metric.num_refs = counts.pop() if len(counts) == 1 else -1

    def value_from_statistics(self, stats: Sequence[Sequence[float]]) -> float:
        """The corpus score from summed rows of :meth:`item_statistics`."""
        return float(self._metric._aggregate_and_compute([list(row) for row in stats]).score)

    def _sentence_metric(self) -> Any:
        return self._metric

    # -- the metric ------------------------------------------------------------
    def score(self, *, predictions: Sequence[str | None], references: ReferencesInput | None = None) -> MetricResult:
        preds = check_predictions(predictions)
        refs = normalize_references(references, len(preds), metric=self.name)
        scored = [i for i, p in enumerate(preds) if p is not None]
        unscored = {i: "missing prediction" for i, p in enumerate(preds) if p is None}
        stats = self._statistics([preds[i] for i in scored], [refs[i] for i in scored])  # type: ignore[misc]
        if not scored:
            self._settle_nrefs(refs)
        per_item: list[float | None] = [None] * len(preds)
        sentence = self._sentence_metric()
        for i, row in zip(scored, stats):
            per_item[i] = float(sentence._compute_score_from_stats(row).score)
        if stats:
            corpus = self._metric._aggregate_and_compute(stats)
            value: float | None = float(corpus.score)
            details = self._details(corpus)
        else:
            value, details = None, {}
        signature = self._metric.get_signature().format()
        return MetricResult(
            metric=self.name,
            value=value,
            per_item=tuple(per_item),
            details=details,
            unscored=unscored,
            signature=signature,
            higher_is_better=self.higher_is_better,
            scale="0-100",
            item_statistics=stats,
        )


class BLEU(_SacrebleuMetric):
    """Corpus BLEU (sacrebleu.BLEU); every constructor option passes through.

    >>> r = BLEU().score(predictions=["the cat sat on the mat"], references=[["the cat sat on the mat"]])
    >>> (round(r.value, 6), r.details["brevity_penalty"])
    (100.0, 1.0)
    """

    name = "bleu"

    def __init__(
        self,
        *,
        tokenize: str | None = None,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        lowercase: bool = False,
        effective_order: bool | None = None,
        max_ngram_order: int = 4,
        force: bool = False,
        trg_lang: str = "",
    ) -> None:
        self.options = dict(
            tokenize=tokenize,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            lowercase=lowercase,
            max_ngram_order=max_ngram_order,
            force=force,
            trg_lang=trg_lang,
        )
        # None: corpus score without effective order (sacrebleu's default),
        # sentence scores with it (sacrebleu's advice for sentence BLEU).
        self.effective_order = effective_order
        super().__init__()
        self._sentence = self._metric if effective_order is not None else self._build(effective_order=True)

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import BLEU as SacreBLEU

        kwargs = dict(self.options, effective_order=bool(self.effective_order))
        kwargs.update(overrides)
        return SacreBLEU(**kwargs)

    def _sentence_metric(self) -> Any:
        return self._sentence

    def _details(self, score: Any) -> dict[str, Any]:
        return {
            "precisions": [float(p) for p in score.precisions],
            "counts": [int(c) for c in score.counts],
            "totals": [int(t) for t in score.totals],
            "brevity_penalty": float(score.bp),
            "sys_len": int(score.sys_len),
            "ref_len": int(score.ref_len),
            "ratio": float(score.ratio),
        }


class CHRF(_SacrebleuMetric):
    """Corpus chrF / chrF++ (sacrebleu.CHRF); ``word_order=2`` gives chrF++.

    >>> round(CHRF().score(predictions=["a cat"], references=[["a cat"]]).value, 1)
    100.0
    """

    name = "chrf"

    def __init__(
        self,
        *,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        whitespace: bool = False,
        eps_smoothing: bool = False,
    ) -> None:
        self.options = dict(
            char_order=char_order,
            word_order=word_order,
            beta=beta,
            lowercase=lowercase,
            whitespace=whitespace,
            eps_smoothing=eps_smoothing,
        )
        super().__init__()

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import CHRF as SacreCHRF

        return SacreCHRF(**self.options, **overrides)

    def _details(self, score: Any) -> dict[str, Any]:
        return {
            "char_order": score.char_order,
            "word_order": score.word_order,
            "beta": score.beta,
            "name": score.name,
        }


class TER(_SacrebleuMetric):
    """Corpus TER (sacrebleu.TER), lower is better.

    >>> TER().score(predictions=["a b c"], references=[["a b c"]]).value
    0.0
    """

    name = "ter"
    higher_is_better = False

    def __init__(
        self,
        *,
        normalized: bool = False,
        no_punct: bool = False,
        asian_support: bool = False,
        case_sensitive: bool = False,
    ) -> None:
        self.options = dict(
            normalized=normalized,
            no_punct=no_punct,
            asian_support=asian_support,
            case_sensitive=case_sensitive,
        )
        super().__init__()

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import TER as SacreTER

        return SacreTER(**self.options, **overrides)

    def _details(self, score: Any) -> dict[str, Any]:
        return {"num_edits": float(score.num_edits), "ref_length": float(score.ref_length)}


# sacrebleu warns through logging; make sure a library user sees it only
# when they configured logging, never as a "No handlers" message.
logging.getLogger("sacrebleu").addHandler(logging.NullHandler())
