"""Writing tables into a target database: same DDL, FK order, one transaction, nothing half-written.

SQLite and PostgreSQL run DDL inside the transaction, so any error rolls everything back. MariaDB/MySQL
commit DDL implicitly; there synthbank drops the tables it created when an insert fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthbank.database import display_url, open_engine
from synthbank.errors import SynthbankError, TargetNotEmptyError
from synthbank.schemas.ddl import build_metadata
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000


def write_tables(
    url: str,
    schema: DatabaseSchema,
    tables: Mapping[str, pd.DataFrame],
    *,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_rows: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Create ``schema``'s tables in ``url`` and insert ``tables`` in foreign-key order.

    Refuses a target that already has any of these tables unless ``replace`` is true. ``on_rows(table,
    n, total)`` is called after each inserted batch of ``n`` rows (for progress bars). Returns rows written per table.
    """
    engine = open_engine(url, read_only=False)
    _make_sqlite_ddl_transactional(engine)
    names = [name for name in schema.topological_order() if name in tables]
    metadata = build_metadata(schema, names)
    backend = engine.url.get_backend_name()
    try:
        existing = _existing_tables(engine, names, replace)
        created: list[sa.Table] = []
        try:
            with engine.begin() as connection:
                if existing:
                    _drop_existing(connection, existing)
                metadata.create_all(connection)
                created = [metadata.tables[name] for name in names]
                counts = {}
                for name in names:
                    counts[name] = _insert(connection, metadata.tables[name], tables[name], batch_size, on_rows)
            return counts
        except sa.exc.DBAPIError as exc:
            if backend in {"mysql", "mariadb"} and created:
                with engine.begin() as connection:
                    metadata.drop_all(connection, tables=created, checkfirst=True)
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise SynthbankError(f"Writing to '{display_url(str(engine.url))}' failed and was rolled back: {message}.") from None
    finally:
        engine.dispose()


def check_target(url: str, names: list[str], *, replace: bool = False) -> None:
    """Fail early (before any long work) if the target is unreachable or already has these tables."""
    engine = open_engine(url, read_only=False)
    try:
        _existing_tables(engine, names, replace)
    finally:
        engine.dispose()


def _existing_tables(engine: sa.Engine, names: list[str], replace: bool) -> set[str]:
    existing = set(sa.inspect(engine).get_table_names()) & set(names)
    if existing and not replace:
        raise TargetNotEmptyError(
            f"The target '{display_url(str(engine.url))}' already has the table(s) {', '.join(sorted(existing))}; "
            "use --replace (replace=True) to overwrite them."
        )
    return existing


def _insert(connection, table: sa.Table, frame: pd.DataFrame, batch_size: int, on_rows) -> int:
    columns = [c.name for c in table.columns if c.name in frame.columns]
    records = to_records(frame[columns])
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        connection.execute(table.insert(), batch)
        if on_rows:
            on_rows(table.name, len(batch), len(records))
    return len(records)


def to_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values, with every missing value as ``None``."""
    clean = frame.astype(object).where(frame.notna(), None)
    records = clean.to_dict("records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, np.generic):
                record[key] = value.item()
            elif isinstance(value, pd.Timestamp):
                record[key] = value.to_pydatetime()
    return records


def _drop_existing(connection, names: set[str]) -> None:
    """Drop existing target tables (children first) as reflected, including their own foreign keys."""
    reflected = sa.MetaData()
    reflected.reflect(connection, only=sorted(names))
    reflected.drop_all(connection)


def _make_sqlite_ddl_transactional(engine: sa.Engine) -> None:
    """Let SQLite run CREATE/DROP inside the same transaction as the inserts (SQLAlchemy's recipe)."""
    if engine.url.get_backend_name() != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    engine.dispose()  # connections opened by the health check predate the listeners
