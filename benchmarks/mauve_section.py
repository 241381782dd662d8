"""Benchmark section: evalkit's MAUVE against direct ``mauve.compute_mauve``
calls on the same fixed features, timed in the same run.

evalkit adds a seed loop, input checks and result assembly around
mauve-text; this section shows that it computes the same numbers (every
seed's value identical) at the same speed (best of interleaved repeats, on one thread).
Featurization is left out: both
sides take the same precomputed features (random 384-d vectors, the size of
MiniLM's), so the timing is MAUVE's own (PCA, k-means, divergence curve).

Run alone: ``python benchmarks/mauve_section.py [--quick]``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

__all__ = ["run"]

#: evalkit may be at most this much slower than the direct calls
MIN_RATIO = 0.9


def _features(n: int, dim: int, shift: float, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    # a few clusters, so that k-means has structure to find, as with real text
    centres = rng.normal(size=(8, dim))
    labels = rng.integers(0, 8, size=n)
    return (centres[labels] + shift + rng.normal(scale=0.7, size=(n, dim))).astype(np.float32)


def _case(n_side: int, dim: int, seeds: int, repeats: int) -> dict:
    from mauve import compute_mauve

    from evalkit.metrics.mauve import Mauve, SmallSampleWarning

    p = _features(n_side, dim, 0.0, seed=1)
    q = _features(n_side, dim, 0.15, seed=2)
    seed_list = [25 + i for i in range(seeds)]
    reference_times, evalkit_times = [], []
    direct: list[float] = []
    ours: list[float] = []

    def reference() -> list[float]:
        return [float(compute_mauve(p_features=p, q_features=q, seed=s).mauve) for s in seed_list]

    def evalkit() -> list[float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            return list(Mauve(seeds=seeds).score_features(p, q).details["per_seed"])

    # interleaved, first one side then the other, so that load from other
    # processes hits both alike; the best time of each side is kept
    for i in range(repeats):
        order = [(reference, reference_times), (evalkit, evalkit_times)]
        for fn, times in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            values = fn()
            times.append(time.perf_counter() - start)
            if fn is reference:
                direct = values
            else:
                ours = values
    n = 2 * n_side
    reference_per_s = n / min(reference_times)
    evalkit_per_s = n / min(evalkit_times)
    ratio = evalkit_per_s / reference_per_s
    identical = ours == direct
    max_abs_diff = max(abs(a - b) for a, b in zip(ours, direct))
    return {
        "task": f"mauve, {seeds} seeds, {n_side}+{n_side} features of {dim}-d, 1 thread (texts/s)",
        "n": n,
        "reference_per_s": round(reference_per_s, 1),
        "evalkit_per_s": round(evalkit_per_s, 1),
        "ratio": round(ratio, 3),
        "identical": identical,
        "max_abs_diff": max_abs_diff,
        "target": f"identical, >= {MIN_RATIO}x mauve-text",
        "met": identical and ratio >= MIN_RATIO,
    }


def run(quick: bool) -> list[dict]:
    """Rows for the benchmark report; ``quick`` uses a smaller sample."""
    import faiss
    from mauve import compute_mauve
    from threadpoolctl import threadpool_limits

    # One thread for k-means (faiss) and PCA (BLAS): both sides run the same
    # code, and on a shared machine threads waiting on each other make the
    # timings noisy.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            return _run(quick, compute_mauve)
    finally:
        faiss.omp_set_num_threads(threads)


def _run(quick: bool, compute_mauve) -> list[dict]:
    # import and warm up (faiss, sklearn's lazy modules) outside the timings
    warm = _features(50, 8, 0.0, seed=0)
    compute_mauve(p_features=warm, q_features=warm, kmeans_num_redo=1)
    if quick:
        return [_case(500, 384, seeds=3, repeats=3)]
    return [_case(2000, 384, seeds=5, repeats=3)]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
