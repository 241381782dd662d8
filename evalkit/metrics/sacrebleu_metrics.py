"""BLEU, chrF and TER with sacrebleu's exact numbers.

The headline is sacrebleu's *corpus* score (0-100); ``per_item`` holds the
sentence-level scores (BLEU with effective order unless the caller sets
``effective_order``); the signature is sacrebleu's own.

Per-item sufficient statistics are extracted once and reused for the corpus
score, the sentence scores and resampling (bootstrap, paired tests). Two
engines give the same statistics, bit for bit:

* ``fast`` (default): :mod:`evalkit.metrics.bleu_engine`,
  :mod:`~evalkit.metrics.chrf_engine`, :mod:`~evalkit.metrics.ter_engine`
  (sacrebleu's tokenizers, integer n-gram ids counted with numpy, TER's
  shift search with rapidfuzz's edit distance); ``jobs`` processes share
  the work.
* ``reference``: sacrebleu's ``_extract_corpus_statistics`` itself, the
  call sacrebleu's own significance tests make (``jobs`` is ignored).

An option value the fast engine does not take (BLEU ``max_ngram_order``
below 1, chrF ``char_order`` below 1 or ``word_order`` below 0) is scored
by the reference engine, and the signature then ends in
``|engine:reference(auto)``; otherwise the signature is exactly sacrebleu's.
The version is pinned, and ``tests/metrics/test_sacrebleu_parity.py`` and
the engines' tests prove the numbers equal sacrebleu's public
``corpus_score`` / ``sentence_score``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

from evalkit.errors import ConfigError, MissingDependencyError
from evalkit.item_scores import ItemScores, compact_statistics
from evalkit.metrics.base import (
    ReferencesInput,
    check_predictions,
    join_parts,
    join_statistics,
    normalize_references,
)
from evalkit.metrics.collector import paused
from evalkit.options import checked_options
from evalkit.result import MetricResult

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["BLEU", "CHRF", "TER", "AUTO_REFERENCE"]

_CHUNK = 10_000  # items per call of sacrebleu's extraction (reference engine)

#: appended to the signature when the reference engine stands in for the fast one
AUTO_REFERENCE = "|engine:reference(auto)"

Engine = Literal["fast", "reference"]

#: rows of per-item statistics: lists while scoring, a 2-D array once in a result
Rows: TypeAlias = "list[list[Any]] | np.ndarray"


def _reference_streams(refs: list[tuple[str, ...]]) -> list[list[str | None]]:
    """Per-item reference tuples -> sacrebleu's reference streams, padded with
    ``None`` where an item has fewer references (sacrebleu's documented way to
    give a varying number)."""
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


def _int_column_sums(stats: Rows) -> list[int]:
    """``sacrebleu.utils.sum_of_lists`` of rows of ints, summed by numpy (exact)."""
    import numpy as np

    if len(stats) == 1:
        return [int(x) for x in stats[0]]
    array = np.asarray(stats)  # a result's int32 array as it is: no int64 copy of every row
    if array.dtype.kind not in "iu":
        array = np.asarray(stats, dtype=np.int64)
    return [int(x) for x in array.sum(axis=0, dtype=np.int64).tolist()]


def _as_lists(stats: Rows) -> list[list[Any]]:
    """Rows as lists of Python numbers, as sacrebleu's own code takes them."""
    return stats.tolist() if hasattr(stats, "tolist") else [list(row) for row in stats]


class _SacrebleuMetric:
    name: ClassVar[str]
    needs_references: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"corpus_statistics", "partitioned"})
    higher_is_better: ClassVar[bool] = True

    engine: Engine
    jobs: int

    def _build(self, **overrides: Any) -> Any:
        raise NotImplementedError

    def _details(self, score: Any) -> dict[str, Any]:
        return {}

    def _fast_refusal(self) -> str | None:
        """Why the fast engine cannot take these options (None: it can)."""
        return None

    def _fast_statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> Rows:
        raise NotImplementedError

    def _sentence_scorer(self) -> Callable[[list[Any]], float]:
        sentence = self._sentence_metric()
        return lambda row: float(sentence._compute_score_from_stats(row).score)

    def _sentence_scores(self, stats: Rows) -> list[float]:
        """The sentence score of every row (one call per row unless a metric batches them)."""
        return list(map(self._sentence_scorer(), stats))

    def __init__(self, engine: Engine, jobs: int) -> None:
        if engine not in ("fast", "reference"):
            raise ConfigError(f"{self.name}.engine must be 'fast' or 'reference', not {engine!r}")
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"{self.name}.jobs must be a positive integer, not {jobs!r}")
        self.engine = engine
        self.jobs = jobs
        try:
            self._metric = self._build()
        except ImportError as exc:  # sacrebleu's spm/flores tokenizers without sentencepiece
            found = re.search(r"pip install [\w.\-\[\]=<>]+", str(exc))
            install = found.group() if found else "pip install sentencepiece"
            raise MissingDependencyError(f"a package for {self.name} with these options", install=install) from None
        except (ValueError, TypeError, KeyError, AssertionError, RuntimeError) as exc:
            raise ConfigError(f"invalid option for {self.name}: {exc}") from None
        self._uses_fast = engine == "fast" and self._fast_refusal() is None

    # -- statistics (also used by resampling) -------------------------------
    def item_statistics(self, *, predictions: Sequence[str], references: ReferencesInput) -> list[list[float]]:
        """One row of sufficient statistics per item; rows sum to the corpus's."""
        preds = check_predictions(predictions)
        refs = normalize_references(references, len(preds), metric=self.name)
        return _as_lists(self._statistics(preds, refs))  # type: ignore[arg-type]

    def _statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> Rows:
        if self._uses_fast:
            stats = self._fast_statistics(preds, refs) if preds else []
        else:
            stats = self._reference_statistics(preds, refs)
        self._settle_nrefs(refs)
        return stats

    def _reference_statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> list[list[Any]]:
        # In chunks: sacrebleu first caches every reference's n-grams for the
        # whole corpus (~4.5 KB a pair: 5 GB for a million pairs); per chunk
        # the peak stays flat and the rows are the same.
        stats: list[list[Any]] = []
        for start in range(0, len(preds), _CHUNK):
            chunk_refs = refs[start : start + _CHUNK]
            stats.extend(
                self._metric._extract_corpus_statistics(preds[start : start + _CHUNK], _reference_streams(chunk_refs))
            )
        return stats

    def _settle_nrefs(self, refs: list[tuple[str, ...]]) -> None:
        """The signature's ``nrefs`` as sacrebleu settles it for a whole corpus."""
        counts = {len(r) for r in refs}
        self._metric.num_refs = counts.pop() if len(counts) == 1 else -1

    def value_from_statistics(self, stats: Sequence[Sequence[float]]) -> float:
        """The corpus score from summed rows of :meth:`item_statistics`."""
        return float(self._metric._aggregate_and_compute([list(row) for row in stats]).score)

    def _corpus(self, stats: Rows) -> Any:
        return self._metric._aggregate_and_compute(_as_lists(stats))

    def _sentence_metric(self) -> Any:
        return self._metric

    def signature(self) -> str:
        """sacrebleu's signature (after scoring: it holds the number of references)."""
        signature = str(self._metric.get_signature().format())
        if self.engine == "fast" and not self._uses_fast:
            signature += AUTO_REFERENCE
        return signature

    # -- the metric ------------------------------------------------------------
    def score(self, *, predictions: Sequence[str | None], references: ReferencesInput | None = None) -> MetricResult:
        with paused():  # per-item tuples and rows: no cycles for the collector to find
            return self._score(predictions, references)

    def _score(self, predictions: Sequence[str | None], references: ReferencesInput | None) -> MetricResult:
        preds = check_predictions(predictions)
        refs = normalize_references(references, len(preds), metric=self.name)
        scored: Sequence[int]
        if preds.count(None):
            scored = [i for i, p in enumerate(preds) if p is not None]
            unscored = {i: "missing prediction" for i, p in enumerate(preds) if p is None}
            stats = self._statistics([preds[i] for i in scored], [refs[i] for i in scored])  # type: ignore[misc]
        else:  # every item scored: no per-item selection
            scored, unscored = range(len(preds)), {}
            stats = self._statistics(preds, refs)  # type: ignore[arg-type]
        if not scored:
            self._settle_nrefs(refs)
        per_item = ItemScores.from_scored(len(preds), scored, self._sentence_scores(stats))
        return self._result(per_item, stats, unscored)

    def merge_parts(self, parts: Sequence[MetricResult]) -> MetricResult:
        """The whole's result from parts scored one after the other (a Dask
        run): their rows of statistics, concatenated in item order, give the
        corpus score by the same sums as one pass, bit for bit.

        >>> whole = ["the cat sat", "a dog", "on the mat"]
        >>> refs = ["the cat sat down", "a dog ran", "on a mat"]
        >>> parts = [BLEU().score(predictions=whole[:2], references=refs[:2]),
        ...          BLEU().score(predictions=whole[2:], references=refs[2:])]
        >>> BLEU().merge_parts(parts) == BLEU().score(predictions=whole, references=refs)
        True
        """
        per_item, unscored = join_parts(parts)
        self._metric.num_refs = _merged_nrefs(parts)
        return self._result(per_item, join_statistics(parts), unscored)

    def _result(self, per_item: Sequence[float | None], stats: Rows, unscored: dict[int, str]) -> MetricResult:
        if len(stats):
            corpus = self._corpus(stats)
            value: float | None = float(corpus.score)
            details = self._details(corpus)
        else:
            value, details = None, {}
        return MetricResult(
            metric=self.name,
            value=value,
            per_item=per_item,
            details=details,
            unscored=unscored,
            signature=self.signature(),
            higher_is_better=self.higher_is_better,
            scale="0-100",
            item_statistics=compact_statistics(stats),  # int64 (BLEU, chrF) or float64 (TER)
        )


def _merged_nrefs(parts: Sequence[MetricResult]) -> int:
    """The number of references the whole's signature shows: each part's was
    settled over its scored items (over all its items when none was scored)."""
    scored = [p for p in parts if p.n_scored] or list(parts)
    found = {m.group(1) for p in scored if (m := re.search(r"nrefs:(\d+|var)", p.signature))}
    return int(found.pop()) if len(found) == 1 and "var" not in found else -1


class BLEU(_SacrebleuMetric):
    """Corpus BLEU (sacrebleu.BLEU); every constructor option passes through.

    >>> r = BLEU().score(predictions=["the cat sat on the mat"], references=[["the cat sat on the mat"]])
    >>> (round(r.value, 6), r.details["brevity_penalty"])
    (100.0, 1.0)
    """

    name = "bleu"

    @checked_options
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
        engine: Engine = "fast",
        jobs: int = 1,
    ) -> None:
        self.options: dict[str, Any] = dict(
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
        super().__init__(engine, jobs)
        self._sentence = self._metric if effective_order is not None else self._build(effective_order=True)

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import BLEU as SacreBLEU

        kwargs = dict(self.options, effective_order=bool(self.effective_order))
        kwargs.update(overrides)
        return SacreBLEU(**kwargs)

    def _fast_refusal(self) -> str | None:
        order = self.options["max_ngram_order"]
        return None if isinstance(order, int) and order >= 1 else "max_ngram_order below 1"

    def _fast_statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> Rows:
        from evalkit.metrics.bleu_engine import bleu_statistics

        _warn_tokenized_periods(preds, force=bool(self.options["force"]))
        return bleu_statistics(
            preds,
            refs,
            tokenizer=self._metric.tokenizer,
            lowercase=bool(self.options["lowercase"]),
            max_ngram_order=self._metric.max_ngram_order,
            jobs=self.jobs,
        )

    def _sentence_scorer(self) -> Callable[[list[Any]], float]:
        if not self._uses_fast:
            return super()._sentence_scorer()
        from evalkit.metrics.bleu_engine import sentence_scorer

        s = self._sentence
        return sentence_scorer(s.max_ngram_order, s.smooth_method, s.smooth_value, s.effective_order)

    def _sentence_scores(self, stats: Rows) -> list[float]:
        s = self._sentence
        if not (self._uses_fast and s.smooth_method == "exp" and s.effective_order):
            return super()._sentence_scores(stats)
        from evalkit.metrics.bleu_scores import exp_effective_scores

        # sacrebleu's sentence-level defaults: compute_bleu's arithmetic on numpy columns, bit for bit
        return exp_effective_scores(stats, order=s.max_ngram_order)

    def _corpus(self, stats: Rows) -> Any:
        if self._uses_fast:  # the same sums, without a Python loop over every row
            return self._metric._compute_score_from_stats(_int_column_sums(stats))
        return super()._corpus(stats)

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


def _warn_tokenized_periods(predictions: list[str], *, force: bool) -> None:
    """sacrebleu's warning about text that looks tokenized (``BLEU`` without ``force``)."""
    if force or sum(map(str.endswith, predictions, itertools.repeat(" ."))) < 100:
        return
    log = logging.getLogger("sacrebleu")
    log.warning("That's 100 lines that end in a tokenized period ('.')")
    log.warning("It looks like you forgot to detokenize your test data, which may hurt your score.")
    log.warning(
        "If you insist your data is detokenized, or don't care, "
        "you can suppress this message with the `force` parameter."
    )


class CHRF(_SacrebleuMetric):
    """Corpus chrF / chrF++ (sacrebleu.CHRF); ``word_order=2`` gives chrF++.

    >>> round(CHRF().score(predictions=["a cat"], references=[["a cat"]]).value, 1)
    100.0
    """

    name = "chrf"

    @checked_options
    def __init__(
        self,
        *,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        whitespace: bool = False,
        eps_smoothing: bool = False,
        engine: Engine = "fast",
        jobs: int = 1,
    ) -> None:
        self.options: dict[str, Any] = dict(
            char_order=char_order,
            word_order=word_order,
            beta=beta,
            lowercase=lowercase,
            whitespace=whitespace,
            eps_smoothing=eps_smoothing,
        )
        super().__init__(engine, jobs)

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import CHRF as SacreCHRF

        return SacreCHRF(**self.options, **overrides)

    def _fast_refusal(self) -> str | None:
        chars, words = self.options["char_order"], self.options["word_order"]
        if isinstance(chars, int) and isinstance(words, int) and chars >= 1 and words >= 0:
            return None
        return "char_order below 1 or word_order below 0"

    def _fast_statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> Rows:
        from evalkit.metrics.chrf_engine import chrf_statistics

        return chrf_statistics(preds, refs, metric=self._metric, jobs=self.jobs)

    def _sentence_scorer(self) -> Callable[[list[Any]], float]:
        if not self._uses_fast:
            return super()._sentence_scorer()
        # what _compute_score_from_stats computes, without building a CHRFScore
        return self._metric._compute_f_score

    def _sentence_scores(self, stats: Rows) -> list[float]:
        if not self._uses_fast:
            return super()._sentence_scores(stats)
        from evalkit.metrics.chrf_scores import f_scores

        # _compute_f_score's arithmetic on numpy columns, bit for bit
        return f_scores(stats, self._metric)

    def _corpus(self, stats: Rows) -> Any:
        if self._uses_fast:
            return self._metric._compute_score_from_stats(_int_column_sums(stats))
        return super()._corpus(stats)

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

    @checked_options
    def __init__(
        self,
        *,
        normalized: bool = False,
        no_punct: bool = False,
        asian_support: bool = False,
        case_sensitive: bool = False,
        engine: Engine = "fast",
        jobs: int = 1,
    ) -> None:
        self.options: dict[str, Any] = dict(
            normalized=normalized,
            no_punct=no_punct,
            asian_support=asian_support,
            case_sensitive=case_sensitive,
        )
        super().__init__(engine, jobs)

    def _build(self, **overrides: Any) -> Any:
        from sacrebleu.metrics import TER as SacreTER

        return SacreTER(**self.options, **overrides)

    def _fast_statistics(self, preds: list[str], refs: list[tuple[str, ...]]) -> Rows:
        from evalkit.metrics.ter_engine import ter_statistics

        return ter_statistics(preds, refs, metric=self._metric, jobs=self.jobs)

    def _details(self, score: Any) -> dict[str, Any]:
        return {"num_edits": float(score.num_edits), "ref_length": float(score.ref_length)}


# sacrebleu warns through logging; make sure a library user sees it only
# when they configured logging, never as a "No handlers" message.
logging.getLogger("sacrebleu").addHandler(logging.NullHandler())
