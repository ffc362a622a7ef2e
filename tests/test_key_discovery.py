"""Keys found on the data (synthbank.schemas.key_discovery): DuckDB tables without constraints."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from synthbank.schemas.key_discovery import _plural, _singular, discover_keys
from synthbank.schemas.model import Column, ForeignKey, Table

_TYPES = {"INTEGER": "integer", "BIGINT": "bigint", "VARCHAR": "text", "DOUBLE": "float", "DATE": "date"}


@pytest.fixture
def connection():
    engine = sa.create_engine("duckdb:///:memory:")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def build(connection: sa.Connection, script: str) -> dict[str, Table]:
    """Run ``script`` (statements separated by ';') and describe every table as synthbank would, without keys."""
    for statement in filter(str.strip, script.split(";")):
        connection.exec_driver_sql(statement)
    tables: dict[str, Table] = {}
    rows = connection.exec_driver_sql(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ).fetchall()
    for table_name, column_name, data_type, nullable in rows:
        table = tables.setdefault(table_name, Table(table_name, {}))
        table.columns[column_name] = Column(column_name, _TYPES[data_type], nullable=nullable == "YES")
    for table in tables.values():
        table.row_count = connection.exec_driver_sql(f'SELECT count(*) FROM "{table.name}"').scalar()
    return tables


def fks(tables: dict[str, Table]) -> set[tuple[str, str, str, str]]:
    return {(t.name, fk.columns[0], fk.parent, fk.parent_columns[0]) for t in tables.values() for fk in t.foreign_keys}


def pks(tables: dict[str, Table]) -> dict[str, list[str]]:
    return {t.name: t.primary_key for t in tables.values()}


BANK = """
CREATE TABLE users (id INTEGER, name VARCHAR, born DATE);
INSERT INTO users SELECT i, 'user ' || i, DATE '1970-01-01' + i::INTEGER FROM range(1, 41) t(i);
CREATE TABLE loans (id INTEGER, user_id INTEGER, amount DOUBLE, term_months INTEGER);
INSERT INTO loans SELECT i, 1 + i % 40, 1000.0 * i, CASE WHEN i % 2 = 0 THEN 36 ELSE 60 END FROM range(1, 61) t(i);
CREATE TABLE transactions (id BIGINT, loan_id INTEGER, amount DOUBLE, booked DATE);
INSERT INTO transactions SELECT i, 1 + i % 60, 10.5 * i, DATE '2024-01-01' + i::INTEGER FROM range(1, 301) t(i);
CREATE TABLE complaints (id INTEGER, user_id INTEGER, loan_id INTEGER, narrative VARCHAR);
INSERT INTO complaints SELECT i, 1 + i % 40, CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % 60 END, 'text ' || i FROM range(1, 21) t(i);
"""


def test_bank_keys_are_found_and_an_integer_without_a_name_is_not(connection, caplog):
    tables = build(connection, BANK)
    with caplog.at_level(logging.INFO, logger="synthbank.schemas.key_discovery"):
        doubts = discover_keys(connection, tables)
    assert doubts == []
    assert pks(tables) == {"users": ["id"], "loans": ["id"], "transactions": ["id"], "complaints": ["id"]}
    assert fks(tables) == {("loans", "user_id", "users", "id"), ("transactions", "loan_id", "loans", "id"),
                           ("complaints", "user_id", "users", "id"), ("complaints", "loan_id", "loans", "id")}
    # 36 and 60 lie inside users.id and loans.id, but an integer needs a name to be a foreign key
    assert not any(fk.columns == ["term_months"] for fk in tables["loans"].foreign_keys)
    assert tables["users"].columns["id"].unique and not tables["users"].columns["id"].nullable
    assert not tables["users"].columns["name"].unique
    assert "loans.user_id → users.id" in caplog.text and "primary key users.id" in caplog.text


FLIGHTS = """
CREATE TABLE airports (faa VARCHAR, name VARCHAR, lat DOUBLE);
INSERT INTO airports VALUES ('JFK', 'John F Kennedy Intl', 40.6), ('LGA', 'La Guardia', 40.7), ('EWR', 'Newark Liberty Intl', 40.6),
                            ('ATL', 'Hartsfield Jackson Atlanta Intl', 33.6), ('ORD', 'Chicago Ohare Intl', 41.9);
CREATE TABLE airlines (carrier VARCHAR, name VARCHAR);
INSERT INTO airlines VALUES ('AA', 'American Airlines Inc.'), ('UA', 'United Air Lines Inc.'), ('DL', 'Delta Air Lines Inc.');
CREATE TABLE planes (tailnum VARCHAR, year INTEGER, seats INTEGER);
INSERT INTO planes VALUES ('N10156', 2004, 55), ('N102UW', 1998, 182), ('N103US', 1999, 182);
CREATE TABLE flights (year INTEGER, month INTEGER, day INTEGER, carrier VARCHAR, flight INTEGER, tailnum VARCHAR, origin VARCHAR, dest VARCHAR);
INSERT INTO flights VALUES (2013, 1, 1, 'AA', 1, 'N10156', 'JFK', 'ATL'), (2013, 1, 1, 'UA', 2, 'N102UW', 'LGA', 'ORD'),
                           (2013, 1, 2, 'DL', 3, 'N102XX', 'EWR', 'ATL'), (2013, 1, 2, 'AA', 4, NULL, 'JFK', 'DEN'),
                           (2013, 1, 3, 'UA', 5, 'N103US', 'LGA', 'ORD');
CREATE TABLE weather (origin VARCHAR, month INTEGER, day INTEGER, temp DOUBLE);
INSERT INTO weather VALUES ('JFK', 1, 1, 39.0), ('LGA', 1, 1, 39.9), ('EWR', 1, 1, 37.0), ('JFK', 1, 2, 40.0);
"""


def test_flights_string_codes_are_found_by_name_or_by_values(connection):
    tables = build(connection, FLIGHTS)
    doubts = discover_keys(connection, tables)
    assert doubts == []
    assert pks(tables) == {"airports": ["faa"], "airlines": ["carrier"], "planes": ["tailnum"], "flights": [], "weather": []}
    # carrier by its name, origin by its values alone; tailnum (N102XX) and dest (DEN) are not all included,
    # though they lie inside the parents' ranges: only the anti-join on the data can tell
    assert fks(tables) == {("flights", "carrier", "airlines", "carrier"), ("flights", "origin", "airports", "faa"),
                           ("weather", "origin", "airports", "faa")}


def test_two_parents_equally_plausible_give_a_doubt_and_no_key(connection):
    tables = build(connection, """
        CREATE TABLE checking (account_id INTEGER, balance DOUBLE);
        INSERT INTO checking SELECT i, i * 10.0 FROM range(1, 11) t(i);
        CREATE TABLE savings (account_id INTEGER, rate DOUBLE);
        INSERT INTO savings SELECT i, i / 100.0 FROM range(1, 11) t(i);
        CREATE TABLE transfers (id INTEGER, account_id INTEGER, amount DOUBLE);
        INSERT INTO transfers SELECT i, 1 + i % 10, i * 1.5 FROM range(1, 31) t(i);
    """)
    doubts = discover_keys(connection, tables)
    assert pks(tables) == {"checking": ["account_id"], "savings": ["account_id"], "transfers": ["id"]}
    assert fks(tables) == set()  # neither transfers nor the two primary keys point at each other
    assert len(doubts) == 1
    assert "transfers.account_id" in doubts[0] and "checking.account_id" in doubts[0] and "savings.account_id" in doubts[0]
    assert "--schema" in doubts[0]


def test_a_stem_match_beats_an_exact_name_and_a_one_to_one_extension_is_found(connection):
    tables = build(connection, """
        CREATE TABLE users (user_id INTEGER, email VARCHAR);
        INSERT INTO users SELECT i, 'u' || i || '@example.com' FROM range(1, 21) t(i);
        CREATE TABLE user_profiles (user_id INTEGER, bio VARCHAR);
        INSERT INTO user_profiles SELECT i, 'likes ' || i FROM range(1, 21) t(i);
        CREATE TABLE orders (id INTEGER, user_id INTEGER);
        INSERT INTO orders SELECT i, 1 + i % 20 FROM range(1, 51) t(i);
    """)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"users": ["user_id"], "user_profiles": ["user_id"], "orders": ["id"]}
    assert fks(tables) == {("user_profiles", "user_id", "users", "user_id"), ("orders", "user_id", "users", "user_id")}


def test_a_self_reference_is_found(connection):
    tables = build(connection, """
        CREATE TABLE employees (id INTEGER, name VARCHAR, manager_id INTEGER);
        INSERT INTO employees VALUES (1, 'Ann', NULL), (2, 'Bob', 1), (3, 'Cid', 1), (4, 'Dee', 2), (5, 'Eve', 2);
    """)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"employees": ["id"]}
    assert fks(tables) == {("employees", "manager_id", "employees", "id")}


def test_a_table_without_a_unique_identifier_gets_no_primary_key(connection):
    tables = build(connection, """
        CREATE TABLE readings (sensor VARCHAR, taken DATE, value DOUBLE, batch INTEGER);
        INSERT INTO readings VALUES ('a', DATE '2024-01-01', 1.5, 7), ('a', DATE '2024-01-02', 2.5, 8), ('b', DATE '2024-01-03', 3.5, 9);
    """)
    # taken, value and batch are unique, but a date, a float and an integer without an identifier's name
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"readings": []}
    assert not any(c.unique for c in tables["readings"].columns.values())


def test_values_not_all_included_are_rejected_whatever_the_name(connection):
    tables = build(connection, """
        CREATE TABLE users (id INTEGER, name VARCHAR);
        INSERT INTO users SELECT i, 'user ' || i FROM range(1, 11) t(i) WHERE i <> 5;
        CREATE TABLE loans (id INTEGER, user_id INTEGER);
        INSERT INTO loans SELECT i, i FROM range(1, 8) t(i);
    """)
    # user 5 is missing, inside users' range 1..10: only the anti-join on the data sees it
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"users": ["id"], "loans": ["id"]}
    assert fks(tables) == set()
    # the loan of the missing user removed: the key is found, so the data alone decided
    connection.exec_driver_sql("DELETE FROM loans WHERE user_id = 5")
    tables = build(connection, "")
    discover_keys(connection, tables)
    assert fks(tables) == {("loans", "user_id", "users", "id")}


def test_declared_keys_are_kept(connection):
    tables = build(connection, BANK)
    tables["users"].primary_key = ["name"]
    tables["complaints"].foreign_keys = [ForeignKey(["user_id"], "users", ["id"])]
    discover_keys(connection, tables)
    assert tables["users"].primary_key == ["name"]
    assert not tables["users"].columns["id"].unique  # discovery left a declared table alone
    assert tables["complaints"].foreign_keys == [ForeignKey(["user_id"], "users", ["id"])]
    assert ("loans", "user_id", "users", "id") not in fks(tables)  # users' key is name now: user_id cannot reference it
    assert ("transactions", "loan_id", "loans", "id") in fks(tables)


def test_preferred_primary_key_and_plural_stems(connection):
    tables = build(connection, """
        CREATE TABLE categories (code VARCHAR, category_id INTEGER, label VARCHAR);
        INSERT INTO categories VALUES ('A', 1, 'Alpha'), ('B', 2, 'Beta'), ('C', 3, 'Gamma');
        CREATE TABLE addresses (street VARCHAR, address_no INTEGER);
        INSERT INTO addresses VALUES ('Main St 1', 10), ('Main St 2', 20);
        CREATE TABLE products (id INTEGER, category_id INTEGER, address_no INTEGER);
        INSERT INTO products VALUES (1, 1, 10), (2, 1, 20), (3, 3, NULL);
    """)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"categories": ["category_id"], "addresses": ["address_no"], "products": ["id"]}
    assert fks(tables) == {("products", "category_id", "categories", "category_id"), ("products", "address_no", "addresses", "address_no")}


@pytest.mark.parametrize("plural, singular", [("users", "user"), ("categories", "category"), ("addresses", "address"),
                                              ("statuses", "status"), ("branches", "branch"), ("people", "person")])
def test_singular_and_plural(plural, singular):
    assert _singular(plural) == singular
    assert _plural(singular) == plural


def test_names_with_capitals_and_spaces_are_read_as_identifiers(connection):
    tables = build(connection, """
        CREATE TABLE "Customers" ("CustomerId" VARCHAR, "Full Name" VARCHAR);
        INSERT INTO "Customers" VALUES ('C1', 'Ann Lee'), ('C2', 'Bob Stone'), ('C3', 'Cid Moss');
        CREATE TABLE "Order" ("Order ID" INTEGER, "CustomerId" VARCHAR, "select" INTEGER);
        INSERT INTO "Order" VALUES (1, 'C1', 7), (2, 'C2', 7), (3, 'C1', 8);
    """)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"Customers": ["CustomerId"], "Order": ["Order ID"]}
    assert fks(tables) == {("Order", "CustomerId", "Customers", "CustomerId")}


def test_a_parent_without_a_primary_key_takes_the_column_its_children_name(connection):
    # Berka's district: its key A1 has no identifier's name; account.district_id and client.district_id name the table
    script = """
        CREATE TABLE district (A1 INTEGER, A2 VARCHAR, A4 INTEGER, A5 INTEGER);
        INSERT INTO district SELECT i, 'town ' || i, 10000 + 37 * i, i % 3 FROM range(1, 21) t(i);
        CREATE TABLE account (account_id INTEGER, district_id INTEGER);
        INSERT INTO account SELECT i, 1 + i % 20 FROM range(1, 61) t(i);
        CREATE TABLE client (client_id INTEGER, district_id INTEGER);
        INSERT INTO client SELECT i, 1 + (i * 7) % 20 FROM range(1, 41) t(i);
    """
    tables = build(connection, script)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"district": ["A1"], "account": ["account_id"], "client": ["client_id"]}
    assert tables["district"].columns["A1"].unique and not tables["district"].columns["A1"].nullable
    assert fks(tables) == {("account", "district_id", "district", "A1"), ("client", "district_id", "district", "A1")}
    # a second column that holds every district_id too: no key is guessed, a doubt names both
    connection.exec_driver_sql("ALTER TABLE district ADD COLUMN A9 INTEGER")
    connection.exec_driver_sql("UPDATE district SET A9 = 21 - A1")
    tables = build(connection, "")
    doubts = discover_keys(connection, tables)
    assert pks(tables)["district"] == [] and fks(tables) == set()
    assert len(doubts) == 1 and "district_id could reference district.A1 or district.A9" in doubts[0]


def test_a_near_miss_is_noted_not_taken(connection):
    tables = build(connection, """
        CREATE TABLE airports (faa VARCHAR, name VARCHAR);
        INSERT INTO airports VALUES ('JFK', 'John F Kennedy Intl'), ('LGA', 'La Guardia'), ('EWR', 'Newark Liberty Intl'), ('ATL', 'Atlanta');
        CREATE TABLE users (id INTEGER, name VARCHAR);
        INSERT INTO users SELECT i, 'user ' || i FROM range(1, 11) t(i);
        CREATE TABLE flights (id INTEGER, dest VARCHAR, user_id INTEGER, origin VARCHAR);
        INSERT INTO flights SELECT i, CASE WHEN i = 7 THEN 'BQN' ELSE ['JFK', 'LGA', 'ATL'][1 + i % 3] END,
                                   CASE WHEN i % 5 = 0 THEN 11 ELSE 1 + i % 10 END, CASE WHEN i % 3 = 0 THEN 'SJU' ELSE 'EWR' END
                            FROM range(1, 41) t(i);
    """)
    notes: list[str] = []
    assert discover_keys(connection, tables, notes) == []
    assert fks(tables) == set()
    # dest: 39 of 40 rows found by values alone (97.5%); user_id, named for users: 32 of 40 (80%), origin 27 of 40: no note
    assert notes == ["flights.dest → airports.faa: 97.5% of rows' values are in airports.faa (1 row, 1 value, BQN, is not), so it is not "
                     "taken as a foreign key; declare it in a schema file if those rows are expected."]
    connection.exec_driver_sql("UPDATE flights SET user_id = 1 WHERE user_id = 11 AND id > 5")
    tables, notes = build(connection, ""), []
    discover_keys(connection, tables, notes)
    # one user_id left outside users' range: a near miss too (the name says so, the range alone ruled it out)
    assert [n.split(":")[0] for n in notes] == ["flights.dest → airports.faa", "flights.user_id → users.id"]
    assert "97.5% of rows' values are in users.id (1 row, 1 value, 11, is not)" in notes[1]


def test_a_unique_foreign_key_of_a_link_table_is_not_its_primary_key(connection):
    # hr: each employee has one row in dept_emp and titles, so their emp_no is unique there, and so is dept_manager's dept_no
    tables = build(connection, """
        CREATE TABLE departments (dept_no VARCHAR, dept_name VARCHAR);
        INSERT INTO departments SELECT 'd00' || i, 'dept ' || i FROM range(1, 5) t(i);
        CREATE TABLE employees (emp_no INTEGER, first_name VARCHAR, hired DATE);
        INSERT INTO employees SELECT 10000 + i, 'F' || i, DATE '1990-01-01' + i::INTEGER FROM range(1, 31) t(i);
        CREATE TABLE dept_emp (emp_no INTEGER, dept_no VARCHAR, from_date DATE);
        INSERT INTO dept_emp SELECT 10000 + i, 'd00' || (1 + i % 4), DATE '1990-01-01' + i::INTEGER FROM range(1, 31) t(i);
        CREATE TABLE dept_manager (emp_no INTEGER, dept_no VARCHAR);
        INSERT INTO dept_manager SELECT 10000 + 3 * i, 'd00' || i FROM range(1, 5) t(i);
        CREATE TABLE titles (emp_no INTEGER, title VARCHAR);
        INSERT INTO titles SELECT 10000 + i, CASE WHEN i % 2 = 0 THEN 'Staff' ELSE 'Engineer' END FROM range(1, 31) t(i);
        CREATE TABLE salaries (emp_no INTEGER, salary INTEGER);
        INSERT INTO salaries SELECT 10000 + 1 + i % 30, 50000 + i FROM range(1, 91) t(i);
    """)
    assert discover_keys(connection, tables) == []
    assert pks(tables) == {"departments": ["dept_no"], "employees": ["emp_no"], "dept_emp": [], "dept_manager": [], "titles": [],
                           "salaries": []}
    assert fks(tables) == {(t, "emp_no", "employees", "emp_no") for t in ("dept_emp", "dept_manager", "titles", "salaries")} | {
        (t, "dept_no", "departments", "dept_no") for t in ("dept_emp", "dept_manager")}
