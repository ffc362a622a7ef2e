"""Fitting one window's model: the columns and options it sees, and the model itself.

A window (:class:`~synthbank.relational.plan.Window`) is a parent table and up to four child tables; each is
fitted on its own, so an executor can fit them in worker processes (:func:`fit_window_task`).
:class:`WindowFitting`, mixed into :class:`~synthbank.relational.synthesizer.RelationalSynthesizer`, gives
per window:

* the sdtype each modelled column reaches the model with (:meth:`WindowFitting._window_sdtypes`);
* the root's columns that get class copulas or may split it into strata (``class_models``, ``strata``);
* the table model that draws the root's columns and its options, with the parent context a conditional
  model sees (:meth:`WindowFitting.table_model`, :meth:`WindowFitting._table_model_options`);
* how each child's categories go with its parent's columns (:meth:`WindowFitting._learn_associations`);
* the fitted model: :class:`~synthbank.relational.fast_hma.FastHMA`, or SDV's HMA
  (:class:`~synthbank.relational.sdv_adapter.SdvHmaWindow`) with ``engine="sdv"``.

It reads what :class:`~synthbank.relational.table_fitting.TableFitting` learned before it (``plans_``,
``schema_``, ``model_frames_``, ``fit_entities_``, ``rare_threshold_``, ``windows_``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.relational import sdv_adapter, table_models
from synthbank.relational.association import Association
from synthbank.relational.columns import KEY, fk_column
from synthbank.relational.encoding import category_orders
from synthbank.relational.fast_hma import CLASS_MIN_ROWS, FastHMA
from synthbank.relational.plan import Window

#: Categorical columns with at most this many values get class copulas under ``class_models="categories"``.
CLASS_MAX_VALUES = 12


class WindowFitting:
    """The fitting of each window's model (mixed into ``RelationalSynthesizer``)."""

    def _window_sdtypes(self, window: Window) -> dict[str, dict[str, str]]:
        """Per table of the window, the sdtype each modelled column reaches SDV with (keys left out)."""
        out = {}
        for name in window.tables:
            table, columns = self.schema_.tables[name], {}
            for column in self.model_frames_[name].columns:
                if column == KEY or column.startswith("_sb_fk"):
                    continue
                if column.startswith(("_sb_has", "_sb_at_")):
                    columns[column] = "boolean"
                elif column in table.columns and table.columns[column].sdtype in ("numerical", "datetime", "boolean"):
                    sdtype = table.columns[column].sdtype
                    columns[column] = "numerical" if sdtype == "datetime" else sdtype
                else:
                    columns[column] = "categorical"
            out[name] = columns
        return out

    def _class_columns(self, name: str, sdtypes: dict[str, str], data: dict[str, pd.DataFrame]) -> list[str]:
        """The columns of a window's root whose rare values get a copula of their own (``class_models``)."""
        mode = getattr(self.settings, "class_models", "booleans")
        if mode == "none":
            return []
        table = self.schema_.tables[name]
        out = []
        for column, sdtype in sdtypes.items():
            if column not in table.columns or column not in self.plans_[name].learned:
                continue
            if table.columns[column].sdtype == "pii":  # identifiers' tokens
                continue
            values = data[name][column].nunique()
            flag = table.columns[column].sdtype == "boolean" or values == 2  # a flag, however the database stores it
            if flag or (mode == "categories" and sdtype == "categorical" and values <= CLASS_MAX_VALUES):
                out.append(column)
        return out

    def _learn_associations(self) -> dict[str, dict[str, Association]]:
        """Per child table and categorical or boolean column with at most :data:`CLASS_MAX_VALUES` values, how
        its values go with the parent's columns (see :mod:`synthbank.relational.association`)."""
        out: dict[str, dict[str, Association]] = {}
        for name, plan in self.plans_.items():
            if plan.primary_fk is None:
                continue
            parent = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent
            if parent not in self.model_frames_ or parent == name:
                continue
            frame, parents = self.model_frames_[name], self.model_frames_[parent]
            link = frame[fk_column(plan.primary_fk)].to_numpy()
            linked = link >= 0
            parent_columns = {c: ("numerical" if self.schema_.tables[parent].columns[c].sdtype in ("numerical", "datetime")
                                  else "categorical") for c in self.plans_[parent].learned}
            if not linked.any() or not parent_columns:
                continue
            rows = parents.iloc[link[linked]][list(parent_columns)].reset_index(drop=True)
            # how many rows the parent has in its other child tables of the window (a personal-loan complaint
            # goes to a customer with a loan): the window's model draws these counts before the children
            window = next((w for w in self.windows_ if w.parent == parent and name in w.children), None)
            for sibling in (t for t in (window.children if window else []) if t != name):
                rows[f"_sb_n_{sibling}"] = self._rows_per_parent(sibling, parent)[link[linked]].astype(float)
                parent_columns[f"_sb_n_{sibling}"] = "numerical"
            table = self.schema_.tables[name]
            for column in self.plans_[name].learned:
                if table.columns[column].sdtype not in ("categorical", "boolean"):
                    continue
                values = frame[column][linked].reset_index(drop=True)
                if not 2 <= values.nunique() <= CLASS_MAX_VALUES:
                    continue
                learned = Association.learn(column, values, rows, parent_columns,
                                            seed=seeding.int_seed(0, "association", name, column))
                if learned is not None:
                    out.setdefault(name, {})[column] = learned
        return out

    def _strata_columns(self, name: str, sdtypes: dict[str, str]) -> list[str]:
        """The columns of a window's root that may split it into strata (``strata``; see ``FastHMA``)."""
        if getattr(self.settings, "strata", "auto") == "none":
            return []
        table = self.schema_.tables[name]
        return [c for c, t in sdtypes.items() if t in ("categorical", "boolean") and c in table.columns
                and c in self.plans_[name].learned and table.columns[c].sdtype != "pii"]  # not identifiers' tokens

    def _fit_window(self, index: int, window: Window):
        sdtypes = self._window_sdtypes(window)
        links = {child: fk_column(self.plans_[child].primary_fk) for child in window.children}
        data = {}
        for name in window.tables:
            keep = [KEY, *sdtypes[name], *([links[name]] if name in links else [])]
            data[name] = self.model_frames_[name][keep]
        orders = {name: category_orders(data[name], [c for c, t in sdtypes[name].items() if t == "categorical"],
                                        [c for c, t in sdtypes[name].items() if t == "numerical" and not c.startswith("_sb")])
                  for name in window.tables} if self.settings.order_categories else {}
        if self.settings.engine == "fast":
            choice = self.table_model(window.parent)
            options, fit = self._table_model_options(window.parent, choice, sdtypes[window.parent])
            spec = fit.pop("spec", None)
            model = FastHMA(window.parent, links, sdtypes, key=KEY, root_distribution=self.settings.default_distribution,
                            orders=orders, class_columns=self._class_columns(window.parent, sdtypes[window.parent], data),
                            class_min_rows=max(CLASS_MIN_ROWS, self.rare_threshold_),
                            strata_columns=self._strata_columns(window.parent, sdtypes[window.parent]),
                            table_model=choice, model_options=options).fit(data, **fit)
            model.context_spec_ = spec
            return model
        spec = {"METADATA_SPEC_VERSION": "V1", "relationships": [], "tables": {
            name: {"primary_key": KEY, "columns": {KEY: {"sdtype": "id"}, **({links[name]: {"sdtype": "id"}} if name in links else {}),
                                                   **{c: {"sdtype": t} for c, t in sdtypes[name].items()}}}
            for name in window.tables}}
        for child, fk in links.items():
            spec["relationships"].append({"parent_table_name": window.parent, "parent_primary_key": KEY,
                                          "child_table_name": child, "child_foreign_key": fk})
        hma = sdv_adapter.fit_hma(spec, data, root=window.parent, root_distribution=self.settings.default_distribution,
                                  orders=orders, verbose=self.settings.verbose)
        return sdv_adapter.SdvHmaWindow(hma, window.parent, index)

    def table_model(self, name: str) -> str:
        """The model that draws ``name``'s columns: the schema file's ``table_model`` for it, else the settings'."""
        return self.schema_.tables[name].table_model or getattr(self.settings, "table_model", "copula")

    def _table_model_options(self, name: str, choice: str, sdtypes: dict[str, str]) -> tuple[dict, dict]:
        """The table model's options and what its ``fit`` takes besides the rows: the entities and, for a
        conditional model of a table with a parent, the context (see ``table_models.parent_context``)."""
        if choice == "copula":
            return {}, {}
        options = {"k": self.rare_threshold_, "seed": seeding.int_seed(0, "table model", name),
                   "min_leaf": self.settings.tree_min_leaf, "epochs": self.settings.network_epochs}
        fit = {"entities": self.fit_entities_.get(name)}
        plan = self.plans_[name]
        grand = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent if plan.primary_fk is not None else None
        if choice == "trees" and grand in self.model_frames_ and grand != name:
            parent_sdtypes = self._window_sdtypes(Window(grand, []))[grand]
            columns = list(parent_sdtypes)
            siblings = self._siblings(name, grand)
            counts = {t: self._rows_per_parent(t, grand) for t in siblings}
            link = self.model_frames_[name][fk_column(plan.primary_fk)].to_numpy()
            fit["context"] = table_models.parent_context(self.model_frames_[grand][columns], link, counts)
            options["context_sdtypes"] = table_models.context_sdtypes(parent_sdtypes, siblings)
            fit["spec"] = (grand, columns, siblings)
        return options, fit

    def _rows_per_parent(self, child: str, parent: str) -> np.ndarray:
        """Per real row of ``parent``, its rows in ``child`` (linked by the child's primary foreign key)."""
        link = self.model_frames_[child][fk_column(self.plans_[child].primary_fk)].to_numpy()
        return np.bincount(link[link >= 0], minlength=len(self.model_frames_[parent]))

    def _siblings(self, name: str, parent: str) -> list[str]:
        """The other tables modelled under ``parent`` (by their primary foreign key)."""
        return sorted(t for t, plan in self.plans_.items() if t != name and plan.primary_fk is not None
                      and self.schema_.tables[t].foreign_keys[plan.primary_fk].parent == parent)


def describe_window(window: Window) -> str:
    """A window as progress and ``describe_windows`` show it: ``parent → child, child``."""
    return window.parent + (f" → {', '.join(window.children)}" if window.children else "")


def fit_window_task(model: WindowFitting, item: tuple):
    """A task of ``RelationalSynthesizer.fit``: one window's model, fitted with the numeric libraries on one
    thread wherever it runs — the marginals' optimisers land on other last digits when BLAS splits its sums
    over another number of threads, and the model must not depend on the executor."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return model._fit_window(*item)
