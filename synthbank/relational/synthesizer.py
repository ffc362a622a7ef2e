"""``RelationalSynthesizer``: linked tables of any depth and width with HMA's mathematics, one window at a time.

Fitting (:meth:`RelationalSynthesizer.fit`):

1. check the input and learn each column's real-world form (:mod:`~synthbank.relational.frames`);
2. cut the schema into tables and windows (:mod:`~synthbank.relational.plan`) and map every foreign key
   to parent row positions;
3. protect rare values (:mod:`synthbank.protection`) and learn which combinations of categories occur
   (:mod:`~synthbank.relational.combos`);
4. learn the shapes of what is never modelled: keys (:class:`~synthbank.relational.keys.KeyFormat`), PII
   (:class:`~synthbank.relational.pii.PiiFiller`), secondary and deferred links
   (:mod:`~synthbank.relational.links`);
5. build each table's model frame (surrogate keys, datetimes as days, tails tamed —
   :mod:`~synthbank.relational.columns`) and fit one model per window: the fast engine
   (:mod:`~synthbank.relational.fast_hma`) or SDV's HMA (:mod:`~synthbank.relational.sdv_adapter`).

Sampling (:meth:`RelationalSynthesizer.sample_blocks`), per block:

1. walk the windows top-down, linking child windows to the parents already sampled (``match_rows``);
2. finish the tables (:class:`~synthbank.relational.assembly.Assembly`): keys, links, rare values,
   category combinations, PII, SQL types.

Persistence: :mod:`~synthbank.relational.persistence`.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.errors import SchemaError, SynthbankError
from synthbank.executors import Executor, InProcess
from synthbank.key_values import key_tuples
from synthbank.progress import Progress, report
from synthbank.protection import DEFAULT_RARE_THRESHOLD, RARE_MARKER, RareGuard, check_threshold, tame_tails
from synthbank.relational import conditions, dp_fit, persistence, sdv_adapter, table_models
from synthbank.relational.assembly import Assembly
from synthbank.relational.association import Association
from synthbank.relational.binary import BinaryShape
from synthbank.relational.columns import KEY, fk_column, has_column, mass_column, point_mass, split_mass, to_days
from synthbank.relational.combos import learn_rules
from synthbank.relational.encoding import category_orders
from synthbank.relational.fast_hma import CLASS_MIN_ROWS, FastHMA
from synthbank.relational.frames import learn_forms, normalize
from synthbank.relational.keys import KeyFormat
from synthbank.relational.links import DeferredLink, SecondaryLink, match_by_group, match_rows
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import TablePlan, Window, plan_tables, plan_windows
from synthbank.relational.pseudonyms import Pseudonyms
from synthbank.relational.rule_keeping import RuleKeeper
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas import types
from synthbank.schemas.model import DatabaseSchema, Table
from synthbank.schemas.rule_discovery import discover_rules
from synthbank.vocabulary import TableMode

log = logging.getLogger(__name__)

#: Real diamonds must agree on at least this share of linked rows for the synthetic ones to be forced to.
DIAMOND_CONSISTENCY = 0.99
#: Categorical columns with at most this many values get class copulas under ``class_models="categories"``.
CLASS_MAX_VALUES = 12
#: Synthetic rows per block, the unit of sampling (see ``RelationalSynthesizer.sample_blocks``).
BLOCK_ROWS = 50_000
#: Synthetic rows per chunk handed to the writer (a run of whole blocks).
DEFAULT_CHUNK_ROWS = 200_000


class RelationalSynthesizer:
    """Learn linked tables and sample synthetic ones with the same schema and full referential integrity.

    Parameters are only stored here; :meth:`fit` learns (the schema it learned, with empty tables turned
    into copies, is ``schema_``). ``settings`` is a :class:`~synthbank.relational.settings.RelationalSettings`
    (engine, root distribution, category ordering, leaf models, rare-value threshold), or give its fields
    as keywords: ``RelationalSynthesizer(schema, engine="sdv")``.
    """

    def __init__(self, schema: DatabaseSchema, settings: RelationalSettings | None = None, **fields):
        if settings is not None and fields:
            raise SynthbankError("Pass RelationalSettings or its fields as keywords, not both.")
        self.schema = schema
        self.settings = settings if settings is not None else RelationalSettings(**fields)

    # --- fitting -----------------------------------------------------------------------------------
    def fit(self, tables: dict[str, pd.DataFrame], progress: Progress | None = None,
            executor: Executor | None = None) -> RelationalSynthesizer:
        self.schema_ = self.schema  # the schema learned: a copy where empty tables became copies
        if getattr(self.settings, "dp_epsilon", None) is not None:  # a model of its own (see relational.dp_fit)
            report(progress, "fitting", "with differential privacy", 0, 1)
            dp_fit.fit(self, tables, self.settings, _real_strings(tables))
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

        everything = _real_strings(tables)  # in memory only: fake PII never equals any real string
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
        report(progress, "fitting", _describe(self.windows_[0]) if self.windows_ else "", 0, len(self.windows_))
        fitted = (executor or InProcess()).map(_fit_window, self, list(enumerate(self.windows_)))
        for index, model in enumerate(fitted):
            self.hmas_.append(model)
            following = _describe(self.windows_[index + 1]) if index + 1 < len(self.windows_) else ""
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

    # --- sampling ----------------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
               progress: Progress | None = None, executor: Executor | None = None,
               block_rows: int | None = None, rebalance=None, where=None) -> dict[str, pd.DataFrame]:
        """Synthetic tables, ``scale`` times the size of the training data, deterministic for ``seed``.

        ``key_start`` offsets every generated key, so runs with different seeds and disjoint key ranges
        can be unioned without collisions. The whole result is held in memory: for large outputs use
        :meth:`sample_chunks`.
        """
        return concat_blocks([tables for _, tables in self.sample_blocks(scale, seed, key_start=key_start,
                                                                          progress=progress, executor=executor,
                                                                          block_rows=block_rows, rebalance=rebalance,
                                                                          where=where)])

    def sample_chunks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None,
                      executor: Executor | None = None, block_rows: int | None = None, rebalance=None, where=None):
        """The same synthetic tables as :meth:`sample`, as a stream of chunks of about ``chunk_rows`` rows.

        A chunk is a dict of tables; its rows reference only rows of the same or earlier chunks (copy and
        subset tables come with the first). The output for a seed does not depend on ``chunk_rows``: a
        chunk is a run of whole blocks (see :meth:`sample_blocks`), so only memory does.
        """
        return group_chunks(self.sample_blocks(scale, seed, key_start=key_start, progress=progress, executor=executor,
                                               block_rows=block_rows, rebalance=rebalance, where=where), chunk_rows)

    def sample_blocks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      progress: Progress | None = None, executor: Executor | None = None, block_rows: int | None = None,
                      rebalance=None, where=None, tally: conditions.MixTally | None = None):
        """Yield ``(block, tables)``: the unit of sampling.

        A block is a share of every root table's rows and everything under them, sampled with a random
        stream of its own (the seed and the block's number) and keys after those of earlier blocks. The
        number of blocks depends only on the model, ``scale`` and ``block_rows`` (synthetic rows per block,
        default :data:`BLOCK_ROWS`), never on how blocks are grouped into chunks or workers. Smaller blocks
        give workers more pieces to share (and keep secondary links within fewer rows).

        Each block is drawn in two steps: the windows' models sample its rows (:meth:`sample_block_rows`,
        which needs nothing but the model, so ``executor`` runs it in worker processes or on Ray, the
        model sent once, the rows back as Arrow tables), then, here and in block order, the rows become
        tables (:class:`~synthbank.relational.assembly.Assembly`: keys numbered after earlier blocks,
        links, PII unique across blocks). The output for a seed is the same with every executor.

        ``rebalance`` (``{"transactions.is_fraud": {True: 0.2}}``) and ``where`` (``{"loans.grade": "A"}``)
        set the mix of a categorical or boolean column of any table (see :meth:`resolve_conditions`);
        ``tally`` (a :class:`~synthbank.relational.conditions.MixTally` from :meth:`tally`, in their place)
        counts the shares achieved.
        """
        self._check_fitted()
        if not scale > 0:
            raise SynthbankError(f"The scale must be a positive number, got {scale}.")
        mixes = tally.mixes if tally is not None else self.resolve_conditions(rebalance, where)
        assembly = Assembly(self.schema_, self.plans_, self.key_formats_, self.pii_, self.secondary_, self.deferred_,
                            self.rare_, self.combos_, self.forms_, self.fixed_, key_start=key_start,
                            point_masses=getattr(self, "point_masses_", {}), pseudonyms=self.pseudonyms_,
                            run_seed=seed, entity_roots=self._roots(), binary=getattr(self, "binary_", {}),
                            rules=getattr(self, "rules_", RuleKeeper()))
        blocks = self.block_count(scale, block_rows)
        report(progress, "sampling", f"block 1 of {blocks}", 0, blocks)
        drawn = (executor or InProcess()).map(_sample_block, self, [(scale, seed, block, blocks, mixes) for block in range(blocks)])
        for block, payload in enumerate(drawn):
            rows, parent_of = from_arrow(payload)
            tables = assembly.finish(rows, parent_of, scale, seeding.int_seed(seed, "block", block), block, mixes=mixes)
            if tally is not None:
                tally.add(tables)
            report(progress, "sampling", f"block {min(block + 2, blocks)} of {blocks}", block + 1, blocks)
            yield block, tables

    def sample_block_rows(self, scale: float, seed: int, block: int, blocks: int, mixes: dict | None = None):
        """One block's learned rows per table and, per child table, the position of each row's parent."""
        if getattr(self, "dp_", None) is not None:
            return dp_fit.block_rows(self, scale, seed, block, blocks)
        block_seed = seeding.int_seed(seed, "block", block)
        rows: dict[str, pd.DataFrame] = {}
        parent_of: dict[str, np.ndarray] = {}
        adopted: set[str] = set()
        mixes = mixes or {}
        # a table under a condition keeps what its conditioned parents' models gave it, unless its own model
        # draws it given its parent row (which holds the condition)
        conditional = {w.parent for i, w in enumerate(self.windows_) if getattr(self.hmas_[i], "context_spec_", None)}
        below = {name for name in self.plans_ if name not in conditional and any(a in mixes for a in self._ancestors(name))}
        adopted.update(below)
        for index, window in enumerate(self.windows_):
            if window.parent in below and window.parent in rows and not window.children:
                continue  # its own copula learned the real mix: its values would wash the condition out
            roots = self._root_rows(window.parent, scale, block, blocks)
            counts = None
            if window.parent in mixes and window.parent not in rows:  # a root table: its block's share of the counts
                total = self._root_total(window.parent, scale)
                counts = mixes[window.parent].block_counts(total, total * block // blocks, roots)
            self._sample_window(index, window, roots, block_seed, rows, parent_of, adopted, mixes, counts)
        return rows, parent_of

    def _ancestors(self, name: str) -> list[str]:
        """The tables above ``name`` along its modelled (primary) foreign keys."""
        out, seen = [], {name}
        while (plan := self.plans_.get(name)) is not None and plan.primary_fk is not None:
            name = self.schema_.tables[name].foreign_keys[plan.primary_fk].parent
            if name in seen:
                break
            out.append(name)
            seen.add(name)
        return out

    # --- conditions --------------------------------------------------------------------------------
    def resolve_conditions(self, rebalance=None, where=None) -> dict[str, conditions.Mix]:
        """The conditions as the model holds them, one :class:`~synthbank.relational.conditions.Mix` per table.

        ``rebalance`` maps ``"table.column"`` to ``{value: share}`` (the target share of the table's rows;
        values not named share the rest in the learned odds); ``where`` maps ``"table.column"`` to the one
        value every row holds. Values may be given as the model holds them or as text ("true", "A").
        Refused in one sentence: an unknown table or column, a key, PII, text or numeric column, a value the
        model never learned (rare values never reach it), a share outside (0, 1) or shares that leave
        nothing for the other values, two conditions on one table, a model of SDV's own HMA engine."""
        self._check_fitted()
        if getattr(self, "dp_", None) is not None and (rebalance or where):
            dp_fit.refuse_conditions()
        out = {}
        for table, column, shares, fixed in conditions.check_requested(self.schema_, rebalance, where):
            name = f"{table}.{column}"
            if table not in self.plans_ or column not in self.plans_[table].learned:
                raise conditions.ConditionError(f"{name} is not learned by this model, so it cannot be conditioned.")
            models = self._window_models(table)
            if not all(isinstance(m, FastHMA) for m in models):
                raise conditions.ConditionError(f"Conditions need the fast engine; this model was fitted with SDV's HMA "
                                                f"(--engine sdv), which cannot condition {name}.")
            intervals, _ = models[0].categories(table, column)
            categories = list(intervals)
            resolved = {conditions.resolve_value(v, categories, name): float(s) for v, s in shares.items()}
            if len(resolved) < len(shares):
                raise conditions.ConditionError(f"{name}: two of the values given name the same value.")
            conditions.check_shares(name, resolved, categories, fixed)
            out[table] = conditions.Mix(table, column, tuple(resolved.items()), fixed)
        return out

    def tally(self, rebalance=None, where=None) -> conditions.MixTally:
        """A counter of the requested, achieved and real shares of the conditions, for :meth:`sample_blocks`."""
        mixes = self.resolve_conditions(rebalance, where)
        real = {}
        for table, mix in mixes.items():
            real[table] = self._window_models(table)[0].categories(table, mix.column)[1]
        return conditions.MixTally(mixes, real)

    def _window_models(self, table: str) -> list:
        """The fitted models of the windows ``table`` is part of, in sampling order."""
        return [self.hmas_[i] for i, w in enumerate(self.windows_) if table in w.tables]

    def block_count(self, scale: float, block_rows: int | None = None) -> int:
        """Blocks of about ``block_rows`` (default :data:`BLOCK_ROWS`) synthetic rows, at most as many as the
        smallest root table has synthetic rows (every block needs at least one row of each root)."""
        block_rows = block_rows or BLOCK_ROWS
        if isinstance(block_rows, bool) or not isinstance(block_rows, int) or block_rows < 1:
            raise SynthbankError(f"block_rows must be a whole number of at least 1, got {block_rows!r}.")
        total = sum(self.row_counts_[name] for name in self.plans_) * scale
        roots = [self._root_total(name, scale) for name, plan in self.plans_.items()
                 if plan.primary_fk is None and self.row_counts_[name]]
        return int(max(1, min([int(np.ceil(total / block_rows)), *roots])))

    def _root_total(self, name: str, scale: float) -> int:
        real = self.row_counts_[name]
        return max(1, int(round(real * scale))) if real else 0

    def _root_rows(self, name: str, scale: float, block: int, blocks: int) -> int:
        """This block's share of a root table's synthetic rows (the shares add up to the total)."""
        total = self._root_total(name, scale)
        return total * (block + 1) // blocks - total * block // blocks

    @staticmethod
    def _adopt(existing: pd.DataFrame, sampled: pd.DataFrame, match: np.ndarray) -> None:
        """Give matched existing rows the attributes of their partner from this window's root model.

        A table sampled as a child keeps its parent link, but HMA's per-parent child models see only a
        few rows each and lose correlations between the table's own columns; the window where the table
        is the root models them with one copula over all its rows, so its values are the better ones.
        """
        keep = match >= 0
        for column in sampled.columns:
            if column == KEY or column not in existing.columns:
                continue
            values = existing[column].astype(object).to_numpy()
            values[match[keep]] = sampled[column].astype(object).to_numpy()[keep]
            existing[column] = pd.Series(values, index=existing.index).astype(sampled[column].dtype, errors="ignore")

    def _sample_window(self, index, window, roots, seed, rows, parent_of, adopted, mixes=None, counts=None):
        model = self.hmas_[index]
        parent = window.parent
        real_parents = self.row_counts_[parent]
        mixes = mixes or {}
        mix = mixes.get(parent)
        children = {child: mixes[child] for child in window.children if child in mixes}
        options = {"child_mixes": children} if children else {}
        odds = {child: getattr(self, "associations_", {}).get(child, {}).get(mix.column) for child, mix in children.items()}
        if any(odds.values()):
            options["child_odds"] = {child: a for child, a in odds.items() if a is not None}
        if parent not in rows:
            wanted = roots
            if mix is not None and wanted:
                options["parent_counts"] = (mix.column, counts)
            sampled = model.sample(wanted, seed, **options) if wanted else model.empty()
            rows[parent] = sampled[parent].reset_index(drop=True)
            key_to_pos = pd.Series(np.arange(len(rows[parent])), index=rows[parent][KEY].to_numpy())
        else:
            target = len(rows[parent])
            rng = seeding.rng(seed, "match", index)
            spec = getattr(model, "context_spec_", None)
            if spec is not None and parent in parent_of and target and real_parents:
                # a conditional table model draws each row given its synthetic parent row: no matching, every
                # row keeps its parent (and a conditioned value its value); a second window of the same
                # table (more than four children) links its children to the same rows without adopting again
                grand, columns, siblings = spec
                held = {t: np.bincount(parent_of[t], minlength=len(rows[grand])) if t in parent_of
                        else np.zeros(len(rows[grand])) for t in siblings}
                context = table_models.parent_context(rows[grand][columns].reset_index(drop=True), parent_of[parent], held)
                forced = {mix.column: rows[parent][mix.column].reset_index(drop=True)} if mix is not None else None
                sampled = model.sample(target, seed, context=context, forced=forced, **options)
                match = np.arange(target)
            elif mix is not None and target and real_parents:
                # the parents drawn here hold the named values as often as the rows they are matched to,
                # and are matched within each value, so the existing rows keep theirs
                group = _value_groups(rows[parent][mix.column], mix.values)
                options["parent_counts"] = (mix.column, {v: int((group == i).sum()) for i, v in enumerate(mix.values)})
                sampled = model.sample(target, seed, **options)
                drawn_group = _value_groups(sampled[parent][mix.column], mix.values)
                match = match_by_group(rows[parent], sampled[parent], self.plans_[parent].learned, rng, group, drawn_group)
            else:
                sampled = model.sample(target, seed, **options) if target and real_parents else model.empty()
                match = match_rows(rows[parent], sampled[parent], self.plans_[parent].learned, rng)
            keep = match >= 0
            key_to_pos = pd.Series(match[keep], index=sampled[parent][KEY].to_numpy()[keep])
            if parent not in adopted:
                self._adopt(rows[parent], sampled[parent], match)
                adopted.add(parent)
        for child in window.children:
            frame = sampled[child]
            pos = frame[fk_column(self.plans_[child].primary_fk)].map(key_to_pos)
            frame = frame[pos.notna()].reset_index(drop=True)
            rows[child] = frame
            parent_of[child] = pos.dropna().astype(int).to_numpy()

    # --- introspection -----------------------------------------------------------------------------
    @property
    def text_columns(self) -> dict[str, list[str]]:
        """Free-text columns per table, left for the text engine."""
        return {n: t.columns_of("text") for n, t in self.schema_.tables.items() if t.columns_of("text") and not t.is_excluded}

    @property
    def unsupported_columns(self) -> dict[str, list[str]]:
        """Columns written as NULL or a constant (binary columns of learned tables get random bytes instead)."""
        binary = getattr(self, "binary_", {})
        out = {n: [c for c in t.columns_of("unsupported") if c not in binary.get(n, {})]
               for n, t in self.schema_.tables.items() if not t.is_excluded}
        return {n: cols for n, cols in out.items() if cols}

    @property
    def binary_columns(self) -> list[str]:
        """Binary columns written as random bytes of the real lengths, as ``table.column``."""
        return [f"{t}.{c}" for t, cols in getattr(self, "binary_", {}).items() for c in cols]

    def describe_windows(self) -> list[str]:
        self._check_fitted()
        if getattr(self, "dp_", None) is not None:
            return [dp_fit.describe(self)]
        return [_describe(w) for w in self.windows_]

    def _check_fitted(self):
        if not hasattr(self, "hmas_"):
            raise SynthbankError("This synthesizer is not fitted yet: call fit() first (or load a fitted model).")

    # --- persistence -------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model (see :mod:`synthbank.relational.persistence`): window models, schema, and a JSON
        state with shapes and aggregate statistics only — no training rows, no PII values."""
        self._check_fitted()
        return persistence.save_model(self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> RelationalSynthesizer:
        """Load a model directory. It contains pickles, which run code when loaded: only load trusted ones."""
        return persistence.load_model(cls, directory)


def _value_groups(values: pd.Series, named: list) -> np.ndarray:
    """Per row, the position in ``named`` of the value it holds (-1: none of them)."""
    held = values.astype(object)
    group = np.full(len(held), -1)
    for number, value in enumerate(named):
        group[(held == value).to_numpy()] = number
    return group


def _real_strings(tables: dict[str, pd.DataFrame]) -> set[str]:
    """Every distinct string value of every table, as given (before any protection)."""
    out: set[str] = set()
    for frame in tables.values():
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                present = frame[column].dropna()
                present = present[~present.map(lambda v: isinstance(v, (bytes, bytearray, memoryview)))]  # BLOBs
                out.update(present.astype(str).unique())  # astype first: JSON cells are dicts
    return out


def _describe(window: Window) -> str:
    return window.parent + (f" → {', '.join(window.children)}" if window.children else "")


def _fit_window(model: RelationalSynthesizer, item: tuple):
    """A task of :meth:`RelationalSynthesizer.fit`: one window's model, fitted with the numeric libraries on one
    thread wherever it runs — the marginals' optimisers land on other last digits when BLAS splits its sums
    over another number of threads, and the model must not depend on the executor."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return model._fit_window(*item)


def _sample_block(model: RelationalSynthesizer, item: tuple) -> dict:
    """A task of :meth:`RelationalSynthesizer.sample_blocks`: one block's rows, as Arrow tables."""
    return to_arrow(*model.sample_block_rows(*item))


def to_arrow(rows: dict[str, pd.DataFrame], parent_of: dict[str, np.ndarray]) -> dict:
    """A block's rows as a worker sends them back: the typed columns (numbers, flags, instants) as one Arrow
    table per table, the object columns (labels, where a rare-value marker may stand beside numbers) as
    they are, so that no value changes type on the way; the parent positions as arrays."""
    import pyarrow as pa

    out = {}
    for name, frame in rows.items():
        objects = [c for c in frame.columns if frame[c].dtype == object]
        out[name] = {"arrow": pa.Table.from_pandas(frame.drop(columns=objects), preserve_index=False),
                     "objects": {c: frame[c].to_numpy() for c in objects}, "columns": list(frame.columns)}
    return {"rows": out, "parent_of": parent_of}


def from_arrow(payload: dict) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    rows = {}
    for name, part in payload["rows"].items():
        frame = part["arrow"].to_pandas()
        for column, values in part["objects"].items():
            frame[column] = values
        rows[name] = frame[part["columns"]]
    return rows, payload["parent_of"]


def concat_blocks(blocks: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """One table per name from blocks (tables only the first block has, such as copies, stay as they are)."""
    if len(blocks) == 1:
        return blocks[0]
    names = list(blocks[0])
    out = {}
    for name in names:
        frames = [b[name] for b in blocks if name in b]
        filled = [f for f in frames if len(f)] or frames[:1]  # empty blocks would blur the column types
        out[name] = pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0].reset_index(drop=True)
    return out


def group_chunks(blocks, chunk_rows: int):
    """Runs of whole blocks of at least ``chunk_rows`` rows (the last may be smaller), concatenated."""
    if chunk_rows is not None and chunk_rows < 1:
        raise SynthbankError(f"The chunk size must be at least 1 row, got {chunk_rows}.")
    pending, count = [], 0
    for _, tables in blocks:
        pending.append(tables)
        count += sum(len(frame) for frame in tables.values())
        if count >= chunk_rows:
            yield concat_blocks(pending)
            pending, count = [], 0
    if pending:
        yield concat_blocks(pending)
