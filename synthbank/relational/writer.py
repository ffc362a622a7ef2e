"""Writing tables into a target database: same DDL, FK order, one transaction, nothing half-written.

SQLite and PostgreSQL run DDL inside the transaction, so any error rolls everything back. MariaDB/MySQL
commit DDL implicitly; there synthbank drops the tables it created when an insert fails.

Foreign keys that close a cycle (and self-references) are inserted as NULL and set with UPDATE once every
row exists. Serial/identity sequences are moved past the inserted keys (PostgreSQL), and a final check
counts orphan foreign keys, duplicate unique values and NULLs in NOT NULL columns in the written tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthbank.database import display_url, normalize_url, open_engine, sqlite_path
from synthbank.errors import DatabaseConnectionError, SynthbankError, TargetNotEmptyError
from synthbank.schemas.ddl import build_metadata
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000


@dataclass
class TableCheck:
    rows: int
    orphan_fks: int = 0
    duplicate_unique: int = 0
    null_violations: int = 0

    @property
    def ok(self) -> bool:
        return not (self.orphan_fks or self.duplicate_unique or self.null_violations)


@dataclass
class WriteReport:
    """Rows written per table and what the final validation found in the target."""

    tables: dict[str, TableCheck] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.tables.values())

    @property
    def rows(self) -> dict[str, int]:
        return {name: check.rows for name, check in self.tables.items()}


def write_tables(
    url: str,
    schema: DatabaseSchema,
    tables: Mapping[str, pd.DataFrame],
    *,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_rows: Callable[[str, int, int], None] | None = None,
) -> WriteReport:
    """Create ``schema``'s tables in ``url`` and insert ``tables`` in foreign-key order.

    Refuses a target that already has any of these tables unless ``replace`` is true. ``on_rows(table,
    n, total)`` is called after each inserted batch of ``n`` rows (for progress bars).
    """
    if batch_size < 1:
        raise SynthbankError(f"The batch size must be at least 1, got {batch_size}.")
    new_file = sqlite_path(normalize_url(url))
    new_file = new_file if new_file is not None and not new_file.exists() else None
    try:
        return _write(url, schema, tables, replace, batch_size, on_rows)
    except BaseException:
        if new_file is not None:  # nothing half-written: a SQLite file we created goes away again
            new_file.unlink(missing_ok=True)
        raise


def _write(url, schema, tables, replace, batch_size, on_rows) -> WriteReport:
    engine = open_engine(url, read_only=False)
    _make_sqlite_ddl_transactional(engine)
    names = [name for name in schema.read_order() if name in tables]
    deferred = [(t, i) for t, i in sorted(schema.deferred_edges()) if t in tables and schema.tables[t].foreign_keys[i].parent in tables]
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
                report = WriteReport()
                for name in names:
                    held_back = [c for t, i in deferred if t == name for c in schema.tables[t].foreign_keys[i].columns]
                    rows = _insert(connection, metadata.tables[name], tables[name], held_back, batch_size, on_rows)
                    report.tables[name] = TableCheck(rows)
                for name, index in deferred:
                    _update_deferred(connection, schema, metadata.tables[name], tables[name], index, batch_size)
                if backend == "postgresql":
                    _reset_sequences(connection, schema, names)
                _validate(connection, schema, metadata, names, report)
            return report
        except sa.exc.StatementError as exc:  # DBAPIError and errors binding a value
            if backend in {"mysql", "mariadb"} and created:
                with engine.begin() as connection:
                    metadata.drop_all(connection, tables=created, checkfirst=True)
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
            raise SynthbankError(f"Writing to '{display_url(str(engine.url))}' failed and was rolled back: {message}.") from None
    finally:
        engine.dispose()


def check_target(url: str, names: list[str], *, replace: bool = False) -> None:
    """Fail early (before any long work) if the target is unreachable or already has these tables."""
    path = sqlite_path(normalize_url(url))
    if path is not None and not path.exists():  # a new SQLite file: only its folder must exist
        if not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the SQLite database does not exist.")
        return
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


def _insert(connection, table: sa.Table, frame: pd.DataFrame, held_back: list[str], batch_size: int, on_rows) -> int:
    columns = [c.name for c in table.columns if c.name in frame.columns and c.name not in held_back]
    records = to_records(frame[columns])
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        connection.execute(table.insert(), batch)
        if on_rows:
            on_rows(table.name, len(batch), len(records))
    return len(records)


def _update_deferred(connection, schema, table: sa.Table, frame: pd.DataFrame, index: int, batch_size: int) -> None:
    spec = schema.tables[table.name]
    fk = spec.foreign_keys[index]
    if not spec.primary_key:
        raise SynthbankError(f"Table '{table.name}' has a self-referencing or cyclic foreign key but no primary key to update it by.")
    rows = frame.dropna(subset=fk.columns)
    statement = table.update().where(*[table.c[c] == sa.bindparam(f"pk_{c}") for c in spec.primary_key]).values(
        {c: sa.bindparam(f"fk_{c}") for c in fk.columns})
    renamed = pd.concat([rows[spec.primary_key].add_prefix("pk_"), rows[fk.columns].add_prefix("fk_")], axis=1)
    records = to_records(renamed)
    for start in range(0, len(records), batch_size):
        connection.execute(statement, records[start:start + batch_size])


def _reset_sequences(connection, schema, names) -> None:
    for name in names:
        for column in schema.tables[name].columns.values():
            if column.identity:
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE((SELECT MAX({_quote(connection, column.name)}) "
                    f"FROM {_quote(connection, name)}), 0) + 1, false)"), {"t": name, "c": column.name})


def _quote(connection, identifier: str) -> str:
    return connection.dialect.identifier_preparer.quote(identifier)


def _validate(connection, schema: DatabaseSchema, metadata: sa.MetaData, names: list[str], report: WriteReport) -> None:
    """Count orphans, duplicates and NULL violations in the written tables (should all be zero)."""
    for name in names:
        table, spec, check = metadata.tables[name], schema.tables[name], report.tables[name]
        for fk in spec.foreign_keys:
            if fk.parent not in metadata.tables:
                continue
            parent = metadata.tables[fk.parent].alias("p")
            condition = sa.and_(*[table.c[c] == parent.c[p] for c, p in zip(fk.columns, fk.parent_columns)])
            orphans = sa.select(sa.func.count()).select_from(table.outerjoin(parent, condition)).where(
                sa.and_(*[table.c[c].is_not(None) for c in fk.columns]), parent.c[fk.parent_columns[0]].is_(None))
            check.orphan_fks += connection.execute(orphans).scalar_one()
        keys = [spec.primary_key] if spec.primary_key else []
        for unique in keys + spec.unique:
            grouped = sa.select(*[table.c[c] for c in unique]).where(
                sa.and_(*[table.c[c].is_not(None) for c in unique])).group_by(*[table.c[c] for c in unique]).having(
                sa.func.count() > 1).subquery()
            check.duplicate_unique += connection.execute(sa.select(sa.func.count()).select_from(grouped)).scalar_one()
        for column in spec.columns.values():
            if not column.nullable:
                nulls = sa.select(sa.func.count()).select_from(table).where(table.c[column.name].is_(None))
                check.null_violations += connection.execute(nulls).scalar_one()


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
