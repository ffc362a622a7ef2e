"""HMA's mathematics for one window (a parent table and its children), computed for all parents at once.

SDV's ``HMASynthesizer`` fits, for every parent row, a Gaussian copula to that parent's children and
appends its parameters to the parent row as *extension* columns; the parent table with its extension is
then modelled by the parent's own copula. Sampling draws parents with their extension and, for each
parent, rebuilds a child copula from those parameters and samples its children. SDV does that with one
``GaussianCopulaSynthesizer`` object per parent (about 40 ms to fit and 100 ms to sample each, see
DESIGN.md §2); the statistics themselves are grouped means, standard deviations and correlations.

:class:`FastHMA` computes the same statistics with grouped array operations and samples every parent's
children in one block:

* each child table is encoded once by an RDT ``HyperTransformer`` configured as SDV configures it
  (``FloatFormatter`` with mean imputation and random NULLs, min/max clipping and learned rounding;
  ``UniformEncoder`` — or the ``OrderedUniformEncoder`` of :mod:`synthbank.relational.encoding` — for
  categories and booleans);
* per parent and child column: ``loc`` = mean and ``scale`` = standard deviation of the encoded values
  (HMA's ``norm`` marginals, as copulas fits them: ``ddof=0``, a constant column gets scale 0); the
  copula's correlations are the Pearson correlations of the standardised values (NaN → 0); plus
  ``num_rows``. As in HMA, a parent with one child has no scale and a parent with no children no
  parameters: those cells take the column's mean over the other parents;
* the parent table with these columns is fitted by SDV's ``GaussianCopulaSynthesizer`` (the extension
  columns with HMA's ``truncnorm``, clipped to the range seen);
* sampling: parents with their extension from that copula; each parent's correlation matrix rebuilt as
  SDV rebuilds it (scaled into [-1, 1], nearest positive semi-definite matrix), then ``loc + scale · A z``
  for standard-normal draws ``z`` (``A A^T`` = the correlation), and one reverse transform per child
  table for all parents together.

The work is split by responsibility:

* :mod:`~synthbank.relational.hma_parameters`: fitting the per-parent parameters (the extension columns);
* :mod:`~synthbank.relational.hma_parents`: the root's copulas (the whole table's, strata, class copulas),
  fitted and drawn, conditions on the root included;
* :mod:`~synthbank.relational.hma_children`: sampling the children from their parents' parameters;
* this module: :class:`FastHMA`, which ties them together (or uses a table model of
  :mod:`~synthbank.relational.table_models` in place of the root's copulas).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.relational import conditions, sdv_adapter
from synthbank.relational.hma_children import DRAW_BLOCK, FACTOR_JITTER, correlation_factors, enforce_total, sample_children
from synthbank.relational.hma_parameters import EXTENSION_DISTRIBUTION, ChildTable
from synthbank.relational.hma_parameters import extension as hma_extension
from synthbank.relational.hma_parents import CLASS_MAX_SHARE, CLASS_MIN_ROWS, COPULA_FIT_ROWS, FILL_ROUNDS, STRATA_MAX_VALUES, STRATA_MIN_ETA, ParentCopulas

__all__ = ["CLASS_MAX_SHARE", "CLASS_MIN_ROWS", "COPULA_FIT_ROWS", "DRAW_BLOCK", "EXTENSION_DISTRIBUTION", "FACTOR_JITTER",
           "FILL_ROUNDS", "STRATA_MAX_VALUES", "STRATA_MIN_ETA", "ChildTable", "FastHMA", "correlation_factors", "enforce_total"]

# the names these helpers had here before the split (tests, and window models pickled before it, use them)
_Child = ChildTable
_extension = hma_extension
_correlation_factors = correlation_factors


class FastHMA(ParentCopulas):
    """One window of HMA, vectorised. ``children`` maps each child table to its foreign-key column;
    ``sdtypes`` gives, per table, the sdtype of every learned column (``numerical``, ``categorical`` or
    ``boolean``; datetimes arrive as numbers); ``orders`` optional category orders per table and column.
    """

    def __init__(self, parent: str, children: dict[str, str], sdtypes: dict[str, dict[str, str]], *, key: str,
                 root_distribution: str = "quantiles", orders: dict[str, dict[str, list]] | None = None,
                 class_columns: list[str] | None = None, class_min_rows: int = CLASS_MIN_ROWS,
                 strata_columns: list[str] | None = None, table_model: str = "copula",
                 model_options: dict | None = None):
        self.parent = parent
        self.children = dict(children)
        self.sdtypes = sdtypes
        self.key = key
        self.root_distribution = root_distribution
        self.orders = orders or {}
        self.class_columns = list(class_columns or [])
        self.class_min_rows = class_min_rows
        self.strata_columns = list(strata_columns or [])
        self.table_model = table_model
        self.model_options = dict(model_options or {})

    @property
    def tables(self) -> list[str]:
        return [self.parent, *self.children]

    # --- fitting -----------------------------------------------------------------------------------
    def fit(self, data: dict[str, pd.DataFrame], *, entities: np.ndarray | None = None,
            context: pd.DataFrame | None = None) -> FastHMA:
        """``entities``: per parent row, the entity it belongs to (a tree's leaf covers ``k`` of them);
        ``context``: per parent row, its own parent's synthetic-side columns (see ``table_models.parent_context``)."""
        parent = data[self.parent]
        n_parents = len(parent)
        model = parent[list(self.sdtypes[self.parent])].reset_index(drop=True)
        self.children_: list[ChildTable] = []
        extension_columns: list[str] = []
        self.limits_: dict[str, tuple[float, float]] = {}
        for index, (name, fk) in enumerate(self.children.items()):
            frame = data[name]
            columns = list(self.sdtypes[name])
            encoder = sdv_adapter.table_encoder(self.sdtypes[name], self.orders.get(name, {}))
            encoded = encoder.fit_transform(frame[columns]) if columns else pd.DataFrame(index=frame.index)
            child = ChildTable(name, fk, columns, list(encoded.columns), encoder, f"_sbx{index}_")
            groups = frame[fk].to_numpy(dtype=np.int64)
            extension = hma_extension(encoded.to_numpy(dtype=float), groups, n_parents, child)
            self.limits_.update({c: (float(extension[c].min()), float(extension[c].max())) for c in extension})
            model = pd.concat([model, extension], axis=1)
            extension_columns += list(extension.columns)
            self.children_.append(child)
        self.n_rows_ = n_parents
        self.child_rows_ = {name: len(data[name]) for name in self.children}
        self.copula_ = None
        self.class_copulas_: dict[tuple[str, object], object] = {}
        self.table_model_ = None
        sdtypes = {**self.sdtypes[self.parent], **{c: "numerical" for c in extension_columns}}
        if model.shape[1] and self.table_model != "copula":
            from synthbank.relational import table_models

            summaries = {c for child in self.children_ for c in [child.extension_names()[0], *child.extension_names()[1]]}
            self.table_model_ = table_models.build(
                self.table_model, sdtypes, targets_only=[c for c in extension_columns if c not in summaries],
                **self.model_options).fit(model, entities=entities, context=context)
            self.strata_ = None
        elif model.shape[1]:
            self._fit_copulas(model, sdtypes, extension_columns)
        return self

    # --- sampling ----------------------------------------------------------------------------------
    def sample(self, num_rows: int, seed: int, *, parent_counts: tuple[str, dict] | None = None,
               child_mixes: dict[str, conditions.Mix] | None = None, child_odds: dict | None = None,
               context: pd.DataFrame | None = None, forced: dict | None = None) -> dict[str, pd.DataFrame]:
        """The parent's ``num_rows`` rows and all their children; keys are row positions.

        ``parent_counts`` = ``(column, {value: rows})``: that many parent rows hold each value, the others
        hold none of them (see :meth:`_sample_parent_with`). ``child_mixes``: per child table, the shares
        its rows should have (see :mod:`synthbank.relational.conditions`); ``child_odds``: per child table, an
        :class:`~synthbank.relational.association.Association` giving each parent's odds of the values.
        With a conditional table model, ``context`` gives one parent row per row to draw and ``forced`` the
        values some columns must hold."""
        from synthbank import seeding

        if getattr(self, "table_model_", None) is not None and num_rows:
            model = self._draw_table_model(num_rows, seeding.rng(seed, "table model", self.parent), parent_counts,
                                           context, forced)
        elif self.copula_ is not None and num_rows:
            sdv_adapter.seed_copula(self.copula_, seeding.int_seed(seed, "copula", self.parent))
            if parent_counts is not None:
                model = self._sample_parent_with(*parent_counts, num_rows, seeding.rng(seed, "mix", self.parent))
            else:
                model = self._draw(num_rows, seeding.rng(seed, "strata", self.parent))
        else:
            model = pd.DataFrame(index=range(num_rows))
        out = {self.parent: model[list(self.sdtypes[self.parent])].reset_index(drop=True)}
        out[self.parent].insert(0, self.key, np.arange(len(model)))
        # each parent's number of children, as the associations see it (added at once: the frame may be fragmented)
        counts = {f"_sb_n_{child.name}": model[name].astype(float) if (name := child.extension_names()[0]) in model
                  else pd.Series(0.0, index=model.index) for child in self.children_}
        model = pd.concat([model, pd.DataFrame(counts, index=model.index)], axis=1)
        for child in self.children_:
            sdv_adapter.seed_encoder(child.encoder, seeding.int_seed(seed, "encoder", self.parent, child.name))
            rng = seeding.rng(seed, "children", self.parent, child.name)
            mix = (child_mixes or {}).get(child.name)
            out[child.name] = sample_children(child, model, rng, key=self.key, limits=self.limits_,
                                              real_rows=self.child_rows_[child.name], real_parents=self.n_rows_, mix=mix,
                                              mix_rng=seeding.rng(seed, "mix", self.parent, child.name) if mix else None,
                                              odds=(child_odds or {}).get(child.name))
        return out

    def _draw_table_model(self, num_rows: int, rng: np.random.Generator, parent_counts, context, forced) -> pd.DataFrame:
        """Parent rows with their children's summaries from the table model (not the copula), the named
        values' counts held exactly; summaries clipped to the range seen, as HMA's truncated normals are."""
        from synthbank.relational import table_models

        if parent_counts is not None:
            column, counts = parent_counts
            _, shares = self.table_model_.categories(column)
            forced = {**(forced or {}), column: table_models.forced_values(column, counts, num_rows, shares, rng)}
        model = self.table_model_.sample(num_rows, rng, context=context, forced=forced)
        for column, (low, high) in self.limits_.items():
            if column in model:
                model[column] = model[column].astype(float).clip(low, high)
        return model

    def categories(self, table: str, column: str) -> tuple[dict, dict]:
        """The intervals of ``table.column``'s categories in this window's encoder, and their real shares."""
        if table == self.parent and getattr(self, "table_model_", None) is not None:
            return self.table_model_.categories(column)
        if table == self.parent:
            return sdv_adapter.copula_categories(self.copula_, column)
        for child in self.children_:
            if child.name == table:
                return sdv_adapter.encoder_categories(child.encoder, column)
        raise KeyError(table)

    def empty(self) -> dict[str, pd.DataFrame]:
        out = {self.parent: pd.DataFrame({c: pd.Series(dtype=object) for c in [self.key, *self.sdtypes[self.parent]]})}
        for child in self.children_:
            out[child.name] = pd.DataFrame({c: pd.Series(dtype=object) for c in [self.key, *child.columns, child.fk]})
        return out
