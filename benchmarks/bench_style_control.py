"""Length and style control: 1,000 bootstrap refits, evalkit's batched Newton
fit against scikit-learn's ``LogisticRegression`` refitted round by round, on
the same length model and the same resampled items, in the same run.

    .venv/bin/python benchmarks/bench_style_control.py [--items 300] [--rounds 1000] [--reference-rounds 200]

Data: three systems, ``--items`` answers each with random lengths, and a
simulated judge that prefers the longer answer (P(A wins) = sigmoid(6 x),
x the normalised length difference; one item in ten a tie). Rows:

* one pair's length-controlled win rate: ``--rounds`` refits (evalkit, all
  rounds at once, warm-started) vs scikit-learn on ``--reference-rounds`` of
  the same rounds, one fit each (lbfgs, C = 1 / ridge = 1000, fractional
  targets as two weighted rows); the point estimates are compared;
* the whole style control of the three pairs (three length models, the
  style-controlled and the raw Bradley-Terry ratings, all with intervals).

A benchmark, not a timed test: numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def _data(n: int, seed: int = 1):
    import numpy as np

    from evalkit.judge.types import ItemVerdict

    rng = np.random.default_rng(seed)
    answers = {s: ["word " * int(rng.integers(5, 120)) for _ in range(n)] for s in ("a", "b", "c")}
    items = []
    for a, b in (("a", "b"), ("a", "c"), ("b", "c")):
        for i in range(n):
            la, lb = len(answers[a][i]), len(answers[b][i])
            x = (la - lb) / (la + lb)
            score = 0.5 if i % 10 == 0 else float(rng.uniform() < 1 / (1 + np.exp(-6 * x)))
            items.append(ItemVerdict("pairwise", i, (a, b), (), score))
    return items, answers


def _sklearn_refits(x, y, counts, ridge):
    """One scikit-learn fit per round; fractional targets as a 1-row and a 0-row with weights t and 1 - t."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    design = np.concatenate([x, x])[:, None]
    labels = np.concatenate([np.ones_like(y), np.zeros_like(y)])
    rates = []
    for weights in counts:
        model = LogisticRegression(C=1.0 / ridge, tol=1e-8, max_iter=1000)
        model.fit(design, labels, sample_weight=np.concatenate([weights * y, weights * (1 - y)]))
        rates.append(1 / (1 + np.exp(-model.intercept_[0])))
    return np.array(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--reference-rounds", type=int, default=200)
    args = parser.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from evalkit.judge.logistic_fit import fit_logistic, sigmoid
    from evalkit.judge.style_control import COVARIATE_RIDGE, _bootstrap_counts, _length_design, style_control

    items, answers = _data(args.items)
    pair = [i for i in items if i.systems == ("a", "b")]
    x = np.array(
        [
            (len(answers["a"][i.item]) - len(answers["b"][i.item]))
            / (len(answers["a"][i.item]) + len(answers["b"][i.item]))
            for i in pair
        ]
    )
    y = np.array([i.score for i in pair])
    counts = _bootstrap_counts(args.items, args.rounds, 12345)
    design, penalty = _length_design(x), np.array([1e-6, COVARIATE_RIDGE])

    def timed(work):
        """(result, wall s, CPU s) of ``work()`` with one BLAS thread, as evalkit runs its fits."""
        wall, cpu = time.perf_counter(), time.process_time()
        with threadpool_limits(limits=1, user_api="blas"):
            result = work()
        return result, time.perf_counter() - wall, time.process_time() - cpu

    def ours_refits():
        point = fit_logistic(design, y, np.ones((1, len(y))), penalty)
        return sigmoid(fit_logistic(design, y, counts, penalty, start=point[0])[:, 0])

    runs = [timed(ours_refits) for _ in range(3)]
    ours, ours_wall, ours_cpu = runs[0][0], *(statistics.median(r[j] for r in runs) for j in (1, 2))
    k = min(args.reference_rounds, args.rounds)
    _sklearn_refits(x, y, counts[:1], COVARIATE_RIDGE)  # import scikit-learn before the clock starts
    theirs, theirs_wall, theirs_cpu = timed(lambda: _sklearn_refits(x, y, counts[:k], COVARIATE_RIDGE))
    theirs_wall, theirs_cpu = theirs_wall * args.rounds / k, theirs_cpu * args.rounds / k
    diff = float(np.max(np.abs(theirs - ours[:k])))
    _, whole_wall, whole_cpu = timed(lambda: style_control(items, answers, n_items=args.items, rounds=args.rounds))

    print(f"{args.items} items, {args.rounds} bootstrap rounds; seconds as wall (CPU)")
    print("| task | evalkit | scikit-learn | ratio (CPU) | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| one pair's length-controlled win rate, every refit | {ours_wall:.3f} ({ours_cpu:.3f}) "
        f"| {theirs_wall:.1f} ({theirs_cpu:.1f}), from {k} fits | {theirs_cpu / ours_cpu:.0f}x | {diff:.1e} |"
    )
    print(
        f"| style control of 3 pairs: 3 length models, 2 Bradley-Terry models, intervals "
        f"| {whole_wall:.3f} ({whole_cpu:.3f}) | | | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
