"""Compiling the schema's rules into :class:`~synthbank.relational.rule_specs.TableRules`: which rules can be
kept (:func:`why_not`), what each adds to its columns (:func:`add_rule`), and the order columns are computed
in (:func:`settle_order`), where a loop of rules is broken with a note.
"""

from __future__ import annotations

from synthbank.relational.decided import Decided
from synthbank.relational.rule_specs import Bound, ColumnRules, TableRules
from synthbank.schemas.rules import Rule
from synthbank.vocabulary import RuleKind, SdType


def why_not(schema, rule: Rule, plans) -> str | None:
    """Why ``rule`` cannot be kept (a note's reason), or None."""
    plan = plans.get(rule.table)
    if plan is None:
        return f"table '{rule.table}' is not synthesized"
    missing = [c for c in rule.columns if c not in plan.learned]
    if missing:
        return f"{', '.join(missing)} is not learned"
    if rule.kind == RuleKind.AFTER_PARENT:
        name = rule.table
        for fk in rule.hops(schema.tables):
            index = schema.tables[name].foreign_keys.index(fk)
            if plans.get(name) is None or index not in [plans[name].primary_fk, *plans[name].secondary_fks]:
                return f"the foreign key {name}({', '.join(fk.columns)}) is not modelled"
            name = fk.parent
        if name not in plans or rule.parent_column not in plans[name].learned:
            return f"{rule.parent}.{rule.parent_column} is not learned"
    return None


def add_rule(tables: dict[str, TableRules], schema, rule: Rule, frames) -> None:
    """Compile one rule into ``tables`` (its table's :class:`TableRules`)."""
    table = tables.setdefault(rule.table, TableRules())
    spec = lambda c: table.columns.setdefault(c, ColumnRules())  # noqa: E731
    a = rule.columns[0]
    if rule.kind == RuleKind.DECIDES:
        table.decided.append(Decided.learn(frames[rule.table], a, rule.columns[1]))
    elif rule.kind == RuleKind.ORDER:
        b = rule.columns[1]
        if schema.tables[rule.table].columns[a].sdtype == SdType.DATETIME:
            spec(b).lower.append(Bound(a))  # the earlier date first, the later as a gap
            spec(a)
        else:
            spec(a).upper.append(Bound(b))  # the larger number first, the smaller as its share
            spec(b)
    elif rule.kind == RuleKind.AFTER_PARENT:
        name, hops, via = rule.table, [], []
        for fk in rule.hops(schema.tables):
            hops.append(schema.tables[name].foreign_keys.index(fk))
            name = fk.parent
            via.append(name)
        spec(a).lower.append(Bound(rule.parent_column, hops, via))
    elif rule.kind == RuleKind.NULL_TOGETHER:
        table.nulls.append(list(rule.columns))
    elif rule.kind == RuleKind.PRECISION:
        spec(a).decimals = rule.decimals
        spec(a).steps = sorted(rule.steps or [], reverse=True)
    elif rule.kind == RuleKind.SUM:
        spec(a).parts = list(rule.columns[1:])
        for part in rule.columns[1:]:
            spec(part).floor = 0.0


def settle_order(name: str, table: TableRules, notes: list[str]) -> None:
    """The columns in an order where every bound and part comes first; order rules between a total and
    its parts are implied by the sum and dropped, and a rule that closes a loop is left out."""
    for column, spec in table.columns.items():
        if spec.parts:  # a total is computed; its parts are not bounded by it, it is bounded by them (where a
            for part in spec.parts:  # part is NULL the sampled total stays, and must not fall below the others)
                bounded = table.columns[part].upper
                if any(not b.hops and b.column == column for b in bounded):
                    table.columns[part].upper = [b for b in bounded if b.hops or b.column != column]
                    spec.lower.append(Bound(part))
    done: list[str] = []
    pending = list(table.columns)
    while pending:
        ready = [c for c in pending if all(d in done or d not in table.columns for d in _needs(table.columns[c]))]
        if not ready:  # a loop: drop the bounds of the first pending column that close it
            column = pending[0]
            notes.append(f"The rules on {name}.{column} form a loop with others; its order rules are not kept.")
            table.columns[column].lower = [b for b in table.columns[column].lower if b.hops]
            table.columns[column].upper = [b for b in table.columns[column].upper if b.hops]
            continue
        done.extend(ready)
        pending = [c for c in pending if c not in ready]
    table.order = done


def _needs(spec: ColumnRules) -> list[str]:
    return [b.column for b in spec.lower + spec.upper if not b.hops] + list(spec.parts)
