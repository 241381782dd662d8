"""Length and style control of pairwise verdicts: how much of a win rate, or
of a rating, is the judge's taste for long, list-heavy answers.

* **Length-controlled win rate** (AlpacaEval's idea), per pair: a logistic
  model of the per-item verdict ``y`` (P(system_a wins): win 1, tie 0.5,
  loss 0; the reconciled ``p_win`` under ``--reconcile average``) with an
  intercept and the normalised length difference
  ``x = (len_a - len_b) / (len_a + len_b)`` (characters) as covariate. The
  length-controlled win rate is the model's prediction at ``x = 0``,
  ``sigmoid(intercept)``; ``length_coefficient`` is the slope (log-odds of
  a win from an answer all length against an empty one).
* **Style-controlled Bradley-Terry ratings** (Arena-Hard's idea): the
  Bradley-Terry logistic regression over every judged item of every pair
  (ties 0.5), with the normalised differences of length, markdown headers,
  list items and bold spans as extra covariates; the ratings are read at
  zero style difference, on the Elo scale of :func:`evalkit.judge.aggregate.ratings`
  (the same prior of half a game between every two systems; without the
  style covariates the fit *is* that rating).
* **Intervals**: 95% percentile intervals from ``rounds`` bootstrap rounds
  that resample items (one draw of items for every pair, seeded, so the
  same answers under another name get the same interval), for the raw win
  rate, the length-controlled one, the coefficients and both ratings; a
  warning when a controlled value falls outside the raw value's interval.

Unscored items are left out of every fit and counted (``unscored``), never
zero. The slope and style coefficients carry a small ridge
(:data:`COVARIATE_RIDGE`), so that a judge whose verdicts length separates
perfectly still gets a finite, large coefficient; then the intercept is
pinned only by items of equal length.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.judge.logistic_fit import Array, fit_logistic, sigmoid
from evalkit.judge.style_features import STYLE_FEATURES, feature_differences, normalized_difference, style_features
from evalkit.judge.types import ItemVerdict

__all__ = [
    "COVARIATE_RIDGE",
    "DEFAULT_ROUNDS",
    "DEFAULT_SEED",
    "Estimate",
    "LengthControl",
    "StyleControl",
    "StyleRating",
    "answer_features",
    "length_controlled_win_rate",
    "style_control_from_features",
    "style_control",
    "style_controlled_ratings",
]

DEFAULT_ROUNDS = 1000
#: sacrebleu's seed, as :mod:`evalkit.stats.bootstrap` uses.
DEFAULT_SEED = 12345
#: Ridge on the length slope and the style coefficients (covariates lie in [-1, 1]).
COVARIATE_RIDGE = 1e-3
#: Keeps the intercept and the strengths finite when one side wins every item.
_TINY_RIDGE = 1e-6
#: Half a game between every two systems, as :func:`evalkit.judge.aggregate.bradley_terry`.
_PRIOR = 0.5
_ELO = 400.0 / math.log(10.0)
#: A controlled value this close to the raw interval is inside it (rounding noise).
_WARN_TOLERANCE = 5e-4


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95% bootstrap interval (``None`` when unknown)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    @property
    def ci(self) -> list[float] | None:
        return None if self.low is None or self.high is None else [self.low, self.high]

    def excludes(self, value: float | None) -> bool:
        """Whether ``value`` lies outside this interval (by more than rounding)."""
        if value is None or self.low is None or self.high is None:
            return False
        return value < self.low - _WARN_TOLERANCE or value > self.high + _WARN_TOLERANCE


@dataclass(frozen=True)
class LengthControl:
    """One pair's length control, from system_a's side. ``raw_win_rate`` is
    the mean target (the ``win_rate``, or ``mean_p_win`` under
    ``--reconcile average``) over the ``n`` scored items."""

    system_a: str
    system_b: str
    n: int
    unscored: int
    raw_win_rate: Estimate
    length_controlled_win_rate: Estimate
    length_coefficient: Estimate
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields ``summary.json`` adds to the pair's record."""
        return {
            "raw_win_rate": self.raw_win_rate.value,
            "raw_win_rate_ci": self.raw_win_rate.ci,
            "length_controlled_win_rate": self.length_controlled_win_rate.value,
            "length_controlled_win_rate_ci": self.length_controlled_win_rate.ci,
            "length_coefficient": self.length_coefficient.value,
            "length_coefficient_ci": self.length_coefficient.ci,
            "length_control_n": self.n,
            "length_control_unscored": self.unscored,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class StyleRating:
    """A system's style-controlled rating beside its raw Bradley-Terry rating."""

    system: str
    rating: Estimate
    raw_rating: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "rating": self.rating.value,
            "rating_ci": self.rating.ci,
            "raw_rating": self.raw_rating.value,
            "raw_rating_ci": self.raw_rating.ci,
        }


@dataclass(frozen=True)
class StyleControl:
    """Length and style control of a pairwise run (``JudgeRun.style_control``)."""

    rounds: int
    seed: int
    pairs: tuple[LengthControl, ...]
    #: strongest first; ``None`` with fewer than three systems (as the raw ratings)
    ratings: tuple[StyleRating, ...] | None = None
    coefficients: Mapping[str, Estimate] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    length_unit: str = "characters"

    def pair(self, system_a: str, system_b: str) -> LengthControl:
        for p in self.pairs:
            if (p.system_a, p.system_b) == (system_a, system_b):
                return p
        raise KeyError(f"no pair ({system_a!r}, {system_b!r}) in the style control")

    def ratings_dict(self) -> dict[str, Any] | None:
        """``summary.json``'s ``style_controlled_ratings`` section."""
        if self.ratings is None:
            return None
        return {
            "ratings": [r.to_dict() for r in self.ratings],
            "coefficients": {k: {"value": e.value, "ci": e.ci} for k, e in self.coefficients.items()},
            "features": list(STYLE_FEATURES),
            "length_unit": self.length_unit,
            "rounds": self.rounds,
            "seed": self.seed,
            "warnings": list(self.warnings),
        }


# -- the fits ----------------------------------------------------------------------


def _length_design(length_differences: Sequence[float] | Array) -> Array:
    x = np.asarray(length_differences, dtype=np.float64)
    return np.column_stack([np.ones_like(x), x])


_LENGTH_PENALTY = np.array([_TINY_RIDGE, COVARIATE_RIDGE])


def length_controlled_win_rate(
    length_differences: Sequence[float], targets: Sequence[float], *, ridge: float = COVARIATE_RIDGE
) -> tuple[float, float]:
    """``(length-controlled win rate, length coefficient)`` of one pair's
    scored items: ``length_differences`` are the normalised differences
    (system_a minus system_b), ``targets`` P(system_a wins) per item.

    On a 2x2 design without ridge the model fits the two groups' means:
    logit(0.75) at x = 0.5 and logit(0.5) at x = -0.5, so the slope is
    logit(0.75) = 1.0986 and the rate at x = 0 is sigmoid(logit(0.75) / 2).

    >>> x, y = [0.5] * 4 + [-0.5] * 4, [1, 1, 1, 0, 1, 1, 0, 0]
    >>> rate, slope = length_controlled_win_rate(x, y, ridge=0.0)
    >>> round(rate, 4), round(slope, 4)
    (0.634, 1.0986)
    """
    design = _length_design(length_differences)
    beta = fit_logistic(
        design, np.asarray(targets, dtype=np.float64), np.ones((1, len(design))), np.array([_TINY_RIDGE, ridge])
    )[0]
    return float(sigmoid(beta[:1])[0]), float(beta[1])


@dataclass(frozen=True)
class _Games:
    """The Bradley-Terry design: one row per scored item of every pair, then
    one virtual tie per two systems (the prior), weighted by item."""

    systems: tuple[str, ...]
    design: Array  # (games, systems - 1 + features)
    target: Array
    items: npt.NDArray[np.int64]  # item index per real game
    virtual: int  # virtual games at the end

    def weights(self, counts: Array) -> Array:
        prior = np.full((counts.shape[0], self.virtual), _PRIOR)
        return np.hstack([counts[:, self.items], prior])

    def penalty(self, with_style: bool) -> Array:
        k = len(self.systems) - 1
        covariates = [COVARIATE_RIDGE] * (self.design.shape[1] - k if with_style else 0)
        return np.array([_TINY_RIDGE] * k + covariates)

    def columns(self, with_style: bool) -> Array:
        return self.design if with_style else self.design[:, : len(self.systems) - 1]


def _games(games: Sequence[tuple[str, str, int, float, Sequence[float]]], systems: Sequence[str]) -> _Games:
    index = {name: i - 1 for i, name in enumerate(systems)}  # the first system is the reference
    n_features = len(games[0][4]) if games else len(STYLE_FEATURES)
    pairs = [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]
    rows = [(a, b, list(d)) for a, b, _, _, d in games] + [(a, b, [0.0] * n_features) for a, b in pairs]
    design = np.zeros((len(rows), len(systems) - 1 + n_features))
    for r, (a, b, diffs) in enumerate(rows):
        if index[a] >= 0:
            design[r, index[a]] += 1.0
        if index[b] >= 0:
            design[r, index[b]] -= 1.0
        design[r, len(systems) - 1 :] = diffs
    target = np.array([g[3] for g in games] + [0.5] * len(pairs))
    items = np.array([g[2] for g in games], dtype=np.int64)
    return _Games(tuple(systems), design, target, items, len(pairs))


def _ratings(beta: Array, n_systems: int) -> Array:
    """Elo-scale ratings ``(rounds, systems)`` from coefficients (strengths of geometric mean 1)."""
    theta = np.hstack([np.zeros((beta.shape[0], 1)), beta[:, : n_systems - 1]])
    return 1000.0 + _ELO * (theta - theta.mean(axis=1, keepdims=True))


def style_controlled_ratings(
    games: Sequence[tuple[str, str, float, Sequence[float]]], systems: Sequence[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Style-controlled ratings ``{system: rating}`` and coefficients
    ``{feature: value}`` from games ``(system_a, system_b, score_a,
    feature differences)``, the differences in :data:`STYLE_FEATURES` order.

    >>> r, c = style_controlled_ratings([("x", "y", 1.0, (0.5, 0, 0, 0)), ("x", "y", 0.0, (-0.5, 0, 0, 0))], ["x", "y"])
    >>> round(r["x"] - r["y"], 6), c["length"] > 0
    (0.0, True)
    """
    built = _games([(a, b, i, s, d) for i, (a, b, s, d) in enumerate(games)], systems)
    beta = fit_logistic(built.design, built.target, built.weights(np.ones((1, len(games)))), built.penalty(True))
    rated = _ratings(beta, len(systems))[0]
    coefficients = beta[0, len(systems) - 1 :]
    return (
        {name: float(v) for name, v in zip(systems, rated)},
        {name: float(v) for name, v in zip(STYLE_FEATURES, coefficients)},
    )


# -- bootstrap ---------------------------------------------------------------------


def _interval(point: float | None, rounds: Array) -> Estimate:
    if point is None or not np.isfinite(rounds).any():
        return Estimate(point)
    low, high = np.nanpercentile(rounds, [2.5, 97.5])
    return Estimate(point, float(low), float(high))


def _bootstrap_counts(n_items: int, rounds: int, seed: int) -> Array:
    """How often each item is drawn in each round ``(rounds, n_items)``: resampling by item."""
    rng = np.random.default_rng(seed)
    if n_items == 0:
        return np.zeros((rounds, 0))
    return rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=rounds).astype(np.float64)


@dataclass(frozen=True)
class _PairData:
    system_a: str
    system_b: str
    items: npt.NDArray[np.int64]  # item index of each scored item
    lengths: Array  # normalised length difference per scored item
    targets: Array
    unscored: int


def _length_control(data: _PairData, counts: Array) -> LengthControl:
    n = len(data.items)
    if n == 0:
        none = Estimate(None)
        return LengthControl(data.system_a, data.system_b, 0, data.unscored, none, none, none)
    design = _length_design(data.lengths)
    point = fit_logistic(design, data.targets, np.ones((1, n)), _LENGTH_PENALTY)
    weights = counts[:, data.items]
    drawn = weights.sum(axis=1)
    boot = fit_logistic(design, data.targets, weights, _LENGTH_PENALTY, start=point[0])
    empty = drawn == 0  # a round that drew none of this pair's scored items
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_rounds = np.where(empty, np.nan, (weights @ data.targets) / drawn)
    lc_rounds = np.where(empty, np.nan, sigmoid(boot[:, 0]))
    slope_rounds = np.where(empty, np.nan, boot[:, 1])
    raw = _interval(float(data.targets.mean()), raw_rounds)
    lc = _interval(float(sigmoid(point[0, :1])[0]), lc_rounds)
    slope = _interval(float(point[0, 1]), slope_rounds)
    warnings: tuple[str, ...] = ()
    if raw.excludes(lc.value):
        assert lc.value is not None and raw.low is not None and raw.high is not None
        warnings = (
            f"{data.system_a} vs {data.system_b}: the length-controlled win rate {lc.value:.3f} is outside "
            f"the raw win rate's 95% interval [{raw.low:.3f}, {raw.high:.3f}]: the judge's verdicts follow "
            "answer length",
        )
    return LengthControl(data.system_a, data.system_b, n, data.unscored, raw, lc, slope, warnings)


def _rated(built: _Games, counts: Array) -> tuple[tuple[StyleRating, ...], dict[str, Estimate], tuple[str, ...]]:
    n_systems, ones = len(built.systems), np.ones((1, counts.shape[1]))
    fits = {}
    for with_style in (True, False):
        design, penalty = built.columns(with_style), built.penalty(with_style)
        point = fit_logistic(design, built.target, built.weights(ones), penalty)
        fits[with_style] = (point, fit_logistic(design, built.target, built.weights(counts), penalty, start=point[0]))
    (point, boot), (raw_point, raw_boot) = fits[True], fits[False]
    controlled, raw = _ratings(point, n_systems)[0], _ratings(raw_point, n_systems)[0]
    controlled_rounds, raw_rounds = _ratings(boot, n_systems), _ratings(raw_boot, n_systems)
    out, warnings = [], []
    for s, name in enumerate(built.systems):
        rating = _interval(float(controlled[s]), controlled_rounds[:, s])
        raw_rating = _interval(float(raw[s]), raw_rounds[:, s])
        out.append(StyleRating(name, rating, raw_rating))
        if raw_rating.excludes(rating.value):
            assert raw_rating.low is not None and raw_rating.high is not None
            warnings.append(
                f"{name}: the style-controlled rating {controlled[s]:.0f} is outside the raw rating's 95% "
                f"interval [{raw_rating.low:.0f}, {raw_rating.high:.0f}]: the judge's verdicts follow answer style"
            )
    coefficients = {
        feature: _interval(float(point[0, n_systems - 1 + f]), boot[:, n_systems - 1 + f])
        for f, feature in enumerate(STYLE_FEATURES)
    }
    ordered = tuple(sorted(out, key=lambda r: -(r.rating.value or 0.0)))
    return ordered, coefficients, tuple(warnings)


# -- from a run's items ------------------------------------------------------------


def _pair_data(
    items: Sequence[ItemVerdict], features: Mapping[tuple[str, int], Mapping[str, int]], probabilities: bool
) -> _PairData:
    a, b = items[0].systems
    scored: list[tuple[ItemVerdict, float]] = []
    for i in items:
        target = i.p_win if probabilities else i.score
        if i.unscored is None and target is not None and (a, i.item) in features and (b, i.item) in features:
            scored.append((i, float(target)))
    lengths = [
        normalized_difference(features[(a, i.item)]["length"], features[(b, i.item)]["length"]) for i, _ in scored
    ]
    return _PairData(
        a,
        b,
        np.array([i.item for i, _ in scored], dtype=np.int64),
        np.array(lengths, dtype=np.float64),
        np.array([t for _, t in scored], dtype=np.float64),
        len(items) - len(scored),
    )


def style_control(
    items: Sequence[ItemVerdict],
    answers: Mapping[str, Sequence[str | None]],
    *,
    n_items: int,
    probabilities: bool = False,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    rate: bool = True,
) -> StyleControl:
    """Length control of every judged pair in ``items`` (pairwise
    :class:`ItemVerdict` s) and, with ``rate``, style-controlled ratings;
    ``answers`` are each system's answers by item. ``probabilities``: the
    length model's target is the reconciled ``p_win`` (``--reconcile
    average``) instead of the outcome."""
    return style_control_from_features(
        items,
        answer_features(answers),
        n_items=n_items,
        probabilities=probabilities,
        rounds=rounds,
        seed=seed,
        rate=rate,
    )


def answer_features(answers: Mapping[str, Sequence[str | None]]) -> dict[tuple[str, int], Mapping[str, int]]:
    """The style features of every answer, by (system, item)."""
    return {
        (name, i): style_features(text)
        for name, texts in answers.items()
        for i, text in enumerate(texts)
        if text is not None
    }


def style_control_from_features(
    items: Sequence[ItemVerdict],
    features: Mapping[tuple[str, int], Mapping[str, int]],
    *,
    n_items: int,
    probabilities: bool = False,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    rate: bool = True,
) -> StyleControl:
    """:func:`style_control` from the answers' features (:func:`answer_features`):
    what ``evalkit judge merge`` has, from the shards' ``style_features.json``."""
    by_pair: dict[tuple[str, ...], list[ItemVerdict]] = {}
    for item in items:
        if item.mode == "pairwise":
            by_pair.setdefault(item.systems, []).append(item)
    counts = _bootstrap_counts(n_items, rounds, seed)
    with _one_blas_thread():
        return _controlled(by_pair, features, counts, probabilities=probabilities, rounds=rounds, seed=seed, rate=rate)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """The fits multiply thin matrices (1,000 rounds by a few columns):
    BLAS threads cost more than they save there, two to three times the
    wall time on a busy two-core machine (measured in test_style_control)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _controlled(
    by_pair: Mapping[tuple[str, ...], Sequence[ItemVerdict]],
    features: Mapping[tuple[str, int], Mapping[str, int]],
    counts: Array,
    *,
    probabilities: bool,
    rounds: int,
    seed: int,
    rate: bool,
) -> StyleControl:
    pairs = tuple(_length_control(_pair_data(group, features, probabilities), counts) for group in by_pair.values())
    warnings = tuple(w for p in pairs for w in p.warnings)
    if not rate:
        return StyleControl(rounds, seed, pairs, warnings=warnings)
    games = [
        (
            i.systems[0],
            i.systems[1],
            i.item,
            float(i.score),
            feature_differences(*(features[(s, i.item)] for s in i.systems)),
        )
        for group in by_pair.values()
        for i in group
        if i.unscored is None and i.score is not None and all((s, i.item) in features for s in i.systems)
    ]
    systems = list(dict.fromkeys(s for key in by_pair for s in key))
    ratings, coefficients, rating_warnings = _rated(_games(games, systems), counts)
    return StyleControl(rounds, seed, pairs, ratings, coefficients, warnings + rating_warnings)
