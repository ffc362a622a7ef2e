"""Writing tables into a target database: same DDL, FK order, one transaction, nothing half-written.

SQLite and PostgreSQL run DDL inside the transaction, so any error rolls everything back (a new SQLite
file is written under a hidden name and renamed into place once committed). MariaDB/MySQL commit DDL
implicitly; there synthbank writes InnoDB tables under temporary names and swaps them in with one
``RENAME TABLE`` once they are complete and checked, so ``--replace`` keeps the old tables until then.

Foreign keys that close a cycle (and self-references) are inserted as NULL and set with UPDATE once every
row exists. Serial/identity sequences are moved past the inserted keys (PostgreSQL), and a final check
counts orphan foreign keys, duplicate unique values and NULLs in NOT NULL columns in the written tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from sqlalchemy.engine import URL

from synthbank.database import display_url, mask_passwords, normalize_url, open_engine, refuse_same_database, sqlite_path
from synthbank.errors import DatabaseConnectionError, SynthbankError, TargetNotEmptyError
from synthbank.files import process_alive
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
    source_url: str | None = None,
) -> WriteReport:
    """Create ``schema``'s tables in ``url`` and insert ``tables`` in foreign-key order.

    Refuses a target that already has any of these tables unless ``replace`` is true, and the database
    ``source_url`` (the one the data was learned from) itself. ``on_rows(table, n, total)`` is called after
    each inserted batch of ``n`` rows (for progress bars). When the final integrity check finds orphans,
    duplicate keys or NULLs in NOT NULL columns, nothing is written and a :class:`SynthbankError` says so.
    """
    if batch_size < 1:
        raise SynthbankError(f"The batch size must be at least 1, got {batch_size}.")
    url = normalize_url(url)
    if source_url is not None:
        refuse_same_database(source_url, url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return _write_new_sqlite(path, schema, tables, batch_size, on_rows)
    return _write(url, schema, tables, replace, batch_size, on_rows, display_url(url))


def _write_new_sqlite(path: Path, schema, tables, batch_size, on_rows) -> WriteReport:
    """A new SQLite file is written under a hidden name beside it and renamed into place once committed,
    so no failure, Ctrl-C or kill leaves a half-written or empty file under the target's name."""
    if not path.parent.is_dir():
        raise DatabaseConnectionError(f"The folder '{path.parent}' for the SQLite database does not exist.")
    _remove_stale_partials(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        report = _write(URL.create("sqlite", database=str(partial)).render_as_string(hide_password=False), schema, tables,
                        False, batch_size, on_rows, str(path))
        if path.exists():
            raise SynthbankError(f"The SQLite file '{path}' appeared while synthbank was writing it; nothing was written over it.")
        os.replace(partial, path)
        return report
    finally:
        for leftover in (partial, *_sqlite_sidecars(partial)):
            leftover.unlink(missing_ok=True)


def _sqlite_sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm")]


def _remove_stale_partials(path: Path) -> None:
    """Hidden partial files of synthbank processes that were killed (kill -9) while writing ``path``."""
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        match = re.fullmatch(r"partial-(\d+)(-journal|-wal|-shm)?", partial.name[len(path.name) + 2:])
        if match and not process_alive(int(match.group(1))):
            partial.unlink(missing_ok=True)


    return True


def _write(url, schema, tables, replace, batch_size, on_rows, shown) -> WriteReport:
    engine = open_engine(url, read_only=False)
    _make_sqlite_ddl_transactional(engine)
    names = [name for name in schema.read_order() if name in tables]
    deferred = [(t, i) for t, i in sorted(schema.deferred_edges()) if t in tables and schema.tables[t].foreign_keys[i].parent in tables]
    backend = engine.url.get_backend_name()
    try:
        existing = _existing_tables(engine, names, replace, shown)
        if backend in {"mysql", "mariadb"}:
            return _write_mysql(engine, schema, tables, names, deferred, existing, batch_size, on_rows, shown)
        metadata = build_metadata(schema, names)
        try:
            with engine.begin() as connection:  # SQLite and PostgreSQL: DDL and rows in one transaction
                if existing:
                    _drop_existing(connection, existing)
                metadata.create_all(connection)
                report = _fill(connection, schema, metadata, tables, names, deferred, batch_size, on_rows, backend)
                _refuse_failed_check(report, shown)  # raising here rolls everything back
            return report
        except sa.exc.StatementError as exc:  # DBAPIError and errors binding a value
            raise SynthbankError(f"Writing to '{shown}' failed and was rolled back: {_statement_message(exc)}.") from None
    finally:
        engine.dispose()


def _fill(connection, schema, metadata, tables, names, deferred, batch_size, on_rows, backend, table_names=None) -> WriteReport:
    """Insert the rows, set the deferred foreign keys and sequences, and check the result."""
    table_names = table_names or {name: name for name in names}
    report = WriteReport()
    for name in names:
        held_back = [c for t, i in deferred if t == name for c in schema.tables[t].foreign_keys[i].columns]
        table = metadata.tables[table_names[name]]
        progress = (lambda _t, n, total, name=name: on_rows(name, n, total)) if on_rows else None
        rows = _insert(connection, table, tables[name], held_back, batch_size, progress)
        report.tables[name] = TableCheck(rows)
    for name, index in deferred:
        _update_deferred(connection, schema, metadata.tables[table_names[name]], tables[name], index, batch_size, name)
    if backend == "postgresql":
        _reset_sequences(connection, schema, names)
    _validate(connection, schema, metadata, names, report, table_names)
    return report


def _refuse_failed_check(report: WriteReport, shown: str) -> None:
    if report.ok:
        return
    problems = []
    for name, check in report.tables.items():
        found = [f"{n} {label}" for n, label in ((check.orphan_fks, "orphan foreign keys"),
                                                 (check.duplicate_unique, "duplicate keys"),
                                                 (check.null_violations, "NULLs in NOT NULL columns")) if n]
        if found:
            problems.append(f"{name}: {', '.join(found)}")
    raise SynthbankError(f"The integrity check of the tables written to '{shown}' failed ({'; '.join(problems)}), "
                         "so nothing was written.")


def _statement_message(exc: sa.exc.StatementError) -> str:
    text = str(exc.orig).strip() if exc.orig is not None else str(exc).strip()
    return mask_passwords((text.splitlines() or [exc.__class__.__name__])[0]).rstrip(".")


# --- MariaDB/MySQL: DDL commits implicitly, so new tables are built under temporary names -------------
_NEW, _OLD = "_sbnew_", "_sbold_"


def _temporary_name(prefix: str, name: str) -> str:
    candidate = prefix + name
    return candidate if len(candidate) <= 64 else prefix + hashlib.sha1(name.encode()).hexdigest()[:16]


def _write_mysql(engine, schema, tables, names, deferred, existing, batch_size, on_rows, shown) -> WriteReport:
    """Write every table under a temporary name, check it, then swap all of them in with one atomic
    ``RENAME TABLE`` (the old tables renamed aside in the same statement and dropped afterwards).

    Until that statement the target's tables are untouched; on any error, Ctrl-C or failed check the
    temporary tables are dropped. A process killed with SIGKILL can leave ``_sbnew_*`` tables, which the
    next write to that target removes. Foreign-key names must be unique per database, so the temporary
    tables' constraints get temporary names, set back to the schema's names once the old tables are gone.
    """
    new = {name: _temporary_name(_NEW, name) for name in names}
    old = {name: _temporary_name(_OLD, name) for name in existing}
    _refuse_outside_references(engine, existing, shown)
    temporary_schema, constraint_names = _renamed_schema(schema, new)
    metadata = build_metadata(temporary_schema, [new[name] for name in names])
    final_metadata = build_metadata(schema, names)
    _drop_tables(engine, [*new.values(), *old.values()])  # leftovers of a killed run
    swapped = False
    try:
        try:
            with engine.begin() as connection:
                metadata.create_all(connection)  # commits implicitly; the inserts below are one InnoDB transaction
                report = _fill(connection, schema, metadata, tables, names, deferred, batch_size, on_rows, "mysql", new)
                _refuse_failed_check(report, shown)
            renames = [f"{_q(engine, n)} TO {_q(engine, old[n])}" for n in names if n in old]
            renames += [f"{_q(engine, new[n])} TO {_q(engine, n)}" for n in names]
            with engine.begin() as connection:
                connection.exec_driver_sql("RENAME TABLE " + ", ".join(renames))
            swapped = True
        except sa.exc.StatementError as exc:
            raise SynthbankError(f"Writing to '{shown}' failed and was rolled back: {_statement_message(exc)}.") from None
    finally:
        if not swapped:
            _drop_tables(engine, list(new.values()))
    _drop_tables(engine, list(old.values()))
    _restore_constraint_names(engine, schema, final_metadata, constraint_names)
    return report


def _renamed_schema(schema: DatabaseSchema, mapping: dict[str, str]) -> tuple[DatabaseSchema, dict[tuple[str, int], str]]:
    """``schema`` with tables renamed by ``mapping`` and temporary foreign-key names; also returns the
    temporary name of each foreign key as ``{(table, index): name}``."""
    token = uuid.uuid4().hex[:8]
    renamed, constraint_names = {}, {}
    for name, table in schema.tables.items():
        fks = []
        for index, fk in enumerate(table.foreign_keys):
            temporary = f"_sbfk_{token}_{len(constraint_names)}"
            if name in mapping and fk.parent in mapping:
                constraint_names[(name, index)] = temporary
            fks.append(dataclasses.replace(fk, parent=mapping.get(fk.parent, fk.parent), name=temporary))
        renamed[mapping.get(name, name)] = dataclasses.replace(table, name=mapping.get(name, name), foreign_keys=fks)
    return DatabaseSchema(renamed), constraint_names


def _restore_constraint_names(engine, schema, metadata: sa.MetaData, constraint_names: dict[tuple[str, int], str]) -> None:
    """Give the swapped-in tables' foreign keys the schema's names (the old tables that held them are gone)."""
    by_table: dict[str, list[str]] = {}
    for (name, index), temporary in constraint_names.items():
        spec = schema.tables[name].foreign_keys[index]
        built = next((c for c in metadata.tables[name].foreign_key_constraints if list(c.column_keys) == list(spec.columns)
                      and c.referred_table.name == spec.parent), None)
        if built is None or not built.name:
            continue
        by_table.setdefault(name, []).append(
            f"DROP FOREIGN KEY {_q(engine, temporary)}, ADD CONSTRAINT {_q(engine, built.name)} FOREIGN KEY "
            f"({', '.join(_q(engine, c) for c in spec.columns)}) REFERENCES {_q(engine, spec.parent)} "
            f"({', '.join(_q(engine, c) for c in spec.parent_columns)})")
    if not by_table:
        return
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            try:
                for name, clauses in by_table.items():
                    connection.exec_driver_sql(f"ALTER TABLE {_q(engine, name)} " + ", ".join(clauses))
            finally:
                connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")
    except sa.exc.DBAPIError as exc:  # the data is in place; only the constraint names differ
        log.warning("could not give the written tables' foreign keys their names: %s", _statement_message(exc))


def _drop_tables(engine, names: list[str]) -> None:
    """Drop these tables if they exist (foreign-key checks off: they may reference each other)."""
    if not names:
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        try:
            connection.exec_driver_sql("DROP TABLE IF EXISTS " + ", ".join(_q(engine, n) for n in names))
        finally:
            connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")


def _refuse_outside_references(engine, existing: set[str], shown: str) -> None:
    """Replacing a table that another (kept) table references would leave that reference dangling."""
    if not existing:
        return
    inspector = sa.inspect(engine)
    for table in inspector.get_table_names():
        if table in existing or table.startswith((_NEW, _OLD)):
            continue
        for fk in inspector.get_foreign_keys(table):
            if fk.get("referred_table") in existing:
                raise TargetNotEmptyError(f"The target '{shown}' has a table '{table}' whose foreign key references "
                                          f"'{fk['referred_table']}', which --replace would replace; drop or alter '{table}' first.")


def _q(engine, identifier: str) -> str:
    return engine.dialect.identifier_preparer.quote(identifier)


def check_target(url: str, names: list[str], *, replace: bool = False, source_url: str | None = None) -> None:
    """Fail early (before any long work) if the target is unreachable, is the source, or already has these tables."""
    url = normalize_url(url)
    if source_url is not None:
        refuse_same_database(source_url, url)
    path = sqlite_path(url)
    if path is not None and not path.exists():  # a new SQLite file: only its folder must exist
        if not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the SQLite database does not exist.")
        return
    if path is not None and path.is_dir():
        raise DatabaseConnectionError(f"The SQLite target '{path}' is a folder, not a database file.")
    engine = open_engine(url, read_only=False)
    try:
        _existing_tables(engine, names, replace, display_url(url))
    finally:
        engine.dispose()


def _existing_tables(engine: sa.Engine, names: list[str], replace: bool, shown: str) -> set[str]:
    existing = set(sa.inspect(engine).get_table_names()) & set(names)
    if existing and not replace:
        raise TargetNotEmptyError(
            f"The target '{shown}' already has the table(s) {', '.join(sorted(existing))}; "
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


def _update_deferred(connection, schema, table: sa.Table, frame: pd.DataFrame, index: int, batch_size: int, name: str) -> None:
    spec = schema.tables[name]
    fk = spec.foreign_keys[index]
    if not spec.primary_key:
        raise SynthbankError(f"Table '{name}' has a self-referencing or cyclic foreign key but no primary key to update it by.")
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


def _validate(connection, schema: DatabaseSchema, metadata: sa.MetaData, names: list[str], report: WriteReport,
              table_names: dict[str, str]) -> None:
    """Count orphans, duplicates and NULL violations in the written tables (should all be zero)."""
    for name in names:
        table, spec, check = metadata.tables[table_names[name]], schema.tables[name], report.tables[name]
        for fk in spec.foreign_keys:
            if fk.parent not in table_names:
                continue
            parent = metadata.tables[table_names[fk.parent]].alias("p")
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
