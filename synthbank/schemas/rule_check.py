"""Which rows break a schema's rules (:mod:`synthbank.schemas.rules`): for tests, benchmarks and users who
want to check a database against a reviewed schema file. (The report's rule check is the evaluation's own,
which discovers its rules anew: :mod:`synthbank.evaluation`.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.key_values import label_key
from synthbank.schemas.model import DatabaseSchema
from synthbank.schemas.rule_discovery import as_numbers, on_step
from synthbank.schemas.rules import Rule
from synthbank.vocabulary import RuleKind


def broken_rows(schema: DatabaseSchema, rules: list[Rule], frames: dict[str, pd.DataFrame]) -> dict[Rule, np.ndarray]:
    """Per rule, whether each row of its table breaks it (``frames`` normalized like the engine's). A precision
    rule is broken by more decimals than it allows (its steps are shares, not a rule)."""
    return {id(rule): _broken(schema, rule, frames) for rule in rules}


def breaking_share(schema: DatabaseSchema, rules: list[Rule], frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Per table with rules, the share of its rows that break at least one."""
    per_table: dict[str, np.ndarray] = {}
    for rule in rules:
        broken = _broken(schema, rule, frames)
        per_table[rule.table] = broken if rule.table not in per_table else per_table[rule.table] | broken
    return {name: float(rows.mean()) if len(rows) else 0.0 for name, rows in per_table.items()}


def _broken(schema: DatabaseSchema, rule: Rule, frames: dict[str, pd.DataFrame]) -> np.ndarray:
    frame = frames[rule.table]
    c = rule.columns
    if rule.kind == RuleKind.DECIDES:
        pairs = pd.DataFrame({"a": frame[c[0]].map(label_key), "b": frame[c[1]].map(label_key)})
        usual = pairs[frame[c[0]].notna().to_numpy()].groupby("a")["b"].agg(lambda s: s.value_counts().index[0])
        return (frame[c[0]].notna() & (pairs["a"].map(usual) != pairs["b"])).to_numpy()  # not its value's usual one
    if rule.kind == RuleKind.ORDER:
        low, high = as_numbers(frame[c[0]]), as_numbers(frame[c[1]])
        return low > high + 1e-9 * np.abs(np.nan_to_num(high))
    if rule.kind == RuleKind.AFTER_PARENT:
        mine = as_numbers(frame[c[0]])
        theirs = as_numbers(_parent_values(schema, rule, frames))
        return theirs > mine + 1e-9 * np.abs(np.nan_to_num(mine))
    if rule.kind == RuleKind.NULL_TOGETHER:
        missing = frame[c].isna().to_numpy()
        return missing.any(axis=1) & ~missing.all(axis=1)
    if rule.kind == RuleKind.PRECISION:
        values = as_numbers(frame[c[0]])
        known = ~np.isnan(values)
        out = np.zeros(len(frame), dtype=bool)
        out[known] = ~on_step(values[known], 10.0 ** -rule.decimals)
        return out
    values = np.column_stack([as_numbers(frame[x]) for x in c])
    gap = np.abs(values[:, 0] - values[:, 1:].sum(axis=1))
    return gap > 0.5 * 10.0 ** -2 * len(c) + 1e-9 * np.abs(np.nan_to_num(values[:, 0]))


def _parent_values(schema: DatabaseSchema, rule: Rule, frames: dict[str, pd.DataFrame]) -> pd.Series:
    """The ``parent_column`` of the row each row reaches through ``path`` (NaN where none)."""
    current = frames[rule.table].reset_index(drop=True)
    for fk in rule.hops(schema.tables):
        parent = frames[fk.parent]
        keep = list(dict.fromkeys([*fk.parent_columns, *([rule.parent_column] if fk.parent == rule.parent else []),
                                   *[c for nxt in rule.hops(schema.tables) for c in nxt.columns if c in parent]]))
        parent = parent[keep].drop_duplicates(fk.parent_columns).rename(columns=dict(zip(fk.parent_columns, fk.columns)))
        current = current[fk.columns].merge(parent, on=fk.columns, how="left")
    return current[rule.parent_column]
