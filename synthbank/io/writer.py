"""Writing tables into a target database: same DDL, FK order, one transaction, nothing half-written.

SQLite, PostgreSQL and DuckDB run DDL inside the transaction, so any error rolls everything back (a new
SQLite or DuckDB file is written under a hidden name and renamed into place once committed). A folder of
Parquet or CSV files is written through a DuckDB file in a staging folder (:mod:`synthbank.io.folder_writer`). MariaDB/MySQL commit DDL
implicitly; there synthbank writes InnoDB tables under temporary names and swaps them in with one
``RENAME TABLE`` once they are complete and checked, so ``--replace`` keeps the old tables until then.

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

import contextlib
import dataclasses
import decimal
import hashlib
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL

from synthbank.database import display_url, file_path, folder_of, mask_passwords, normalize_url, open_engine, refuse_same_database
from synthbank.errors import DatabaseConnectionError, SynthbankError, TargetNotEmptyError
from synthbank.files import process_alive
from synthbank.io.dataframes import pandas_tables
from synthbank.io.ddl import build_metadata, duckdb_ready
from synthbank.io.duckdb_insert import insert_arrow
from synthbank.io.folder_writer import WORK_DATABASE, check_folder_target, export_tables, staged_folder
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
#: Rows turned into Python values at a time (a multiple of the batch size): bounds the writer's own memory.
_CONVERT_ROWS = 10_000

#: One chunk of the synthetic database: table name → that chunk's rows.
Chunk = Mapping[str, pd.DataFrame]
#: ``on_rows(table, n, total)``: ``n`` rows were just written to ``table``; ``total`` is the table's row count
#: when known (a single mapping, or ``totals`` given with chunks), else None.
OnRows = Callable[[str, int, "int | None"], None]


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
                chunks = _Chunks(tables, totals)
                database = staging / WORK_DATABASE
                report = _write(URL.create("duckdb", database=str(database)).render_as_string(), schema, chunks, False,
                                batch_size, on_rows, str(folder.path))
                export_tables(database, staging, folder.format, [n for n in schema.read_order() if n in chunks.tables])
            return report
        chunks = _Chunks(tables, totals)  # asks for the first chunk: its tables are the ones created
        path = file_path(url)
        if path is not None and not path.exists():
            return _write_new_file(url, path, schema, chunks, batch_size, on_rows)
        return _write(url, schema, chunks, replace, batch_size, on_rows, display_url(url))
    except _SourceError as failure:  # rolled back like any other error
        error = failure.error
    raise error  # the chunk iterator's own exception, unchanged (outside the handler: no added context)


class _SourceError(Exception):
    """An exception raised by the chunk iterator, carried past the handlers of database errors."""

    def __init__(self, error: BaseException):
        super().__init__(error)
        self.error = error


class _Chunks:
    """The rows to write, one chunk at a time; a single mapping is one chunk.

    The first chunk is fetched at once (it names the tables to create); after that the iterator holds no
    chunk it has handed out, so a consumer that drops each chunk holds one at a time."""

    def __init__(self, tables, totals: Mapping[str, int] | None):
        if isinstance(tables, Mapping):
            self._source: Iterator = iter([tables])
            self.totals = {name: len(frame) for name, frame in tables.items()} if totals is None else dict(totals)
        elif isinstance(tables, (str, bytes, pd.DataFrame)) or not isinstance(tables, Iterable):
            raise SynthbankError("The tables to write must be a mapping of table name to DataFrame, or an iterable of such "
                                 f"chunks, not {type(tables).__name__}.")
        else:
            self._source = iter(tables)
            self.totals = dict(totals or {})
        self.count = 0
        first = self._fetch()
        self.tables: list[str] = list(first) if first is not None else []
        self._pending = [first] if first is not None else []
        del first

    def _fetch(self) -> Chunk | None:
        try:
            chunk = next(self._source)
        except StopIteration:
            return None
        except sa.exc.StatementError as exc:  # not an error of the target: must not be reported as one
            raise _SourceError(exc) from None
        self.count += 1
        if not isinstance(chunk, Mapping):
            raise SynthbankError(f"Chunk {self.count} to write is a {type(chunk).__name__}, not a mapping of table name to DataFrame.")
        return chunk if all(isinstance(f, pd.DataFrame) for f in chunk.values()) else pandas_tables(chunk)  # Arrow, Polars

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            chunk = self._pending.pop() if self._pending else self._fetch()
            if chunk is None:
                return
            unknown = sorted(set(chunk) - set(self.tables))
            if unknown:
                raise SynthbankError(f"Chunk {self.count} has rows for table(s) {', '.join(unknown)}, which the first chunk "
                                     "did not have (the first chunk names every table to write).")
            yield chunk
            del chunk  # not held while the next chunk is made


def _write_new_file(url: str, path: Path, schema, chunks: _Chunks, batch_size, on_rows) -> WriteReport:
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


def _write(url, schema, chunks: _Chunks, replace, batch_size, on_rows, shown) -> WriteReport:
    engine = open_engine(url, read_only=False)
    _make_sqlite_ddl_transactional(engine)
    names = [name for name in schema.read_order() if name in chunks.tables]
    deferred = [(t, i) for t, i in sorted(schema.deferred_edges()) if t in names and schema.tables[t].foreign_keys[i].parent in names]
    backend = engine.url.get_backend_name()
    try:
        existing = _existing_tables(engine, names, replace, shown)
        if backend in {"mysql", "mariadb"}:
            return _write_mysql(engine, schema, chunks, names, deferred, existing, batch_size, on_rows, shown)
        metadata = build_metadata(schema, names)
        if backend == "duckdb":
            duckdb_ready(metadata)
        try:
            with engine.begin() as connection:  # SQLite, PostgreSQL and DuckDB: DDL and rows in one transaction
                if existing:
                    _drop_existing(connection, existing, schema)
                late = _create_tables(connection, metadata, foreign_keys_last=backend == "postgresql")
                report = _fill(connection, schema, metadata, chunks, names, deferred, batch_size, on_rows, backend,
                               late_foreign_keys=late)
                _refuse_failed_check(report, shown)  # raising here rolls everything back
            if backend == "duckdb":  # everything into the database file itself, none left in its write-ahead log
                with engine.connect() as connection:
                    connection.exec_driver_sql("CHECKPOINT")
            return report
        except sa.exc.StatementError as exc:  # DBAPIError and errors binding a value
            raise SynthbankError(f"Writing to '{shown}' failed and was rolled back: {_statement_message(exc)}.") from None
    finally:
        engine.dispose()


def _create_tables(connection, metadata: sa.MetaData, *, foreign_keys_last: bool) -> list[sa.ForeignKeyConstraint]:
    """Create the tables; with ``foreign_keys_last``, without their foreign keys, which are returned to be
    added once the rows are in (PostgreSQL checks a new constraint in one join, 20 times as fast as
    checking every inserted row; a violation still fails the transaction)."""
    if not foreign_keys_last:
        metadata.create_all(connection)
        return []
    for table in metadata.tables.values():
        connection.execute(sa.schema.CreateTable(table, include_foreign_key_constraints=[]))
    return [constraint for table in metadata.tables.values() for constraint in table.foreign_key_constraints]


def _fill(connection, schema, metadata, chunks: _Chunks, names, deferred, batch_size, on_rows, backend,
          table_names=None, late_foreign_keys=()) -> WriteReport:
    """Insert the rows chunk by chunk, set the deferred foreign keys and sequences, and check the result."""
    table_names = table_names or {name: name for name in names}
    report = WriteReport({name: TableCheck(0) for name in names})
    bulk = _BulkInsert(connection, backend)
    for chunk in chunks:
        _fill_chunk(connection, schema, metadata, chunk, names, deferred, table_names, report, bulk, batch_size,
                    on_rows, chunks.totals)
        del chunk  # dropped before the next chunk is made
    for constraint in late_foreign_keys:
        connection.execute(sa.schema.AddConstraint(constraint))
    if backend == "postgresql":
        _reset_sequences(connection, schema, names)
    _validate(connection, schema, metadata, names, report, table_names)
    return report


def _fill_chunk(connection, schema, metadata, chunk: Chunk, names, deferred, table_names, report, bulk, batch_size,
                on_rows, totals) -> None:
    """One chunk's rows in foreign-key order, then its deferred foreign keys."""
    for name in names:
        frame = chunk.get(name)
        if frame is None or not len(frame):
            continue
        held_back = [c for t, i in deferred if t == name for c in schema.tables[t].foreign_keys[i].columns]
        progress = (lambda n, name=name: on_rows(name, n, totals.get(name))) if on_rows else None
        report.tables[name].rows += bulk.insert(metadata.tables[table_names[name]], frame, held_back, batch_size, progress)
    for name, index in deferred:
        frame = chunk.get(name)
        if frame is not None and len(frame):
            _update_deferred(connection, schema, metadata.tables[table_names[name]], frame, index, batch_size, name, bulk)


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


def _write_mysql(engine, schema, chunks: _Chunks, names, deferred, existing, batch_size, on_rows, shown) -> WriteReport:
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
                report = _fill(connection, schema, metadata, chunks, names, deferred, batch_size, on_rows, "mysql", new)
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
                                          f"'{fk['referred_table']}', which replace=True would replace; drop or alter '{table}' first.")


def _q(engine, identifier: str) -> str:
    return engine.dialect.identifier_preparer.quote(identifier)


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


# --- the bulk path: each backend's fastest way in, with the values SQLAlchemy's INSERT would bind ---------
class _BulkInsert:
    """Insert DataFrames through the connection's own DBAPI connection, inside SQLAlchemy's transaction.

    Values are converted as :func:`to_records` does and then by each column type's SQLAlchemy bind
    processor, so the rows land as SQLAlchemy's ``INSERT`` would write them; PostgreSQL's ``COPY`` reads
    text, so there values SQLAlchemy would cast in SQL (a float into an integer column, a boolean into a
    string column) are cast here the same way. A database error is raised as SQLAlchemy's
    :class:`~sqlalchemy.exc.DBAPIError` (a :class:`~sqlalchemy.exc.StatementError`)."""

    #: (backend, driver) pairs with a bulk path; any other driver goes through SQLAlchemy's executemany.
    _FAST = {("sqlite", "pysqlite"), ("postgresql", "psycopg"), ("mysql", "pymysql"), ("duckdb", "duckdb_engine")}

    def __init__(self, connection: sa.Connection, backend: str):
        self.connection = connection
        self.dialect = connection.dialect
        self.backend = "mysql" if backend in {"mysql", "mariadb"} else backend
        self.fast = (self.backend, self.dialect.driver) in self._FAST
        self.driver = connection.connection.driver_connection if self.fast else None
        self.errors = self.dialect.loaded_dbapi.Error
        # UPDATE ... FROM a join: PostgreSQL, MariaDB/MySQL (multiple-table UPDATE), SQLite from 3.33
        self.update_from = self.fast and (self.backend != "sqlite" or self.dialect.server_version_info >= (3, 33))
        self.max_statement = None
        if self.fast and self.backend == "mysql":
            # pymysql's executemany joins rows into INSERTs of at most max_stmt_length bytes (1,000,000 by
            # default); larger statements are faster, but each must fit into the server's max_allowed_packet.
            packet = connection.exec_driver_sql("SELECT @@max_allowed_packet").scalar_one()
            self.max_statement = max(1024, min(8 * 1024 * 1024, int(packet) - 1024))

    def insert(self, table: sa.Table, frame: pd.DataFrame, held_back: list[str], batch_size: int,
               on_rows: Callable[[int], None] | None) -> int:
        """Insert ``frame``'s rows (its columns that ``table`` has, but ``held_back``); returns the row count."""
        columns = [c for c in table.columns if c.name in frame.columns and c.name not in held_back]
        step = batch_size * max(1, _CONVERT_ROWS // batch_size)
        if not self.fast or not columns:
            return self._insert_dicts(table, frame[[c.name for c in columns]], batch_size, step, on_rows)
        converters = [self._converter(c) for c in columns]
        batches = (batch for start in range(0, len(frame), step)
                   for batch in _batches(_rows(frame, columns, converters, start, step), batch_size))
        preparer = self.dialect.identifier_preparer
        if self.backend == "duckdb":
            try:
                return insert_arrow(self.driver, preparer.format_table(table), columns, batches, on_rows)
            except self.errors as exc:  # raised as SQLAlchemy raises a database error
                raise sa.exc.DBAPIError.instance(f"INSERT INTO {table.name}", None, exc, self.errors) from None
        escape = (lambda text: text.replace("%", "%%")) if self.backend == "mysql" else (lambda text: text)  # pymysql %-formats
        names = ", ".join(escape(preparer.format_column(c)) for c in columns)
        if self.backend == "postgresql":
            return self._send(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN", batches, on_rows)
        marker = "?" if self.backend == "sqlite" else "%s"
        return self._send(f"INSERT INTO {escape(preparer.format_table(table))} ({names}) "
                          f"VALUES ({', '.join([marker] * len(columns))})", batches, on_rows)

    def _insert_dicts(self, table, frame, batch_size, step, on_rows) -> int:
        for start in range(0, len(frame), step):
            records = to_records(frame.iloc[start:start + step])
            for batch in _batches(records, batch_size):
                self.connection.execute(table.insert(), batch)
                if on_rows:
                    on_rows(len(batch))
        return len(frame)

    def _send(self, statement: str, batches, on_rows) -> int:
        """Send the batches (COPY on PostgreSQL, else executemany); an error converting or sending a value is
        raised as SQLAlchemy raises it, one from ``on_rows`` (Ctrl-C too) as it is."""
        count, interrupted = 0, None

        def sent(batch) -> None:
            nonlocal count, interrupted
            count += len(batch)
            if on_rows:
                try:
                    on_rows(len(batch))
                except BaseException as exc:
                    interrupted = exc
                    raise

        try:
            if self.backend == "postgresql":
                with self.driver.cursor() as cursor, cursor.copy(statement) as copy:
                    write_row = copy.write_row
                    for batch in batches:
                        for row in batch:
                            write_row(row)
                        sent(batch)
            else:
                with contextlib.closing(self.driver.cursor()) as cursor:
                    if self.max_statement:
                        cursor.max_stmt_length = self.max_statement
                    for batch in batches:
                        cursor.executemany(statement, batch)
                        sent(batch)
        except Exception as exc:  # noqa: BLE001 - DBAPIError, or StatementError for a value that cannot be bound
            if exc is interrupted:
                raise
            raise sa.exc.DBAPIError.instance(statement, None, exc, self.errors) from None
        return count

    def _converter(self, column: sa.Column) -> tuple[Callable | None, Callable | None]:
        """Per value, after :func:`to_records`' conversion: the type's bind processor, then for COPY the
        cast SQLAlchemy's psycopg dialect would have written into the statement."""
        process = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        if self.backend == "postgresql" and isinstance(column.type, sa.Integer):
            return process, _pg_integer
        if self.backend == "postgresql" and isinstance(column.type, sa.String):
            return process, _pg_text
        return process, None


def _batches(rows: list[tuple], size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


#: Types of value that PostgreSQL's COPY reads as the SQL cast of a bound value would give them.
_AS_IS = frozenset({type(None), int, str})


def _rows(frame: pd.DataFrame, columns: list[sa.Column], converters: list, start: int, count: int) -> list[tuple]:
    """Rows ``start`` to ``start + count`` of ``frame`` as tuples of DBAPI values, in ``columns``' order."""
    values = []
    for column, (process, cast) in zip(columns, converters):
        plain = _plain_values(frame[column.name].iloc[start:start + count])
        if process:
            plain = [process(v) for v in plain]
        if cast and not _AS_IS.issuperset(map(type, plain)):
            plain = [cast(v) for v in plain]
        values.append(plain)
    return list(zip(*values))


def _plain_values(series: pd.Series) -> list:
    """A column's values as :func:`to_records` gives them: plain Python objects, every missing value None."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        array = series.to_numpy()
        values = array.tolist()
        for i in np.flatnonzero(np.isnan(array)):
            values[i] = None
        return values
    if dtype.kind == "M":  # datetime64, naive or with a time zone
        values = series.array.to_pydatetime().tolist()
    else:
        values = [_plain(v) for v in series.tolist()]
    for i in np.flatnonzero(series.isna().to_numpy()):
        values[i] = None
    return values


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _pg_integer(value):
    """A number as PostgreSQL's cast to an integer type rounds it (``3.5::integer`` is 4)."""
    if isinstance(value, float):
        return int(round(value)) if math.isfinite(value) else value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return int(value.to_integral_value(decimal.ROUND_HALF_UP))
    return value


def _pg_text(value):
    """A boolean or float as PostgreSQL's cast to text writes it (``true``, ``5`` for 5.0, ``1e+15``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
        if value == 0:
            return "-0" if math.copysign(1, value) < 0 else "0"
        shortest = decimal.Decimal(repr(value))
        sign, digits, exponent = shortest.normalize().as_tuple()
        magnitude = len(digits) + exponent - 1
        if -4 <= magnitude < 15:
            return format(shortest.normalize(), "f")
        mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{'-' if magnitude < 0 else '+'}{abs(magnitude):02d}"
    return value


def _update_deferred(connection, schema, table: sa.Table, frame: pd.DataFrame, index: int, batch_size: int, name: str,
                     bulk: _BulkInsert) -> None:
    """Set a deferred foreign key of ``frame``'s rows (inserted as NULL) by their primary key.

    Where the database can ``UPDATE ... FROM`` a join, the (key, reference) pairs go into a temporary table
    by the bulk path and one statement sets them all; otherwise one UPDATE per row (executemany)."""
    spec = schema.tables[name]
    fk = spec.foreign_keys[index]
    if not spec.primary_key:
        raise SynthbankError(f"Table '{name}' has a self-referencing or cyclic foreign key but no primary key to update it by.")
    rows = frame.dropna(subset=fk.columns)
    if rows.empty:
        return
    keys = [f"k{i}" for i in range(len(spec.primary_key))]
    references = [f"r{i}" for i in range(len(fk.columns))]
    pairs = pd.concat([rows[spec.primary_key].set_axis(keys, axis=1), rows[fk.columns].set_axis(references, axis=1)], axis=1)
    if bulk.update_from:
        pairs_table = sa.Table(f"_sb_deferred_{uuid.uuid4().hex[:12]}", sa.MetaData(),
                               *[sa.Column(k, table.c[c].type) for k, c in zip(keys, spec.primary_key)],
                               *[sa.Column(r, table.c[c].type) for r, c in zip(references, fk.columns)], prefixes=["TEMPORARY"])
        connection.execute(sa.schema.CreateTable(pairs_table))  # no implicit commit, MariaDB/MySQL included
        bulk.insert(pairs_table, pairs, [], batch_size, None)
        connection.execute(table.update().values({c: pairs_table.c[r] for c, r in zip(fk.columns, references)}).where(
            *[table.c[c] == pairs_table.c[k] for c, k in zip(spec.primary_key, keys)]))
        temporary = "TEMPORARY " if bulk.backend == "mysql" else ""  # DROP TEMPORARY TABLE does not commit either
        connection.exec_driver_sql(f"DROP {temporary}TABLE {_quote(connection, pairs_table.name)}")
        return
    statement = table.update().where(*[table.c[c] == sa.bindparam(k) for c, k in zip(spec.primary_key, keys)]).values(
        {c: sa.bindparam(r) for c, r in zip(fk.columns, references)})
    records = to_records(pairs)
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


def _drop_existing(connection, names: set[str], schema: DatabaseSchema) -> None:
    """Drop existing target tables (children first) as reflected, including their own foreign keys."""
    if connection.dialect.name == "duckdb":  # SQLAlchemy cannot reflect DuckDB: drop in the schema's order, children first
        ordered = [n for n in reversed(schema.read_order()) if n in names] + sorted(names - set(schema.tables))
        for name in ordered:
            connection.exec_driver_sql(f"DROP TABLE {_quote(connection, name)}")
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
