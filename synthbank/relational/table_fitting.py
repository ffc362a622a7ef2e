"""Fitting the tables: everything learned before the windows' models, then the models themselves.

:meth:`TableFitting.fit`, mixed into :class:`~synthbank.relational.synthesizer.RelationalSynthesizer`:

1. check the input and learn each column's real-world form (:mod:`~synthbank.relational.frames`);
2. cut the schema into tables and windows (:mod:`~synthbank.relational.plan`) and map every foreign key
   to parent row positions (:meth:`TableFitting._positions`);
3. settle the rules kept (the schema's or discovered), find each row's entity (the customer it belongs
   to), turn repeating identifiers into tokens (:mod:`~synthbank.relational.pseudonyms`), protect rare
   values (:mod:`synthbank.protection`) and learn which combinations of categories occur
   (:mod:`~synthbank.relational.combos`);
4. learn the shapes of what is never modelled: keys (:class:`~synthbank.relational.keys.KeyFormat`), PII
   (:class:`~synthbank.relational.pii.PiiFiller`), secondary and deferred links
   (:mod:`~synthbank.relational.links`), binary columns;
5. build each table's model frame (surrogate keys, datetimes as days, tails tamed, point masses split —
   :mod:`~synthbank.relational.columns`) and fit one model per window
   (:mod:`~synthbank.relational.window_fitting`), on ``executor`` if given.

With ``dp_epsilon`` set the tables are learned by :mod:`~synthbank.relational.dp_fit` instead.
"""

from __future__ import annotations

import copy
import logging
from typing import Self

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.errors import SchemaError
from synthbank.executors import Executor, InProcess
from synthbank.key_values import key_tuples
from synthbank.progress import Progress, report
from synthbank.protection import DEFAULT_RARE_THRESHOLD, RARE_MARKER, RareGuard, check_threshold, tame_tails
from synthbank.relational import dp_fit
from synthbank.relational.binary import BinaryShape
from synthbank.relational.columns import KEY, fk_column, has_column, mass_column, point_mass, split_mass, to_days
from synthbank.relational.combos import learn_rules
from synthbank.relational.frames import learn_forms, normalize
from synthbank.relational.keys import KeyFormat
from synthbank.relational.links import DeferredLink, SecondaryLink
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import TablePlan, plan_tables, plan_windows
from synthbank.relational.pseudonyms import Pseudonyms
from synthbank.relational.rule_keeping import RuleKeeper
from synthbank.relational.window_fitting import describe_window, fit_window_task
from synthbank.schemas import types
from synthbank.schemas.model import Table
from synthbank.schemas.rule_discovery import discover_rules
from synthbank.vocabulary import TableMode

log = logging.getLogger("synthbank.relational.synthesizer")  # the logger's name from before the split

#: Real diamonds must agree on at least this share of linked rows for the synthetic ones to be forced to.
DIAMOND_CONSISTENCY = 0.99


class TableFitting:
    """What :meth:`fit` learns from the real tables (mixed into ``RelationalSynthesizer``)."""

    def fit(self, tables: dict[str, pd.DataFrame], progress: Progress | None = None,
            executor: Executor | None = None) -> Self:
        """Learn ``tables`` (one DataFrame per table of the schema; see the module's description);
        ``executor`` fits the windows' models in worker processes or as Ray tasks, the model the same."""
        self.schema_ = self.schema  # the schema learned: a copy where empty tables became copies
        if getattr(self.settings, "dp_epsilon", None) is not None:  # a model of its own (see relational.dp_fit)
            report(progress, "fitting", "with differential privacy", 0, 1)
            dp_fit.fit(self, tables, self.settings, real_strings(tables))
            report(progress, "fitting", "", 1, 1)
            return self
        frames = self._check_input(tables)
        schema = self.schema_  # empty tables are now copied (written empty)
        self.plans_ = plan_tables(schema, frames)
        self.windows_ = plan_windows(schema, self.plans_, leaf_models=self.settings.leaf_models)
        self.row_counts_ = {name: len(frame) for name, frame in frames.items()}
        positions = self._positions(frames)
        self.rare_threshold_ = check_threshold(self.settings.rare_threshold if self.settings.rare_threshold is not None
                                               else getattr(schema, "rare_threshold", DEFAULT_RARE_THRESHOLD))
        self._settle_rules(frames)
        roots = self._roots()
        entities = self._entities(frames, positions, roots)
        # repeating identifiers (counterparties' account numbers) reach the models as tokens, never as values
        self.pseudonyms_, tokens = Pseudonyms.learn(schema, frames, entities, roots, self.rare_threshold_)
        for (name, column), values in tokens.items():
            frames[name][column] = values
            self.plans_[name].learned.append(column)
        self.rare_ = self._protect_rare_values(frames, entities)
        self.rules_ = RuleKeeper.learn(self.schema_, self.schema_.rules, frames, positions, self.plans_)
        self.notes_.extend(self.rules_.notes)
        self.combos_ = {name: learn_rules(frames[name], [c for c in plan.learned
                                                         if schema.tables[name].columns[c].sdtype == "categorical"],
                                          self.rare_threshold_) for name, plan in self.plans_.items()}

        everything = real_strings(tables)  # in memory only: fake PII never equals any real string
        self.key_formats_: dict[str, dict[str, KeyFormat]] = {}
        self.pii_: dict[str, PiiFiller] = {}
        self.secondary_: dict[str, dict[int, SecondaryLink]] = {}
        self.deferred_: dict[str, dict[int, DeferredLink]] = {}
        for name, frame in frames.items():
            table = schema.tables[name]
            self.key_formats_[name] = self._key_formats(name, frame)
            self.pii_[name] = PiiFiller.learn(table, frame, everything, locale=schema.locale,
                                              skip=self.pseudonyms_.columns(name), k=self.rare_threshold_)
        for name, plan in self.plans_.items():
            table = schema.tables[name]
            self.secondary_[name] = {
                i: SecondaryLink.learn(frames[name], frames[table.foreign_keys[i].parent], positions[name][i],
                                       self._categories(name), self._categories(table.foreign_keys[i].parent),
                                       self._diamond(name, plan, i, positions))
                for i in plan.secondary_fks if schema.tables[table.foreign_keys[i].parent].is_synthesized
            }
            self.deferred_[name] = {
                i: DeferredLink.learn(positions[name][i], len(frames[table.foreign_keys[i].parent]),
                                      table.foreign_keys[i].parent == name)
                for i in plan.deferred_fks
            }
        # binary columns: random bytes of the real lengths (their content is never learned)
        self.binary_ = {name: {c: BinaryShape.learn(frames[name][c], self.rare_threshold_)
                               for c, column in schema.tables[name].columns.items()
                               if types.base_name(column.type) == "binary" and c in frames[name]}
                        for name in self.plans_}
        self.fixed_ = self._fixed_tables(frames)
        self.point_masses_: dict[str, dict[str, float]] = {}
        self.model_frames_ = {name: self._model_frame(name, frames, positions) for name in self.plans_}
        self.fit_entities_ = entities  # a tree's leaf covers k entities (see table_models)
        self.associations_ = self._learn_associations()
        # the windows are independent: an executor fits them in worker processes or as Ray tasks
        self.hmas_ = []
        report(progress, "fitting", describe_window(self.windows_[0]) if self.windows_ else "", 0, len(self.windows_))
        fitted = (executor or InProcess()).map(fit_window_task, self, list(enumerate(self.windows_)))
        for index, model in enumerate(fitted):
            self.hmas_.append(model)
            following = describe_window(self.windows_[index + 1]) if index + 1 < len(self.windows_) else ""
            report(progress, "fitting", following, index + 1, len(self.windows_))
        del self.model_frames_, self.fit_entities_
        return self

    def _check_input(self, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        frames = {}
        self.forms_: dict[str, dict[str, dict]] = {}
        self.notes_: list[str] = []
        empty = []
        for name, table in self.schema.tables.items():
            if table.is_excluded:
                continue
            if name not in tables:
                raise SchemaError(f"No data was given for table '{name}'.")
            missing = [c for c in table.columns if c not in tables[name].columns]
            if missing:
                raise SchemaError(f"The data for table '{name}' lacks the column(s) {', '.join(missing)}.")
            if table.is_synthesized and len(tables[name]) == 0:
                empty.append(name)
            self.forms_[name] = learn_forms(tables[name], table)
            frames[name] = normalize(tables[name][list(table.columns)].reset_index(drop=True), table)
        if empty:  # nothing to learn: written empty, as if the schema said mode 'copy'
            self.schema_ = copy.deepcopy(self.schema_)
            for name in empty:
                self.schema_.tables[name].mode = TableMode.COPY.value
                self.notes_.append(f"Table '{name}' is empty in the source; it is written empty.")
                log.warning("table %s is empty in the source; it is written empty", name)
        return frames

    def _settle_rules(self, frames: dict[str, pd.DataFrame]) -> None:
        """The rules this model keeps (``schema_.rules``): the schema's, or discovered on the real rows when
        it lists none and the settings allow (see :mod:`synthbank.schemas.rule_discovery`)."""
        mode = getattr(self.settings, "rules", "discover")
        rules = self.schema_.rules
        if mode == "none":
            rules = []
        elif rules is None:
            rules = discover_rules(self.schema_, frames, self.rare_threshold_) if mode == "discover" else []
        self.schema_ = copy.copy(self.schema_)  # the caller's schema keeps its own rules
        self.schema_.rules = rules

    def _entities(self, frames, positions, roots: dict[str, str]) -> dict[str, np.ndarray]:
        """Per row of each learned table, the row of its entity table it belongs to (a customer and all their
        rows; ``roots``: see :meth:`_roots`)."""
        out: dict[str, np.ndarray] = {}
        for name in self.schema_.read_order():
            if name not in self.plans_:
                continue
            plan, n = self.plans_[name], len(frames[name])
            own = -1 - np.arange(n)  # rows without a parent are entities of their own
            if roots[name] == name:
                out[name] = np.arange(n)
                continue
            parent = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent
            pos = positions[name][plan.primary_fk]
            out[name] = np.where(pos >= 0, out[parent][np.maximum(pos, 0)], own) if parent in out else own
        return out

    def _roots(self) -> dict[str, str]:
        """Per learned table, the table whose rows are its entities: the root reached by the primary foreign
        keys, except that a root *lookup* (no personal column: bank branches, districts) is no one's entity,
        so its children are entities of their own (customers, not the 12 branches they belong to)."""
        out: dict[str, str] = {}
        for name in self.schema_.read_order():
            plan = self.plans_.get(name)
            if plan is None:
                continue
            parent = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent if plan.primary_fk is not None else None
            lookup = parent is not None and self.plans_[parent].primary_fk is None and not self.schema_.tables[parent].columns_of("pii")
            out[name] = out.get(parent, name) if parent is not None and not lookup else name
        return out

    def _protect_rare_values(self, frames, entities) -> dict[str, dict[str, RareGuard]]:
        """Replace, in ``frames``, every categorical value held by fewer than k entities by the marker."""
        rare_everywhere: dict[str, list[str]] = {}
        guards: dict[str, dict[str, RareGuard]] = {}
        for name, plan in self.plans_.items():
            table, guards[name] = self.schema_.tables[name], {}
            for column in plan.learned:
                if table.columns[column].sdtype != "categorical":
                    continue
                guard = RareGuard.fit(frames[name][column], self.rare_threshold_, entities[name],
                                      seed=seeding.int_seed(0, "novel", name, column))
                frames[name][column] = guard.protect(frames[name][column])
                guards[name][column] = guard
                if guard.replaced:
                    log.info("%s.%s: %d rows held a value fewer than %d entities share; replaced before fitting",
                             name, column, guard.replaced, self.rare_threshold_)
                if guard.replaced and not guard.kept:
                    rare_everywhere.setdefault(name, []).append((column, bool(guard.novel)))
        for name, columns in rare_everywhere.items():
            novel = [c for c, made in columns if made]
            marked = [c for c, made in columns if not made]
            for listed, written in ((novel, "written as new labels of common words"),
                                    (marked, f"written as {RARE_MARKER} or NULL")):
                if listed:
                    self.notes_.append(f"Every value of {', '.join(f'{name}.{c}' for c in listed)} is held by fewer than "
                                       f"{self.rare_threshold_} entities, so none is learned ({written}); if "
                                       f"'{name}' is public reference data (branches, airports), set its mode to copy in the schema file.")
        return guards

    def _key_columns(self, table: Table) -> list[str]:
        plan = self.plans_.get(table.name)
        return list(plan.generated) if plan else []

    def _key_formats(self, name: str, frame: pd.DataFrame) -> dict[str, KeyFormat]:
        """The format of each key ``name`` generates (a prefix, a width, a template; never a value)."""
        table = self.schema_.tables[name]
        return {c: KeyFormat.learn(frame[c], types.base_name(table.columns[c].type)) for c in self._key_columns(table)}

    def _fixed_tables(self, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Copied tables without their PII columns: Faker refills them when sampling."""
        return {name: frames[name].drop(columns=t.columns_of("pii")) for name, t in self.schema_.tables.items() if t.is_fixed}

    def _categories(self, name: str) -> list[str]:
        plan = self.plans_.get(name)
        table = self.schema_.tables[name]
        return [c for c in (plan.learned if plan else []) if table.columns[c].sdtype in ("categorical", "boolean")]

    def _positions(self, frames) -> dict[str, dict[int, np.ndarray]]:
        """For every foreign key of every table: the position of the referenced parent row (-1: none)."""
        out: dict[str, dict[int, np.ndarray]] = {}
        for name, frame in frames.items():
            table = self.schema_.tables[name]
            out[name] = {}
            for i, fk in enumerate(table.foreign_keys):
                if fk.parent not in frames:
                    continue
                parent = frames[fk.parent]
                lookup = {key: pos for pos, key in enumerate(key_tuples(parent, fk.parent_columns)) if key is not None}
                out[name][i] = np.array([lookup.get(key, -1) for key in key_tuples(frame, fk.columns)], dtype=int)
                present = frame[fk.columns].notna().all(axis=1).to_numpy()
                orphans = int((present & (out[name][i] < 0)).sum())
                if orphans:
                    log.warning("%s(%s): %d rows point at no %s row; they are treated as NULL",
                                name, ", ".join(fk.columns), orphans, fk.parent)
        return out

    def _diamond(self, name: str, plan: TablePlan, index: int, positions) -> str | None:
        """The shared ancestor if this secondary key closes a consistent diamond with the primary one."""
        if plan.primary_fk is None:
            return None
        table = self.schema_.tables[name]
        ancestor = table.foreign_keys[plan.primary_fk].parent
        parent = table.foreign_keys[index].parent
        parent_plan = self.plans_.get(parent)
        if parent_plan is None or parent_plan.primary_fk is None:
            return None
        if self.schema_.tables[parent].foreign_keys[parent_plan.primary_fk].parent != ancestor:
            return None
        mine = positions[name][plan.primary_fk]
        theirs = positions[parent][parent_plan.primary_fk]
        linked = positions[name][index] >= 0
        if not linked.any():
            return None
        agree = np.mean(mine[linked] == theirs[positions[name][index][linked]])
        return ancestor if agree >= DIAMOND_CONSISTENCY else None

    def _model_frame(self, name: str, frames: dict[str, pd.DataFrame], all_positions) -> pd.DataFrame:
        plan, table, frame, positions = self.plans_[name], self.schema_.tables[name], frames[name], all_positions[name]
        data = {KEY: np.arange(len(frame))}
        if plan.primary_fk is not None:
            data[fk_column(plan.primary_fk)] = positions[plan.primary_fk]
        for column in plan.learned:
            data[column] = to_days(frame[column]) if table.columns[column].sdtype == "datetime" else frame[column]
        # a column the rules tie to others reaches the model as the part they leave free (a gap, a share)
        self.rules_.to_model(name, data, frames, all_positions, self.schema_)
        for column in plan.learned:
            sdtype = table.columns[column].sdtype
            if sdtype in ("numerical", "datetime"):  # no real extreme reaches a model
                data[column] = tame_tails(data[column], self.rare_threshold_, seeding.rng(0, "tails", name, column),
                                          drawn_extremes=True)
            mass = point_mass(data[column]) if sdtype == "numerical" else None
            if mass is not None:  # a value many rows hold: an indicator of its own (see relational.columns)
                data[column], data[mass_column(column)] = split_mass(data[column], mass, seeding.rng(0, "mass", name, column))
                self.point_masses_.setdefault(name, {})[column] = mass
        for i in plan.categorical_fks:
            data[table.foreign_keys[i].columns[0]] = frame[table.foreign_keys[i].columns[0]].astype(object)
        for i in plan.secondary_fks:
            if i in positions and (positions[i] < 0).any() and (positions[i] >= 0).any():
                data[has_column(i)] = positions[i] >= 0
        return pd.DataFrame(data)


def real_strings(tables: dict[str, pd.DataFrame]) -> set[str]:
    """Every distinct string value of every table, as given (before any protection)."""
    out: set[str] = set()
    for frame in tables.values():
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                present = frame[column].dropna()
                present = present[~present.map(lambda v: isinstance(v, (bytes, bytearray, memoryview)))]  # BLOBs
                out.update(present.astype(str).unique())  # astype first: JSON cells are dicts
    return out
