"""Reflecting a DuckDB database from DuckDB's own catalog functions.

``duckdb-engine`` derives its dialect from PostgreSQL's, and SQLAlchemy 2.1's PostgreSQL inspector queries
``pg_catalog`` tables DuckDB does not have (``pg_collation``, the ``regclass`` type), so ``sa.inspect`` fails
on every table. :class:`DuckDBCatalog` answers the inspector calls :mod:`synthbank.schemas.reflect` makes
from ``duckdb_tables()``, ``duckdb_views()``, ``duckdb_columns()`` and ``duckdb_constraints()``, with column
types already written as synthbank's portable type strings (:func:`type_string`).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

_INTEGERS = {"TINYINT": "smallint", "INT1": "smallint", "UTINYINT": "smallint", "SMALLINT": "smallint", "INT2": "smallint",
             "USMALLINT": "integer", "INTEGER": "integer", "INT4": "integer", "INT": "integer", "UINTEGER": "bigint",
             "BIGINT": "bigint", "INT8": "bigint", "UBIGINT": "bigint", "HUGEINT": "bigint", "UHUGEINT": "bigint"}
_SIMPLE = {"BOOLEAN": "boolean", "BOOL": "boolean", "FLOAT": "float", "REAL": "float", "FLOAT4": "float", "DOUBLE": "float",
           "FLOAT8": "float", "VARCHAR": "text", "TEXT": "text", "STRING": "text", "DATE": "date", "TIME": "time",
           "TIME WITH TIME ZONE": "time", "TIMESTAMP": "datetime", "DATETIME": "datetime", "TIMESTAMP_S": "datetime",
           "TIMESTAMP_MS": "datetime", "TIMESTAMP_NS": "datetime", "TIMESTAMP WITH TIME ZONE": "datetime(tz)",
           "TIMESTAMPTZ": "datetime(tz)", "UUID": "uuid", "BLOB": "binary", "BYTEA": "binary", "BIT": "binary", "JSON": "json"}


def type_string(duckdb_type: str) -> str:
    """A DuckDB column type as a portable type string (``DECIMAL(12,2)`` → ``numeric(12,2)``)."""
    text = duckdb_type.strip()
    upper = text.upper()
    if upper.endswith("[]") or re.fullmatch(r".*\[\d+\]", upper):
        return f"array({type_string(text[:text.rindex('[')])})"
    if upper in _INTEGERS:
        return _INTEGERS[upper]
    if upper in _SIMPLE:
        return _SIMPLE[upper]
    decimal = re.fullmatch(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", upper)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    if upper in {"DECIMAL", "NUMERIC"}:
        return "numeric(18,3)"  # DuckDB's default width
    if upper.startswith("VARCHAR("):
        return text.lower()
    if upper.startswith("ENUM("):
        values = re.findall(r"'((?:[^']|'')*)'", text)
        return "enum(" + "|".join(v.replace("''", "'") for v in values) + ")" if values and not any("|" in v for v in values) else "text"
    # STRUCT, MAP, UNION, INTERVAL, VARINT…: no portable type a model can learn
    return "json"


class DuckDBCatalog:
    """The parts of SQLAlchemy's ``Inspector`` that reflection uses, for a DuckDB connection.

    ``views``: list views as tables too (a folder of files is a set of views); otherwise base tables only.
    """

    def __init__(self, connection: sa.Connection, *, views: bool = False):
        self.connection = connection
        self.views = views

    def _rows(self, sql: str, **params) -> list:
        return self.connection.execute(sa.text(sql), params).fetchall()

    def get_table_names(self) -> list[str]:
        query = ("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                 "AND schema_name = current_schema() AND NOT internal")
        if self.views:
            query += (" UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                      "AND schema_name = current_schema() AND NOT internal")
        return sorted(row[0] for row in self._rows(query))

    def get_columns(self, table: str) -> list[dict]:
        rows = self._rows("SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
                          "WHERE database_name = current_database() AND schema_name = current_schema() AND table_name = :t "
                          "ORDER BY column_index", t=table)
        return [{"name": name, "type": type_string(data_type), "nullable": bool(nullable),
                 "autoincrement": bool(default and "nextval(" in str(default))} for name, data_type, nullable, default in rows]

    def _constraints(self, table: str, kind: str) -> list:
        return self._rows("SELECT constraint_column_names, constraint_name, referenced_table, referenced_column_names "
                          "FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = current_schema() "
                          "AND table_name = :t AND constraint_type = :k ORDER BY constraint_index", t=table, k=kind)

    def get_pk_constraint(self, table: str) -> dict:
        found = self._constraints(table, "PRIMARY KEY")
        return {"constrained_columns": list(found[0][0]) if found else [], "name": found[0][1] if found else None}

    def get_foreign_keys(self, table: str) -> list[dict]:
        return [{"constrained_columns": list(columns), "name": name, "referred_table": parent, "referred_columns": list(parent_columns)}
                for columns, name, parent, parent_columns in self._constraints(table, "FOREIGN KEY")]

    def get_unique_constraints(self, table: str) -> list[dict]:
        return [{"column_names": list(columns), "name": name} for columns, name, _, _ in self._constraints(table, "UNIQUE")]

    def get_indexes(self, table: str) -> list[dict]:
        return []  # DuckDB's unique indexes are its UNIQUE constraints, reported above
