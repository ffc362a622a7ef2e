"""The frames the privacy attacks read: a table's learned columns as numbers and labels, and the root entity's
flattened view (a customer with a summary of their loans, accounts…).

Keys, faked personal data and texts are left out: keys are new in the synthetic data and fakes are drawn
without looking at the real values, so neither can carry a person across. Dates become seconds since 1970
(the attacks compare numbers), everything else that is not a number becomes text, NULL staying NULL.
"""

from __future__ import annotations

import pandas as pd

from synthbank import seeding
from synthbank.evaluation.fidelity import as_numbers, learned_columns
from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema


def table_frame(schema: DatabaseSchema, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``table``'s learned columns of ``frame``: numbers as float, the rest as text (NULL kept)."""
    out = {}
    for column in learned_columns(schema, table):
        numbers = as_numbers(frame[column], schema.tables[table].columns[column].sdtype)
        # labels stay objects even where a frame holds none (all NULL): the attacks need the same types on all sides
        out[column] = numbers.astype(float) if numbers is not None else frame[column].astype(object).where(frame[column].notna()).map(
            lambda v: v if v is None or isinstance(v, float) else str(v)).astype(object)
    return pd.DataFrame(out, index=frame.index)


def roots(schema: DatabaseSchema) -> list[str]:
    """Tables without a parent that have children: the entities a person is (users, customers)."""
    return [n for n in schema.read_order() if not schema.parents(n) and schema.children(n)]


def flattened(schema: DatabaseSchema, root: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per ``root`` row: its learned columns, then per child table the number of its rows there
    (``<child>.rows``) and the mean of each numeric learned column (``<child>.mean.<column>``)."""
    frame = tables[root]
    out = table_frame(schema, root, frame)
    key_columns = schema.tables[root].primary_key
    if not key_columns:
        return out
    own = normalized_keys(row_keys(frame, key_columns)).reindex(frame.index)
    for child in schema.children(root):
        fk = next(fk for fk in schema.tables[child].foreign_keys if fk.parent == root)
        if fk.parent_columns != key_columns:
            continue
        rows = tables[child]
        keys = normalized_keys(row_keys(rows, fk.columns))
        counts = keys.value_counts()
        out[f"{child}.rows"] = own.map(counts).fillna(0).astype(float).to_numpy()
        numbers = table_frame(schema, child, rows.loc[keys.index]).select_dtypes("number")
        if numbers.shape[1]:
            means = numbers.groupby(keys.to_numpy()).mean()
            for column in means.columns:
                out[f"{child}.mean.{column}"] = own.map(means[column]).astype(float).to_numpy()
    return out


def capped(frame: pd.DataFrame, limit: int, seed: int, label: str) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    rng = seeding.rng(seed, "evaluation", "attack cap", label)
    return frame.iloc[rng.choice(len(frame), limit, replace=False)].reset_index(drop=True)
