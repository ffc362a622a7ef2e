"""The Gaussian copula's correlations under DP, and draws from it given a parent's latent values.

Each row's latent normal scores (its values through the DP marginals, see :mod:`synthbank.dp.marginals`) are
clipped to a norm of ``CLIP × √d``; the sum of their outer products then changes by at most ``CLIP² d`` per row,
``CLIP² d × max_rows`` per person, in Frobenius norm, which bounds the L2 norm of its upper triangle: that
triangle gets Gaussian noise of ``z`` times that sensitivity, and the noisy matrix is scaled to a unit diagonal
and moved to the nearest positive-definite correlation matrix (post-processing).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

#: Latent rows are clipped to a norm of CLIP × √d (most rows, of norm about √d, are untouched).
CLIP = 2.0
#: The smallest eigenvalue a released correlation matrix keeps.
MIN_EIGENVALUE = 1e-3


def latent(u: np.ndarray) -> np.ndarray:
    """Uniform positions → standard normal scores."""
    return norm.ppf(np.clip(u, 1e-6, 1 - 1e-6))


def uniform(z: np.ndarray) -> np.ndarray:
    return norm.cdf(z)


def correlation_sensitivity(d: int, max_rows: int) -> float:
    return CLIP ** 2 * d * max_rows


def noisy_correlation(z: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The correlation matrix of the rows ``z`` (n × d) released with noise ``sigma`` on each entry of the
    upper triangle of their clipped outer-product sum."""
    n, d = z.shape
    bound = CLIP * np.sqrt(d)
    norms = np.linalg.norm(z, axis=1)
    clipped = z * np.minimum(1.0, bound / np.maximum(norms, 1e-12))[:, None]
    total = clipped.T @ clipped
    noise = np.triu(rng.normal(0.0, sigma, (d, d)))
    noise = noise + np.triu(noise, 1).T
    return nearest_correlation(total + noise)


def nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """A symmetric matrix scaled to a unit diagonal and its eigenvalues raised to at least MIN_EIGENVALUE."""
    d = len(matrix)
    diagonal = np.maximum(np.diag(matrix), 1e-9)
    scaled = matrix / np.sqrt(np.outer(diagonal, diagonal))
    scaled = (scaled + scaled.T) / 2
    for _ in range(5):
        values, vectors = np.linalg.eigh(scaled)
        scaled = (vectors * np.maximum(values, MIN_EIGENVALUE)) @ vectors.T
        scale = np.sqrt(np.diag(scaled))
        scaled = scaled / np.outer(scale, scale)
        if np.linalg.eigvalsh(scaled).min() >= MIN_EIGENVALUE / 2:
            break
    scaled[np.arange(d), np.arange(d)] = 1.0
    return scaled


def draw(correlation: np.ndarray, rng: np.random.Generator, n: int, given: np.ndarray | None = None) -> np.ndarray:
    """``n`` latent rows of the correlation's own columns (the last ones); ``given`` (n × p) holds each row's
    values of the first ``p`` columns (a parent's latent scores), drawn from the conditional normal given them."""
    d = len(correlation)
    p = 0 if given is None else given.shape[1]
    own = correlation[p:, p:]
    if p == 0:
        return rng.standard_normal((n, d)) @ np.linalg.cholesky(own).T
    pp, cp = correlation[:p, :p], correlation[p:, :p]
    weights = np.linalg.solve(pp, cp.T).T  # (d-p) × p
    residual = own - weights @ cp.T
    residual = (residual + residual.T) / 2 + 1e-9 * np.eye(d - p)
    values, vectors = np.linalg.eigh(residual)
    factor = vectors * np.sqrt(np.maximum(values, 0.0))
    return given @ weights.T + rng.standard_normal((n, d - p)) @ factor.T
