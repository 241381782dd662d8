"""Weighted, ridge-penalised logistic regression fitted by Newton's method,
for many weight vectors at once (the bootstrap's rounds).

Why our own and not statsmodels or scikit-learn: the length- and
style-controlled estimates refit the model 1,000 times per bootstrap; with
every round a row of one weight matrix, each Newton step is two matrix
products and a batch of small linear solves in numpy, warm-started from the
fit on all items. That takes milliseconds where 1,000 library fits take
seconds, and numpy is already a core dependency. Targets may be fractional
(a tie is 0.5, a probability its value): the loss is the binomial deviance.

Minimises, for each row ``b`` of ``weights``::

    -sum_i w[b, i] * (y_i log p_i + (1 - y_i) log(1 - p_i)) + 1/2 sum_j penalty_j beta_j^2
    with p_i = 1 / (1 + exp(-design[i] @ beta))

>>> import numpy as np
>>> x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
>>> y = np.array([1.0, 0.0, 1.0, 1.0])
>>> beta = fit_logistic(x, y, np.array([[1.0, 1.0, 1.0, 3.0]]), np.array([0.0, 1e-9]))
>>> [round(float(v), 4) for v in sigmoid(x[[0, 2]] @ beta[0])]  # the two groups' means
[0.5, 1.0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["fit_logistic", "sigmoid"]

Array = npt.NDArray[np.float64]

#: Newton steps longer than this (in any coefficient) are scaled down: a
#: damped first step cannot overshoot into the flat tails of the sigmoid.
_MAX_STEP = 4.0


def sigmoid(z: Array) -> Array:
    """The logistic function, without overflow for large ``|z|``."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def fit_logistic(
    design: Array,
    target: Array,
    weights: Array,
    penalty: Array,
    *,
    start: Array | None = None,
    iterations: int = 100,
    tolerance: float = 1e-10,
) -> Array:
    """Coefficients ``(rounds, k)`` for ``design`` ``(n, k)``, ``target``
    ``(n,)`` in [0, 1], ``weights`` ``(rounds, n)`` and ``penalty`` ``(k,)``
    (a ridge per coefficient; give every coefficient a positive one, however
    small, or a column of zeros has no solution). ``start`` ``(k,)`` or
    ``(rounds, k)`` warm-starts the iterations."""
    rounds, k = weights.shape[0], design.shape[1]
    beta = np.zeros((rounds, k)) if start is None else np.broadcast_to(start, (rounds, k)).copy()
    # Each row's Hessian is sum_i h_i x_i x_i^T: one matrix product with the outer products.
    outer = np.einsum("ni,nj->nij", design, design).reshape(design.shape[0], k * k)
    ridge = np.diag(penalty)
    for _ in range(iterations):
        p = sigmoid(beta @ design.T)
        gradient = (weights * (target - p)) @ design - beta * penalty
        hessian = ((weights * p * (1.0 - p)) @ outer).reshape(rounds, k, k) + ridge
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        longest = np.max(np.abs(step), axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(longest, 1e-300))
        beta += step
        if float(np.max(longest)) < tolerance:
            break
    return beta
