"""Portable column types: reflected dialect types → strings → types every backend can create."""

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from synthbank.errors import SchemaError
from synthbank.schemas import types


@pytest.mark.parametrize("sql_type, expected", [
    (sa.Integer(), "integer"), (sa.BigInteger(), "bigint"), (sa.SmallInteger(), "smallint"),
    (sa.Numeric(12, 2), "numeric(12,2)"), (sa.Float(), "float"), (postgresql.DOUBLE_PRECISION(), "float"),
    (sa.String(40), "varchar(40)"), (sa.String(), "text"), (sa.Text(), "text"), (mysql.LONGTEXT(), "text"),
    (sa.Boolean(), "boolean"), (mysql.TINYINT(display_width=1), "boolean"), (mysql.TINYINT(), "integer"),
    (sa.Date(), "date"), (sa.DateTime(), "datetime"), (postgresql.TIMESTAMP(timezone=True), "datetime(tz)"),
    (postgresql.UUID(), "uuid"), (postgresql.JSONB(), "json"), (mysql.JSON(), "json"),
    (postgresql.ARRAY(sa.Integer()), "array(integer)"), (sa.Enum("a", "b", name="e"), "enum(a|b)"),
    (sa.LargeBinary(), "binary"),
])
def test_reflected_types_become_portable_strings(sql_type, expected):
    assert types.from_sqlalchemy(sql_type) == expected


@pytest.mark.parametrize("text", ["integer", "numeric(12,2)", "varchar(40)", "text", "boolean", "date",
                                  "datetime", "datetime(tz)", "uuid", "json", "enum(a|b)", "float", "bigint"])
def test_portable_strings_round_trip(text):
    assert types.from_sqlalchemy(types.to_sqlalchemy(text)) == text


def test_unknown_type_is_a_clear_error():
    with pytest.raises(SchemaError, match="not a column type"):
        types.to_sqlalchemy("hyperloglog")
    with pytest.raises(SchemaError, match="not a column type"):
        types.base_name("numeric((")
