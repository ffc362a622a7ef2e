"""Each backend's bulk path: ``COPY ... FROM STDIN`` on PostgreSQL, multi-row ``INSERT`` statements (pymysql's
``executemany``) on MariaDB/MySQL, ``executemany`` of the raw cursor on SQLite, an Arrow table on DuckDB — with
the values SQLAlchemy's own ``INSERT`` would bind — and the deferred foreign keys set by UPDATE.
"""

from __future__ import annotations

import contextlib
import decimal
import logging
import math
import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthbank.errors import SynthbankError
from synthbank.io.duckdb_insert import insert_arrow

log = logging.getLogger(__name__)


#: Rows turned into Python values at a time (a multiple of the batch size): bounds the writer's own memory.
CONVERT_ROWS = 10_000


class BulkInsert:
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
        step = batch_size * max(1, CONVERT_ROWS // batch_size)
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


def update_deferred(connection, schema, table: sa.Table, frame: pd.DataFrame, index: int, batch_size: int, name: str,
                     bulk: BulkInsert) -> None:
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
        connection.exec_driver_sql(f"DROP {temporary}TABLE {quote_identifier(connection, pairs_table.name)}")
        return
    statement = table.update().where(*[table.c[c] == sa.bindparam(k) for c, k in zip(spec.primary_key, keys)]).values(
        {c: sa.bindparam(r) for c, r in zip(fk.columns, references)})
    records = to_records(pairs)
    for start in range(0, len(records), batch_size):
        connection.execute(statement, records[start:start + batch_size])


def quote_identifier(connection, identifier: str) -> str:
    return connection.dialect.identifier_preparer.quote(identifier)


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
