"""From sampled window rows to finished tables: keys, links, rare values, PII, SQL types.

The windows give, per learned table, rows of learned values and — for tables modelled under a parent —
the position of each row's parent. :class:`Assembly` turns one *block* of such rows into tables ready to
write:

1. copy/subset tables are taken from the model (first block only) and their links to synthesized tables
   drawn among the synthetic rows;
2. per synthesized table, in foreign-key order: learned values (datetimes back from days), foreign keys
   to lookups kept inside the kept rows, secondary foreign keys assigned (:class:`SecondaryLink`),
   parent keys copied, fresh keys generated after the keys of earlier blocks;
3. deferred foreign keys (self-references, cycles) filled within the block;
4. rare-value markers replaced, combinations of categories never seen together redrawn
   (:mod:`synthbank.relational.combos`), PII written by Faker, unlearned columns filled, values cast to the SQL
   types, rows whose primary key repeats dropped.

It holds the fitted parts (read-only) and the running state of one sampling run — rows already numbered
per table, fake values already used — so blocks sampled one after another never collide.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.protection import RARE_MARKER, RareGuard
from synthbank.relational.binary import BinaryShape
from synthbank.relational.columns import from_days, has_column, join_mass, mass_column
from synthbank.relational.combos import ComboRule, apply_rules
from synthbank.relational.frames import cast_to_schema, grid_days
from synthbank.relational.keys import KeyFormat
from synthbank.relational.links import DeferredLink, SecondaryLink
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import TablePlan
from synthbank.relational.pseudonyms import Pseudonyms
from synthbank.relational.rule_keeping import RuleKeeper
from synthbank.schemas import types
from synthbank.schemas.model import DatabaseSchema, Table
from synthbank.vocabulary import FIXED_MODES, TableMode

log = logging.getLogger(__name__)


@dataclass
class Assembly:
    schema: DatabaseSchema
    plans: dict[str, TablePlan]
    key_formats: dict[str, dict[str, KeyFormat]]
    pii: dict[str, PiiFiller]
    secondary: dict[str, dict[int, SecondaryLink]]
    deferred: dict[str, dict[int, DeferredLink]]
    rare: dict[str, dict[str, RareGuard]]
    combos: dict[str, list[ComboRule]]
    forms: dict[str, dict[str, dict]]
    fixed: dict[str, pd.DataFrame]  # copy/subset tables, PII columns removed
    key_start: int = 0
    #: per table, the numeric columns modelled with a point mass (see ``relational.columns``) and its value
    point_masses: dict[str, dict[str, float]] = field(default_factory=dict)
    #: rows already numbered per table (keys of the next block start after them)
    offsets: dict[str, int] = field(default_factory=dict)
    #: fake values already used per table and column (unique columns stay unique across blocks)
    pii_seen: dict[str, dict] = field(default_factory=dict)
    #: copy/subset tables as written by the first block, for the references of later blocks
    fixed_out: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: repeating identifiers learned as tokens, and the seed of the whole run (one token, one fake)
    pseudonyms: Pseudonyms = field(default_factory=Pseudonyms)
    run_seed: int = 0
    #: per table, the table whose rows are its entities (see ``RelationalSynthesizer._roots``)
    entity_roots: dict[str, str] = field(default_factory=dict)
    #: per table and binary column, the lengths its random bytes follow
    binary: dict[str, dict[str, BinaryShape]] = field(default_factory=dict)
    #: the pseudonyms written so far in this run (see ``Pseudonyms.reveal``)
    pseudonym_state: dict = field(default_factory=dict)
    #: the schema's rules, put back into the sampled values (see ``relational.rule_keeping``)
    rules: RuleKeeper = field(default_factory=RuleKeeper)

    def finish(self, rows: dict[str, pd.DataFrame], parent_of: dict[str, np.ndarray], scale: float, seed: int,
               block: int, mixes: dict | None = None) -> dict[str, pd.DataFrame]:
        """Finished tables of one block (copy/subset tables only in block 0). A conditioned column (``mixes``:
        table → :class:`~synthbank.relational.conditions.Mix`) keeps its values: rare-value markers become
        only values not named, and the category-combination rules never redraw it."""
        mixes = mixes or {}
        schema = self.schema
        out: dict[str, pd.DataFrame] = {}
        positions: dict[str, dict[int, np.ndarray]] = {}
        entities: dict[str, np.ndarray] = {}
        spaces: dict[str, dict[str, np.ndarray]] = {}  # learned values as the models hold them (days), for the rules
        for name in schema.read_order():
            table = schema.tables[name]
            if table.is_excluded:
                continue
            rng = seeding.rng(seed, "table", name, block)
            if table.is_fixed:
                if name not in self.fixed_out:
                    self.fixed_out[name] = self._relink_fixed(table, self._fixed_rows(name, scale, rng), out, rng)
                out[name] = self.fixed_out[name]
                continue
            mix = mixes.get(name)
            out[name], positions[name] = self._table(name, rows[name], parent_of.get(name), positions, out, rng,
                                                     seeding.int_seed(seed, "pii-keys", name, block), spaces,
                                                     fixed=mix.column if mix is not None else None)
            entities[name] = self._entities(name, len(out[name]), positions[name], entities)
        for name, links in self.deferred.items():
            for i, link in links.items():
                fk = schema.tables[name].foreign_keys[i]
                fill = link.fill(len(out[name]), len(out[fk.parent]), seeding.rng(seed, "deferred", name, i, block))
                copy_keys(out[name], fk, out[fk.parent], fill)
        finished = {}
        for name, frame in out.items():
            table = schema.tables[name]
            if table.is_fixed and block > 0:
                continue
            start = self.offsets.get(name, 0)
            self.offsets[name] = start + len(frame)
            if table.is_synthesized:
                mix = mixes.get(name)
                frame = self._restore_rare(name, frame, seeding.rng(seed, "rare", name, block), mix)
                rules = [r for r in self.combos.get(name, []) if mix is None or r.column != mix.column]
                frame = apply_rules(frame, rules, seeding.rng(seed, "combos", name, block))
                frame = self.rules.decide(name, frame, seeding.rng(seed, "decides", name, block),
                                          fixed=mix.column if mix is not None else None)
                for column in self.pseudonyms.columns(name):
                    frame[column] = self.pseudonyms.reveal(name, column, frame[column], entities[name], self.run_seed,
                                                           seeding.int_seed(seed, "pseudonyms", name, block),
                                                           self.pseudonym_state)
            frame = self.pii[name].fill(frame, seed=seeding.int_seed(seed, "pii", name, block), start=start,
                                        seen=self.pii_seen.setdefault(name, {}),
                                        skip=self.referenced_pii.get(name, set()) if table.is_synthesized else ())
            for column, shape in self.binary.get(name, {}).items():
                frame[column] = shape.sample(len(frame), seeding.rng(seed, "binary", name, column, block),
                                             table.columns[column].nullable)
            frame = cast_to_schema(fill_unlearned(table, frame), table, self.forms.get(name))
            # only once every key is written (dropping rows earlier would shift the row positions links use)
            # and cast (two sampled instants can fall on one DATE of a composite key)
            finished[name] = drop_duplicate_keys(table, frame)
        return finished

    def _entities(self, name: str, n: int, mine: dict[int, np.ndarray], entities: dict[str, np.ndarray]) -> np.ndarray:
        """Per synthetic row, its entity (the root row above it) as a number unique in the run; a row of an
        entity table, or one without a parent, is an entity of its own (negative where it has no parent)."""
        plan, tables = self.plans[name], sorted(self.schema.tables)
        own = (self.offsets.get(name, 0) + np.arange(n, dtype=np.int64)) * len(tables) + tables.index(name)
        if plan.primary_fk is None or self.entity_roots.get(name, name) == name:
            return own
        parent = self.schema.tables[name].foreign_keys[plan.primary_fk].parent
        pos, above = mine.get(plan.primary_fk), entities.get(parent)
        if pos is None or above is None or not len(above):
            return -1 - own
        return np.where(pos >= 0, above[np.maximum(pos, 0)], -1 - own)

    @functools.cached_property
    def referenced_pii(self) -> dict[str, set[str]]:
        """Per table, its PII columns that a foreign key refers to (a natural key such as an IBAN)."""
        out: dict[str, set[str]] = {}
        for _, fk in self.schema.relationships():
            pii = set(self.schema.tables[fk.parent].columns_of("pii"))
            out.setdefault(fk.parent, set()).update(c for c in fk.parent_columns if c in pii)
        return out

    def _table(self, name, frame, parent_of, positions, out, rng, key_seed, spaces, fixed=None):
        table, plan = self.schema.tables[name], self.plans[name]
        n = len(frame)
        result = pd.DataFrame(index=range(n))
        masses = self.point_masses.get(name, {})
        space = {}
        for column in plan.learned:
            values = frame[column]
            if column in masses and mass_column(column) in frame:
                values = join_mass(values, frame[mass_column(column)], masses[column])
            space[column] = values.to_numpy()
        mine: dict[int, np.ndarray] = {}
        positions[name] = mine
        if plan.primary_fk is not None:
            mine[plan.primary_fk] = parent_of
        for i in plan.categorical_fks:
            result[table.foreign_keys[i].columns[0]] = self._fixed_keys(name, i, frame, out, rng)
        for i in plan.secondary_fks:
            mine[i] = self._assign_secondary(name, i, frame, positions, out, rng)
        grids = {c: grid_days(self.forms.get(name, {}).get(c)) for c in plan.learned
                 if table.columns[c].sdtype == "datetime"}
        self.rules.restore(name, space, positions, spaces, np.random.default_rng(rng.integers(2**63)),
                           {c: g for c, g in grids.items() if g is not None}, fixed=fixed)
        spaces[name] = space
        for column in plan.learned:
            values = pd.Series(space[column])
            result[column] = (from_days(values) if table.columns[column].sdtype == "datetime" else values).to_numpy()
        for i in plan.excluded_fks:
            for column in table.foreign_keys[i].columns:
                result[column] = None
        for i, pos in mine.items():
            copy_keys(result, table.foreign_keys[i], out[table.foreign_keys[i].parent], pos)
        start = self.key_start + self.offsets.get(name, 0)
        for column, key_format in self.key_formats[name].items():
            result[column] = key_format.generate(n, rng, start=start).to_numpy()
        referenced = self.referenced_pii.get(name)
        if referenced:  # written now, in the source's format, so that the children can copy them
            filled = self.pii[name].fill(result, seed=key_seed, start=self.offsets.get(name, 0),
                                         seen=self.pii_seen.setdefault(name, {}), only=referenced)
            for column in referenced:
                result[column] = filled[column].to_numpy()
        return result, mine

    def _restore_rare(self, name: str, frame: pd.DataFrame, rng: np.random.Generator, mix=None) -> pd.DataFrame:
        """The rare-value marker in sampled categories → kept values drawn by their real shares (never a value
        a condition names: those rows were drawn as holding none of them)."""
        table = self.schema.tables[name]
        for column, guard in self.rare.get(name, {}).items():
            if column in frame:
                exclude = mix.values if mix is not None and mix.column == column else ()
                frame[column] = guard.restore(frame[column], np.random.default_rng(rng.integers(2**63)),
                                              fallback=rare_fallback(table.columns[column]), exclude=exclude)
        return frame

    def _assign_secondary(self, name, index, frame, positions, out, rng) -> np.ndarray:
        table = self.schema.tables[name]
        fk = table.foreign_keys[index]
        parent_frame = out[fk.parent]
        if fk.parent not in self.plans:  # a composite key into a copy/subset table: any kept row
            return rng.integers(0, len(parent_frame), len(frame)) if len(parent_frame) else np.full(len(frame), -1)
        link = self.secondary[name][index]
        if has_column(index) in frame:
            wanted = np.fromiter((False if pd.isna(v) else bool(v) for v in frame[has_column(index)]), bool, len(frame))
        else:
            nullable = all(table.columns[c].nullable for c in fk.columns)
            wanted = np.full(len(frame), not (nullable and link.null_share == 1.0))
        candidates = None
        if link.consistent_via is not None:
            mine = positions[name][self.plans[name].primary_fk]
            theirs = positions[fk.parent][self.plans[fk.parent].primary_fk]
            groups = pd.Series(np.arange(len(theirs))).groupby(theirs).apply(lambda s: s.to_numpy())
            empty = np.zeros(0, dtype=int)
            candidates = [groups.get(m, empty) for m in mine]
        pos = link.assign(self._learned_view(name, frame), self._learned_view(fk.parent, parent_frame), wanted,
                          candidates, rng)
        if not all(table.columns[c].nullable for c in fk.columns):  # NOT NULL: anyone rather than nobody
            missing = pos < 0
            if missing.any() and len(parent_frame):
                pos[missing] = rng.integers(0, len(parent_frame), int(missing.sum()))
        return pos

    def _learned_view(self, name, frame):
        plan = self.plans.get(name)
        return frame[[c for c in plan.learned if c in frame]] if plan else frame

    def _fixed_rows(self, name: str, scale: float, rng) -> pd.DataFrame:
        frame = self.fixed[name]
        table = self.schema.tables[name]
        if table.mode == TableMode.SUBSET and len(frame):
            n = max(1, min(len(frame), int(round(len(frame) * table.subset_fraction * scale))))
            frame = frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))]
        return frame.reset_index(drop=True)

    def _relink_fixed(self, table: Table, frame: pd.DataFrame, out, rng) -> pd.DataFrame:
        """A copied table's foreign keys to synthesized tables must point at synthetic rows: drawn at random."""
        frame = frame.copy()
        for fk in table.foreign_keys:
            parent_mode = self.schema.tables[fk.parent].mode
            if parent_mode in FIXED_MODES and fk.parent != table.name:
                continue
            present = frame[fk.columns].notna().all(axis=1).to_numpy()
            parent = out.get(fk.parent)
            if parent is None or not len(parent):
                frame[fk.columns] = None
            else:
                copy_keys(frame, fk, parent, np.where(present, rng.integers(0, len(parent), len(frame)), -1))
        return frame

    def _fixed_keys(self, name: str, index: int, frame: pd.DataFrame, out, rng) -> np.ndarray:
        """Values of a foreign key to a copy/subset table, as HMA sampled them, kept inside the kept rows."""
        fk = self.schema.tables[name].foreign_keys[index]
        column = fk.columns[0]
        kept = out[fk.parent][fk.parent_columns[0]]
        values = frame[column].to_numpy(dtype=object)
        allowed = set(kept.astype(str))
        bad = np.array([v is not None and not pd.isna(v) and str(v) not in allowed for v in values], dtype=bool)
        if bad.any() and len(kept):
            values[bad] = rng.choice(kept.to_numpy(dtype=object), size=int(bad.sum()))
        return values


def drop_duplicate_keys(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """A primary key made of foreign keys (one-to-one tables) or of learned values (a date in a composite
    key) can repeat: keep the first."""
    if table.primary_key and all(c in frame for c in table.primary_key):
        duplicated = frame.duplicated(subset=table.primary_key)
        if duplicated.any():
            log.info("%s: dropped %d rows whose primary key repeated", table.name, int(duplicated.sum()))
            return frame[~duplicated].reset_index(drop=True)
    return frame


def fill_unlearned(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
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


def rare_fallback(column):
    """What a category whose every real value was rare is written as: the marker, NULL, or 0."""
    base = types.base_name(column.type)
    if base in ("varchar", "text"):
        length = re.search(r"\((\d+)\)", column.type)
        return RARE_MARKER[: int(length.group(1))] if length else RARE_MARKER
    return None if column.nullable else 0


def copy_keys(frame: pd.DataFrame, fk, parent: pd.DataFrame, pos: np.ndarray) -> None:
    """Write into ``frame`` the key values of the parent row at each position (-1: NULL)."""
    for column, parent_column in zip(fk.columns, fk.parent_columns):
        values = parent[parent_column].to_numpy(dtype=object)[np.maximum(pos, 0)]
        frame[column] = np.where(pos >= 0, values, None)
