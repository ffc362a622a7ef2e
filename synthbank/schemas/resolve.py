"""A reviewed schema file combined with what the database really has."""

from __future__ import annotations

import logging
from pathlib import Path

from synthbank.errors import SchemaError
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)


def resolve_schema(reflected: DatabaseSchema, given: DatabaseSchema | str | Path | None, *, strict: bool = False) -> DatabaseSchema:
    """Combine a reviewed schema file with what the database really has.

    The file is authoritative for every table and column it lists. Tables or columns the file does not
    classify are taken as detected (with a warning), or refused with ``strict``. A table or column the
    file lists but the database lacks is an error. A foreign key that key discovery could not settle
    (``reflected.key_doubts``, found on a folder of files) is refused unless the file lists its table.
    """
    if given is not None and not isinstance(given, DatabaseSchema):
        given = DatabaseSchema.load(given)
    unsettled = [message for table, message in reflected.key_doubts if given is None or table not in given.tables]
    if unsettled:
        raise SchemaError(unsettled[0])
    if given is None:
        if strict:
            raise SchemaError("strict=True needs a reviewed schema file (schema=) that classifies every column.")
        return reflected
    schema = given
    tables = {}
    for name, table in schema.tables.items():
        if name not in reflected.tables:
            raise SchemaError(f"The schema file lists table '{name}', which the database does not have.")
        actual = reflected.tables[name]
        extra = [c for c in table.columns if c not in actual.columns]
        if extra:
            raise SchemaError(f"The schema file lists column(s) {', '.join(f'{name}.{c}' for c in extra)}, which the database does not have.")
        unclassified = [c for c in actual.columns if c not in table.columns]
        if unclassified and strict:
            raise SchemaError(f"strict=True: the schema file does not classify {', '.join(f'{name}.{c}' for c in unclassified)}.")
        for column in unclassified:
            log.warning("%s.%s is not in the schema file; using the detected sdtype %r", name, column, actual.columns[column].sdtype)
            table.columns[column] = actual.columns[column]
        table.columns = {c: table.columns[c] for c in actual.columns}  # the database's column order
        tables[name] = table
    for name, table in reflected.tables.items():
        if name not in tables:
            if strict:
                raise SchemaError(f"strict=True: the schema file does not classify table '{name}'.")
            log.warning("table %s is not in the schema file; using the detected schema", name)
            tables[name] = table
    return DatabaseSchema(tables, rare_threshold=schema.rare_threshold, locale=schema.locale or reflected.locale,
                          rules=schema.rules)
