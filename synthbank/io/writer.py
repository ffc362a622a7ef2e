"""Writing tables into a target database: same DDL, FK order, one transaction, nothing half-written.

SQLite, PostgreSQL and DuckDB run DDL inside the transaction, so any error rolls everything back (a new
SQLite or DuckDB file is written under a hidden name and renamed into place once committed). A folder of
Parquet or CSV files is written through a DuckDB file in a staging folder (:mod:`synthbank.io.folder_writer`).
MariaDB/MySQL commit DDL implicitly; there synthbank writes InnoDB tables under temporary names and swaps
them in with one ``RENAME TABLE`` once they are complete and checked (:mod:`synthbank.io.mysql_writer`), so
``--replace`` keeps the old tables until then. The rows go in chunk by chunk (:mod:`synthbank.io.filling`)
through each backend's bulk path (:mod:`synthbank.io.bulk_insert`).

Rows arrive as one mapping of DataFrames or as an iterator of such chunks (the sampler's output), written
one chunk at a time inside that one transaction, so memory does not grow with the number of chunks. Each
backend's bulk path carries the rows: ``COPY ... FROM STDIN`` on PostgreSQL, multi-row ``INSERT`` statements
(pymysql's ``executemany``) on MariaDB/MySQL, ``executemany`` of the raw cursor on SQLite, an Arrow table
scanned by ``INSERT ... SELECT`` on DuckDB; the values are those SQLAlchemy's own ``INSERT`` would bind
(same conversions, same bind processors).

Foreign keys that close a cycle (and self-references) are inserted as NULL and set with UPDATE once every
row of their chunk exists. Serial/identity sequences are moved past the inserted keys (PostgreSQL), and a
final check counts orphan foreign keys, duplicate unique values and NULLs in NOT NULL columns in the written
tables.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL

from synthbank.database import display_url, file_path, folder_of, normalize_url, open_engine, refuse_same_database
from synthbank.errors import DatabaseConnectionError, SynthbankError, TargetNotEmptyError
from synthbank.files import process_alive
from synthbank.io.bulk_insert import quote_identifier, to_records
from synthbank.io.ddl import build_metadata, duckdb_ready
from synthbank.io.filling import Chunks, OnRows, SourceError, TableCheck, WriteReport, create_tables, fill, refuse_failed_check, statement_message
from synthbank.io.folder_writer import WORK_DATABASE, check_folder_target, export_tables, staged_folder
from synthbank.io.mysql_writer import write_mysql
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_BATCH_SIZE", "TableCheck", "WriteReport", "check_target", "to_records", "write_tables"]


DEFAULT_BATCH_SIZE = 2000


def write_tables(
    url: str,
    schema: DatabaseSchema,
    tables: Mapping[str, pd.DataFrame] | Iterable[Mapping[str, pd.DataFrame]],
    *,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_rows: OnRows | None = None,
    source_url: str | None = None,
    totals: Mapping[str, int] | None = None,
) -> WriteReport:
    """Create ``schema``'s tables in ``url`` and insert ``tables`` in foreign-key order.

    ``tables`` is either one mapping of table name → DataFrame, or an iterable of such chunks (e.g. a
    generator that samples them): the tables of the first chunk are created, every chunk is written in
    foreign-key order as it arrives and dropped before the next one is asked for, all in the one transaction
    (or, on MariaDB/MySQL, under temporary names swapped in at the end). A chunk's rows may reference rows
    of the same or of earlier chunks; deferred foreign keys (self-references, cycles) rows of the same or
    of earlier chunks. Any error — the database's, a failed integrity check, or one raised by the chunk
    iterator itself (re-raised unchanged) — leaves the target as it was.

    Refuses a target that already has any of these tables unless ``replace`` is true, and the database
    ``source_url`` (the one the data was learned from) itself. ``on_rows(table, n, total)`` is called after
    each written batch of ``n`` rows (for progress bars); ``total`` is the table's row count for a single
    mapping, ``totals[table]`` (expected rows, if given) for chunks, else None. The report's row counts
    are totals over all chunks. When the final integrity check finds orphans, duplicate keys or NULLs in
    NOT NULL columns, nothing is written and a :class:`SynthbankError` says so.
    """
    if batch_size < 1:
        raise SynthbankError(f"The batch size must be at least 1, got {batch_size}.")
    url = normalize_url(url)
    if source_url is not None:
        refuse_same_database(source_url, url)
    try:
        folder = folder_of(url)
        if folder is not None:
            with staged_folder(folder, replace=replace) as staging:
                chunks = Chunks(tables, totals)
                database = staging / WORK_DATABASE
                report = _write(URL.create("duckdb", database=str(database)).render_as_string(), schema, chunks, False,
                                batch_size, on_rows, str(folder.path))
                export_tables(database, staging, folder.format, [n for n in schema.read_order() if n in chunks.tables])
            return report
        chunks = Chunks(tables, totals)  # asks for the first chunk: its tables are the ones created
        path = file_path(url)
        if path is not None and not path.exists():
            return _write_new_file(url, path, schema, chunks, batch_size, on_rows)
        return _write(url, schema, chunks, replace, batch_size, on_rows, display_url(url))
    except SourceError as failure:  # rolled back like any other error
        error = failure.error
    raise error  # the chunk iterator's own exception, unchanged (outside the handler: no added context)


def _write_new_file(url: str, path: Path, schema, chunks: Chunks, batch_size, on_rows) -> WriteReport:
    """A new SQLite or DuckDB file is written under a hidden name beside it and renamed into place once
    committed, so no failure, Ctrl-C or kill leaves a half-written or empty file under the target's name."""
    backend = sa.engine.make_url(url).get_backend_name()
    kind = "DuckDB" if backend == "duckdb" else "SQLite"
    if not path.parent.is_dir():
        raise DatabaseConnectionError(f"The folder '{path.parent}' for the {kind} database does not exist.")
    _remove_stale_partials(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        report = _write(URL.create(backend, database=str(partial)).render_as_string(hide_password=False), schema, chunks,
                        False, batch_size, on_rows, str(path))
        if path.exists():
            raise SynthbankError(f"The {kind} file '{path}' appeared while synthbank was writing it; nothing was written over it.")
        os.replace(partial, path)
        return report
    finally:
        for leftover in (partial, *_sidecars(partial)):
            leftover.unlink(missing_ok=True)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-journal", "-wal", "-shm", ".wal")]


def _remove_stale_partials(path: Path) -> None:
    """Hidden partial files of synthbank processes that were killed (kill -9) while writing ``path``."""
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        match = re.fullmatch(r"partial-(\d+)(-journal|-wal|-shm|\.wal)?", partial.name[len(path.name) + 2:])
        if match and not process_alive(int(match.group(1))):
            partial.unlink(missing_ok=True)


def _write(url, schema, chunks: Chunks, replace, batch_size, on_rows, shown) -> WriteReport:
    engine = open_engine(url, read_only=False)
    _make_sqlite_ddl_transactional(engine)
    names = [name for name in schema.read_order() if name in chunks.tables]
    deferred = [(t, i) for t, i in sorted(schema.deferred_edges()) if t in names and schema.tables[t].foreign_keys[i].parent in names]
    backend = engine.url.get_backend_name()
    try:
        existing = _existing_tables(engine, names, replace, shown)
        if backend in {"mysql", "mariadb"}:
            return write_mysql(engine, schema, chunks, names, deferred, existing, batch_size, on_rows, shown)
        metadata = build_metadata(schema, names)
        if backend == "duckdb":
            duckdb_ready(metadata)
        try:
            with engine.begin() as connection:  # SQLite, PostgreSQL and DuckDB: DDL and rows in one transaction
                if existing:
                    _drop_existing(connection, existing, schema)
                late = create_tables(connection, metadata, foreign_keys_last=backend == "postgresql")
                report = fill(connection, schema, metadata, chunks, names, deferred, batch_size, on_rows, backend,
                               late_foreign_keys=late)
                refuse_failed_check(report, shown)  # raising here rolls everything back
            if backend == "duckdb":  # everything into the database file itself, none left in its write-ahead log
                with engine.connect() as connection:
                    connection.exec_driver_sql("CHECKPOINT")
            return report
        except sa.exc.StatementError as exc:  # DBAPIError and errors binding a value
            raise SynthbankError(f"Writing to '{shown}' failed and was rolled back: {statement_message(exc)}.") from None
    finally:
        engine.dispose()


def check_target(url: str, names: list[str], *, replace: bool = False, source_url: str | None = None) -> None:
    """Fail early (before any long work) if the target is unreachable, is the source, or already has these tables."""
    url = normalize_url(url)
    if source_url is not None:
        refuse_same_database(source_url, url)
    folder = folder_of(url)
    if folder is not None:
        check_folder_target(folder, replace=replace)
        return
    path = file_path(url)
    if path is not None and not path.exists():  # a new SQLite or DuckDB file: only its folder must exist
        if not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the database file does not exist.")
        return
    if path is not None and path.is_dir():
        raise DatabaseConnectionError(f"The target '{path}' is a folder, not a database file.")
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
            "use replace=True to overwrite them."
        )
    return existing


def _drop_existing(connection, names: set[str], schema: DatabaseSchema) -> None:
    """Drop existing target tables (children first) as reflected, including their own foreign keys."""
    if connection.dialect.name == "duckdb":  # SQLAlchemy cannot reflect DuckDB: drop in the schema's order, children first
        ordered = [n for n in reversed(schema.read_order()) if n in names] + sorted(names - set(schema.tables))
        for name in ordered:
            connection.exec_driver_sql(f"DROP TABLE {quote_identifier(connection, name)}")
        return
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
