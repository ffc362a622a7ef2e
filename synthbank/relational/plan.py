"""How a schema is cut into pieces SDV's HMA accepts.

SDV 2.0's ``HMASynthesizer`` refuses more than 5 tables or a depth above 2. synthbank fits one HMA per
*window*: a parent table and up to four of its children (depth 2). Each table that has parents is modelled
under one of them, its *primary* foreign key (a NOT NULL one with no NULLs in the data, the deepest parent
first); every other foreign key is *secondary* and assigned after sampling. Windows are sampled top-down;
a window whose parent was already sampled under its own parent is linked to those rows by matching
(see :mod:`synthbank.relational.links`).

Foreign keys to ``copy``/``subset`` tables (lookups) are learned as categories; self-references and
cycle-closing keys are *deferred* and filled after sampling; keys to ``exclude`` tables become NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from synthbank.errors import SchemaError
from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import FIXED_MODES, LEARNED_SDTYPES, TableMode

#: At most this many children per window: HMA accepts 5 tables.
MAX_CHILDREN_PER_WINDOW = 4


@dataclass
class TablePlan:
    name: str
    primary_fk: int | None = None
    secondary_fks: list[int] = field(default_factory=list)
    categorical_fks: list[int] = field(default_factory=list)
    deferred_fks: list[int] = field(default_factory=list)
    excluded_fks: list[int] = field(default_factory=list)
    learned: list[str] = field(default_factory=list)  # columns HMA learns
    generated: list[str] = field(default_factory=list)  # keys and identifiers written in the source format


@dataclass
class Window:
    parent: str
    children: list[str]

    @property
    def tables(self) -> list[str]:
        return [self.parent, *self.children]


def depth(schema: DatabaseSchema, name: str, _seen: frozenset = frozenset()) -> int:
    parents = [p for p in schema.parents(name) if p not in _seen]
    return 1 + max((depth(schema, p, _seen | {name}) for p in parents), default=-1)


def plan_tables(schema: DatabaseSchema, frames: dict[str, pd.DataFrame]) -> dict[str, TablePlan]:
    deferred = schema.deferred_edges()
    plans = {}
    for table in schema.tables.values():
        if not table.is_synthesized:
            continue
        plan = TablePlan(table.name)
        candidates = []
        for i, fk in enumerate(table.foreign_keys):
            parent_mode = schema.tables[fk.parent].mode
            if (table.name, i) in deferred:
                plan.deferred_fks.append(i)
            elif parent_mode == TableMode.EXCLUDE:
                if not all(table.columns[c].nullable for c in fk.columns):
                    raise SchemaError(
                        f"Table '{fk.parent}' is excluded, but {table.name}({', '.join(fk.columns)}) references it and is NOT NULL; "
                        f"exclude '{table.name}' too or copy '{fk.parent}'."
                    )
                plan.excluded_fks.append(i)
            elif parent_mode in FIXED_MODES:
                # a key into a lookup is learned as a category, unless it is composite or personal (an IBAN
                # Faker refills in the copy): then the row points at any kept row, whose value it copies
                personal = any(schema.tables[fk.parent].columns[c].sdtype == "pii" for c in fk.parent_columns)
                (plan.secondary_fks if fk.is_composite or personal else plan.categorical_fks).append(i)
            else:
                candidates.append(i)
        frame = frames[table.name]
        complete = [i for i in candidates if len(frame) and frame[table.foreign_keys[i].columns].notna().all().all()]
        if complete:
            plan.primary_fk = max(complete, key=lambda i: (depth(schema, table.foreign_keys[i].parent), -i))
        plan.secondary_fks += [i for i in candidates if i != plan.primary_fk]
        plan.secondary_fks.sort()

        fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
        categorical_fk_columns = {table.foreign_keys[i].columns[0] for i in plan.categorical_fks}
        unique_columns = {u[0] for u in table.unique if len(u) == 1}
        # A data column inside a composite key with foreign keys (salaries(emp_no, from_date), titles(emp_no,
        # title, from_date)) is learned, not generated; rows whose key then repeats are dropped after sampling.
        composite_data = set(table.primary_key) - fk_columns if len(table.primary_key) > 1 and set(table.primary_key) & fk_columns else set()
        for name, column in table.columns.items():
            if name in categorical_fk_columns:
                continue
            if name in fk_columns:
                continue
            if name in composite_data and column.sdtype in LEARNED_SDTYPES:
                plan.learned.append(name)
                continue
            if name in table.primary_key or column.sdtype == "id" or (column.unique and column.sdtype not in ("pii", "text")) \
                    or name in unique_columns and column.sdtype not in ("pii", "text"):
                plan.generated.append(name)
            elif column.sdtype in LEARNED_SDTYPES:
                plan.learned.append(name)
        plans[table.name] = plan
    return plans


def plan_windows(schema: DatabaseSchema, plans: dict[str, TablePlan], *, leaf_models: bool = True) -> list[Window]:
    """Windows in sampling order. With ``leaf_models`` a table modelled only as a child (a leaf) also gets
    a window of its own, where one copula sees all its rows; its values then replace those of HMA's
    per-parent child models (see ``RelationalSynthesizer``)."""
    children: dict[str, list[str]] = {name: [] for name in plans}
    for plan in plans.values():
        if plan.primary_fk is not None:
            children[schema.tables[plan.name].foreign_keys[plan.primary_fk].parent].append(plan.name)
    windows = []
    for name in schema.read_order():
        if name not in plans:
            continue
        kids = sorted(children[name])
        if kids:
            for start in range(0, len(kids), MAX_CHILDREN_PER_WINDOW):
                windows.append(Window(name, kids[start:start + MAX_CHILDREN_PER_WINDOW]))
        elif plans[name].primary_fk is None or leaf_models:
            windows.append(Window(name, []))
    return windows
