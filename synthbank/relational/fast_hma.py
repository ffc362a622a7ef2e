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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthbank.protection import RARE_MARKER, tame_tails
from synthbank.relational import conditions, sdv_adapter
from synthbank.relational.columns import is_has_column

#: HMA's marginal for extension columns (``sdv.multi_table.hma.DEFAULT_EXTENDED_COLUMNS_DISTRIBUTION``).
EXTENSION_DISTRIBUTION = "truncnorm"
#: Rows a copula's marginals and correlations are fitted on at most (a seeded sample; encoders see all).
COPULA_FIT_ROWS = 20_000
#: Added to the diagonal of each child correlation matrix before its Cholesky factor (see ``_correlation_factors``).
FACTOR_JITTER = 1e-9
#: Child rows drawn per block while sampling (bounds the (rows, d, d) arrays of the correlation step).
DRAW_BLOCK = 50_000
#: Rounds of unconditioned draws that fill a conditioned root's rows outside the named values.
FILL_ROUNDS = 50
#: A class copula (a value's own copula) is fitted on at least this many rows, and only for values held
#: by at most this share of the rows (the common value's rows are what the whole copula mostly sees).
#: Below it a value is drawn from the whole (or its stratum's) copula given the value, which for a rare
#: flag moves the other columns little: with 28 training frauds (the minimum was 30) the demo's
#: synthetic frauds had a median amount of 73 against the real frauds' 462.
CLASS_MIN_ROWS = 20
CLASS_MAX_SHARE = 0.5
#: A stratifying column explains at least this share of its table's numbers' variance, with at most this many values.
STRATA_MIN_ETA = 0.2
STRATA_MAX_VALUES = 12


@dataclass
class _Child:
    name: str
    fk: str  # the child's column holding the parent's key
    columns: list[str]  # learned columns, as given
    encoded: list[str]  # columns of the encoded (numeric) frame
    encoder: object  # fitted rdt.HyperTransformer
    prefix: str  # of this child's extension columns in the parent model

    def extension_names(self) -> tuple[str, list[str], list[str], list[str]]:
        d = len(self.encoded)
        p = self.prefix
        return (f"{p}num_rows", [f"{p}loc{j}" for j in range(d)], [f"{p}scale{j}" for j in range(d)],
                [f"{p}corr{i}_{j}" for i in range(1, d) for j in range(i)])


class FastHMA:
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
        self.children_: list[_Child] = []
        extension_columns: list[str] = []
        self.limits_: dict[str, tuple[float, float]] = {}
        for index, (name, fk) in enumerate(self.children.items()):
            frame = data[name]
            columns = list(self.sdtypes[name])
            encoder = sdv_adapter.table_encoder(self.sdtypes[name], self.orders.get(name, {}))
            encoded = encoder.fit_transform(frame[columns]) if columns else pd.DataFrame(index=frame.index)
            child = _Child(name, fk, columns, list(encoded.columns), encoder, f"_sbx{index}_")
            groups = frame[fk].to_numpy(dtype=np.int64)
            extension = _extension(encoded.to_numpy(dtype=float), groups, n_parents, child)
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
            options = {"default_distribution": self.root_distribution,
                       "distributions": {c: EXTENSION_DISTRIBUTION for c in extension_columns},
                       "orders": self.orders.get(self.parent, {}), "fit_rows": COPULA_FIT_ROWS}
            self.copula_ = sdv_adapter.fit_copula(model, sdtypes, **options)
            for column in self.class_columns:  # a rare value's rows, the children's parameters included, alone
                counts = model[column].value_counts(dropna=True)
                for value, count in counts.items():
                    if count >= self.class_min_rows and count <= CLASS_MAX_SHARE * len(model) and value != RARE_MARKER:
                        self._fit_own(model, column, value, sdtypes, options)
            self.strata_ = self._fit_strata(model, sdtypes, options)
            # a value's own copula learns its own rounding from fewer rows: its rows take the whole table's, so
            # that no classifier can tell them from the others by their decimals
            self.rounding_ = sdv_adapter.rounding_digits(self.copula_) if self.class_copulas_ else {}
        return self

    def _own_rows(self, column: str, value, count: int, rng: np.random.Generator) -> pd.DataFrame:
        """``count`` rows from the copula of ``column = value``'s own rows, in the whole table's rounding."""
        from synthbank import seeding

        own = self.class_copulas_[(column, value)]
        sdv_adapter.seed_copula(own, seeding.int_seed(int(rng.integers(2**62)), "class", column))
        part = sdv_adapter.sample_copula(own, count)
        for name, digits in getattr(self, "rounding_", {}).items():
            if name in part and pd.api.types.is_numeric_dtype(part[name]) and not pd.api.types.is_bool_dtype(part[name]):
                part[name] = part[name].round(digits)
        part[column] = pd.Series([value] * len(part), dtype=object)
        return part

    def _fit_strata(self, model: pd.DataFrame, sdtypes: dict[str, str], options: dict) -> tuple | None:
        """A Gaussian copula cannot hold a mixture (disbursements of thousands beside purchases of tens in one
        ``amount`` column): the numbers blur across the categories. Nor can it hold a category that decides
        whether a row points at a parent (a mortgage complaint never names a loan, a loan complaint mostly
        does). The categorical column that explains the most of the parent's numbers and link indicators
        (the mean correlation ratio η² over its numeric columns and its ``_sb_has`` columns as 0/1, at least
        :data:`STRATA_MIN_ETA`) splits the rows into strata, each value held by enough rows with a copula of
        its own; sampling draws each stratum's share of the rows from its copula. η² counts only the strata
        that get a copula (the rows of values too rare for one are drawn from the whole copula, which
        explains nothing new about them), so a fine column whose values are mostly too rare does not win
        over a coarser one that covers the rows."""
        numeric = [c for c, t in self.sdtypes[self.parent].items()
                   if (t == "numerical" and not c.startswith("_sb")) or is_has_column(c)]
        best, best_eta = None, STRATA_MIN_ETA
        for column in self.strata_columns:
            if not 2 <= model[column].nunique() <= STRATA_MAX_VALUES or not numeric:
                continue
            counts = model[column].value_counts(dropna=True)
            own = [v for v, n in counts.items() if n >= self.class_min_rows and v != RARE_MARKER]
            if len(own) < 2:
                continue
            covered = model[column].isin(own).to_numpy()
            labels = model[column].astype(object).where(covered, "(rest)").astype(str)
            etas = []
            for name in numeric:
                values = pd.to_numeric(model[name].astype(float) if is_has_column(name) else model[name], errors="coerce")
                total = values.var(ddof=0)
                if not np.isfinite(total) or total <= 0:
                    continue
                means = values.groupby(labels).transform("mean").where(covered, values.mean())
                etas.append(float(((means - values.mean()) ** 2).mean() / total))
            eta = float(np.mean(etas)) if etas else 0.0
            if eta > best_eta:
                best, best_eta, best_counts, strata = column, eta, counts, own
        if best is None:
            return None
        shares = {value: float(count / len(model)) for value, count in best_counts.items()}
        for value in strata:
            if (best, value) not in self.class_copulas_:
                self._fit_own(model, best, value, sdtypes, options)
        return best, strata, shares

    def _fit_own(self, model: pd.DataFrame, column: str, value, sdtypes: dict[str, str], options: dict) -> None:
        """The copula of the rows where ``column`` holds ``value`` (their children's parameters included).

        The table's tails were tamed before fitting, but the smallest and largest value of a subset (the
        largest fraud) are still someone's: each numeric column of the subset has them replaced by draws
        inside (:func:`~synthbank.protection.tame_tails` with one row beyond each bound, the outermost draw
        beyond every real value left), so the copula stores and clips to nobody's value while the subset's shape stays."""
        from synthbank import seeding

        rows = model[model[column] == value].reset_index(drop=True)
        for name, sdtype in self.sdtypes[self.parent].items():
            if sdtype in ("numerical", "datetime") and name in rows and not name.startswith("_sb"):
                rows[name] = tame_tails(rows[name], 1, seeding.rng(0, "subset tails", self.parent, column, str(value), name),
                                       drawn_extremes=True)
        self.class_copulas_[(column, value)] = sdv_adapter.fit_copula(rows, sdtypes, **options)

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
            out[child.name] = self._sample_children(child, model, rng, mix,
                                                    seeding.rng(seed, "mix", self.parent, child.name) if mix else None,
                                                    (child_odds or {}).get(child.name))
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

    def _sample_parent_with(self, column: str, counts: dict, num_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """Parent rows with exactly ``counts[value]`` rows of each named value, the others drawn unconditioned
        among the rows that hold no named value (in their strata's shares, if any). A named value's rows
        come from its own copula (fitted on its real rows alone, see ``class_columns``) where it has one;
        else, when the table is split into strata, from the strata's draws that hold the value (so a
        product's complaints keep their stratum's links and numbers); else from SDV's conditional sampling
        of the whole copula. Either way the rest of each row, its children's parameters too, follows the value."""

        stratified = getattr(self, "strata_", None) is not None
        _, shares = self.categories(self.parent, column)
        parts = []
        for value, count in counts.items():
            if not count:
                continue
            if (column, value) in getattr(self, "class_copulas_", {}):
                part = self._own_rows(column, value, count, rng)
            elif stratified:
                part = self._draw_filtered(self._draw, column, [value], count, max(shares.get(value, 0.0), 0.01), rng,
                                           held=True)
            else:
                part = sdv_adapter.sample_copula_where(self.copula_, count, column, value)
            parts.append(part)
        wanted = num_rows - sum(counts.values())
        if wanted > 0:
            accept = max(1.0 - sum(shares.get(v, 0.0) for v in counts), 0.01)
            parts.append(self._draw_filtered(self._draw, column, list(counts), wanted, accept, rng))
        model = pd.concat(parts, ignore_index=True) if parts else sdv_adapter.sample_copula(self.copula_, 0)
        return model.iloc[rng.permutation(len(model))].reset_index(drop=True)

    def _draw_whole(self, num_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        return sdv_adapter.sample_copula(self.copula_, num_rows)

    def _draw_filtered(self, draw, column: str, values: list, wanted: int, accept: float,
                       rng: np.random.Generator, *, held: bool = False) -> pd.DataFrame:
        """``wanted`` rows of ``draw`` whose ``column`` holds none of ``values`` (``held``: one of them),
        drawn in rounds, the others rejected; ``accept`` is the share of draws expected to be kept."""
        named = pd.Series(values, dtype=object)
        parts = []
        for _ in range(FILL_ROUNDS):
            if wanted <= 0:
                break
            batch = draw(max(int(np.ceil(wanted / accept * 1.2)), 64), rng)
            inside = batch[column].astype(object).isin(named)
            keep = batch[inside if held else ~inside].iloc[:wanted]
            parts.append(keep)
            wanted -= len(keep)
        if wanted > 0:
            which = "with" if held else "without"
            raise conditions.ConditionError(f"The model of '{self.parent}' almost never draws a row {which} the named "
                                            f"values of {self.parent}.{column}: name fewer values or ask for smaller shares.")
        return pd.concat(parts, ignore_index=True)

    def _draw(self, num_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """Unconditioned parent rows: each stratum's share from its own copula (see :meth:`_fit_strata`), the
        values too rare for one from the whole copula; without strata, the whole copula alone."""

        strata = getattr(self, "strata_", None)
        if strata is None:
            return sdv_adapter.sample_copula(self.copula_, num_rows)
        column, values, shares = strata
        mix = conditions.Mix(self.parent, column, tuple((v, shares[v]) for v in values))
        counts = mix.counts(num_rows)
        covered = sum(shares[v] for v in values)
        if covered > 1 - 1e-9 and sum(counts.values()) < num_rows:  # the strata are every row: rounding's rest too
            weights = np.array([shares[v] for v in values]) / covered
            for pick in rng.choice(len(values), size=num_rows - sum(counts.values()), p=weights):
                counts[values[pick]] += 1
        parts = []
        for value in values:
            if counts[value]:
                parts.append(self._own_rows(column, value, counts[value], rng))
        rest = num_rows - sum(counts.values())
        if rest > 0:
            accept = max(1.0 - sum(shares[v] for v in values), 0.01)
            parts.append(self._draw_filtered(self._draw_whole, column, values, rest, accept, rng))
        model = pd.concat(parts, ignore_index=True) if parts else sdv_adapter.sample_copula(self.copula_, 0)
        return model.iloc[rng.permutation(len(model))].reset_index(drop=True)

    def _sample_children(self, child: _Child, model: pd.DataFrame, rng: np.random.Generator,
                         mix: conditions.Mix | None = None, mix_rng: np.random.Generator | None = None,
                         odds=None) -> pd.DataFrame:
        num_rows_name, loc_names, scale_names, corr_names = child.extension_names()
        n = len(model)
        counts = np.zeros(n, dtype=np.int64)
        if n and num_rows_name in model:
            low, high = self.limits_[num_rows_name]
            counts = np.clip(np.round(model[num_rows_name].fillna(0).to_numpy(dtype=float)), low, high).astype(np.int64)
            wanted = round(self.child_rows_[child.name] * n / self.n_rows_) if self.n_rows_ else 0
            counts = enforce_total(counts, wanted, int(low), int(high))
        owners = np.repeat(np.arange(n), counts)
        d = len(child.encoded)
        if d:
            loc = model[loc_names].to_numpy(dtype=float)
            scale = np.maximum(model[scale_names].to_numpy(dtype=float), 0.0)
            factors = _correlation_factors(model[corr_names].to_numpy(dtype=float), d)
            column, held, forced = (self._conditioned(child, mix, loc[owners], scale[owners], mix_rng,
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
        frame.insert(0, self.key, np.arange(len(owners)))
        frame[child.fk] = owners
        return frame

    def _conditioned(self, child: _Child, mix: conditions.Mix, loc: np.ndarray, scale: np.ndarray,
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

    def empty(self) -> dict[str, pd.DataFrame]:
        out = {self.parent: pd.DataFrame({c: pd.Series(dtype=object) for c in [self.key, *self.sdtypes[self.parent]]})}
        for child in self.children_:
            out[child.name] = pd.DataFrame({c: pd.Series(dtype=object) for c in [self.key, *child.columns, child.fk]})
        return out


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


def _extension(values: np.ndarray, groups: np.ndarray, n_parents: int, child: _Child) -> pd.DataFrame:
    """Per parent: number of children, each encoded column's mean and standard deviation, and the
    correlations of the standardised columns — HMA's extension columns, with HMA's fill-ins."""
    num_rows_name, loc_names, scale_names, corr_names = child.extension_names()
    counts = np.bincount(groups, minlength=n_parents).astype(float)
    out = {num_rows_name: counts}
    d = values.shape[1]
    if d == 0:
        return pd.DataFrame(out)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.stack([np.bincount(groups, weights=values[:, j], minlength=n_parents) for j in range(d)], axis=1)
        mean /= counts[:, None]
        centred = values - mean[groups]
        std = np.sqrt(np.stack([np.bincount(groups, weights=centred[:, j] ** 2, minlength=n_parents)
                                for j in range(d)], axis=1) / counts[:, None])
        correlations = []
        for i in range(1, d):
            for j in range(i):
                cov = np.bincount(groups, weights=centred[:, i] * centred[:, j], minlength=n_parents) / counts
                corr = cov / (std[:, i] * std[:, j])
                correlations.append(np.where(np.isfinite(corr), np.clip(corr, -1.0, 1.0), 0.0))
    # copulas: a constant column has scale 0; HMA drops the scale of a single child (NaN, filled below)
    std = np.where(np.isclose(std, 0.0, atol=1e-12), 0.0, std)
    std[counts == 1] = np.nan
    for j in range(d):
        out[loc_names[j]] = mean[:, j]
        out[scale_names[j]] = std[:, j]
    for name, corr in zip(corr_names, correlations):
        out[name] = np.where(counts > 0, corr, np.nan)
    frame = pd.DataFrame(out)
    for column in frame.columns:  # HMA: an all-NaN column → 1e-6, else NaN → the column's mean
        values_ = frame[column]
        frame[column] = values_.fillna(1e-6 if values_.isna().all() else values_.mean())
    return frame


def _correlation_factors(lower: np.ndarray, d: int) -> np.ndarray:
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
