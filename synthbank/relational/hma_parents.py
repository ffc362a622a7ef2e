"""The Gaussian copulas of a window's root table: the whole table's, its strata's and its rare values'.

:class:`ParentCopulas` is the part of :class:`~synthbank.relational.fast_hma.FastHMA` that fits and draws
the root (parent) rows with their children's HMA parameters, when the root is modelled by copulas (not by
a table model of :mod:`~synthbank.relational.table_models`):

* one copula over the whole table (SDV's ``GaussianCopulaSynthesizer``, fitted on at most
  :data:`COPULA_FIT_ROWS` rows);
* *class copulas*: a rare value of a ``class_columns`` column (a fraud flag) gets a copula fitted on its rows
  alone, so its rows keep their own numbers (:data:`CLASS_MIN_ROWS`, :data:`CLASS_MAX_SHARE`);
* *strata*: the categorical column that best explains the numbers splits the rows, each value's rows drawn
  from its own copula in their real share (:meth:`ParentCopulas._fit_strata`, :meth:`ParentCopulas._draw`);
* conditions on the root (``rebalance``/``where``): the named values' rows from their own copulas, the
  strata or SDV's conditional sampling, the rest drawn in rounds and filtered
  (:meth:`ParentCopulas._sample_parent_with`).

The mixin reads the model's ``parent``, ``sdtypes``, ``orders``, ``root_distribution``, ``class_columns``,
``class_min_rows`` and ``strata_columns``, and sets ``copula_``, ``class_copulas_``, ``strata_`` and
``rounding_``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.protection import RARE_MARKER, tame_tails
from synthbank.relational import conditions, sdv_adapter
from synthbank.relational.columns import is_has_column
from synthbank.relational.hma_parameters import EXTENSION_DISTRIBUTION

#: Rows a copula's marginals and correlations are fitted on at most (a seeded sample; encoders see all).
COPULA_FIT_ROWS = 20_000
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


class ParentCopulas:
    """Fitting and drawing a window's root rows from copulas (mixed into ``FastHMA``)."""

    def _fit_copulas(self, model: pd.DataFrame, sdtypes: dict[str, str], extension_columns: list[str]) -> None:
        """The root's Gaussian copula over its columns and its children's parameters (those with HMA's
        :data:`~synthbank.relational.hma_parameters.EXTENSION_DISTRIBUTION`), each rare class value's own
        copula (``class_columns``), the strata (:meth:`_fit_strata`) and the rounding class rows share."""
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
