"""Rules between whole cells of a row: NULL-together groups (:func:`null_together`) and the order decided
categories are set in (:func:`by_dependency`, :func:`redraw_upward`), used by
:class:`~synthbank.relational.rule_keeping.RuleKeeper` when it restores and decides a sampled table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def null_together(space: dict, group: list[str], rng) -> None:
    """Every column of ``group`` NULL where the first is; a set cell a NULL one must become takes a value
    another row of the block drew for that column (else the row's group is NULL)."""
    present = [c for c in group if c in space]
    if len(present) < 2:
        return
    lead = pd.isna(pd.Series(space[present[0]])).to_numpy()
    for column in present[1:]:
        values = pd.Series(space[column]).astype(object)
        missing = values.isna().to_numpy()
        donors = np.flatnonzero(~missing & ~lead)
        fill = ~lead & missing
        out = values.to_numpy(dtype=object).copy()
        out[lead] = None
        if fill.any():
            if len(donors):
                out[fill] = out[rng.choice(donors, int(fill.sum()))]
            else:
                lead = lead | fill
        space[column] = pd.Series(out).infer_objects().to_numpy()
    for column in present:  # rows made NULL by a column without donors
        out = pd.Series(space[column]).astype(object).to_numpy()
        out[lead] = None
        space[column] = pd.Series(out).infer_objects().to_numpy()


def redraw_upward(rules: list, column: str, frame: pd.DataFrame, rng, seen: set) -> None:
    """After ``column`` (a determinant) was redrawn: the rules that decide it redraw their determinants to
    agree, and so on up (a decides b decides c, c held by a condition)."""
    if column in seen:
        return
    seen.add(column)
    for rule in rules:
        if rule.column == column:
            rule.apply(frame, rng, keep=True)
            redraw_upward(rules, rule.determinant, frame, rng, seen)


def by_dependency(rules: list) -> list:
    """Decides rules with a determinant's own deciders first (a decides b before b decides c)."""
    out, pending = [], list(rules)
    while pending:
        ready = [r for r in pending if not any(o.column == r.determinant for o in pending if o is not r)]
        ready = ready or pending[:1]  # a loop (b and c decide each other): in the given order
        out += ready
        pending = [r for r in pending if all(r is not x for x in ready)]
    return out
