"""MAUVE: how close the distribution of a system's texts is to that of human
texts, through mauve-text's ``compute_mauve`` on features of both.

P is the references, Q the system's predictions; they need not be paired or
of the same size. Texts become vectors through a featurizer (``minilm`` by
default, offline; ``hf:MODEL``, ``openai:MODEL``, ``npy:PATH``), with a feature
cache on disk so that references are featurized once for every system and a
rerun featurizes nothing. MAUVE moves by about 0.005-0.01 with the k-means
seed, as much as real differences between models, so ``seeds`` runs are made
(seeds ``seed``, ``seed+1``, ...) and ``value`` is their mean, with the
standard deviation and each run in ``details``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> features = rng.normal(size=(40, 8))
>>> r = Mauve(seeds=2, kmeans_num_redo=1).score_features(features, features)
>>> round(r.value, 6), r.details["n_p"], len(r.details["per_seed"])
(1.0, 40, 2)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from annotated_types import Ge, Gt, Lt

from evalkit.errors import ConfigError, InputError
from evalkit.featurizers.base import Featurizer, require, set_offline
from evalkit.metrics.base import ReferencesInput, check_predictions, normalize_references
from evalkit.options import checked_options
from evalkit.result import MetricResult

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from evalkit.featurizers.cache import FeatureCache

__all__ = ["Mauve", "SmallSampleWarning", "SMALL_SAMPLE"]

#: Fewer texts than this on either side and MAUVE is unreliable (the paper
#: and mauve-text's README use several thousand).
SMALL_SAMPLE = 1000


class SmallSampleWarning(UserWarning):
    """MAUVE ran on fewer than :data:`SMALL_SAMPLE` texts on a side."""


class Mauve:
    """MAUVE between references (P) and predictions (Q).

    Options (all keyword-only; from the CLI: ``--set mauve.seeds=5``):

    - ``featurizer``: ``minilm`` (default), ``hf:MODEL``, ``openai:MODEL``,
      ``npy:PATH``, or (Python only) any :class:`~evalkit.featurizers.Featurizer`;
    - ``seeds``: how many k-means seeds to run (default 5), starting at
      ``seed`` (default 25, mauve-text's);
    - mauve-text's own, passed through unchanged: ``num_buckets`` (``"auto"``
      or an int), ``pca_max_data``, ``kmeans_explained_var``,
      ``kmeans_num_redo``, ``kmeans_max_iter``, ``mauve_scaling_factor``,
      ``divergence_curve_discretization_size``;
    - featurization: ``max_text_length`` (tokens; default: the featurizer's,
      256 for minilm, 1024 for hf), ``batch_size``, ``device`` (``cpu``,
      ``cuda``, ``cuda:1``; default the first GPU if any), ``openai_base_url``;
    - the feature cache: ``cache`` (default true), ``cache_dir`` (default
      ``$EVALKIT_CACHE_DIR/features`` or ``~/.cache/evalkit/features``).

    >>> m = Mauve(seeds=3, featurizer="minilm")
    >>> m.seed_list
    [25, 26, 27]
    """

    name: ClassVar[str] = "mauve"
    needs_references: ClassVar[bool] = True

    @checked_options
    def __init__(
        self,
        *,
        featurizer: str | Featurizer = "minilm",
        seeds: Annotated[int, Ge(1)] = 5,
        seed: int = 25,
        num_buckets: Annotated[int, Ge(2)] | Literal["auto"] = "auto",
        pca_max_data: Literal[-1] | Annotated[int, Ge(1)] = -1,
        kmeans_explained_var: Annotated[float, Gt(0), Lt(1)] = 0.9,
        kmeans_num_redo: Annotated[int, Ge(1)] = 5,
        kmeans_max_iter: Annotated[int, Ge(1)] = 500,
        mauve_scaling_factor: Annotated[float, Gt(0)] = 5.0,
        divergence_curve_discretization_size: Annotated[int, Ge(2)] = 25,
        max_text_length: Annotated[int, Ge(1)] | None = None,
        batch_size: Annotated[int, Ge(1)] | None = None,
        device: str | None = None,
        cache: bool = True,
        cache_dir: str | None = None,
        openai_base_url: str | None = None,
    ) -> None:
        if isinstance(featurizer, str):
            from evalkit.featurizers.registry import parse_spec

            parse_spec(featurizer)  # an unknown name fails now, not after loading data
        elif not isinstance(featurizer, Featurizer):
            raise ConfigError(f"featurizer must be a name or a Featurizer, not {type(featurizer).__name__}")
        self.featurizer = featurizer
        self.seeds = seeds
        self.seed = seed
        self.num_buckets = num_buckets
        self.pca_max_data = pca_max_data
        self.kmeans_explained_var = kmeans_explained_var
        self.kmeans_num_redo = kmeans_num_redo
        self.kmeans_max_iter = kmeans_max_iter
        self.mauve_scaling_factor = mauve_scaling_factor
        self.divergence_curve_discretization_size = divergence_curve_discretization_size
        self.max_text_length = max_text_length
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.cache_dir = cache_dir
        self.openai_base_url = openai_base_url
        self._feature_cache: FeatureCache | None = None
        # the last reference set's features: a comparison scores every system
        # against the same references, which are featurized (or read) once
        self._memo: tuple[str, np.ndarray] | None = None
        self._warned_small = False

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    # -- public entry points -------------------------------------------------

    def score(
        self,
        *,
        predictions: Sequence[str | None],
        references: ReferencesInput | None = None,
    ) -> MetricResult:
        """MAUVE of ``predictions`` (Q) against ``references`` (P).

        ``references`` is either one entry per prediction (a string or a list
        of strings), of which the *first* reference of each item goes into P,
        so that every prompt weighs the same in P as in Q; or a flat list of
        reference strings of any length, all of which go into P (P and Q need
        not be paired). A list of strings as long as ``predictions`` is the
        same under both readings.
        """
        preds = check_predictions(predictions)
        return self.score_texts(self._reference_texts(references, len(preds)), preds)

    def score_texts(self, p_texts: Sequence[str], q_texts: Sequence[str | None]) -> MetricResult:
        """MAUVE between two unpaired sets of texts, P (human) and Q (model).

        Empty texts are dropped and counted, as mauve-text drops them; a
        ``None`` in Q (a missing prediction) is dropped too, and both are
        listed in ``unscored``.
        """
        if isinstance(p_texts, str) or isinstance(q_texts, str):
            raise InputError("score_texts takes two lists of strings, not strings")
        q_texts = check_predictions(q_texts)
        for i, text in enumerate(p_texts):
            if not isinstance(text, str):
                raise InputError(f"reference text {i} is a {type(text).__name__}, not a string")
        _require_mauve()  # before featurizing, which can take minutes
        p_kept = [t for t in p_texts if t]
        q_kept = [t for t in q_texts if t]
        unscored = {
            i: ("no prediction" if t is None else "empty prediction (MAUVE drops empty texts)")
            for i, t in enumerate(q_texts)
            if not t
        }
        if not p_kept:
            raise InputError(
                "MAUVE needs at least one non-empty reference text",
                hint="check the references file",
            )
        featurizer = self._get_featurizer()
        p_features = self._featurize_references(featurizer, p_kept)
        q_features = self._featurize(featurizer, q_kept, "predictions") if q_kept else None
        return self._result(
            p_features,
            q_features,
            featurizer_id=featurizer.id,
            dropped_p=len(p_texts) - len(p_kept),
            dropped_q=len(q_texts) - len(q_kept),
            unscored=unscored,
        )

    def score_features(self, p_features: npt.ArrayLike, q_features: npt.ArrayLike) -> MetricResult:
        """MAUVE between precomputed feature arrays of shape ``(n, dim)``;
        the featurizer option is not used (the signature says ``feat:given``)."""
        import numpy as np

        _require_mauve()
        arrays = []
        for side, array in (("p", p_features), ("q", q_features)):
            array = np.asarray(array)
            if array.ndim != 2 or array.shape[0] == 0 or array.dtype.kind not in "fiu":
                raise InputError(f"{side}_features must be a non-empty 2-D numeric array, not {array.shape}")
            if not np.isfinite(array).all():
                raise InputError(f"{side}_features contain NaN or infinite values")
            arrays.append(array)
        if arrays[0].shape[1] != arrays[1].shape[1]:
            raise InputError(f"p_features have {arrays[0].shape[1]} dimensions, q_features {arrays[1].shape[1]}")
        return self._result(arrays[0], arrays[1], featurizer_id="given", dropped_p=0, dropped_q=0, unscored={})

    # -- featurization -------------------------------------------------------

    def _reference_texts(self, references: ReferencesInput | None, n_predictions: int) -> list[str]:
        if references is not None and not isinstance(references, str):
            texts = [r for r in references if isinstance(r, str)]
            if len(texts) == len(references):
                return texts  # a flat set of reference texts, of any length
        items = normalize_references(references, n_predictions, metric=self.name)
        return [item[0] for item in items]

    def _get_featurizer(self) -> Featurizer:
        if not isinstance(self.featurizer, str):
            return self.featurizer
        from evalkit.featurizers.registry import get_featurizer

        return get_featurizer(
            self.featurizer,
            max_text_length=self.max_text_length,
            batch_size=self.batch_size,
            device=self.device,
            openai_base_url=self.openai_base_url,
        )

    def _featurize(self, featurizer: Featurizer, texts: list[str], desc: str) -> np.ndarray:
        from evalkit.featurizers.cache import FeatureCache, featurize_texts

        if self.cache and self._feature_cache is None:
            self._feature_cache = FeatureCache(self.cache_dir)
        return featurize_texts(
            featurizer,
            texts,
            cache=self._feature_cache if self.cache else None,
            batch_size=self.batch_size or 32,
            desc=desc,
        )

    def _featurize_references(self, featurizer: Featurizer, texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256(featurizer.id.encode())
        for text in texts:
            digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        key = digest.hexdigest()
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        features = self._featurize(featurizer, texts, "references")
        self._memo = (key, features)
        return features

    # -- MAUVE ---------------------------------------------------------------

    def _mauve_options(self) -> dict[str, int | float | str]:
        return {
            "num_buckets": self.num_buckets,
            "pca_max_data": self.pca_max_data,
            "kmeans_explained_var": self.kmeans_explained_var,
            "kmeans_num_redo": self.kmeans_num_redo,
            "kmeans_max_iter": self.kmeans_max_iter,
            "mauve_scaling_factor": self.mauve_scaling_factor,
            "divergence_curve_discretization_size": self.divergence_curve_discretization_size,
        }

    def _result(
        self,
        p_features: np.ndarray,
        q_features: np.ndarray | None,
        *,
        featurizer_id: str,
        dropped_p: int,
        dropped_q: int,
        unscored: dict[int, str],
    ) -> MetricResult:
        n_p = len(p_features)
        n_q = 0 if q_features is None else len(q_features)
        notes = self._notes(n_p, n_q, dropped_p, dropped_q)
        if q_features is None:
            notes.append("no non-empty prediction: MAUVE cannot be computed")
            return self._make_result(
                None, [], [], [], None, featurizer_id, n_p, n_q, dropped_p, dropped_q, notes, unscored
            )
        buckets = self.num_buckets
        if isinstance(buckets, int) and buckets > n_p + n_q:
            raise ConfigError(
                f"num_buckets={buckets} is more than the {n_p + n_q} texts to cluster",
                hint="use num_buckets=auto (about min(n_p, n_q)/10)",
            )
        from mauve import compute_mauve

        with _faiss_small_sample_notes_dropped():
            runs = [
                compute_mauve(p_features=p_features, q_features=q_features, seed=s, **self._mauve_options())
                for s in self.seed_list
            ]
        curve = [[float(x), float(y)] for x, y in runs[0].divergence_curve]
        return self._make_result(
            statistics.fmean(float(r.mauve) for r in runs),
            [float(r.mauve) for r in runs],
            [float(r.frontier_integral) for r in runs],
            [float(r.mauve_star) for r in runs],
            (int(runs[0].num_buckets), curve),
            featurizer_id,
            n_p,
            n_q,
            dropped_p,
            dropped_q,
            notes,
            unscored,
        )

    def _notes(self, n_p: int, n_q: int, dropped_p: int, dropped_q: int) -> list[str]:
        """The result's warnings; the small-sample one is also a Python warning."""
        notes = []
        if dropped_p or dropped_q:
            notes.append(
                f"dropped {dropped_p} empty reference text(s) and {dropped_q} empty or missing "
                "prediction(s), as mauve-text does"
            )
        if min(n_p, n_q) < SMALL_SAMPLE:
            message = (
                f"MAUVE is unreliable on fewer than {SMALL_SAMPLE:,} texts a side: this run has "
                f"{n_p} reference and {n_q} prediction texts; read differences smaller than a few "
                "seed standard deviations as noise"
            )
            notes.append(message)
            # once per Mauve instance, i.e. once per comparison however many
            # systems it scores (Python's own once-per-location filter does
            # not hold: sklearn resets the warning registry inside MAUVE)
            if not self._warned_small:
                self._warned_small = True
                warnings.warn(message, SmallSampleWarning, stacklevel=3)
        return notes

    def _make_result(
        self,
        value: float | None,
        per_seed: list[float],
        frontier: list[float],
        mauve_star: list[float],
        buckets_and_curve: tuple[int, list[list[float]]] | None,
        featurizer_id: str,
        n_p: int,
        n_q: int,
        dropped_p: int,
        dropped_q: int,
        notes: list[str],
        unscored: dict[int, str],
    ) -> MetricResult:
        num_buckets, curve = buckets_and_curve if buckets_and_curve else (None, [])
        details = {
            "std": statistics.stdev(per_seed) if len(per_seed) > 1 else None,
            "per_seed": per_seed,
            "seeds": self.seed_list,
            "frontier_integral": statistics.fmean(frontier) if frontier else None,
            "mauve_star": statistics.fmean(mauve_star) if mauve_star else None,
            "num_buckets": num_buckets,
            "divergence_curve": curve,
            "featurizer": featurizer_id,
            "n_p": n_p,
            "n_q": n_q,
            "dropped_empty_p": dropped_p,
            "dropped_empty_q": dropped_q,
            "warnings": notes,
        }
        return MetricResult(
            metric=self.name,
            value=value,
            per_item=(),
            details=details,
            unscored=unscored,
            signature=self.signature(featurizer_id),
            higher_is_better=True,
            scale="0-1",
            bounds=(0.0, 1.0),
            n_scored=n_q,
            n_unscored=dropped_q,
        )

    def signature(self, featurizer_id: str) -> str:
        """The reproducibility signature: featurizer id, seeds, every
        mauve-text option and the library versions that make the number.

        >>> Mauve(seeds=2).signature("given")  # doctest: +ELLIPSIS
        'mauve|feat:given|seeds:2|seed:25|buckets:auto|explvar:0.9|redo:5|iter:500|c:5|curve:25|pca:all|faiss:...|mauve-text:...'
        """
        pca = "all" if self.pca_max_data < 0 else str(self.pca_max_data)
        return "|".join(
            [
                "mauve",
                f"feat:{featurizer_id}",
                f"seeds:{self.seeds}",
                f"seed:{self.seed}",
                f"buckets:{self.num_buckets}",
                f"explvar:{self.kmeans_explained_var:g}",
                f"redo:{self.kmeans_num_redo}",
                f"iter:{self.kmeans_max_iter}",
                f"c:{self.mauve_scaling_factor:g}",
                f"curve:{self.divergence_curve_discretization_size}",
                f"pca:{pca}",
                f"faiss:{_version('faiss-cpu', 'faiss-gpu', 'faiss-gpu-cu12', 'faiss')}",
                f"mauve-text:{_version('mauve-text')}",
            ]
        )


def _require_mauve() -> None:
    set_offline()  # mauve-text imports transformers, which reads it at import
    require("mauve", "faiss", "sklearn")


def _version(*packages: str) -> str:
    for package in packages:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return "none"


@contextlib.contextmanager
def _faiss_small_sample_notes_dropped() -> Iterator[None]:
    """faiss's C++ k-means prints "WARNING clustering N points to K centroids"
    to the process's stderr once per seed; our small-sample warning already
    says it once. Capture fd 2 around the call and pass on every other line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. some notebooks)
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not line.startswith("WARNING clustering"):
                    sys.stderr.write(line)
