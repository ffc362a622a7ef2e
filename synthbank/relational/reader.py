"""Reading tables from a source database into DataFrames: read-only, chunked, optionally a sample.

With ``sample_rows`` each root table (one with no parent among the tables read) contributes at most that
many random rows; children are followed by foreign key, so the sample keeps its referential integrity:
a child row is kept when each of its NOT NULL foreign keys points at a kept parent row, and a nullable
foreign key pointing at a row left out becomes NULL. Values are returned as the driver gives them;
:func:`synthbank.relational.frames.normalize` turns them into model dtypes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthbank import seeding
from synthbank.database import display_url, open_engine
from synthbank.errors import DatabaseConnectionError
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
_IN_LIST = 1_000


def read_tables(
    url: str,
    schema: DatabaseSchema,
    tables: list[str] | None = None,
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    on_rows: Callable[[str, int, int], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Read ``tables`` (default: every table whose mode is not ``exclude``) from ``url``."""
    names = tables or [t.name for t in schema.tables.values() if t.mode != "exclude"]
    order = [name for name in schema.read_order() if name in names]
    engine = open_engine(url, read_only=True)
    rng = seeding.rng(seed, "sample rows")
    frames: dict[str, pd.DataFrame] = {}
    try:
        with engine.connect() as connection:
            for name in order:
                table = schema.table(name)
                columns = list(table.columns)
                count = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                parents = [fk for fk in table.foreign_keys if fk.parent in frames and fk.parent != name]
                if sample_rows is None or (not parents and count <= sample_rows):
                    frame = _read_all(connection, name, columns, count, on_rows)
                elif not parents:
                    frame = _read_all(connection, name, columns, count, on_rows).sample(n=sample_rows, random_state=rng.integers(2**31))
                    frame = frame.sort_index().reset_index(drop=True)
                else:
                    frame = _read_all(connection, name, columns, count, on_rows)
                if sample_rows is not None and parents:
                    frame = _follow_parents(frame, table, parents, frames)
                frames[name] = frame
    except sa.exc.DBAPIError as exc:
        raise DatabaseConnectionError(f"Reading from '{display_url(url)}' failed: {str(exc.orig).splitlines()[0]}.") from None
    finally:
        engine.dispose()
    return frames


def _read_all(connection, name: str, columns: list[str], total: int, on_rows) -> pd.DataFrame:
    query = sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(name))
    result = connection.execution_options(stream_results=True).execute(query)
    chunks = []
    while rows := result.fetchmany(CHUNK_ROWS):
        chunks.append(pd.DataFrame(rows, columns=columns))
        if on_rows:
            on_rows(name, len(rows), total)
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(chunks, ignore_index=True)


def _follow_parents(frame: pd.DataFrame, table, parents, frames) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    for fk in parents:
        parent_keys = frames[fk.parent][fk.parent_columns].drop_duplicates()
        values = frame[fk.columns]
        present = values.notna().all(axis=1)
        matched = values.merge(parent_keys.set_axis(fk.columns, axis=1).assign(_hit=True), how="left", on=fk.columns)["_hit"]
        matched = matched.eq(True).to_numpy()
        outside = present.to_numpy() & ~matched
        nullable = all(table.columns[c].nullable for c in fk.columns)
        if nullable:
            frame.loc[outside, fk.columns] = None
        else:
            keep &= ~outside
    return frame[keep].reset_index(drop=True)
