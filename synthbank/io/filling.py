"""Filling created tables chunk by chunk inside one transaction, and the final integrity check (orphan foreign
keys, duplicate keys, NULLs in NOT NULL columns) whose failure rolls everything back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from synthbank.database import mask_passwords
from synthbank.errors import SynthbankError
from synthbank.io.bulk_insert import BulkInsert, quote_identifier, update_deferred
from synthbank.io.dataframes import pandas_tables
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)


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


class SourceError(Exception):
    """An exception raised by the chunk iterator, carried past the handlers of database errors."""

    def __init__(self, error: BaseException):
        super().__init__(error)
        self.error = error


class Chunks:
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
            raise SourceError(exc) from None
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


def create_tables(connection, metadata: sa.MetaData, *, foreign_keys_last: bool) -> list[sa.ForeignKeyConstraint]:
    """Create the tables; with ``foreign_keys_last``, without their foreign keys, which are returned to be
    added once the rows are in (PostgreSQL checks a new constraint in one join, 20 times as fast as
    checking every inserted row; a violation still fails the transaction)."""
    if not foreign_keys_last:
        metadata.create_all(connection)
        return []
    for table in metadata.tables.values():
        connection.execute(sa.schema.CreateTable(table, include_foreign_key_constraints=[]))
    return [constraint for table in metadata.tables.values() for constraint in table.foreign_key_constraints]


def fill(connection, schema, metadata, chunks: Chunks, names, deferred, batch_size, on_rows, backend,
          table_names=None, late_foreign_keys=()) -> WriteReport:
    """Insert the rows chunk by chunk, set the deferred foreign keys and sequences, and check the result."""
    table_names = table_names or {name: name for name in names}
    report = WriteReport({name: TableCheck(0) for name in names})
    bulk = BulkInsert(connection, backend)
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
            update_deferred(connection, schema, metadata.tables[table_names[name]], frame, index, batch_size, name, bulk)


def refuse_failed_check(report: WriteReport, shown: str) -> None:
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


def statement_message(exc: sa.exc.StatementError) -> str:
    text = str(exc.orig).strip() if exc.orig is not None else str(exc).strip()
    return mask_passwords((text.splitlines() or [exc.__class__.__name__])[0]).rstrip(".")


def _reset_sequences(connection, schema, names) -> None:
    for name in names:
        for column in schema.tables[name].columns.values():
            if column.identity:
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE((SELECT MAX({quote_identifier(connection, column.name)}) "
                    f"FROM {quote_identifier(connection, name)}), 0) + 1, false)"), {"t": name, "c": column.name})


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
