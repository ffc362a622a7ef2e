"""Sampling a window's children from their parents' sampled HMA parameters, every parent at once.

The parent rows drawn by the window's root model carry, per child table, the extension columns of
:mod:`~synthbank.relational.hma_parameters`. :func:`sample_children` turns them into child rows:

* each parent's number of children, clipped to the range seen and adjusted to the expected total as SDV's
  ``_enforce_table_size`` does (:func:`enforce_total`);
* each parent's correlation matrix rebuilt as SDV rebuilds it (scaled into [-1, 1], nearest positive
  semi-definite matrix) and factored (:func:`correlation_factors`), then ``loc + scale · A z`` for
  standard-normal draws ``z`` (``A A^T`` = the correlation), in blocks of :data:`DRAW_BLOCK` rows;
* one reverse transform of the child table's encoder for all parents together.

A condition on a child column (``rebalance``/``where``) gives each child row its value first and draws its
latent Gaussian given that value (:func:`condition_child`, with :mod:`~synthbank.relational.conditions`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.relational import conditions, sdv_adapter
from synthbank.relational.hma_parameters import ChildTable

#: Added to the diagonal of each child correlation matrix before its Cholesky factor (see :func:`correlation_factors`).
FACTOR_JITTER = 1e-9
#: Child rows drawn per block while sampling (bounds the (rows, d, d) arrays of the correlation step).
DRAW_BLOCK = 50_000


def sample_children(child: ChildTable, model: pd.DataFrame, rng: np.random.Generator, *, key: str,
                    limits: dict[str, tuple[float, float]], real_rows: int, real_parents: int,
                    mix: conditions.Mix | None = None, mix_rng: np.random.Generator | None = None,
                    odds=None) -> pd.DataFrame:
    """The children of every parent row of ``model`` (which holds their extension columns), in one block.

    Each parent's number of children is its ``num_rows`` rounded and clipped to the range seen (``limits``),
    the total then set to ``real_rows`` per ``real_parents`` parents (:func:`enforce_total`); each child's
    encoded values are ``loc + scale · A z`` for standard-normal ``z`` (:func:`correlation_factors`), and one
    reverse transform decodes them all. ``mix`` (with ``mix_rng`` and ``odds``) conditions a column of the
    child (see :func:`condition_child`). ``key`` holds each child's row number, ``child.fk`` its parent's.
    """
    num_rows_name, loc_names, scale_names, corr_names = child.extension_names()
    n = len(model)
    counts = np.zeros(n, dtype=np.int64)
    if n and num_rows_name in model:
        low, high = limits[num_rows_name]
        counts = np.clip(np.round(model[num_rows_name].fillna(0).to_numpy(dtype=float)), low, high).astype(np.int64)
        wanted = round(real_rows * n / real_parents) if real_parents else 0
        counts = enforce_total(counts, wanted, int(low), int(high))
    owners = np.repeat(np.arange(n), counts)
    d = len(child.encoded)
    if d:
        loc = model[loc_names].to_numpy(dtype=float)
        scale = np.maximum(model[scale_names].to_numpy(dtype=float), 0.0)
        factors = correlation_factors(model[corr_names].to_numpy(dtype=float), d)
        column, held, forced = (condition_child(child, mix, loc[owners], scale[owners], mix_rng,
                                             odds, model, owners) if mix else (None, None, None))
        values = np.empty((len(owners), d))
        for start in range(0, len(owners), DRAW_BLOCK):
            who = owners[start:start + DRAW_BLOCK]
            z = rng.standard_normal((len(who), d))
            latent = np.einsum("rij,rj->ri", factors[who], z)
            if column is not None:  # each row's latent Gaussian given the value it was assigned
                part = held[start:start + DRAW_BLOCK]
                known = np.isfinite(part)
                latent[known] = conditions.condition_latent(latent[known], factors[who][known], column, part[known])
            values[start:start + DRAW_BLOCK] = loc[who] + scale[who] * latent
        if column is not None:  # rows whose parent's model cannot give their value: placed inside its interval
            values[np.isfinite(forced), column] = forced[np.isfinite(forced)]
        frame = child.encoder.reverse_transform(pd.DataFrame(values, columns=child.encoded))
        frame = frame[child.columns].reset_index(drop=True)
    else:
        frame = pd.DataFrame(index=range(len(owners)))
    frame.insert(0, key, np.arange(len(owners)))
    frame[child.fk] = owners
    return frame


def condition_child(child: ChildTable, mix: conditions.Mix, loc: np.ndarray, scale: np.ndarray,
                    rng: np.random.Generator, odds=None, parents: pd.DataFrame | None = None,
                    owners: np.ndarray | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """For a conditioned child column: its position among the encoded columns and, per child row, the
    latent standard-normal value that puts the row in the category it is given, or (where the parent's
    marginal cannot reach that category: a point, or too far) the encoded value itself, drawn uniformly
    inside the category's interval (NaN elsewhere)."""
    if mix.column not in child.encoded:
        raise conditions.ConditionError(f"{mix.name} is not encoded as one column, so it cannot be conditioned.")
    column = child.encoded.index(mix.column)
    intervals, _ = sdv_adapter.encoder_categories(child.encoder, mix.column)
    categories, low, high = conditions.bounds(intervals)
    loc, scale = loc[:, column], scale[:, column]
    probabilities = conditions.category_probabilities(loc, scale, low, high)
    if odds is not None and len(loc):
        # which parents the values go with, from the real links; a little of HMA's own odds keeps every
        # value reachable where the regression never saw it
        learned = odds.probabilities(parents, categories)[owners]
        probabilities = np.where(learned.sum(axis=1, keepdims=True) > 0, 0.99 * learned + 0.01 * probabilities,
                                 probabilities)
    targets = {categories.index(value): count for value, count in mix.counts(len(loc)).items()}
    chosen = conditions.assign(conditions.tilt(probabilities, targets), targets, rng)
    held, forced = np.full(len(loc), np.nan), np.full(len(loc), np.nan)
    assigned = chosen >= 0
    chosen = np.maximum(chosen, 0)
    reachable = assigned & (scale > 0) & (probabilities[np.arange(len(loc)), chosen] > 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = (low[chosen] + conditions.INSIDE - loc) / scale
        upper = (high[chosen] - conditions.INSIDE - loc) / scale
    held[reachable] = conditions.truncated_normal(lower[reachable], upper[reachable], rng)
    placed = assigned & ~reachable
    if placed.any():
        start = np.maximum(low[chosen[placed]], 0.0) + conditions.INSIDE
        end = np.minimum(high[chosen[placed]], 1.0) - conditions.INSIDE
        forced[placed] = start + (end - start) * rng.random(int(placed.sum()))
    return column, held, forced


def enforce_total(counts: np.ndarray, total: int, low: int, high: int) -> np.ndarray:
    """Children per parent adjusted to sum to ``total``, as SDV's ``_enforce_table_size`` does it: in
    passes over the parents from the fewest children up (to add) or the most down (to remove), one child
    more or less each, within the range of counts seen in the real data while some parent can still move."""
    counts = counts.copy()
    while (gap := total - int(counts.sum())) != 0:
        if gap > 0:
            movable = counts < high if (counts < high).any() else np.ones(len(counts), bool)
            order = np.flatnonzero(movable)[np.argsort(counts[movable], kind="stable")]
            counts[order[:gap]] += 1
        else:
            movable = counts > low if (counts > low).any() else np.ones(len(counts), bool)
            order = np.flatnonzero(movable)[np.argsort(-counts[movable], kind="stable")]
            counts[order[:-gap]] -= 1
        if not len(counts):
            break
    return counts


def correlation_factors(lower: np.ndarray, d: int) -> np.ndarray:
    """Per row of lower-triangle correlations, a matrix ``A`` with ``A A^T`` the rebuilt correlation
    matrix (as SDV rebuilds it: off-diagonal scaled into [-1, 1], then the nearest PSD matrix).

    ``A`` is always the Cholesky factor of the matrix plus :data:`FACTOR_JITTER` on its diagonal: unique,
    and continuous in the correlations, so that a last-bit difference in them (BLAS on 1 thread or on 2)
    changes a child's draw by as little. An eigen-decomposition is neither: on a borderline matrix it
    would turn the same standard-normal draws into a different child."""
    n = len(lower)
    matrices = np.zeros((n, d, d))
    rows, cols = np.tril_indices(d, k=-1)  # same (i, j < i) order as the extension columns
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    if len(rows):
        matrices[:, rows, cols] = lower
        matrices[:, cols, rows] = lower
        biggest = np.abs(matrices).max(axis=(1, 2))
        matrices /= np.where(biggest > 1, biggest, 1.0)[:, None, None]
    matrices += np.eye(d)
    jitter = FACTOR_JITTER * np.eye(d)
    try:  # the common case, every matrix positive definite
        return np.linalg.cholesky(matrices + jitter)
    except np.linalg.LinAlgError:
        pass
    values, vectors = np.linalg.eigh(matrices)
    bad = (values < 0).any(axis=1)
    repaired = matrices.copy()
    for _ in range(10):  # SDV's nearest-correlation iteration, on the rows that need it
        if not bad.any():
            break
        fixed_values = np.maximum(values[bad], 0.0)
        m = np.einsum("nij,nj,nkj->nik", vectors[bad], fixed_values, vectors[bad])
        m[:, np.arange(d), np.arange(d)] = 1.0
        biggest = np.abs(m).max(axis=(1, 2))
        m /= np.where(biggest > 1, biggest, 1.0)[:, None, None]
        repaired[bad] = m
        values[bad], vectors[bad] = np.linalg.eigh(m)
        bad_now = np.zeros_like(bad)
        bad_now[bad] = (values[bad] < 0).any(axis=1)
        bad = bad_now
    # what the iteration leaves (a zero eigenvalue, a last negative one) is made positive definite;
    # ``values`` and ``vectors`` are already the eigen-decomposition of ``repaired``
    low = values.min(axis=1) < 0
    if low.any():
        repaired[low] = np.einsum("nij,nj,nkj->nik", vectors[low], np.maximum(values[low], 0.0), vectors[low])
    return np.linalg.cholesky(repaired + jitter)
