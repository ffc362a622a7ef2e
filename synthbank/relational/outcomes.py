"""A column's *outcomes*, as the tree models draw them (:mod:`synthbank.relational.trees`).

A categorical column's outcomes are its categories (NULL last when it has NULLs). A numeric column's are NULL,
its *atoms* (values at least ``k`` entities and :data:`ATOM_SHARE` of the rows hold: a 36-month term, an
amount of 0) and its bins, whose edges are means of at least ``k`` consecutive sorted values; a number is
drawn uniformly inside its bin. So counts over outcomes are what a model stores, never a row's value. The
trees' own hygiene lives here too: split thresholds between neighbouring values, per-node statistics blanked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank.key_values import is_null

#: Bins of a numeric column's continuous part (fewer when the column has fewer than ``k`` values per bin).
BINS = 48
#: A number held by at least this share of the rows (and ``k`` entities) is drawn as itself.
ATOM_SHARE = 0.002
#: A numeric column's decimals: the fewest of these that write every real value exactly.
MAX_DIGITS = 6
#: Rows a tree model is fitted on at most (a seeded sample).
FIT_ROWS = 30_000
#: The smallest leaf, in rows, unless the settings say otherwise.
MIN_LEAF = 20


@dataclass
class Outcomes:
    name: str
    kind: str  # "categorical" or "numerical"
    feature: bool  # used as a feature of the columns after it
    categories: list = field(default_factory=list)  # categorical: the values, NULL last when there are NULLs
    atoms: np.ndarray = field(default_factory=lambda: np.empty(0))
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def outcomes(self) -> int:
        return len(self.categories) if self.kind == "categorical" else 1 + len(self.atoms) + max(len(self.edges) - 1, 0)


def fit_sample(frame: pd.DataFrame, entities: np.ndarray | None, rng: np.random.Generator,
               limit: int = FIT_ROWS) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """At most ``limit`` rows of ``frame`` (a seeded sample, in order): their positions, the rows, and each
    row's entity as a code 0…m-1 (each row its own entity when none are given)."""
    n = len(frame)
    keep = np.sort(rng.choice(n, limit, replace=False)) if n > limit else np.arange(n)
    entities = np.asarray(entities)[keep] if entities is not None else np.arange(len(keep))
    _, codes = np.unique(entities, return_inverse=True)
    return keep, frame.iloc[keep].reset_index(drop=True), codes


def draw(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An outcome per row of ``counts`` (rows × outcomes), in proportion to the row's counts."""
    cumulative = np.cumsum(counts, axis=1, dtype=float)
    target = rng.random(len(counts)) * cumulative[:, -1]
    return np.minimum((cumulative <= target[:, None]).sum(axis=1), counts.shape[1] - 1)


def learn(name: str, sdtype: str, values: pd.Series, entities: np.ndarray, k: int, *, feature: bool = True,
          kind=None) -> Outcomes:
    """A column's outcomes learned from its values: categories, or NULL, atoms and bins (see the module)."""
    kind = kind or Outcomes
    if sdtype != "numerical":
        present = values.dropna()
        categories = sorted(present.unique().tolist(), key=lambda v: (str(type(v)), str(v)))
        if values.isna().any() or not categories:
            categories.append(None)
        return kind(name, "categorical", feature, categories=categories)
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    present = numbers.notna().to_numpy()
    column = kind(name, "numerical", feature)
    column.atoms = held_values(numbers[present].to_numpy(), entities[present], k)
    rest = numbers[present & ~numbers.isin(column.atoms).to_numpy()].to_numpy()
    column.edges = bin_edges(rest, k)
    return column


def encode(column: Outcomes, values: pd.Series) -> np.ndarray:
    """Each value's outcome (its position among the column's categories, or NULL, atoms and bins)."""
    if column.kind == "categorical":
        index = {v: i for i, v in enumerate(column.categories) if v is not None}
        null = column.categories.index(None) if None in column.categories else 0
        return np.array([null if is_null(v) else index.get(v, null) for v in values.astype(object)], dtype=np.int64)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    out = np.zeros(len(numbers), dtype=np.int64)  # 0: NULL
    present = ~np.isnan(numbers)
    atom = np.zeros(len(numbers), dtype=np.int64) - 1
    if len(column.atoms):
        position = np.clip(np.searchsorted(column.atoms, numbers), 0, len(column.atoms) - 1)
        atom = np.where(present & (column.atoms[position] == numbers), position, -1)
    out[atom >= 0] = 1 + atom[atom >= 0]
    binned = present & (atom < 0)
    if binned.any() and len(column.edges) < 2:  # fewer than k such values: their nearest atom, else NULL
        if len(column.atoms):
            nearest = np.abs(numbers[binned][:, None] - column.atoms[None, :]).argmin(axis=1)
            out[binned] = 1 + nearest
        return out
    if binned.any():
        bins = len(column.edges) - 1
        which = np.clip(np.searchsorted(column.edges, numbers[binned], side="right") - 1, 0, bins - 1)
        out[binned] = 1 + len(column.atoms) + which
    return out


def as_feature(column: Outcomes, values: pd.Series) -> np.ndarray:
    """A column as a tree sees it: categories as their codes, numbers as they are (NULL as NaN)."""
    if column.kind == "categorical":
        return encode(column, values).astype(float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def decode(column: Outcomes, outcome: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Values for outcomes: the category, NULL, the atom, or a number drawn uniformly inside the bin."""
    if column.kind == "categorical":
        values = np.empty(len(outcome), dtype=object)
        values[:] = [column.categories[i] for i in outcome]
        return values
    values = np.full(len(outcome), np.nan)
    atom = (outcome >= 1) & (outcome <= len(column.atoms))
    values[atom] = column.atoms[outcome[atom] - 1]
    binned = outcome > len(column.atoms)
    if binned.any():
        which = outcome[binned] - 1 - len(column.atoms)
        low, high = column.edges[which], column.edges[which + 1]
        values[binned] = low + (high - low) * rng.random(int(binned.sum()))
    return values


def rounding(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """Per numeric column, the fewest decimals (up to :data:`MAX_DIGITS`) that write every value exactly,
    as RDT's ``learn_rounding_scheme`` finds them for the copula (a count, not a value)."""
    out = {}
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        for digits in range(MAX_DIGITS + 1):
            if np.allclose(np.round(values, digits), values, rtol=0, atol=1e-9 * max(1.0, float(np.abs(values).max()))):
                out[column] = digits
                break
    return out


def held_values(numbers: np.ndarray, entities: np.ndarray, k: int) -> np.ndarray:
    """Values at least ``k`` entities and :data:`ATOM_SHARE` of the rows hold, sorted."""
    if not len(numbers):
        return np.empty(0)
    values, counts = np.unique(numbers, return_counts=True)
    candidates = values[(counts >= max(k, ATOM_SHARE * len(numbers)))]
    if not len(candidates):
        return np.empty(0)
    held = pd.DataFrame({"v": numbers, "e": entities})
    held = held[held["v"].isin(candidates)].groupby("v")["e"].nunique()
    return np.sort(held[held >= k].index.to_numpy(dtype=float))


def bin_edges(numbers: np.ndarray, k: int) -> np.ndarray:
    """Bin edges: the means of consecutive blocks of sorted values, each block at least ``k`` values (so no
    edge is one row's value), at most :data:`BINS` bins, and finer in the tails (see below)."""
    numbers = np.sort(numbers[np.isfinite(numbers)])
    blocks = min(BINS + 1, len(numbers) // max(k, 1))
    if blocks < 2:  # one bin around the values' mean, two standard deviations each side (never a value)
        if len(numbers) >= 2:
            middle = float(numbers.mean())
            spread = 2 * float(numbers.std()) or abs(middle) * 1e-6 or 1e-6
            return np.array([middle - spread, middle + spread])
        return np.empty(0)
    edges = [part.mean() for part in np.array_split(numbers, blocks)]
    # the tails, finer: means of blocks of k, 2k, 4k… values from each end, up to a block's size (a late
    # loan's high rate lies beyond the top block's mean, and the density falls towards the extremes)
    k, start, size, block = max(k, 1), 0, max(k, 1), len(numbers) // blocks
    while start + size <= block:
        edges += [numbers[start:start + size].mean(), numbers[len(numbers) - start - size:len(numbers) - start].mean()]
        start, size = start + size, 2 * size
    edges = np.unique(np.array(edges))
    if len(edges) < 2:
        return np.array([edges[0] - 1e-6, edges[0] + 1e-6])
    return edges


def own_thresholds(tree, X: np.ndarray) -> None:
    """Move each split threshold to the midpoint of the two *adjacent* distinct values of its feature in all
    the rows (sklearn puts it between the node's rows' values, and that midpoint can be another row's exact
    value: 60.00 between 59.99 and 60.01). The split is the same for every training row, and the threshold
    now lies strictly between two values next to each other: it is nobody's value."""
    structure = tree.tree_
    inner = np.flatnonzero(structure.children_left >= 0)
    if not len(inner):
        return
    X32 = np.asarray(X, dtype=np.float32)  # what sklearn compares
    thresholds = structure.threshold  # a view on the tree's nodes: written in place
    for feature in np.unique(structure.feature[inner]):
        values = np.unique(X32[:, feature][~np.isnan(X32[:, feature])]).astype(np.float64)
        nodes = inner[structure.feature[inner] == feature]
        if len(values) < 2:
            continue
        above = np.clip(np.searchsorted(values, thresholds[nodes], side="right"), 1, len(values) - 1)
        thresholds[nodes] = (values[above - 1] + values[above]) / 2


def forget_statistics(tree) -> None:
    """Blank what sklearn keeps per node besides the structure (means or class shares, impurities, row
    counts): sampling needs only ``apply``; a leaf's statistics are the model's own outcome counts."""
    structure = tree.tree_
    structure.value[:] = 0
    structure.impurity[:] = 0
    structure.weighted_n_node_samples[:] = 0
    structure.n_node_samples[:] = 0
