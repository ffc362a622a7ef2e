"""Portable SQL column types.

A schema file must describe a column type so that the same DDL can be created on SQLite, PostgreSQL and
MariaDB/MySQL, and so that a person can read and edit it. synthbank writes types as short strings:

    integer  bigint  smallint  float  numeric(12,2)  varchar(100)  text  boolean
    date  datetime  datetime(tz)  time  uuid  json  binary  enum(a|b|c)  array(integer)

``from_sqlalchemy`` turns a reflected SQLAlchemy type into such a string (through SQLAlchemy's own
``as_generic``), ``to_sqlalchemy`` turns the string back into a type every dialect can create.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from synthbank.errors import SchemaError

_SIMPLE = {
    "integer": sa.Integer,
    "bigint": sa.BigInteger,
    "smallint": sa.SmallInteger,
    "float": lambda: sa.Float().with_variant(sa.Double(), "duckdb"),  # DuckDB's FLOAT has 4 bytes
    "text": sa.Text,
    "boolean": sa.Boolean,
    "date": lambda: Date(),
    "time": lambda: Time(),
    "uuid": lambda: sa.Uuid(as_uuid=False),
    "json": lambda: sa.JSON(none_as_null=True),
    "binary": sa.LargeBinary,
}
_PATTERN = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$", re.IGNORECASE)

NUMERIC_TYPES = {"integer", "bigint", "smallint", "float", "numeric"}
INTEGER_TYPES = {"integer", "bigint", "smallint"}
STRING_TYPES = {"varchar", "text", "enum"}
TEMPORAL_TYPES = {"date", "datetime", "time"}
#: Types whose values synthbank cannot learn; such columns are marked ``unsupported`` by detection.
#: (A ``time`` of day is learned as a datetime on 1970-01-01, see :mod:`synthbank.relational.frames`.)
UNLEARNABLE_TYPES = {"json", "binary", "array"}


def base_name(type_string: str) -> str:
    """``"numeric(12,2)"`` → ``"numeric"``."""
    match = _PATTERN.match(type_string)
    if not match:
        raise SchemaError(f"'{type_string}' is not a column type synthbank understands.")
    return match.group(1).lower()


def fixed_scale(type_string: str) -> int | None:
    """The decimals a type fixes: 0 for integers, s for ``numeric(p,s)``; None for floats and others."""
    base = base_name(type_string)
    if base in INTEGER_TYPES:
        return 0
    if base == "numeric" and "," in type_string:
        return int(type_string[type_string.find(",") + 1:type_string.find(")")].strip() or 0)
    return None


def from_sqlalchemy(sql_type: sa.types.TypeEngine) -> str:
    """Describe a reflected SQLAlchemy type as a portable type string."""
    if isinstance(sql_type, sa.types.TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, postgresql.ARRAY):
        return f"array({from_sqlalchemy(sql_type.item_type)})"
    if type(sql_type).__name__.upper() == "SET" and getattr(sql_type, "values", None):
        # MySQL/MariaDB SET: any comma-joined combination of its values, kept as a string wide enough for all
        return f"varchar({sum(len(v) + 1 for v in sql_type.values)})"
    if isinstance(sql_type, sa.Enum) and sql_type.enums:
        return "enum(" + "|".join(sql_type.enums) + ")"
    if isinstance(sql_type, sa.JSON) or type(sql_type).__name__.upper() in {"JSON", "JSONB"}:
        return "json"
    if isinstance(sql_type, sa.Uuid) or type(sql_type).__name__.upper() == "UUID":
        return "uuid"
    # MySQL spells booleans TINYINT(1); SQLAlchemy reflects them as TINYINT(display_width=1).
    if type(sql_type).__name__.upper() == "TINYINT" and getattr(sql_type, "display_width", None) == 1:
        return "boolean"
    try:
        generic = sql_type.as_generic()
    except NotImplementedError:
        generic = sql_type
    return _describe_generic(generic, sql_type)


def _describe_generic(generic: sa.types.TypeEngine, original: sa.types.TypeEngine) -> str:
    if isinstance(generic, sa.Boolean):
        return "boolean"
    if isinstance(generic, sa.BigInteger):
        return "bigint"
    if isinstance(generic, sa.SmallInteger):
        return "smallint"
    if isinstance(generic, sa.Integer):
        return "integer"
    if isinstance(generic, sa.Numeric) and not isinstance(generic, sa.Float):
        if generic.precision is None:
            return "numeric"
        return f"numeric({generic.precision},{generic.scale or 0})"
    if isinstance(generic, sa.Float):
        return "float"
    if isinstance(generic, sa.DateTime):
        return "datetime(tz)" if getattr(original, "timezone", False) else "datetime"
    if isinstance(generic, sa.Date):
        return "date"
    if isinstance(generic, sa.Time):
        return "time"
    if isinstance(generic, sa.Text):
        return "text"
    if isinstance(generic, sa.String):
        return f"varchar({generic.length})" if generic.length else "text"
    if isinstance(generic, sa.LargeBinary):
        return "binary"
    if isinstance(generic, sa.Interval):
        return "text"
    # Anything else (geometry, network types, ranges…) is kept as text so the DDL can still be created.
    return "text"


def to_sqlalchemy(type_string: str) -> sa.types.TypeEngine:
    """Build a dialect-neutral SQLAlchemy type from a portable type string."""
    name = base_name(type_string)
    args = _PATTERN.match(type_string).group(2)
    if name in _SIMPLE and not args:
        return _SIMPLE[name]()
    if name == "varchar":
        return sa.String(int(args)) if args else sa.String(255)
    if name == "numeric":
        if not args:
            return sa.Numeric()
        precision, _, scale = args.partition(",")
        return sa.Numeric(int(precision), int(scale or 0))
    if name == "datetime":
        return DateTime(timezone=(args or "").strip() == "tz")
    if name == "enum":
        values = [value for value in (args or "").split("|") if value]
        if not values:
            raise SchemaError(f"Column type '{type_string}' lists no enum values.")
        return sa.Enum(*values, native_enum=False, length=max(len(v) for v in values))
    if name == "array":
        # Only PostgreSQL has arrays; elsewhere they are stored as JSON.
        item = to_sqlalchemy(args or "text")
        return sa.JSON(none_as_null=True).with_variant(postgresql.ARRAY(item), "postgresql")
    raise SchemaError(f"'{type_string}' is not a column type synthbank understands.")


# --- temporal types that also take the source's own strings ---------------------------------------
class _TemporalAsWritten(sa.types.TypeDecorator):
    """A date/time/datetime column that also accepts ISO-8601 strings as bound values.

    SQLite has no temporal storage of its own: a source may keep ``2024-05-01T09:30:00Z`` as text in a
    DATETIME column, and a synthetic copy keeps that form by writing strings (see
    :func:`synthbank.relational.frames.cast_to_schema`). SQLAlchemy's SQLite types refuse strings and
    would write ``2024-05-01 09:30:00.000000``; here SQLite stores a string as given, other databases get
    it parsed into a ``datetime``/``date``/``time`` (which their drivers send natively). DDL and
    reflection see the plain type.
    """

    cache_ok = True

    def bind_processor(self, dialect):
        inner = dialect.type_descriptor(self.impl_instance).bind_processor(dialect)
        sqlite = dialect.name == "sqlite"
        parse = self._parse

        def process(value):
            if isinstance(value, str):
                if sqlite:
                    return value
                value = parse(value)
            return inner(value) if inner is not None and value is not None else value

        return process

    @staticmethod
    def _parse(value: str):
        raise NotImplementedError


class DateTime(_TemporalAsWritten):
    impl = sa.DateTime
    cache_ok = True

    @staticmethod
    def _parse(value: str):
        import datetime as dt

        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


class Date(_TemporalAsWritten):
    impl = sa.Date
    cache_ok = True

    @staticmethod
    def _parse(value: str):
        import datetime as dt

        return dt.date.fromisoformat(value.strip()[:10])


class Time(_TemporalAsWritten):
    impl = sa.Time
    cache_ok = True

    @staticmethod
    def _parse(value: str):
        import datetime as dt

        return dt.time.fromisoformat(value.strip().replace("Z", "+00:00"))
