"""DuckDB's bulk path: rows become an Arrow table that one ``INSERT ... SELECT`` scans without a copy.

DuckDB runs ``executemany`` one row at a time; handing it an Arrow table is two orders of magnitude faster.
Each column's values (already converted as SQLAlchemy would bind them) become an Arrow array of the type
Arrow infers from them; a column Arrow cannot type (values of mixed kinds) goes as text, which DuckDB
casts to the column's type as its own ``INSERT`` would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import pyarrow as pa
import sqlalchemy as sa

from synthbank.folders import sql_identifier

#: Rows handed to DuckDB per ``INSERT`` (batches are gathered up to this many).
ARROW_ROWS = 100_000


def insert_arrow(duck, table_sql: str, columns: list[sa.Column], batches: Iterable[list[tuple]],
                 on_rows: Callable[[int], None] | None) -> int:
    """Insert ``batches`` of row tuples into ``table_sql`` (quoted) through the DuckDB connection ``duck``."""
    names = [column.name for column in columns]
    target = ", ".join(sql_identifier(name) for name in names)
    count, pending, sizes = 0, [], []

    def flush() -> None:
        if not pending:
            return
        rows = [row for batch in pending for row in batch]
        arrow = pa.table({f"c{i}": _array([row[i] for row in rows]) for i in range(len(names))})
        duck.register("_synthbank_rows", arrow)
        try:
            duck.execute(f"INSERT INTO {table_sql} ({target}) SELECT * FROM _synthbank_rows")
        finally:
            with contextlib.suppress(Exception):  # in a failed transaction: the INSERT's own error is the one to see
                duck.unregister("_synthbank_rows")
        for size in sizes:
            if on_rows:
                on_rows(size)
        pending.clear()
        sizes.clear()

    for batch in batches:
        pending.append(batch)
        sizes.append(len(batch))
        count += len(batch)
        if sum(sizes) >= ARROW_ROWS:
            flush()
    flush()
    return count


def _array(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
