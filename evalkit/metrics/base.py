"""The metric protocol and the input normalisation every metric shares."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, cast, runtime_checkable

from evalkit.errors import InputError
from evalkit.result import MetricResult

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "CAPABILITIES",
    "Capability",
    "CorpusStatisticsMetric",
    "JointMetric",
    "Metric",
    "PairedMetric",
    "PartitionedMetric",
    "PromptedMetric",
    "ReferencesInput",
    "capabilities",
    "check_predictions",
    "has_capability",
    "join_parts",
    "join_statistics",
    "normalize_references",
]

#: One entry per prediction: a string, or a sequence of strings for several
#: references (the number may vary from item to item).
ReferencesInput = Sequence[str | Sequence[str]]


#: What a metric may declare in its ``capabilities`` class attribute; each
#: names a sub-protocol below that the metric then implements:
#:
#: ``corpus_statistics``  :class:`CorpusStatisticsMetric` (BLEU, chrF, TER):
#:                        per-item sufficient statistics that sum to the corpus
#:                        score, so resampling and distributed runs reduce them;
#: ``joint_scoring``      :class:`JointMetric` (the ROUGE types): metrics with
#:                        the same ``joint_key`` are scored in one pass;
#: ``prompts``            :class:`PromptedMetric` (the single-score judge):
#:                        scoring needs the prompts (sources) as well;
#: ``paired``             :class:`PairedMetric` (the pairwise judge): a system
#:                        is scored against the baseline system's outputs;
#: ``partitioned``        :class:`PartitionedMetric` (BLEU, chrF, TER, ROUGE):
#:                        results scored on consecutive parts of the items
#:                        merge into the whole's (the Dask engine).
Capability = Literal["corpus_statistics", "joint_scoring", "prompts", "paired", "partitioned"]
CAPABILITIES: tuple[Capability, ...] = ("corpus_statistics", "joint_scoring", "prompts", "paired", "partitioned")


@runtime_checkable
class Metric(Protocol):
    """What a metric is: a class whose keyword-only ``__init__`` arguments are
    its options and whose ``score`` returns one :class:`MetricResult`.

    A prediction may be ``None`` (the system produced nothing): the metric must
    leave that item unscored (``per_item[i] is None``), never score it as 0.
    A metric that can do more says so in ``capabilities`` (see
    :data:`Capability`); a plugin that declares nothing has none.

    >>> from evalkit.metrics.sacrebleu_metrics import BLEU
    >>> round(BLEU().score(predictions=["the cat sat on the mat"], references=["the cat sat on the mat"]).value, 1)
    100.0
    """

    #: registry id, lowercase where possible (``bleu``, ``rougeL``)
    name: ClassVar[str]
    #: False for reference-free metrics
    needs_references: ClassVar[bool]

    def score(
        self,
        *,
        predictions: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> MetricResult: ...


class CorpusStatisticsMetric(Metric, Protocol):
    """Capability ``corpus_statistics``: one row of sufficient statistics per
    scored item; rows sum to the corpus's, and the score follows from a sum."""

    def item_statistics(self, *, predictions: Sequence[str], references: ReferencesInput) -> list[list[float]]: ...

    def value_from_statistics(self, stats: Sequence[Sequence[float]]) -> float: ...


class JointMetric(Metric, Protocol):
    """Capability ``joint_scoring``: metrics with equal ``joint_key()`` are
    scored together by ``type(metric).score_jointly(metrics, ...)``."""

    def joint_key(self) -> Hashable: ...

    @staticmethod
    def score_jointly(
        metrics: Sequence[JointMetric],
        *,
        predictions: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> list[MetricResult]: ...


class PromptedMetric(Metric, Protocol):
    """Capability ``prompts``: scoring needs the prompt of every item."""

    def score_with_prompts(
        self,
        *,
        predictions: Sequence[str | None],
        prompts: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> MetricResult: ...


class PairedMetric(Metric, Protocol):
    """Capability ``paired``: a system is scored against the baseline's
    outputs on the same items (the pairwise judge's win rate)."""

    def score_pair(
        self,
        *,
        predictions: Sequence[str | None],
        baseline: Sequence[str | None],
        prompts: Sequence[str | None] | None = None,
        references: ReferencesInput | None = None,
        system: str = "system",
        baseline_name: str = "baseline",
    ) -> MetricResult: ...


class PartitionedMetric(Metric, Protocol):
    """Capability ``partitioned``: ``merge_parts`` turns the results of
    consecutive parts of the items, in item order, into the result one pass
    over all of them gives (corpus metrics from their concatenated statistics)."""

    def merge_parts(self, parts: Sequence[MetricResult]) -> MetricResult: ...


def capabilities(metric: object) -> frozenset[str]:
    """The capabilities ``metric`` (an instance or a class) declares."""
    cls = metric if isinstance(metric, type) else type(metric)
    return frozenset(getattr(cls, "capabilities", ()))


def has_capability(metric: object, capability: Capability) -> bool:
    """Whether ``metric`` declares ``capability``."""
    return capability in capabilities(metric)


def join_parts(parts: Sequence[MetricResult]) -> tuple[Sequence[float | None], dict[int, str]]:
    """The per-item scores and unscored reasons of consecutive parts, joined
    with the item numbers of the whole (compact
    :class:`~evalkit.item_scores.ItemScores` when every part's are).

    >>> a = MetricResult(metric="m", value=1.0, per_item=(1.0, None), unscored={1: "missing prediction"})
    >>> scores, unscored = join_parts([a, a])
    >>> list(scores), unscored
    ([1.0, None, 1.0, None], {1: 'missing prediction', 3: 'missing prediction'})
    """
    from evalkit.item_scores import ItemScores

    unscored: dict[int, str] = {}
    offset = 0
    for part in parts:
        unscored.update({offset + i: reason for i, reason in part.unscored.items()})
        offset += len(part.per_item)
    compact = [p.per_item for p in parts if isinstance(p.per_item, ItemScores)]
    if len(compact) == len(parts):
        return ItemScores.concat(compact), unscored
    return [v for part in parts for v in part.per_item], unscored


def join_statistics(parts: Sequence[MetricResult]) -> np.ndarray:
    """The rows of per-item statistics of consecutive parts, in item order,
    as one 2-D array (parts without statistics add none)."""
    import numpy as np

    arrays = [p.item_statistics for p in parts if p.item_statistics is not None and len(p.item_statistics)]
    joined = np.concatenate(arrays) if arrays else np.zeros((0, 0), dtype=np.int32)
    joined.flags.writeable = False  # new and read-only: a result takes it without a copy
    return joined


def check_predictions(predictions: Sequence[str | None]) -> list[str | None]:
    if isinstance(predictions, str):
        raise InputError("predictions must be a list of strings, not one string")
    out = list(predictions)
    if set(map(type, out)) <= {str, type(None)}:  # the usual case, without a Python step per item
        return out
    for i, p in enumerate(out):
        if p is not None and not isinstance(p, str):
            raise InputError(f"prediction {i} is a {type(p).__name__}, not a string")
    return out


def normalize_references(
    references: ReferencesInput | None, n_predictions: int, *, metric: str
) -> list[tuple[str, ...]]:
    """Turn ``references`` into one tuple of reference strings per item.

    >>> normalize_references(["a", ["b", "c"]], 2, metric="bleu")
    [('a',), ('b', 'c')]
    """
    if references is None:
        raise InputError(f"metric {metric!r} needs references", hint="pass --references FILE")
    if isinstance(references, str):
        raise InputError("references must be a list with one entry per prediction, not one string")
    refs = list(references)
    if len(refs) != n_predictions:
        raise InputError(
            f"{n_predictions} predictions but {len(refs)} references: "
            "give exactly one reference entry (a string or a list of strings) per prediction"
        )
    if set(map(type, refs)) == {str}:  # one string an item: no per-item checks to make
        return cast("list[tuple[str, ...]]", list(zip(refs)))  # 1-tuples
    out: list[tuple[str, ...]] = []
    for i, entry in enumerate(refs):
        item = (entry,) if isinstance(entry, str) else tuple(entry)
        if not item:
            raise InputError(f"item {i} has no reference", hint="every prediction needs at least one reference")
        for r in item:
            if not isinstance(r, str):
                raise InputError(f"reference for item {i} is a {type(r).__name__}, not a string")
        out.append(item)
    return out
