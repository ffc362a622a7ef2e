"""Reflection of real databases (SQLite, PostgreSQL, MariaDB): tables, keys, PII and text detection."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import sqlalchemy as sa

from synthbank.database import open_engine
from synthbank.demo_bank import write_demo_bank
from synthbank.errors import DatabaseConnectionError, SchemaError
from synthbank.schemas import reflect_schema


def _build_tricky_database(url: str) -> None:
    """Composite keys, a self-reference, two FKs to one parent (single and composite), a table with no PK."""
    metadata = sa.MetaData()
    sa.Table("branches", metadata, sa.Column("branch_code", sa.String(8), primary_key=True),
             sa.Column("region", sa.String(20)))
    sa.Table("accounts", metadata,
             sa.Column("branch_code", sa.String(8), sa.ForeignKey("branches.branch_code"), primary_key=True),
             sa.Column("account_no", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("balance", sa.Numeric(12, 2)))
    sa.Table("employees", metadata, sa.Column("employee_id", sa.Integer, primary_key=True),
             sa.Column("manager_id", sa.Integer, sa.ForeignKey("employees.employee_id"), nullable=True),
             sa.Column("first_name", sa.String(40)))
    sa.Table("transfers", metadata, sa.Column("transfer_id", sa.Integer, primary_key=True),
             sa.Column("from_branch", sa.String(8)), sa.Column("from_account", sa.Integer),
             sa.Column("to_branch", sa.String(8)), sa.Column("to_account", sa.Integer),
             sa.Column("amount", sa.Numeric(12, 2)),
             sa.ForeignKeyConstraint(["from_branch", "from_account"], ["accounts.branch_code", "accounts.account_no"]),
             sa.ForeignKeyConstraint(["to_branch", "to_account"], ["accounts.branch_code", "accounts.account_no"]))
    sa.Table("customers", metadata, sa.Column("customer_id", sa.Integer, primary_key=True),
             sa.Column("email", sa.String(80), unique=True))
    sa.Table("payments", metadata, sa.Column("payment_id", sa.Integer, primary_key=True),
             sa.Column("payer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("payee_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("paid_on", sa.Date))
    sa.Table("audit_log", metadata, sa.Column("message", sa.String(200)), sa.Column("level", sa.String(10)))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(metadata.tables["branches"].insert(), [{"branch_code": "NYC1", "region": "east"}])
        connection.execute(metadata.tables["accounts"].insert(), [
            {"branch_code": "NYC1", "account_no": 1, "balance": 10}, {"branch_code": "NYC1", "account_no": 2, "balance": 5}])
        connection.execute(metadata.tables["employees"].insert(), [
            {"employee_id": 1, "manager_id": None, "first_name": "Ann"}, {"employee_id": 2, "manager_id": 1, "first_name": "Bo"}])
        connection.execute(metadata.tables["customers"].insert(), [
            {"customer_id": i, "email": f"c{i}@example.com"} for i in range(1, 4)])
        connection.execute(metadata.tables["payments"].insert(), [
            {"payment_id": 1, "payer_id": 1, "payee_id": 2, "paid_on": date(2024, 1, 2)}])
    engine.dispose()


def test_demo_bank_reflects_on_every_backend(database_url):
    write_demo_bank(database_url, users=120, seed=3)
    schema = reflect_schema(database_url)

    assert set(schema.tables) == {"users", "loans", "transactions", "complaints"}
    assert schema.tables["users"].primary_key == ["user_id"]
    assert schema.tables["transactions"].primary_key == ["transaction_id"]
    fks = {(child, tuple(fk.columns), fk.parent) for child, fk in schema.relationships()}
    assert fks == {("loans", ("user_id",), "users"), ("transactions", ("loan_id",), "loans"),
                   ("complaints", ("user_id",), "users"), ("complaints", ("loan_id",), "loans")}
    users = schema.tables["users"]
    pii = {name: column.pii for name, column in users.columns.items() if column.is_pii}
    assert pii == {"full_name": "name", "email": "email", "phone": "phone", "ssn": "ssn",
                   "street_address": "street_address", "city": "city", "zip_code": "zipcode",
                   "date_of_birth": "date_of_birth"}
    assert schema.tables["complaints"].columns_of("text") == ["narrative"]
    assert users.columns["annual_income"].sdtype == "numerical"
    assert users.columns["state"].sdtype == "categorical"
    assert schema.tables["loans"].columns["is_default"].sdtype == "boolean"
    assert schema.tables["loans"].columns["issue_date"].sdtype == "datetime"
    assert schema.tables["loans"].columns["amount"].type == "numeric(12,2)"
    assert users.columns["email"].unique and not users.columns["email"].nullable
    assert schema.tables["users"].row_count == 120


def test_tricky_keys_reflect_on_every_backend(database_url):
    _build_tricky_database(database_url)
    schema = reflect_schema(database_url)

    accounts = schema.tables["accounts"]
    assert accounts.primary_key == ["branch_code", "account_no"]
    assert [(fk.columns, fk.parent) for fk in accounts.foreign_keys] == [(["branch_code"], "branches")]

    employees = schema.tables["employees"]
    assert [(fk.columns, fk.parent, fk.parent_columns) for fk in employees.self_references] == [
        (["manager_id"], "employees", ["employee_id"])]
    assert employees.columns["manager_id"].nullable
    assert employees.columns["first_name"].pii == "first_name"

    transfers = sorted((fk.columns, fk.parent_columns) for fk in schema.tables["transfers"].foreign_keys)
    assert transfers == [(["from_branch", "from_account"], ["branch_code", "account_no"]),
                         (["to_branch", "to_account"], ["branch_code", "account_no"])]
    assert all(fk.is_composite for fk in schema.tables["transfers"].foreign_keys)

    payments = sorted((fk.columns[0], fk.parent) for fk in schema.tables["payments"].foreign_keys)
    assert payments == [("payee_id", "customers"), ("payer_id", "customers")]
    assert schema.tables["customers"].columns["email"].unique

    assert schema.tables["audit_log"].primary_key == []
    assert schema.topological_order().index("branches") < schema.topological_order().index("transfers")


def test_reflection_restricted_to_some_tables(sqlite_url):
    write_demo_bank(sqlite_url, users=30)
    schema = reflect_schema(sqlite_url, ["users", "loans"])
    assert set(schema.tables) == {"users", "loans"}
    with pytest.raises(SchemaError, match="no table named 'cards'"):
        reflect_schema(sqlite_url, ["users", "cards"])


def test_sqlite_source_bytes_unchanged_and_writes_refused(sqlite_url):
    write_demo_bank(sqlite_url, users=40)
    path = sa.engine.make_url(sqlite_url).database
    before = hashlib.sha256(open(path, "rb").read()).hexdigest()
    reflect_schema(sqlite_url)
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == before

    engine = open_engine(sqlite_url, read_only=True)
    with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users"))
    engine.dispose()


@pytest.mark.parametrize("statement", ["DELETE FROM users", "CREATE TABLE sneaky (id INTEGER)"])
def test_server_sources_are_opened_read_only(database_url, statement):
    write_demo_bank(database_url, users=40)

    def fingerprint():
        engine = sa.create_engine(database_url)
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT user_id, email, credit_score FROM users ORDER BY user_id")).fetchall()
            names = sorted(sa.inspect(connection).get_table_names())
        engine.dispose()
        return hashlib.sha256(repr((rows, names)).encode()).hexdigest()

    before = fingerprint()
    reflect_schema(database_url)
    engine = open_engine(database_url, read_only=True)
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()
    assert fingerprint() == before


def test_empty_database_and_missing_file_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with pytest.raises(SchemaError, match="has no tables"):
        reflect_schema(str(empty))
    with pytest.raises(DatabaseConnectionError, match="does not exist"):
        reflect_schema(str(tmp_path / "nope.db"))
    assert not (tmp_path / "nope.db").exists()
