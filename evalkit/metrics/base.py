"""The metric protocol and the input normalisation every metric shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from evalkit.errors import InputError
from evalkit.result import MetricResult

__all__ = ["Metric", "ReferencesInput", "normalize_references", "check_predictions"]

#: One entry per prediction: a string, or a sequence of strings for several
#: references (the number may vary from item to item).
ReferencesInput = Sequence[str | Sequence[str]]


@runtime_checkable
class Metric(Protocol):
    """What a metric is: a class whose keyword-only ``__init__`` arguments are
    its options and whose ``score`` returns one :class:`MetricResult`.

    A prediction may be ``None`` (the system produced nothing): the metric must
    leave that item unscored (``per_item[i] is None``), never score it as 0.

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


def check_predictions(predictions: Sequence[str | None]) -> list[str | None]:
    if isinstance(predictions, str):
        raise InputError("predictions must be a list of strings, not one string")
    out = list(predictions)
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
