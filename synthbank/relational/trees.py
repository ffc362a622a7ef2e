"""A sequential tree model of one table, in the spirit of R's synthpop (CART).

The columns are drawn one after another. The first is drawn from its distribution; each later column from
the leaf that a decision tree, fitted on the columns before it (and on the *context*: the synthetic parent
row and how many rows that parent has here, see :mod:`synthbank.relational.table_models`), puts the row in.
A table's own columns come first, then HMA's summaries of its children (how many, their means; their spreads
and correlations are drawn but never used as features), so the children follow what the row holds.
A tree holds what a copula cannot: a category that flips a numeric relation's sign, a mixture of amounts by
transaction type, the few columns that decide a default.

Privacy by construction (DESIGN.md §6) holds for every part a model file keeps:

* a leaf covers at least ``min_leaf`` rows, and what it stores are counts over outcomes, never rows; a leaf
  whose rows belong to fewer than ``k`` entities (a customer's many transactions) stores the counts of its
  nearest ancestor node whose rows belong to ``k``; the trees keep only their structure (sklearn's per-node
  means, impurities and row counts are blanked) and each split threshold lies strictly between two
  neighbouring values of its feature, so it is nobody's value;
* an outcome of a numeric column is NULL, an *atom* (a value at least ``k`` entities and
  :data:`ATOM_SHARE` of the rows hold: a 36-month term, an amount of 0) or a bin whose edges are means of
  at least ``k`` consecutive sorted values; a number is drawn uniformly inside its bin (a smoothed leaf
  distribution), so no stored number is one row's value;
* categories arrive already protected (values fewer than ``k`` entities hold are merged before fitting).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank.relational import outcomes
from synthbank.relational.outcomes import MIN_LEAF, Outcomes, as_feature, decode, draw, encode, fit_sample, forget_statistics, learn, own_thresholds, rounding

#: Rows drawn per block while sampling (bounds the (rows, outcomes) arrays).
DRAW_BLOCK = 50_000
#: Rounds of redrawing the columns before a forced one (a rebalanced value's rows; rare values need many).
REJECTION_ROUNDS = 200


@dataclass
class _Column(Outcomes):
    tree: object = None  # a fitted sklearn tree, or None: the column's own distribution
    leaf_row: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # node id → row of counts
    counts: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # (leaves, outcomes)
    features: list = field(default_factory=list)  # names of the feature columns, in order


class SequentialTrees:
    """One table's columns, each drawn from a tree over the columns before it and the context.

    ``sdtypes``: per column ``categorical``, ``boolean`` or ``numerical``; ``targets_only``: columns drawn
    but never used as features (HMA's child scales and correlations, many and weakly informative);
    ``context_sdtypes``: the context's columns. ``k``: the rare-value threshold (entities per leaf).
    """

    conditional = True

    def __init__(self, sdtypes: dict[str, str], *, k: int = 5, min_leaf: int = MIN_LEAF, targets_only=(),
                 context_sdtypes: dict[str, str] | None = None, seed: int = 0):
        self.sdtypes = dict(sdtypes)
        self.k = k
        self.min_leaf = max(int(min_leaf), int(k))
        self.targets_only = set(targets_only)
        self.context_sdtypes = dict(context_sdtypes or {})
        self.seed = seed

    # --- fitting -----------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, *, entities: np.ndarray | None = None,
            context: pd.DataFrame | None = None) -> SequentialTrees:
        from synthbank import seeding

        keep, frame, entity_codes = fit_sample(frame, entities, seeding.rng(self.seed, "trees fit rows"),
                                               outcomes.FIT_ROWS)
        context = context.iloc[keep].reset_index(drop=True) if context is not None else None
        self.context_ = [learn(name, kind, context[name], entity_codes, self.k)
                         for name, kind in self.context_sdtypes.items()] if context is not None else []
        features = {c.name: as_feature(c, context[c.name]) for c in self.context_} if context is not None else {}
        self.columns_ = [learn(name, self.sdtypes[name], frame[name], entity_codes, self.k,
                               feature=name not in self.targets_only, kind=_Column) for name in self._order(frame)]
        for column in self.columns_:
            outcome = encode(column, frame[column.name])
            column.features = list(features)
            if features:
                from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

                X = np.column_stack(list(features.values()))
                options = {"min_samples_leaf": self.min_leaf,
                           "random_state": seeding.int_seed(self.seed, "tree", column.name) % 2**31}
                if column.kind == "categorical":
                    tree = DecisionTreeClassifier(**options).fit(X, outcome)
                else:
                    tree = DecisionTreeRegressor(**options).fit(X, _ranks(frame[column.name]))
                own_thresholds(tree, X)
                column.leaf_row, column.counts = _leaf_counts(tree, X, outcome, column.outcomes, entity_codes, self.k)
                forget_statistics(tree)
                column.tree = tree
            else:
                column.leaf_row = np.zeros(1, dtype=np.int64)
                column.counts = np.bincount(outcome, minlength=column.outcomes)[None, :].astype(np.int32)
            if column.feature:
                features[column.name] = as_feature(column, frame[column.name])
        self.digits_ = rounding(frame, [c for c, t in self.sdtypes.items() if t == "numerical" and c not in self.targets_only])
        return self

    def _order(self, frame: pd.DataFrame) -> list[str]:
        """Categories first, the fewest values first (a flag decides the numbers drawn after it, and a
        condition on it then holds for every later column), then numbers, then the targets only."""
        names = [c for c in self.sdtypes if c in frame]
        def key(name):
            categorical = self.sdtypes[name] != "numerical"
            return (name in self.targets_only, not categorical, frame[name].nunique() if categorical else 0)
        return sorted(names, key=key)

    # --- sampling ----------------------------------------------------------------------------------
    def sample(self, num_rows: int, rng: np.random.Generator, *, context: pd.DataFrame | None = None,
               forced: dict[str, pd.Series] | None = None) -> pd.DataFrame:
        """``num_rows`` rows (one per context row when a context is given). ``forced``: per column, the value
        each row must hold (NaN/None where it is free). The columns before a forced one are drawn given it
        (rejection: a row's earlier columns are redrawn until the forced value's leaf probability accepts
        them, so a rebalanced fraud has the account a fraud has), the later ones from trees that see it."""
        if context is not None:
            num_rows = len(context)
        features = {c.name: as_feature(c, context[c.name]) for c in self.context_} if self.context_ else {}
        out: dict[str, np.ndarray] = {}
        forced = {name: pd.Series(values).reset_index(drop=True) for name, values in (forced or {}).items()}
        everyone = np.arange(num_rows)
        position = min((i for i, c in enumerate(self.columns_) if c.name in forced), default=None)
        start = 0
        if position:  # a forced column after others: draw those given it
            prefix, column = self.columns_[:position], self.columns_[position]
            given = forced[column.name]
            pending = np.flatnonzero(given.notna().to_numpy())
            wanted = encode(column, given.iloc[pending]) if len(pending) else np.empty(0, dtype=np.int64)
            self._draw_columns(prefix, everyone, num_rows, features, out, rng, forced)
            for _ in range(REJECTION_ROUNDS):
                if not len(pending):
                    break
                counts = column.counts[self._leaves(column, features, pending)]
                chance = counts[np.arange(len(pending)), wanted] / np.maximum(counts.sum(axis=1), 1)
                keep = rng.random(len(pending)) >= chance
                pending, wanted = pending[keep], wanted[keep]
                if len(pending):
                    self._draw_columns(prefix, pending, num_rows, features, out, rng, forced)
            start = position
        self._draw_columns(self.columns_[start:], everyone, num_rows, features, out, rng, forced)
        frame = pd.DataFrame(out, index=range(num_rows))
        return frame[[c for c in self.sdtypes if c in frame]]

    def _draw_columns(self, columns: list[_Column], rows: np.ndarray, n: int, features: dict, out: dict,
                      rng: np.random.Generator, forced: dict) -> None:
        """Draw ``columns`` in order for ``rows`` (positions among ``n``), writing into ``out`` and ``features``."""
        for column in columns:
            values = decode(column, self._draw_outcomes(column, features, rows, rng), rng)
            if column.name in forced:
                given = forced[column.name].iloc[rows]
                held = given.notna().to_numpy()
                values = values.astype(object) if column.kind == "categorical" else values
                values[held] = given[held].to_numpy(dtype=object if column.kind == "categorical" else float)
            if column.name in self.digits_:
                values = np.round(values, self.digits_[column.name])
            if column.name not in out:
                out[column.name] = np.empty(n, dtype=object) if column.kind == "categorical" else np.full(n, np.nan)
            out[column.name][rows] = values
            if column.feature:
                if column.name not in features:
                    features[column.name] = np.full(n, np.nan)
                features[column.name][rows] = as_feature(column, pd.Series(values))

    def _leaves(self, column: _Column, features: dict, rows: np.ndarray) -> np.ndarray:
        """The row of ``column.counts`` each of ``rows`` falls in."""
        if column.tree is None:
            return np.zeros(len(rows), dtype=np.int64)
        X = np.column_stack([features[name][rows] for name in column.features])
        return column.leaf_row[column.tree.apply(X)]

    def _draw_outcomes(self, column: _Column, features: dict, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([draw(column.counts[self._leaves(column, features, rows[start:start + DRAW_BLOCK])], rng)
                               for start in range(0, len(rows), DRAW_BLOCK)] or [np.empty(0, dtype=np.int64)])

    def categories(self, column: str) -> tuple[dict, dict]:
        """A categorical column's values (as the conditions resolve them) and their shares in the real rows."""
        for c in self.columns_:
            if c.name == column and c.kind == "categorical":
                totals = c.counts.sum(axis=0)
                shares = {v: float(t / max(totals.sum(), 1)) for v, t in zip(c.categories, totals) if v is not None}
                return {v: None for v in shares}, shares
        raise KeyError(column)


def _leaf_counts(tree, X: np.ndarray, outcome: np.ndarray, outcomes: int, entities: np.ndarray,
                 k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf of a fitted tree, the outcome counts it stores: its own rows' when they belong to at least ``k``
    entities, else those of its nearest ancestor whose rows do (a customer's many transactions never make a
    leaf of their own). Returns the node → row map and the (rows, outcomes) counts."""
    from scipy import sparse

    path = tree.decision_path(X).tocsc()  # rows × nodes
    n = len(outcome)
    who = sparse.csr_matrix((np.ones(n), (np.arange(n), entities)), shape=(n, int(entities.max()) + 1))
    held = np.asarray(((path.T @ who) > 0).sum(axis=1)).ravel()  # entities per node
    by_outcome = (path.T @ sparse.csr_matrix((np.ones(n), (np.arange(n), outcome)), shape=(n, outcomes))).toarray()
    structure = tree.tree_
    parent = np.full(structure.node_count, -1, dtype=np.int64)
    inner = np.flatnonzero(structure.children_left >= 0)
    parent[structure.children_left[inner]] = inner
    parent[structure.children_right[inner]] = inner
    leaves = np.flatnonzero(structure.children_left < 0)
    source = leaves.copy()
    for i, node in enumerate(leaves):
        while held[node] < k and parent[node] >= 0:
            node = parent[node]
        source[i] = node
    leaf_row = np.full(structure.node_count, -1, dtype=np.int64)
    leaf_row[leaves] = np.arange(len(leaves))
    return leaf_row, by_outcome[source].astype(np.int32)


def _ranks(values: pd.Series) -> np.ndarray:
    """A numeric target as trees see it: its rank in [0, 1], NULL at -1 (split off where it is predictable)."""
    ranks = pd.to_numeric(values, errors="coerce").astype(float).rank(pct=True).to_numpy()
    return np.where(np.isnan(ranks), -1.0, ranks)
