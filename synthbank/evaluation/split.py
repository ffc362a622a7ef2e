"""Splitting real tables in two along the foreign keys: a row goes where its parent went."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema


def split_tables(schema: DatabaseSchema, tables: dict[str, pd.DataFrame], share: float = 0.5,
                 seed: int = 0) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Two disjoint parts: root rows drawn at random (``share`` in the first), descendants follow."""
    # A stream of its own: a plain default_rng(seed) would repeat the draws of data generated with the same
    # seed (the demo bank draws employment status from default_rng(0).random() first).
    rng = seeding.rng(seed, "evaluation", "split", share)
    first: dict[str, np.ndarray] = {}
    for name in schema.read_order():
        frame = tables[name]
        fks = [fk for fk in schema.tables[name].foreign_keys if fk.parent != name and fk.parent in first]
        side = rng.random(len(frame)) < share
        if fks:
            fk = fks[0]
            parent = tables[fk.parent]
            parent_side = pd.Series(first[fk.parent], index=normalized_keys(row_keys(parent, fk.parent_columns)).reindex(parent.index).to_numpy())
            parent_side = parent_side[~parent_side.index.duplicated()]
            keys = normalized_keys(row_keys(frame, fk.columns)).reindex(frame.index)
            inherited = keys.map(parent_side).to_numpy()
            has_parent = pd.notna(inherited)
            side = np.where(has_parent, inherited.astype(object), side).astype(bool)
        first[name] = side
    a = {n: tables[n][first[n]].reset_index(drop=True) for n in first}
    b = {n: tables[n][~first[n]].reset_index(drop=True) for n in first}
    return a, b
