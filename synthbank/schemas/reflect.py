"""Build a :class:`DatabaseSchema` by reflecting a live database (read-only).

Keys come from the database's own constraints. A folder of Parquet or CSV files declares none, so there
they are found on the data (:mod:`synthbank.schemas.key_discovery`); a foreign key that could point at
more than one table is left out and named in ``schema.key_doubts``, which :func:`resolve_schema` refuses
until a schema file settles it.
"""

from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from synthbank.database import display_url, open_engine
from synthbank.errors import DatabaseConnectionError, SchemaError
from synthbank.schemas import detect, types
from synthbank.schemas.duckdb_catalog import DuckDBCatalog
from synthbank.schemas.key_discovery import discover_keys
from synthbank.schemas.model import Column, DatabaseSchema, ForeignKey, Table

log = logging.getLogger(__name__)

#: Rows read per table to detect PII, free text and categories.
DEFAULT_SAMPLE_ROWS = 1000


def reflect_schema(url: str, tables: list[str] | None = None, *, sample_rows: int = DEFAULT_SAMPLE_ROWS) -> DatabaseSchema:
    """Reflect tables, columns, keys and foreign keys of ``url`` and detect how to treat each column.

    ``tables`` restricts the schema to some tables (foreign keys to tables left out are dropped). The
    database is opened read-only and nothing is written to it.
    """
    engine = open_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            return _reflect(connection, tables, sample_rows)
    except sa.exc.DBAPIError as exc:
        raise DatabaseConnectionError(f"Reading the schema of '{display_url(str(engine.url))}' failed: {str(exc.orig).splitlines()[0]}.") from None
    finally:
        engine.dispose()


def _inspector(connection: sa.Connection):
    if connection.dialect.name == "duckdb":
        return DuckDBCatalog(connection, views=_is_folder(connection))
    return sa.inspect(connection)


def _is_folder(connection: sa.Connection) -> bool:
    return "synthbank_folder" in connection.connection.info


def _reflect(connection: sa.Connection, wanted: list[str] | None, sample_rows: int) -> DatabaseSchema:
    inspector = _inspector(connection)
    names = inspector.get_table_names()
    if not names:
        raise SchemaError(f"The database '{display_url(str(connection.engine.url))}' has no tables.")
    if wanted:
        missing = [name for name in wanted if name not in names]
        if missing:
            raise SchemaError(f"The database has no table named {', '.join(repr(m) for m in missing)} (it has: {', '.join(sorted(names))}).")
        names = list(wanted)
    tables = {name: _declared_table(connection, inspector, name) for name in names}
    for table in tables.values():
        table.foreign_keys = [fk for fk in table.foreign_keys if fk.parent in tables]
    notes: list[str] = []  # near misses: a key that holds for most rows but not all
    doubts = [(_doubted_table(d, tables), d) for d in discover_keys(connection, tables, notes)] if _is_folder(connection) else []
    samples = {name: _sample(connection, name, list(table.columns), sample_rows) for name, table in tables.items()}
    for name, table in tables.items():
        _detect_columns(table, samples[name])
    detect.places_of_things(tables, samples)
    return DatabaseSchema(tables, locale=detect.name_locale(tables, samples), key_doubts=doubts, key_notes=notes)


def _doubted_table(doubt: str, tables: dict[str, Table]) -> str:
    """The table a doubt is about: it starts with ``table.column`` (the longest name that fits: a file stem may hold dots)."""
    return max((name for name in tables if doubt.startswith(f"{name}.")), key=len)


def _declared_table(connection, inspector, name: str) -> Table:
    """A table as the database declares it: columns, types, keys and row count; sdtypes not detected yet."""
    raw_columns = inspector.get_columns(name)
    primary_key = list(inspector.get_pk_constraint(name).get("constrained_columns") or [])
    foreign_keys = [
        ForeignKey(columns=list(fk["constrained_columns"]), parent=fk["referred_table"],
                   parent_columns=list(fk["referred_columns"]), name=fk.get("name"))
        for fk in inspector.get_foreign_keys(name)
    ]
    unique = [list(u["column_names"]) for u in inspector.get_unique_constraints(name)]
    for index in inspector.get_indexes(name):
        columns = list(index.get("column_names") or [])
        if index.get("unique") and columns and columns not in unique and columns != primary_key:
            unique.append(columns)
    # MariaDB also reports each FK's supporting index; keep only constraints that are really unique.
    unique = [u for u in unique if u != primary_key]

    single_unique = {u[0] for u in unique if len(u) == 1}
    columns = {}
    for raw in raw_columns:
        column_name = raw["name"]
        type_string = raw["type"] if isinstance(raw["type"], str) else types.from_sqlalchemy(raw["type"])
        columns[column_name] = Column(
            name=column_name, type=type_string, nullable=bool(raw.get("nullable", True)) and column_name not in primary_key,
            unique=column_name in single_unique or primary_key == [column_name],
            identity=raw.get("autoincrement") is True and primary_key == [column_name],
        )
    row_count = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
    log.debug("reflected %s: %d columns, %d rows", name, len(columns), row_count)
    return Table(name=name, columns=columns, primary_key=primary_key, foreign_keys=foreign_keys,
                 unique=unique, row_count=int(row_count))


def _detect_columns(table: Table, sample: pd.DataFrame) -> None:
    """Each column's sdtype, PII kind and format, from its name, type and sampled values."""
    primary_key = table.primary_key
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    key_columns = set(primary_key) | fk_columns
    if len(primary_key) > 1 and set(primary_key) & fk_columns:
        # salaries(emp_no, from_date), titles(emp_no, title, from_date): the columns beside the foreign keys are
        # data (a date, a title) that makes the row unique, so they are detected by their values like others.
        key_columns -= set(primary_key) - fk_columns
    for name, column in table.columns.items():
        found = detect.detect(name, column.type, sample[name], is_key=name in key_columns)
        column.sdtype, column.pii, column.format, column.reason = found.sdtype, found.pii, found.format, found.reason


def _sample(connection, name: str, column_names: list[str], rows: int) -> pd.DataFrame:
    query = sa.select(*[sa.column(c) for c in column_names]).select_from(sa.table(name)).limit(rows)
    result = connection.execute(query)
    return pd.DataFrame(result.fetchall(), columns=column_names)
