"""A :class:`DatabaseSchema` as SQLAlchemy tables, so the same DDL can be created on any dialect."""

from __future__ import annotations

import sqlalchemy as sa

from synthbank.schemas import types
from synthbank.schemas.model import DatabaseSchema


def build_metadata(schema: DatabaseSchema, tables: list[str] | None = None) -> sa.MetaData:
    """SQLAlchemy ``MetaData`` with one ``Table`` per schema table (types, PK, FKs, NOT NULL, unique)."""
    names = list(tables) if tables is not None else list(schema.tables)
    deferred = schema.deferred_edges()
    metadata = sa.MetaData()
    for name in names:
        table = schema.table(name)
        pk = table.primary_key
        keyed = {*pk, *(c for fk in table.foreign_keys for c in fk.columns), *(c for u in table.unique for c in u),
                 *(c for c in table.columns if table.columns[c].unique)}
        columns = [
            sa.Column(column.name, _key_type(column.type) if column.name in keyed else types.to_sqlalchemy(column.type),
                      nullable=column.nullable, autoincrement=column.identity)
            for column in table.columns.values()
        ]
        constraints: list = []
        if pk:
            constraints.append(sa.PrimaryKeyConstraint(*pk))
        for i, fk in enumerate(table.foreign_keys):
            if fk.parent not in names:
                continue
            constraints.append(sa.ForeignKeyConstraint(
                fk.columns, [f"{fk.parent}.{c}" for c in fk.parent_columns],
                name=fk.name or f"fk_{name}_{'_'.join(fk.columns)}"[:60],
                # Self-references and cycles are created after the tables, so any table order works.
                use_alter=(name, i) in deferred,
            ))
        for unique in table.unique:
            constraints.append(sa.UniqueConstraint(*unique))
        sa.Table(name, metadata, *columns, *constraints, mysql_engine="InnoDB")  # transactional, with FKs
    return metadata


def _key_type(type_string: str) -> sa.types.TypeEngine:
    """A key column's type: as written, but an unbounded ``text`` (a DuckDB VARCHAR, a Parquet string) becomes
    VARCHAR(255) on MariaDB/MySQL, which cannot index TEXT without a length."""
    sql_type = types.to_sqlalchemy(type_string)
    if types.base_name(type_string) == "text":
        return sql_type.with_variant(sa.String(255), "mysql", "mariadb")
    return sql_type


def duckdb_ready(metadata: sa.MetaData) -> None:
    """Adapt the tables to DuckDB, in place: no ``SERIAL`` (the keys are written, not generated), and no
    foreign key that closes a cycle between two tables — DuckDB cannot add one with ``ALTER TABLE`` and
    either table created first would reference one that does not exist yet. Such a key is still checked
    by the writer's integrity check; self-references are kept (DuckDB creates them inline)."""
    for table in metadata.tables.values():
        for column in table.columns:
            column.autoincrement = False
        for constraint in list(table.foreign_key_constraints):
            if constraint.use_alter and constraint.referred_table is not table:
                table.constraints.discard(constraint)
                for element in constraint.elements:
                    element.parent.foreign_keys.discard(element)
