"""The relational engine with differential privacy (``RelationalSettings.dp_epsilon``).

:class:`~synthbank.dp.tables.DPTables` learns every value-bearing column of the synthesized tables along their
primary foreign keys (the tree HMA uses), with the person — a root row and everything under it — as the unit.
The rest of the engine that learns from values is switched off or replaced by something that learns nothing:

* no rules discovered on the rows (the schema file's hand-written order and after_parent rules are kept, as
  post-processing: :func:`keep_declared_rules`), no rare-value guard (the noisy threshold does that job), no category
  combinations, no point masses, no pseudonyms (repeating identifiers are faked like other PII), no binary
  lengths (binary columns are written empty), no associations, conditions (``--rebalance``/``--where``) refused;
* the person is the entity the rest of the engine uses: a table under a *lookup* (a root without personal
  columns: bank branches) is a person of its own, and its rows point at a lookup row drawn uniformly;
* a secondary foreign key: whether a row has one is a DP boolean column; which parent row it points at is drawn
  uniformly (inside the same customer where the real keys always agree, a structural fact of the schema);
  self-references and cycle-closing keys are left NULL where they may be, else drawn uniformly;
* PII is faked by Faker as always; what the faker keeps of the source is its *format* (a phone number's shape,
  an identifier's pattern), not its shares: no NULL share, no age range;
* row counts are the DP model's noisy ones.

What is taken as public, like the DDL: the schema (tables, columns, types, keys), the formats of keys, PII and
dates (separators, decimals, widths), tables the schema copies verbatim (``mode: copy``/``subset``: reference
data by the user's choice), and which foreign keys agree (a diamond). Fakes are still checked against the real
strings so that no real name is ever written, which makes the output depend on the real PII only in never
repeating it.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.dp.tables import DPTables, TableSpec
from synthbank.errors import SynthbankError
from synthbank.relational.assembly import rare_fallback
from synthbank.relational.columns import has_column, to_days
from synthbank.relational.links import DeferredLink, SecondaryLink
from synthbank.relational.pii import PiiFiller
from synthbank.relational.plan import plan_tables
from synthbank.relational.pseudonyms import Pseudonyms
from synthbank.relational.rule_keeping import RuleKeeper
from synthbank.schemas import types
from synthbank.vocabulary import RuleKind

#: The rules kept under DP when the schema file states them by hand.
KEPT_RULES = (RuleKind.ORDER, RuleKind.AFTER_PARENT)

_INTEGERS = ("integer", "bigint", "smallint")


def kind_of(column) -> str:
    """A learned column's kind in the DP model."""
    if column.sdtype == "datetime":
        return "date" if types.base_name(column.type) == "date" else "timestamp"
    if column.sdtype == "numerical":
        return "integer" if types.base_name(column.type) in _INTEGERS else "number"
    return "boolean" if column.sdtype == "boolean" else "category"


def fit(model, tables: dict[str, pd.DataFrame], settings, everything: set[str]) -> None:
    """Fit ``model`` (a :class:`~synthbank.relational.synthesizer.RelationalSynthesizer`) with DP, setting the
    attributes its sampling and saving read. ``everything``: every real string (fakes never equal one)."""
    frames = model._check_input(tables)
    schema = model.schema_
    model.schema_ = copy.copy(schema)
    # none discovered on the rows; of the schema file's, those written by hand (a found rule holds its support)
    declared = [r for r in schema.rules or [] if r.support is None and r.kind in KEPT_RULES]
    model.schema_.rules = declared if getattr(settings, "rules", "discover") != "none" else []
    dropped = len(schema.rules or []) - len(model.schema_.rules)
    if dropped:
        model.notes_.append(f"Under differential privacy {dropped} rule(s) of the schema file are not kept: only order and "
                            "after_parent rules written by hand are (a rule found on the rows tells something about them).")
    model.plans_ = plan_tables(schema, frames)
    model.windows_, model.hmas_ = [], []
    model.rare_threshold_ = 1
    positions = model._positions(frames)
    roots = model._roots()  # a table under a lookup (bank branches) is an entity of its own, as everywhere
    model.dp_lookups_ = {}  # such a table → the lookup its rows point at, drawn uniformly when sampling
    specs, data = [], {}
    for name in schema.read_order():
        plan = model.plans_.get(name)
        if plan is None:
            continue
        table = schema.tables[name]
        parent = table.foreign_keys[plan.primary_fk].parent if plan.primary_fk is not None else None
        if parent is not None and (parent not in model.plans_ or roots.get(name) == name):
            if parent in model.plans_:
                model.dp_lookups_[name] = parent
            parent = None
        columns = {c: kind_of(table.columns[c]) for c in plan.learned}
        frame = {c: frames[name][c] for c in plan.learned}
        for i in plan.categorical_fks:
            column = table.foreign_keys[i].columns[0]
            columns[column], frame[column] = "category", frames[name][column].astype(object)
        for i in plan.secondary_fks:
            if i in positions[name] and all(table.columns[c].nullable for c in table.foreign_keys[i].columns):
                columns[has_column(i)], frame[has_column(i)] = "boolean", pd.Series(positions[name][i] >= 0)
        if parent is not None:
            frame["_sb_parent"] = pd.Series(positions[name][plan.primary_fk])
        data[name] = pd.DataFrame(frame, index=frames[name].index)
        required = tuple(c for c in columns if c in table.columns and not table.columns[c].nullable)
        specs.append(TableSpec(name, columns, parent, "_sb_parent" if parent is not None else None, required))
    model.dp_ = DPTables(specs, settings.dp_epsilon, settings.dp_delta, max_rows=settings.dp_max_rows,
                         seed=seeding.int_seed(0, "dp")).fit(data)
    model.row_counts_ = {name: 0 for name in frames} | model.dp_.expected_rows()
    unlearned = [c for c in model.dp_.unlearned_ if not c.split(".", 1)[1].startswith("_sb")]
    if unlearned:
        model.notes_.append(f"At epsilon {settings.dp_epsilon:g} nothing of {', '.join(unlearned)} stood above the noise: "
                            "their values are drawn from one noisy bin or value and mean nothing (raise --dp-epsilon, or "
                            "learn from more people).")
    model.key_formats_, model.pii_, model.secondary_, model.deferred_ = {}, {}, {}, {}
    for name, frame in frames.items():
        table = schema.tables[name]
        model.key_formats_[name] = model._key_formats(name, frame)
        model.pii_[name] = public_pii(PiiFiller.learn(table, frame, everything, locale=schema.locale))
    for name, plan in model.plans_.items():
        table = schema.tables[name]
        model.secondary_[name] = {i: SecondaryLink(consistent_via=model._diamond(name, plan, i, positions))
                                  for i in plan.secondary_fks if schema.tables[table.foreign_keys[i].parent].is_synthesized}
        model.deferred_[name] = {i: DeferredLink(null_share=1.0 if all(table.columns[c].nullable for c in table.foreign_keys[i].columns)
                                                 else 0.0, fanout=[0, 1], self_reference=table.foreign_keys[i].parent == name)
                                 for i in plan.deferred_fks}
    model.rare_, model.combos_, model.binary_, model.point_masses_ = {}, {}, {}, {}
    model.pseudonyms_, model.rules_, model.associations_ = Pseudonyms(), RuleKeeper(), {}
    model.fixed_ = model._fixed_tables(frames)


def public_pii(filler: PiiFiller) -> PiiFiller:
    """The faker's settings with every share and range learned from the values dropped: formats stay."""
    for spec in filler.columns.values():
        spec.null_share, spec.min_age, spec.max_age = 0.0, None, None
    return filler


def block_rows(model, scale: float, seed: int, block: int, blocks: int):
    """One block's learned rows per table (datetimes as days, as the assembly takes them) and parents."""
    dp: DPTables = model.dp_
    roots = {s.name: model._root_rows(s.name, scale, block, blocks) for s in dp.specs if s.parent is None}
    sampled = dp.sample(seed=seeding.int_seed(seed, "dp block", block), roots=roots)
    rows, parent_of = {}, {}
    for spec in dp.specs:
        frame = sampled[spec.name]
        if spec.parent is not None:
            parent_of[spec.name] = frame.pop(spec.link).to_numpy()
        table = model.schema_.tables[spec.name]
        for column, kind in spec.columns.items():
            if kind in ("date", "timestamp"):
                frame[column] = to_days(frame[column])
            if column in spec.required and frame[column].isna().any():  # no value released at all: a neutral one
                frame[column] = frame[column].astype(object).where(frame[column].notna(), rare_fallback(table.columns[column]))
        rows[spec.name] = frame
    for name, lookup in getattr(model, "dp_lookups_", {}).items():  # a person's branch: any branch (public structure)
        rng = seeding.rng(seed, "dp lookup", name, block)
        parent_of[name] = rng.integers(0, len(rows[lookup]), len(rows[name])) if len(rows[lookup]) else np.full(len(rows[name]), -1)
    keep_declared_rules(model, rows, parent_of)
    return rows, parent_of


def keep_declared_rules(model, rows: dict[str, pd.DataFrame], parent_of: dict[str, np.ndarray]) -> None:
    """The schema file's hand-written order and after_parent rules put back into the sampled rows (post-processing
    with public facts): of two values in the wrong order the two are swapped; a value below its parent row's is
    moved onto it. A rule whose path leaves the modelled foreign keys is left to the report's rule check."""
    order = {name: i for i, name in enumerate(model.schema_.read_order())}
    for rule in sorted(model.schema_.rules or [], key=lambda r: order.get(r.table, 0)):
        frame = rows.get(rule.table)
        if frame is None or any(c not in frame for c in rule.columns[:2 if rule.kind == RuleKind.ORDER else 1]):
            continue
        if rule.kind == RuleKind.ORDER:
            low, high = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in rule.columns[:2])
            wrong = low > high
            frame.loc[wrong, rule.columns[0]], frame.loc[wrong, rule.columns[1]] = high[wrong], low[wrong]
            continue
        table, positions = rule.table, np.arange(len(frame))
        for hop in rule.path or []:
            plan = model.plans_.get(table)
            fks = model.schema_.tables[table].foreign_keys
            if plan is None or plan.primary_fk is None or ",".join(fks[plan.primary_fk].columns) != hop or table not in parent_of:
                positions = None
                break
            positions, table = parent_of[table][positions], fks[plan.primary_fk].parent
        if positions is None or table not in rows or rule.parent_column not in rows[table]:
            continue
        bound = pd.to_numeric(rows[table][rule.parent_column], errors="coerce").to_numpy(dtype=float)[positions]
        values = pd.to_numeric(frame[rule.columns[0]], errors="coerce").to_numpy(dtype=float)
        frame[rule.columns[0]] = np.where(values < bound, bound, values)


def describe(model) -> str:
    """One line: the tables under DP and the ε and δ spent."""
    spent = model.dp_.statement()
    tree = ", ".join(s.name if s.parent is None else f"{s.parent} → {s.name}" for s in model.dp_.specs)
    return f"differential privacy (ε {spent['epsilon']:.3g}, δ {spent['delta']:.2g}, per person): {tree}"


def refuse_conditions() -> None:
    raise SynthbankError("Conditions (--rebalance, --where) are not available for a model fitted with differential "
                         "privacy: they would need the exact shares it does not keep.")


