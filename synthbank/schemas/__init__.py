"""What a database looks like: the schema model, reflection, detection rules and SDV conversion."""

from synthbank.schemas.model import PII_KINDS, SDTYPES, TABLE_MODES, Column, DatabaseSchema, ForeignKey, Table
from synthbank.schemas.reflect import reflect_schema
from synthbank.schemas.resolve import resolve_schema
from synthbank.schemas.rules import Rule
from synthbank.schemas.sdv_metadata import to_sdv_metadata

__all__ = ["PII_KINDS", "SDTYPES", "TABLE_MODES", "Column", "DatabaseSchema", "ForeignKey", "Rule", "Table",
           "reflect_schema", "resolve_schema", "to_sdv_metadata"]
