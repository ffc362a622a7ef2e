"""``RelationalSynthesizer``: linked tables of any depth and width with SDV's HMA, one window at a time.

Fitting (see :mod:`synthbank.relational.plan` for how the schema is cut):

1. every table gets a surrogate integer key ``_sb_key`` (its row position) and each modelled foreign key
   a surrogate ``_sb_fk`` pointing at the parent's position — so composite and string keys, UUIDs and
   keys to non-primary unique columns all look the same to SDV;
2. PII, free-text, unsupported and key columns never reach HMA; their shapes are learned instead
   (:class:`~synthbank.relational.pii.PiiFiller`, :class:`~synthbank.relational.keys.KeyFormat`);
3. one ``HMASynthesizer`` per window is fitted through SDV's public API.

Sampling walks the windows top-down, links child windows to existing parents, writes fresh keys in the
source's format, assigns secondary and deferred foreign keys, and lets Faker write the PII.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from synthbank import __version__, seeding
from synthbank.errors import SchemaError, SynthbankError
from synthbank.protection import DEFAULT_RARE_THRESHOLD, RARE_MARKER, RareGuard, check_threshold, tame_tails
from synthbank.relational import sdv_adapter
from synthbank.relational.encoding import category_orders
from synthbank.relational.fast_hma import FastHMA
from synthbank.relational.frames import cast_to_schema, learn_forms, normalize
from synthbank.relational.keys import KeyFormat
from synthbank.relational.links import DeferredLink, SecondaryLink, match_rows
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import TablePlan, Window, plan_tables, plan_windows
from synthbank.schemas import types
from synthbank.schemas.model import DatabaseSchema, Table

log = logging.getLogger(__name__)

KEY = "_sb_key"
#: Datetimes reach SDV as days since this instant (floats): SDV would turn them into numbers anyway, and
#: its per-value datetime validation and format guessing cost more than the rest of a window's fit.
EPOCH = pd.Timestamp("1970-01-01")
#: Real diamonds must agree on at least this share of linked rows for the synthetic ones to be forced to.
DIAMOND_CONSISTENCY = 0.99
_FORMAT = "synthbank-relational/3"
#: ``fast``: HMA's mathematics vectorised over all parents (:mod:`synthbank.relational.fast_hma`);
#: ``sdv``: SDV's own ``HMASynthesizer``, one copula object per parent row (the reference).
ENGINES = ("fast", "sdv")
DEFAULT_ENGINE = "fast"


def fk_column(index: int) -> str:
    return f"_sb_fk{index}"


def has_column(index: int) -> str:
    return f"_sb_has{index}"


Progress = Callable[[str, int, int], None]


class RelationalSynthesizer:
    """Learn linked tables and sample synthetic ones with the same schema and full referential integrity.

    Parameters are only stored here; :meth:`fit` learns. ``default_distribution`` is the marginal
    distribution of each window's root table (SDV's parameter; child tables keep HMA's ``norm``).
    ``order_categories`` orders each categorical column's categories so that the copulas see their
    associations (see :mod:`synthbank.relational.encoding`). ``leaf_models`` gives tables that are
    only ever children a copula of their own over all their rows, whose values replace those of HMA's
    per-parent child models (which see a handful of rows each and lose the table's own correlations).
    ``rare_threshold`` (default: the schema's, else 5): a categorical value held by fewer entities never
    reaches the models, and numbers are clipped to bounds with at least this many rows beyond each (see
    :mod:`synthbank.protection`).
    """

    def __init__(self, schema: DatabaseSchema, *, engine: str = DEFAULT_ENGINE, default_distribution: str = "beta",
                 order_categories: bool = True, leaf_models: bool = True, rare_threshold: int | None = None,
                 verbose: bool = False):
        self.schema = schema
        self.engine = engine
        self.rare_threshold = rare_threshold
        self.leaf_models = leaf_models
        self.default_distribution = default_distribution
        self.order_categories = order_categories
        self.verbose = verbose

    # --- fitting -----------------------------------------------------------------------------------
    def fit(self, tables: dict[str, pd.DataFrame], progress: Progress | None = None) -> RelationalSynthesizer:
        if self.engine not in ENGINES:
            raise SynthbankError(f"Unknown engine {self.engine!r}: choose one of {', '.join(ENGINES)}.")
        frames = self._check_input(tables)
        schema = self.schema  # empty tables are now copied (written empty)
        self.plans_ = plan_tables(schema, frames)
        self.windows_ = plan_windows(schema, self.plans_, leaf_models=self.leaf_models)
        self.row_counts_ = {name: len(frame) for name, frame in frames.items()}
        positions = self._positions(frames)
        self.rare_threshold_ = check_threshold(self.rare_threshold if self.rare_threshold is not None
                                               else getattr(schema, "rare_threshold", DEFAULT_RARE_THRESHOLD))
        self.rare_ = self._protect_rare_values(frames, positions)

        everything = _real_strings(tables)  # in memory only: fake PII never equals any real string
        self.key_formats_: dict[str, dict[str, KeyFormat]] = {}
        self.pii_: dict[str, PiiFiller] = {}
        self.secondary_: dict[str, dict[int, SecondaryLink]] = {}
        self.deferred_: dict[str, dict[int, DeferredLink]] = {}
        for name, frame in frames.items():
            table = schema.tables[name]
            self.key_formats_[name] = {c: KeyFormat.learn(frame[c], types.base_name(table.columns[c].type))
                                       for c in self._key_columns(table)}
            self.pii_[name] = PiiFiller.learn(table, frame, everything)
        for name, plan in self.plans_.items():
            table = schema.tables[name]
            self.secondary_[name] = {
                i: SecondaryLink.learn(frames[name], frames[table.foreign_keys[i].parent], positions[name][i],
                                       self._categories(name), self._categories(table.foreign_keys[i].parent),
                                       self._diamond(name, plan, i, positions))
                for i in plan.secondary_fks if schema.tables[table.foreign_keys[i].parent].mode == "synthesize"
            }
            self.deferred_[name] = {
                i: DeferredLink.learn(positions[name][i], len(frames[table.foreign_keys[i].parent]),
                                      table.foreign_keys[i].parent == name)
                for i in plan.deferred_fks
            }
        # copied tables never keep their PII columns: Faker refills them when sampling
        self.fixed_ = {name: frames[name].drop(columns=t.columns_of("pii")) for name, t in schema.tables.items()
                       if t.mode in ("copy", "subset")}
        self.model_frames_ = {name: self._model_frame(name, frames[name], positions[name]) for name in self.plans_}
        self.hmas_ = []
        for index, window in enumerate(self.windows_):
            if progress:
                progress(f"fitting {_describe(window)}", index, len(self.windows_))
            self.hmas_.append(self._fit_window(index, window))
        if progress:
            progress("fitted", len(self.windows_), len(self.windows_))
        del self.model_frames_
        return self

    def _check_input(self, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        frames = {}
        self.forms_: dict[str, dict[str, dict]] = {}
        self.notes_: list[str] = []
        empty = []
        for name, table in self.schema.tables.items():
            if table.mode == "exclude":
                continue
            if name not in tables:
                raise SchemaError(f"No data was given for table '{name}'.")
            missing = [c for c in table.columns if c not in tables[name].columns]
            if missing:
                raise SchemaError(f"The data for table '{name}' lacks the column(s) {', '.join(missing)}.")
            if table.mode == "synthesize" and len(tables[name]) == 0:
                empty.append(name)
            self.forms_[name] = learn_forms(tables[name], table)
            frames[name] = normalize(tables[name][list(table.columns)].reset_index(drop=True), table)
        if empty:  # nothing to learn: written empty, as if the schema said mode 'copy'
            self.schema = copy.deepcopy(self.schema)
            for name in empty:
                self.schema.tables[name].mode = "copy"
                self.notes_.append(f"Table '{name}' is empty in the source; it is written empty.")
                log.warning("table %s is empty in the source; it is written empty", name)
        return frames

    def _entities(self, frames, positions) -> dict[str, np.ndarray]:
        """Per row of each learned table, the root row it belongs to (a customer and all their rows)."""
        out: dict[str, np.ndarray] = {}
        for name in self.schema.read_order():
            if name not in self.plans_:
                continue
            plan, n = self.plans_[name], len(frames[name])
            own = -1 - np.arange(n)  # rows without a parent are entities of their own
            if plan.primary_fk is None:
                out[name] = np.arange(n)
                continue
            parent = self.schema.tables[name].foreign_keys[plan.primary_fk].parent
            pos = positions[name][plan.primary_fk]
            out[name] = np.where(pos >= 0, out[parent][np.maximum(pos, 0)], own) if parent in out else own
        return out

    def _protect_rare_values(self, frames, positions) -> dict[str, dict[str, RareGuard]]:
        """Replace, in ``frames``, every categorical value held by fewer than k entities by the marker."""
        entities = self._entities(frames, positions)
        guards: dict[str, dict[str, RareGuard]] = {}
        for name, plan in self.plans_.items():
            table, guards[name] = self.schema.tables[name], {}
            for column in plan.learned:
                if table.columns[column].sdtype != "categorical":
                    continue
                guard = RareGuard.fit(frames[name][column], self.rare_threshold_, entities[name])
                frames[name][column] = guard.protect(frames[name][column])
                guards[name][column] = guard
                if guard.replaced:
                    log.info("%s.%s: %d rows held a value fewer than %d entities share; replaced before fitting",
                             name, column, guard.replaced, self.rare_threshold_)
        return guards

    def _key_columns(self, table: Table) -> list[str]:
        plan = self.plans_.get(table.name)
        return list(plan.generated) if plan else []

    def _categories(self, name: str) -> list[str]:
        plan = self.plans_.get(name)
        table = self.schema.tables[name]
        return [c for c in (plan.learned if plan else []) if table.columns[c].sdtype in ("categorical", "boolean")]

    def _positions(self, frames) -> dict[str, dict[int, np.ndarray]]:
        """For every foreign key of every table: the position of the referenced parent row (-1: none)."""
        out: dict[str, dict[int, np.ndarray]] = {}
        for name, frame in frames.items():
            table = self.schema.tables[name]
            out[name] = {}
            for i, fk in enumerate(table.foreign_keys):
                if fk.parent not in frames:
                    continue
                parent = frames[fk.parent]
                lookup = {key: pos for pos, key in enumerate(_tuples(parent, fk.parent_columns)) if key is not None}
                out[name][i] = np.array([lookup.get(key, -1) for key in _tuples(frame, fk.columns)], dtype=int)
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
        table = self.schema.tables[name]
        ancestor = table.foreign_keys[plan.primary_fk].parent
        parent = table.foreign_keys[index].parent
        parent_plan = self.plans_.get(parent)
        if parent_plan is None or parent_plan.primary_fk is None:
            return None
        if self.schema.tables[parent].foreign_keys[parent_plan.primary_fk].parent != ancestor:
            return None
        mine = positions[name][plan.primary_fk]
        theirs = positions[parent][parent_plan.primary_fk]
        linked = positions[name][index] >= 0
        if not linked.any():
            return None
        agree = np.mean(mine[linked] == theirs[positions[name][index][linked]])
        return ancestor if agree >= DIAMOND_CONSISTENCY else None

    def _model_frame(self, name: str, frame: pd.DataFrame, positions: dict[int, np.ndarray]) -> pd.DataFrame:
        plan, table = self.plans_[name], self.schema.tables[name]
        data = {KEY: np.arange(len(frame))}
        if plan.primary_fk is not None:
            data[fk_column(plan.primary_fk)] = positions[plan.primary_fk]
        for column in plan.learned:
            sdtype = table.columns[column].sdtype
            data[column] = _to_days(frame[column]) if sdtype == "datetime" else frame[column]
            if sdtype in ("numerical", "datetime"):  # no real extreme reaches a model
                data[column] = tame_tails(data[column], self.rare_threshold_, seeding.rng(0, "tails", name, column))
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
            table, columns = self.schema.tables[name], {}
            for column in self.model_frames_[name].columns:
                if column == KEY or column.startswith("_sb_fk"):
                    continue
                if column.startswith("_sb_has"):
                    columns[column] = "boolean"
                elif column in table.columns and table.columns[column].sdtype in ("numerical", "datetime", "boolean"):
                    sdtype = table.columns[column].sdtype
                    columns[column] = "numerical" if sdtype == "datetime" else sdtype
                else:
                    columns[column] = "categorical"
            out[name] = columns
        return out

    def _fit_window(self, index: int, window: Window):
        sdtypes = self._window_sdtypes(window)
        links = {child: fk_column(self.plans_[child].primary_fk) for child in window.children}
        data = {}
        for name in window.tables:
            keep = [KEY, *sdtypes[name], *([links[name]] if name in links else [])]
            data[name] = self.model_frames_[name][keep]
        orders = {name: category_orders(data[name], [c for c, t in sdtypes[name].items() if t == "categorical"],
                                        [c for c, t in sdtypes[name].items() if t == "numerical" and not c.startswith("_sb")])
                  for name in window.tables} if self.order_categories else {}
        if self.engine == "fast":
            return FastHMA(window.parent, links, sdtypes, key=KEY, root_distribution=self.default_distribution,
                           orders=orders).fit(data)
        spec = {"METADATA_SPEC_VERSION": "V1", "relationships": [], "tables": {
            name: {"primary_key": KEY, "columns": {KEY: {"sdtype": "id"}, **({links[name]: {"sdtype": "id"}} if name in links else {}),
                                                   **{c: {"sdtype": t} for c, t in sdtypes[name].items()}}}
            for name in window.tables}}
        for child, fk in links.items():
            spec["relationships"].append({"parent_table_name": window.parent, "parent_primary_key": KEY,
                                          "child_table_name": child, "child_foreign_key": fk})
        hma = sdv_adapter.fit_hma(spec, data, root=window.parent, root_distribution=self.default_distribution,
                                  orders=orders, verbose=self.verbose)
        return sdv_adapter.SdvHmaWindow(hma, window.parent, index)

    # --- sampling ----------------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
               progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        """Synthetic tables, ``scale`` times the size of the training data, deterministic for ``seed``.

        ``key_start`` offsets every generated key, so chunks sampled with different seeds and disjoint
        key ranges can be unioned without collisions.
        """
        self._check_fitted()
        if not scale > 0:
            raise SynthbankError(f"The scale must be a positive number, got {scale}.")
        rows: dict[str, pd.DataFrame] = {}
        parent_of: dict[str, np.ndarray] = {}
        adopted: set[str] = set()
        for index, window in enumerate(self.windows_):
            if progress:
                progress(f"sampling {_describe(window)}", index, len(self.windows_))
            self._sample_window(index, window, scale, seed, rows, parent_of, adopted)
        if progress:
            progress("sampled", len(self.windows_), len(self.windows_))
        return self._finish(rows, parent_of, scale, seed, key_start)

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

    def _sample_window(self, index, window, scale, seed, rows, parent_of, adopted):
        model = self.hmas_[index]
        parent = window.parent
        real_parents = self.row_counts_[parent]
        if parent not in rows:
            wanted = max(1, int(round(real_parents * scale))) if real_parents else 0
            sampled = model.sample(wanted, seed) if wanted else model.empty()
            rows[parent] = sampled[parent].reset_index(drop=True)
            key_to_pos = pd.Series(np.arange(len(rows[parent])), index=rows[parent][KEY].to_numpy())
        else:
            target = len(rows[parent])
            sampled = model.sample(target, seed) if target and real_parents else model.empty()
            match = match_rows(rows[parent], sampled[parent], self.plans_[parent].learned,
                               seeding.rng(seed, "match", index))
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

    def _finish(self, rows, parent_of, scale, seed, key_start) -> dict[str, pd.DataFrame]:
        schema = self.schema
        out: dict[str, pd.DataFrame] = {}
        positions: dict[str, dict[int, np.ndarray]] = {}
        for name in schema.read_order():
            table = schema.tables[name]
            if table.mode == "exclude":
                continue
            rng = seeding.rng(seed, "table", name)
            if table.mode in ("copy", "subset"):
                out[name] = self._relink_fixed(table, self._fixed_rows(name, scale, rng), out, rng)
                continue
            frame = rows[name]
            n = len(frame)
            plan = self.plans_[name]
            result = pd.DataFrame(index=range(n))
            for column in plan.learned:
                values = frame[column]
                result[column] = (_from_days(values) if table.columns[column].sdtype == "datetime" else values).to_numpy()
            positions[name] = {}
            if plan.primary_fk is not None:
                positions[name][plan.primary_fk] = parent_of[name]
            for i in plan.categorical_fks:
                result[table.foreign_keys[i].columns[0]] = self._fixed_keys(name, i, frame, out, rng)
            for i in plan.secondary_fks:
                positions[name][i] = self._assign_secondary(name, i, frame, positions, out, rng)
            for i in plan.excluded_fks:
                for column in table.foreign_keys[i].columns:
                    result[column] = None
            for i, pos in positions[name].items():
                _copy_keys(result, table.foreign_keys[i], out[table.foreign_keys[i].parent], pos)
            for column, key_format in self.key_formats_[name].items():
                result[column] = key_format.generate(n, rng, start=key_start).to_numpy()
            out[name] = result
        for name, links in self.deferred_.items():
            for i, link in links.items():
                fk = schema.tables[name].foreign_keys[i]
                fill = link.fill(len(out[name]), len(out[fk.parent]), seeding.rng(seed, "deferred", name, i))
                _copy_keys(out[name], fk, out[fk.parent], fill)
        for name, frame in out.items():
            frame = self._restore_rare(name, frame, seed)
            frame = self.pii_[name].fill(frame, seed=seeding.int_seed(seed, "pii", name))
            frame = cast_to_schema(self._fill_unlearned(schema.tables[name], frame), schema.tables[name],
                                   self.forms_.get(name))
            # only once every key is written (dropping rows earlier would shift the row positions links use)
            # and cast (two sampled instants can fall on one DATE of a composite key)
            out[name] = self._drop_duplicate_keys(schema.tables[name], frame)
        return out

    def _restore_rare(self, name: str, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        """The rare-value marker in sampled categories → kept values drawn by their real shares."""
        table = self.schema.tables[name]
        for column, guard in self.rare_.get(name, {}).items():
            if column in frame:
                frame[column] = guard.restore(frame[column], seeding.rng(seed, "rare", name, column),
                                              fallback=_rare_fallback(table.columns[column]))
        return frame

    def _assign_secondary(self, name, index, frame, positions, out, rng) -> np.ndarray:
        table = self.schema.tables[name]
        fk = table.foreign_keys[index]
        parent_frame = out[fk.parent]
        if fk.parent not in self.plans_:  # a composite key into a copy/subset table: any kept row
            return rng.integers(0, len(parent_frame), len(frame)) if len(parent_frame) else np.full(len(frame), -1)
        link = self.secondary_[name][index]
        if has_column(index) in frame:
            wanted = frame[has_column(index)].fillna(False).astype(bool).to_numpy()
        else:
            nullable = all(table.columns[c].nullable for c in fk.columns)
            wanted = np.full(len(frame), not (nullable and link.null_share == 1.0))
        candidates = None
        if link.consistent_via is not None:
            mine = positions[name][self.plans_[name].primary_fk]
            theirs = positions[fk.parent][self.plans_[fk.parent].primary_fk]
            groups = pd.Series(np.arange(len(theirs))).groupby(theirs).apply(lambda s: s.to_numpy())
            empty = np.zeros(0, dtype=int)
            candidates = [groups.get(m, empty) for m in mine]
        parent_rows = self._learned_view(fk.parent, parent_frame)
        pos = link.assign(self._learned_view(name, frame), parent_rows, wanted, candidates, rng)
        if not all(table.columns[c].nullable for c in fk.columns):  # NOT NULL: anyone rather than nobody
            missing = pos < 0
            if missing.any() and len(parent_frame):
                pos[missing] = rng.integers(0, len(parent_frame), int(missing.sum()))
        return pos

    def _learned_view(self, name, frame):
        plan = self.plans_.get(name)
        return frame[[c for c in plan.learned if c in frame]] if plan else frame

    def _fixed_rows(self, name: str, scale: float, rng) -> pd.DataFrame:
        frame = self.fixed_[name]
        table = self.schema.tables[name]
        if table.mode == "subset" and len(frame):
            n = max(1, min(len(frame), int(round(len(frame) * table.subset_fraction * scale))))
            frame = frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))]
        return frame.reset_index(drop=True)

    def _relink_fixed(self, table: Table, frame: pd.DataFrame, out, rng) -> pd.DataFrame:
        """A copied table's foreign keys to synthesized tables must point at synthetic rows: drawn at random."""
        frame = frame.copy()
        for fk in table.foreign_keys:
            parent_mode = self.schema.tables[fk.parent].mode
            if parent_mode in ("copy", "subset") and fk.parent != table.name:
                continue
            present = frame[fk.columns].notna().all(axis=1).to_numpy()
            parent = out.get(fk.parent)
            if parent is None or not len(parent):
                frame[fk.columns] = None
            else:
                _copy_keys(frame, fk, parent, np.where(present, rng.integers(0, len(parent), len(frame)), -1))
        return frame

    def _fixed_keys(self, name: str, index: int, frame: pd.DataFrame, out, rng) -> np.ndarray:
        """Values of a foreign key to a copy/subset table, as HMA sampled them, kept inside the kept rows."""
        fk = self.schema.tables[name].foreign_keys[index]
        column = fk.columns[0]
        kept = out[fk.parent][fk.parent_columns[0]]
        values = frame[column].to_numpy(dtype=object)
        allowed = set(kept.astype(str))
        bad = np.array([v is not None and not pd.isna(v) and str(v) not in allowed for v in values])
        if bad.any() and len(kept):
            values[bad] = rng.choice(kept.to_numpy(dtype=object), size=int(bad.sum()))
        return values

    def _drop_duplicate_keys(self, table: Table, frame: pd.DataFrame) -> pd.DataFrame:
        """A primary key made of foreign keys (one-to-one tables) or of learned values (a date in a composite
        key) can repeat: keep the first."""
        if table.primary_key and all(c in frame for c in table.primary_key):
            duplicated = frame.duplicated(subset=table.primary_key)
            if duplicated.any():
                log.info("%s: dropped %d rows whose primary key repeated", table.name, int(duplicated.sum()))
                return frame[~duplicated].reset_index(drop=True)
        return frame

    @staticmethod
    def _fill_unlearned(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
        """Text columns (written later by the text engine) and unsupported ones: NULL, or a neutral value."""
        defaults = {"json": "{}", "binary": b"", "time": "00:00:00", "array": "[]"}
        for name, column in table.columns.items():
            if name in frame:
                continue
            if column.nullable:
                frame[name] = None
            elif column.sdtype == "text":
                frame[name] = ""
            else:
                frame[name] = defaults.get(types.base_name(column.type), "")
        return frame

    # --- introspection -----------------------------------------------------------------------------
    @property
    def text_columns(self) -> dict[str, list[str]]:
        """Free-text columns per table, left for the text engine."""
        return {n: t.columns_of("text") for n, t in self.schema.tables.items() if t.columns_of("text") and t.mode != "exclude"}

    @property
    def unsupported_columns(self) -> dict[str, list[str]]:
        return {n: t.columns_of("unsupported") for n, t in self.schema.tables.items() if t.columns_of("unsupported") and t.mode != "exclude"}

    def describe_windows(self) -> list[str]:
        self._check_fitted()
        return [_describe(w) for w in self.windows_]

    def _check_fitted(self):
        if not hasattr(self, "hmas_"):
            raise SynthbankError("This synthesizer is not fitted yet: call fit() first (or load a fitted model).")

    # --- persistence -------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model: HMA windows (SDV's own ``save``, cloudpickle) and synthbank's state as JSON.

        The state holds shapes and aggregate statistics only — no training rows, no PII values — except
        the rows of tables the schema marks ``copy`` or ``subset``, which are copied verbatim by request.
        """
        self._check_fitted()
        directory = Path(directory)
        (directory / "windows").mkdir(parents=True, exist_ok=True)
        self.schema.save(directory / "schema.yaml")
        for index, model in enumerate(self.hmas_):
            sdv_adapter.save(model, directory / "windows" / f"window_{index}.pkl")
        state = {
            "format": _FORMAT,
            "engine": self.engine,
            "windows": [{"parent": w.parent, "children": w.children} for w in self.windows_],
            "plans": {name: vars(plan) for name, plan in self.plans_.items()},
            "row_counts": self.row_counts_,
            "key_formats": {t: {c: f.to_dict() for c, f in cols.items()} for t, cols in self.key_formats_.items()},
            "pii": {t: f.to_dict() for t, f in self.pii_.items()},
            "secondary": {t: {str(i): link.to_dict() for i, link in links.items()} for t, links in self.secondary_.items()},
            "deferred": {t: {str(i): link.to_dict() for i, link in links.items()} for t, links in self.deferred_.items()},
            "default_distribution": self.default_distribution,
            "order_categories": self.order_categories,
            "leaf_models": self.leaf_models,
            "forms": self.forms_,
            "notes": self.notes_,
            "rare_threshold": self.rare_threshold_,
            "rare": {t: {c: g.to_dict() for c, g in cols.items()} for t, cols in self.rare_.items()},
        }
        (directory / "relational.json").write_text(json.dumps(state, indent=1, default=str))
        for name, frame in self.fixed_.items():
            (directory / "fixed").mkdir(exist_ok=True)
            frame.to_pickle(directory / "fixed" / f"{name}.pkl")
        manifest = {"synthbank_version": __version__, "sdv_version": sdv_adapter.sdv_version(),
                    "schema_fingerprint": self.schema.fingerprint(), "format": _FORMAT}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> RelationalSynthesizer:
        """Load a model directory. It contains pickles, which run code when loaded: only load trusted ones."""
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.is_file() or not (directory / "relational.json").is_file():
            raise SynthbankError(f"'{directory}' is not a synthbank model directory (no manifest.json / relational.json).")
        manifest = json.loads(manifest_path.read_text())
        schema = DatabaseSchema.load(directory / "schema.yaml")
        if manifest.get("schema_fingerprint") != schema.fingerprint():
            raise SynthbankError(f"The model in '{directory}' does not match its schema file (fingerprint differs); refit it.")
        state = json.loads((directory / "relational.json").read_text())
        if state.get("format") != _FORMAT:
            raise SynthbankError(f"The model in '{directory}' has format {state.get('format')!r}; this synthbank reads {_FORMAT}.")
        self = cls(schema, engine=state["engine"], default_distribution=state["default_distribution"],
                   order_categories=state.get("order_categories", True), leaf_models=state.get("leaf_models", True),
                   rare_threshold=state["rare_threshold"])
        self.rare_threshold_ = state["rare_threshold"]
        self.rare_ = {t: {c: RareGuard.from_dict(g) for c, g in cols.items()} for t, cols in state["rare"].items()}
        self.windows_ = [Window(w["parent"], w["children"]) for w in state["windows"]]
        self.plans_ = {name: TablePlan(**plan) for name, plan in state["plans"].items()}
        self.row_counts_ = state["row_counts"]
        self.key_formats_ = {t: {c: KeyFormat(**f) for c, f in cols.items()} for t, cols in state["key_formats"].items()}
        self.pii_ = {t: PiiFiller.from_dict(d) for t, d in state["pii"].items()}
        self.secondary_ = {t: {int(i): SecondaryLink(**d) for i, d in links.items()} for t, links in state["secondary"].items()}
        self.deferred_ = {t: {int(i): DeferredLink(**d) for i, d in links.items()} for t, links in state["deferred"].items()}
        self.forms_ = state.get("forms", {})
        self.notes_ = state.get("notes", [])
        self.fixed_ = {p.stem: pd.read_pickle(p) for p in sorted((directory / "fixed").glob("*.pkl"))} if (directory / "fixed").is_dir() else {}
        self.hmas_ = []
        for index in range(len(self.windows_)):
            self.hmas_.append(sdv_adapter.load(directory / "windows" / f"window_{index}.pkl"))
        self.manifest_ = manifest
        return self


def _real_strings(tables: dict[str, pd.DataFrame]) -> set[str]:
    """Every distinct string value of every table, as given (before any protection)."""
    out: set[str] = set()
    for frame in tables.values():
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                out.update(frame[column].dropna().astype(str).unique())  # astype first: JSON cells are dicts
    return out


def _rare_fallback(column):
    """What a category whose every real value was rare is written as: the marker, NULL, or 0."""
    base = types.base_name(column.type)
    if base in ("varchar", "text"):
        length = re.search(r"\((\d+)\)", column.type)
        return RARE_MARKER[: int(length.group(1))] if length else RARE_MARKER
    return None if column.nullable else 0


def _copy_keys(frame: pd.DataFrame, fk, parent: pd.DataFrame, pos: np.ndarray) -> None:
    """Write into ``frame`` the key values of the parent row at each position (-1: NULL)."""
    for column, parent_column in zip(fk.columns, fk.parent_columns):
        values = parent[parent_column].to_numpy(dtype=object)[np.maximum(pos, 0)]
        frame[column] = np.where(pos >= 0, values, None)


def _to_days(values: pd.Series) -> pd.Series:
    return (pd.to_datetime(values) - EPOCH) / pd.Timedelta(days=1)


def _from_days(values: pd.Series) -> pd.Series:
    days = pd.to_numeric(values, errors="coerce")
    return (EPOCH + pd.to_timedelta(days, unit="D")).dt.round("s")


def _describe(window: Window) -> str:
    return window.parent + (f" → {', '.join(window.children)}" if window.children else "")


def _tuples(frame: pd.DataFrame, columns: list[str]):
    values = frame[columns].astype(object).where(frame[columns].notna(), None).to_numpy()
    return [tuple(None if v is None else str(v) for v in row) if all(v is not None for v in row) else None for row in values]
