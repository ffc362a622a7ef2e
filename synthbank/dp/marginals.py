"""One column's distribution as a noisy histogram: the marginal of a DP copula.

Numbers and dates fall into the bins of a grid fixed in advance, the same for every data set, so no bound is
taken from the data: numbers on bins 10% wide on a log scale from 10^-4 to 10^13 on either side of zero (and a
bin for zero itself), dates on bins of a month from 1900 to 2100 (a value outside the grid is clipped to its
end). Categories are the values the data holds; one that only a few people hold must not be released, so a value
is kept only where its noisy count crosses a threshold that one person's rows cross with probability at most δ
(:func:`synthbank.dp.accounting.release_threshold`). Booleans and NULL are public cells and always kept.

Every cell's count gets Gaussian noise (one release per column, of L2 sensitivity ``max_count``: a person's rows,
at most ``max_count``, can all fall into one cell); noisy counts the noise alone could have drawn are set to
zero, bins holding mass only together are read in blocks (post-processing, see :func:`zeroed`): it keeps the
grid's thousands of empty bins from drawing values. Sampling draws a cell by
its share and a value uniformly inside it (a number bin's zero is exactly 0; whole numbers are rounded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from synthbank.dp.accounting import release_threshold

#: Number bins: edges at ±10^-4 × RATIO^k up to 10^13.
RATIO, SMALLEST, LARGEST = 1.1, 1e-4, 1e13
#: Date bins (days since 1970-01-01): months from 1900 to 2100.
FIRST_DAY, LAST_DAY, DAYS_PER_BIN = -25_567.0, 47_482.0, 30.4375
#: Expected number of empty cells (or blocks) the noise lifts above the zeroing threshold, per column and block width.
SPURIOUS_CELLS = 0.001
#: The widest block of neighbouring bins that spreads mass found only in sum (64 number bins: a factor of 445; 64 months).
WIDEST_BLOCK = 64


def number_edges() -> np.ndarray:
    steps = int(np.ceil(np.log(LARGEST / SMALLEST) / np.log(RATIO)))
    positive = SMALLEST * RATIO ** np.arange(steps + 1)
    return np.concatenate([-positive[::-1], positive])


def date_edges() -> np.ndarray:
    return np.arange(FIRST_DAY, LAST_DAY + DAYS_PER_BIN, DAYS_PER_BIN)


@dataclass
class Marginal:
    kind: str  # "number", "date" or "category"
    cells: list  # category values, or the grid's edges (kind number/date)
    weights: np.ndarray  # NULL first, then one per category or bin: noisy, non-negative
    integer: bool = False
    #: False where nothing stood above the noise: the column is drawn from one noisy cell and means nothing
    learned: bool = True

    @property
    def cumulative(self) -> np.ndarray:
        total = self.weights.sum()
        return np.concatenate([[0.0], np.cumsum(self.weights) / total]) if total > 0 else np.linspace(0, 1, len(self.weights) + 1)

    def cell_of(self, values: pd.Series) -> np.ndarray:
        """Per value, its cell (0: NULL); a value in no released cell gets -1."""
        missing = values.isna().to_numpy()
        if self.kind == "category":
            lookup = {value: i + 1 for i, value in enumerate(self.cells)}
            cells = np.array([lookup.get(v, -1) for v in values.astype(object)], dtype=np.int64)
        else:
            edges = np.asarray(self.cells)
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            bins = np.clip(np.searchsorted(edges, np.nan_to_num(numbers), side="right") - 1, 0, len(edges) - 2)
            cells = bins + 1
        cells[missing] = 0
        return cells

    def encode(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """Per value, a uniform position inside its cell's interval of [0, 1] (the copula's input). A value whose
        cell holds no weight (a category not released, a bin the noise zeroed) moves to the nearest cell that
        does (for categories: a random one)."""
        cells = self.cell_of(values)
        held = np.flatnonzero(self.weights > 0)
        if len(held) == 0:
            return rng.random(len(cells))
        empty = (cells < 0) | (self.weights[np.maximum(cells, 0)] <= 0)
        if empty.any():
            if self.kind == "category":
                cells[empty] = rng.choice(held, int(empty.sum()))
            else:
                at = np.clip(np.searchsorted(held, cells[empty]), 0, len(held) - 1)
                before = held[np.maximum(at - 1, 0)]
                cells[empty] = np.where(np.abs(before - cells[empty]) < np.abs(held[at] - cells[empty]), before, held[at])
        cumulative = self.cumulative
        low, high = cumulative[cells], cumulative[cells + 1]
        return low + (high - low) * rng.uniform(0.001, 0.999, len(cells))

    def decode(self, u: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values for uniform positions ``u`` (the inverse of :meth:`encode`, a fresh draw inside each cell)."""
        held = np.flatnonzero(self.weights > 0)
        # the first cell whose interval reaches u: never a cell of no weight (floating-point ends included)
        cells = np.clip(np.searchsorted(self.cumulative[1:], u, side="left"), held[0], held[-1])
        if self.kind == "category":
            values = np.array([None, *self.cells], dtype=object)[cells]
            return pd.Series(values, dtype=object)
        edges = np.asarray(self.cells)
        bins = np.maximum(cells - 1, 0)
        low, high = edges[bins], edges[bins + 1]
        numbers = low + (high - low) * rng.random(len(cells))
        if self.kind == "number":
            numbers[(low < 0) & (high > 0)] = 0.0
        if self.integer:
            numbers = np.round(numbers)
        numbers[cells == 0] = np.nan
        return pd.Series(numbers)


def zeroed(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """:func:`above_noise`, or where nothing stands above it the largest noisy cell alone (post-processing, no
    data looked at again)."""
    return _or_largest(above_noise(noisy, sigma), noisy)


def _or_largest(found: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    if found.sum() <= 0:
        found[np.argmax(noisy)] = 1.0
    return found


def above_noise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Noisy bin counts made into a density the noise alone is unlikely to have drawn (post-processing).

    A bin keeps its noisy count where that count stands above the noise (``cut`` standard deviations, so
    that about :data:`SPURIOUS_CELLS` empty bins pass); the bins
    left are taken in blocks of 2, 4, … :data:`WIDEST_BLOCK` neighbours, and a block whose noisy sum beyond its kept
    bins stands above the noise of its other bins spreads that sum evenly over them. Mass spread thinly over
    many bins (1,000 loans over two decades of amounts) is found that way, and bins far from any mass stay empty."""
    n = len(noisy)
    out = np.zeros(n)
    assigned = np.zeros(n, dtype=bool)
    size = 1
    while size <= min(WIDEST_BLOCK, n):
        blocks = -(-n // size)
        padded = np.zeros(blocks * size)
        padded[:n] = noisy
        sums = padded.reshape(blocks, size).sum(axis=1)
        taken = np.zeros(blocks * size)
        taken[:n] = np.where(assigned, out, 0.0)
        free = np.zeros(blocks * size, dtype=bool)
        free[:n] = ~assigned
        rest = sums - taken.reshape(blocks, size).sum(axis=1)
        free_bins = free.reshape(blocks, size).sum(axis=1)
        cut = norm.isf(SPURIOUS_CELLS / blocks)  # spurious blocks expected at this width: SPURIOUS_CELLS
        passing = (free_bins > 0) & (rest >= cut * sigma * np.sqrt(np.maximum(free_bins, 1)))
        density = np.repeat(np.where(passing, rest / np.maximum(free_bins, 1), 0.0), size)[:n]
        now = np.repeat(passing, size)[:n] & ~assigned
        out[now] = density[now]
        assigned |= now
        size *= 2
    return out


def fit_number(values: pd.Series, kind: str, sigma: float, rng: np.random.Generator, integer: bool = False,
               edges: np.ndarray | None = None) -> Marginal:
    """A number's or a date's (days since 1970) marginal: a noisy histogram on the fixed grid (or on ``edges``,
    public too: a count's whole numbers)."""
    if edges is None:
        edges = number_edges() if kind == "number" else date_edges()
    marginal = Marginal(kind, edges, np.zeros(len(edges)), integer)
    counts = np.bincount(marginal.cell_of(values), minlength=len(edges)).astype(float)
    noisy = counts + rng.normal(0.0, sigma, len(counts))
    null = noisy[0] if noisy[0] >= sigma * norm.isf(SPURIOUS_CELLS) else 0.0
    found = above_noise(noisy[1:], sigma)
    marginal.learned = bool(found.sum() > 0)
    marginal.weights = np.concatenate([[null], _or_largest(found, noisy[1:])])
    return marginal


def fit_category(values: pd.Series, sigma: float, rng: np.random.Generator, *, public: list | None = None,
                 threshold_delta: float = 0.0, persons: np.ndarray | None = None, select_sigma: float | None = None,
                 values_per_person: int = 1) -> Marginal:
    """A category's marginal: noisy row counts of noise ``sigma`` (one release).

    ``public`` values (a boolean's two) are always cells. Any other value held in the data is released only if
    its noisy count crosses the threshold for ``threshold_delta``. Without ``persons`` (a root table: one row per
    person) that count is the row count itself. With ``persons`` (each row's person, in a child table) it is a
    second release: the number of *people* holding the value, of noise ``select_sigma`` (a person adds 1 to at
    most ``values_per_person`` values: L2 sensitivity √values_per_person), so that a value many rows of few people
    hold is not mistaken for a common one, and the threshold is as low as one person's single count allows."""
    present = values.dropna().astype(object)
    counts = present.value_counts()
    candidates = list(public) if public is not None else list(counts.index)
    noisy = np.array([counts.get(v, 0) for v in candidates], dtype=float) + rng.normal(0.0, sigma, len(candidates))
    null = values.isna().sum() + rng.normal(0.0, sigma)
    null = null if null >= sigma * norm.isf(SPURIOUS_CELLS) else 0.0  # post-processing: no NULLs the noise made
    if public is None:
        if persons is not None:
            held = pd.DataFrame({"v": values.astype(object).to_numpy(), "p": persons}).dropna().drop_duplicates()
            people = held["v"].value_counts()
            selecting = np.array([people.get(v, 0) for v in candidates], dtype=float) + rng.normal(0.0, select_sigma, len(candidates))
            kept = selecting >= release_threshold(select_sigma, 1.0, threshold_delta, values_per_person)
        else:
            kept = noisy >= release_threshold(sigma, 1.0, threshold_delta, 1)
        candidates = [v for v, keep in zip(candidates, kept) if keep]
        noisy = noisy[kept]
    order = sorted(range(len(candidates)), key=lambda i: str(candidates[i]))  # no trace of the data's order
    weights = np.concatenate([[max(null, 0.0)], np.maximum(noisy[order], 0.0)])
    if weights.sum() <= 0:
        weights[0] = 1.0
    return Marginal("category", [candidates[i] for i in order], weights, learned=bool(candidates))
