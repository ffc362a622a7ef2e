"""MariaDB/MySQL commit DDL implicitly, so new tables are built under temporary names (``_sbnew_*``),
checked, and swapped in with one atomic ``RENAME TABLE``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid

import sqlalchemy as sa

from synthbank.errors import SynthbankError, TargetNotEmptyError
from synthbank.io.ddl import build_metadata
from synthbank.io.filling import Chunks, WriteReport, fill, refuse_failed_check, statement_message
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)


_NEW, _OLD = "_sbnew_", "_sbold_"


def _temporary_name(prefix: str, name: str) -> str:
    candidate = prefix + name
    return candidate if len(candidate) <= 64 else prefix + hashlib.sha1(name.encode()).hexdigest()[:16]


def write_mysql(engine, schema, chunks: Chunks, names, deferred, existing, batch_size, on_rows, shown) -> WriteReport:
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
                report = fill(connection, schema, metadata, chunks, names, deferred, batch_size, on_rows, "mysql", new)
                refuse_failed_check(report, shown)
            renames = [f"{_q(engine, n)} TO {_q(engine, old[n])}" for n in names if n in old]
            renames += [f"{_q(engine, new[n])} TO {_q(engine, n)}" for n in names]
            with engine.begin() as connection:
                connection.exec_driver_sql("RENAME TABLE " + ", ".join(renames))
            swapped = True
        except sa.exc.StatementError as exc:
            raise SynthbankError(f"Writing to '{shown}' failed and was rolled back: {statement_message(exc)}.") from None
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
        log.warning("could not give the written tables' foreign keys their names: %s", statement_message(exc))


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
