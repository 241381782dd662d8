"""The one result type every metric returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from evalkit.jsonable import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from fractions import Fraction

    import numpy as np

__all__ = ["MetricResult"]


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class MetricResult:
    """A metric's score for one system.

    ``value`` is the headline (``None`` when no item could be scored);
    ``details`` holds its parts (precision/recall, brevity penalty, ...);
    ``per_item`` holds one score per input item, ``None`` for an item that
    could not be scored, with the reason in ``unscored``. The shape never
    depends on an option.

    >>> r = MetricResult(metric="m", value=0.5, per_item=(1.0, 0.0, None),
    ...                  unscored={2: "missing prediction"}, signature="m|v:1")
    >>> (r.n_scored, r.n_unscored)
    (2, 1)
    """

    metric: str
    value: float | None
    #: one score per item: an :class:`~evalkit.item_scores.ItemScores` (float64
    #: values and a scored mask, read as ``float | None`` item by item, equal
    #: to the tuple of the same values) when every score is a float, else a tuple
    per_item: Sequence[float | None] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    unscored: Mapping[int, str] = field(default_factory=dict)
    signature: str = ""
    higher_is_better: bool = True
    #: "0-1" or "0-100": how ``value`` is scaled, for display.
    scale: str = "0-1"
    #: the range ``value`` cannot leave (MAUVE: (0, 1)), so that an interval
    #: around it stays inside; ``None`` when the metric declares none.
    bounds: tuple[float, float] | None = None
    #: Counts of scored and unscored items. Derived from ``per_item`` when
    #: left out; a distribution-level metric (MAUVE) with no per-item scores
    #: gives them explicitly.
    n_scored: int = -1
    n_unscored: int = -1
    #: Per-item sufficient statistics of a corpus metric (BLEU, chrF, TER),
    #: one row per *scored* item in item order, so that resampling need not
    #: recompute them: a read-only 2-D array (int64 for integer counts, so
    #: sums stay exact; float64 otherwise). Not part of the JSON record.
    item_statistics: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Exact sums (:func:`evalkit.exact_sum.exact_sum`) of per-item values a
    #: result does not keep, by detail name (ROUGE's precision and recall),
    #: so that parts merge to the one-pass mean bit for bit. Not part of the
    #: JSON record.
    exact_sums: Mapping[str, Fraction] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        from evalkit.item_scores import ItemScores, compact_scores, compact_statistics

        object.__setattr__(self, "per_item", compact_scores(self.per_item))
        if self.item_statistics is not None:
            object.__setattr__(self, "item_statistics", compact_statistics(self.item_statistics))
        object.__setattr__(self, "exact_sums", MappingProxyType(dict(self.exact_sums)))
        if self.n_scored < 0:
            scored = (
                self.per_item.n_scored
                if isinstance(self.per_item, ItemScores)
                else sum(1 for v in self.per_item if v is not None)
            )
            object.__setattr__(self, "n_scored", scored)
        if self.n_unscored < 0:
            object.__setattr__(self, "n_unscored", len(self.per_item) - self.n_scored)
        object.__setattr__(self, "details", _freeze(dict(self.details)))
        object.__setattr__(self, "unscored", MappingProxyType(dict(self.unscored)))
        if self.value is not None and not isinstance(self.value, (int, float)):
            raise TypeError(f"value must be a number or None, not {type(self.value).__name__}")
        for index in self.unscored:
            if len(self.per_item) and self.per_item[index] is not None:
                raise ValueError(f"item {index} is marked unscored but has a score")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the record ``--format json`` prints)."""
        return {
            "metric": self.metric,
            "value": jsonable(self.value),
            "details": jsonable(self.details),
            "n_scored": self.n_scored,
            "n_unscored": self.n_unscored,
            "signature": self.signature,
        }
