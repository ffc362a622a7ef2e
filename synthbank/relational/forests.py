"""An adversarial random forest (ARF; Watson, Blesch, Kapar and Wright, AISTATS 2023) as a table model.

A random forest is trained to tell the real rows from synthetic ones; its leaves then cut the data into
pieces inside which the columns are (nearly) independent. The first synthetic rows are the real columns
shuffled independently (the product of the marginals); each round draws new ones from the current forest
and trains a new forest against them, until it cannot tell them apart (out-of-bag accuracy at most
:data:`STOP_ACCURACY`) or after :data:`ROUNDS` rounds. Sampling (FORDE): a tree at random, one of its leaves
in proportion to the real rows it covers, then every column independently from that leaf's distribution.

What the model keeps obeys privacy by construction (DESIGN.md §6) as the trees' does
(:mod:`synthbank.relational.outcomes`): per tree, per leaf, the count of real rows and, per column, counts
over outcomes (categories, NULL, atoms, bins of means of ``k`` values), never a row; a leaf whose rows belong
to fewer than ``k`` entities is never drawn. The forest itself (its splits) is not kept: sampling needs only
those counts. The forest models one table's joint distribution with no parent row, so
a child table it models is drawn alone and matched to its parents (as the copula's is).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from synthbank.relational import outcomes as outcome_space
from synthbank.relational.outcomes import MIN_LEAF, as_feature, decode, draw, encode, fit_sample, learn, rounding

#: Trees per forest.
TREES = 10
#: Rounds of the adversarial game at most.
ROUNDS = 3
#: The forest's out-of-bag accuracy at which the game stops (0.5: it cannot tell real from synthetic).
STOP_ACCURACY = 0.55


class AdversarialForest:
    """One table's columns from the leaves of an adversarial random forest (see the module)."""

    conditional = False

    def __init__(self, sdtypes: dict[str, str], *, k: int = 5, min_leaf: int = MIN_LEAF, seed: int = 0):
        self.sdtypes = dict(sdtypes)
        self.k = k
        self.min_leaf = max(int(min_leaf), int(k))
        self.seed = seed

    def fit(self, frame: pd.DataFrame, *, entities: np.ndarray | None = None, context=None) -> AdversarialForest:
        from sklearn.ensemble import RandomForestClassifier

        from synthbank import seeding

        rng = seeding.rng(self.seed, "forest")
        _, frame, entity_codes = fit_sample(frame, entities, rng, outcome_space.FIT_ROWS)
        self.columns_ = [learn(name, sdtype, frame[name], entity_codes, self.k) for name, sdtype in self.sdtypes.items()]
        outcomes = np.column_stack([encode(c, frame[c.name]) for c in self.columns_])
        real = np.column_stack([as_feature(c, frame[c.name]) for c in self.columns_])
        fake = np.column_stack([column[rng.permutation(len(column))] for column in real.T])  # product of marginals
        labels = np.r_[np.ones(len(real)), np.zeros(len(fake))]
        self.digits_ = rounding(frame, [c for c, t in self.sdtypes.items() if t == "numerical"])
        self.rounds_ = 0
        for round_ in range(ROUNDS):
            forest = RandomForestClassifier(n_estimators=TREES, min_samples_leaf=self.min_leaf, oob_score=True, n_jobs=1,
                                            random_state=seeding.int_seed(self.seed, "forest round", round_) % 2**31)
            with warnings.catch_warnings():  # a few rows in every tree's bag have no out-of-bag vote
                warnings.simplefilter("ignore", UserWarning)
                forest.fit(np.vstack([real, fake]), labels)
            self._learn_leaves(forest, real, outcomes, entity_codes)
            self.rounds_ = round_ + 1
            self.accuracy_ = float(forest.oob_score_)
            if self.accuracy_ <= STOP_ACCURACY or round_ == ROUNDS - 1:
                break
            drawn = self.sample(len(real), rng)
            fake = np.column_stack([as_feature(c, drawn[c.name]) for c in self.columns_])
        return self

    def _learn_leaves(self, forest, real: np.ndarray, outcomes: np.ndarray, entities: np.ndarray) -> None:
        """Per tree of the forest, the real rows each of its leaves covers (0 where fewer than k entities) and,
        per column, their outcome counts: all that sampling needs (the forest itself is not kept)."""
        self.coverage_, self.counts_ = [], []
        for leaves in forest.apply(real).T:
            ids, row = np.unique(leaves, return_inverse=True)
            coverage = np.bincount(row, minlength=len(ids)).astype(np.int32)  # counts, kept as integers
            held = pd.Series(entities).groupby(row).nunique().reindex(range(len(ids)), fill_value=0).to_numpy()
            coverage[held < self.k] = 0
            counts = []
            for j, column in enumerate(self.columns_):
                table = np.zeros((len(ids), column.outcomes), dtype=np.uint16)
                np.add.at(table, (row, outcomes[:, j]), 1)
                counts.append(table)
            self.coverage_.append(coverage)
            self.counts_.append(counts)

    def sample(self, num_rows: int, rng: np.random.Generator, *, context=None, forced: dict | None = None) -> pd.DataFrame:
        """``num_rows`` rows; ``forced`` (one column's values, NaN/None where free): those rows' leaves are drawn
        in proportion to the real rows holding the value, so their other columns go with it."""
        tree_of = rng.integers(len(self.coverage_), size=num_rows)
        given, position = None, None
        for name, values in (forced or {}).items():
            position = next(j for j, c in enumerate(self.columns_) if c.name == name)
            given = pd.Series(values).reset_index(drop=True)
        wanted = encode(self.columns_[position], given) if given is not None else None
        held = given.notna().to_numpy() if given is not None else np.zeros(num_rows, bool)
        out = {c.name: np.empty(num_rows, dtype=object) if c.kind == "categorical" else np.full(num_rows, np.nan)
               for c in self.columns_}
        for t in range(len(self.coverage_)):
            rows = np.flatnonzero(tree_of == t)
            if not len(rows):
                continue
            coverage = self.coverage_[t].astype(float)
            leaves = rng.choice(len(coverage), size=len(rows), p=coverage / coverage.sum())
            for value in np.unique(wanted[rows][held[rows]]) if given is not None else []:
                mine = rows[held[rows] & (wanted[rows] == value)]
                weights = self.counts_[t][position][:, value] * (coverage > 0)
                if weights.sum() > 0:
                    leaves[np.searchsorted(rows, mine)] = rng.choice(len(weights), size=len(mine), p=weights / weights.sum())
            for j, column in enumerate(self.columns_):
                out[column.name][rows] = decode(column, draw(self.counts_[t][j][leaves], rng), rng)
        frame = pd.DataFrame(out)
        for name, digits in self.digits_.items():
            frame[name] = frame[name].astype(float).round(digits)
        if given is not None:
            name = self.columns_[position].name
            values = frame[name].astype(object).to_numpy()
            values[held] = given[held].to_numpy()
            frame[name] = values
        return frame

    def categories(self, column: str) -> tuple[dict, dict]:
        j = next(j for j, c in enumerate(self.columns_) if c.name == column and c.kind == "categorical")
        totals = sum(counts[j].sum(axis=0).astype(float) for counts in self.counts_)
        shares = {v: float(t / max(totals.sum(), 1)) for v, t in zip(self.columns_[j].categories, totals) if v is not None}
        return {v: None for v in shares}, shares
