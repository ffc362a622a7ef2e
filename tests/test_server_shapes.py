"""Shapes real server databases have, cloned with the CLI's defaults: a PostgreSQL schema other than ``public``
with ``uuid`` keys, ``jsonb``, arrays, a native enum and a foreign key to a unique IBAN; a MariaDB database
with ``ENUM``, ``SET``, a ``MEDIUMBLOB``, ``yyyymmdd`` integers and counterparties' account numbers. Skipped
with the reason where the server is not reachable."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from conftest import _fresh_database
from core_banking import czech_iban
from faker import Faker

from synthbank.schemas import reflect_schema
from synthbank.schemas.identifiers import iban_valid

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def _clone(source: str, target: str) -> str:
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "clone", source, target, "--no-text"],
                            capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Integrity: every foreign key resolves" in result.stdout
    return result.stdout


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(tmp_path):
    yield from _fresh_database("postgresql", tmp_path)


@pytest.fixture
def second_postgres_url(tmp_path):
    yield from _fresh_database("postgresql", tmp_path)


@pytest.fixture
def mariadb_url(tmp_path):
    yield from _fresh_database("mariadb", tmp_path)


def test_postgres_schema_with_uuid_jsonb_arrays_enum_and_a_natural_key(postgres_url, second_postgres_url, tmp_path):
    rng, fake = random.Random(0), Faker("de_DE")
    fake.seed_instance(0)
    engine = sa.create_engine(postgres_url)
    accounts = []
    with engine.begin() as c:
        c.execute(sa.text("CREATE SCHEMA bank"))
        c.execute(sa.text("CREATE TYPE bank.segment AS ENUM ('retail', 'premium', 'business')"))
        c.execute(sa.text("CREATE TABLE bank.customers (id uuid PRIMARY KEY, full_name text NOT NULL, segment bank.segment NOT NULL, "
                          "tags text[], profile jsonb, created timestamptz NOT NULL)"))
        c.execute(sa.text("CREATE TABLE bank.accounts (id uuid PRIMARY KEY, customer_id uuid NOT NULL REFERENCES bank.customers(id), "
                          "iban varchar(34) UNIQUE NOT NULL, balance numeric(14,2), limits integer[])"))
        c.execute(sa.text("CREATE TABLE bank.payments (id bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES bank.accounts(id), "
                          "to_iban varchar(34) NOT NULL REFERENCES bank.accounts(iban), amount numeric(12,2) NOT NULL, meta jsonb)"))
        for _ in range(80):
            customer = uuid.UUID(int=rng.getrandbits(128))
            c.execute(sa.text("INSERT INTO bank.customers VALUES (:i, :n, :s, :t, :p, :c)"),
                      {"i": customer, "n": fake.name(), "s": rng.choice(["retail", "premium", "business"]), "t": ["vip"],
                       "p": json.dumps({"channel": "app"}), "c": dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 900))})
            for _ in range(rng.randint(1, 3)):
                account, iban = uuid.UUID(int=rng.getrandbits(128)), czech_iban("0100", rng.randint(10**8, 10**10 - 1))
                c.execute(sa.text("INSERT INTO bank.accounts VALUES (:i, :c, :b, :m, :l)"),
                          {"i": account, "c": customer, "b": iban, "m": round(rng.lognormvariate(8, 1), 2), "l": [100, 200]})
                accounts.append((account, iban))
        for k in range(400):
            c.execute(sa.text("INSERT INTO bank.payments (account_id, to_iban, amount, meta) VALUES (:a, :t, :m, :j)"),
                      {"a": rng.choice(accounts)[0], "t": rng.choice(accounts)[1], "m": round(rng.lognormvariate(5, 1), 2),
                       "j": json.dumps({"k": k})})
    engine.dispose()
    source = postgres_url + "?options=-csearch_path%3Dbank"  # the schema 'bank', as libpq spells it
    schema = reflect_schema(source)
    assert set(schema.tables) == {"customers", "accounts", "payments"} and schema.locale == "de_DE"
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _clone(source, target)
    ibans = {r[0] for r in _rows(target, "SELECT iban FROM accounts")}
    paid = [r[0] for r in _rows(target, "SELECT to_iban FROM payments")]
    assert set(paid) <= ibans and all(iban_valid(v) for v in ibans)
    assert not ibans & {iban for _, iban in accounts}
    keys = [r[0] for r in _rows(target, "SELECT id FROM customers")]
    assert all(uuid.UUID(str(k)) for k in keys)
    # into a schema of another PostgreSQL database, named the same way
    engine = sa.create_engine(second_postgres_url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE SCHEMA synth"))
    engine.dispose()
    _clone(source, second_postgres_url + "?options=-csearch_path%3Dsynth")
    tables = _rows(second_postgres_url, "SELECT table_schema, table_name FROM information_schema.tables "
                                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
    assert sorted(tables) == [("synth", "accounts"), ("synth", "customers"), ("synth", "payments")]


def test_mariadb_enum_set_blob_and_yyyymmdd(mariadb_url, tmp_path):
    rng, fake = random.Random(1), Faker("fr_FR")
    fake.seed_instance(1)
    engine = sa.create_engine(mariadb_url)
    beneficiaries = [str(rng.randint(10**10, 10**11 - 1)) for _ in range(60)]
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE clients (id INT AUTO_INCREMENT PRIMARY KEY, nom VARCHAR(60) NOT NULL, "
                          "segment ENUM('particulier', 'professionnel', 'prive') NOT NULL, canaux SET('web', 'app', 'agence'), "
                          "photo MEDIUMBLOB, inscrit INT NOT NULL)"))
        c.execute(sa.text("CREATE TABLE virements (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, client_id INT NOT NULL, "
                          "compte_beneficiaire CHAR(11) NOT NULL, montant DECIMAL(12,2) NOT NULL, "
                          "FOREIGN KEY (client_id) REFERENCES clients(id))"))
        for _ in range(120):
            c.execute(sa.text("INSERT INTO clients (nom, segment, canaux, photo, inscrit) VALUES (:n, :s, :c, :p, :i)"),
                      {"n": fake.name(), "s": rng.choice(["particulier", "professionnel", "prive"]),
                       "c": ",".join(rng.sample(["web", "app", "agence"], rng.randint(0, 3))),
                       "p": bytes(rng.getrandbits(8) for _ in range(rng.randint(50, 300))),
                       "i": int((dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))).strftime("%Y%m%d"))})
        for _ in range(600):
            c.execute(sa.text("INSERT INTO virements (client_id, compte_beneficiaire, montant) VALUES (:c, :b, :m)"),
                      {"c": rng.randint(1, 120), "b": rng.choice(beneficiaries), "m": round(rng.lognormvariate(5, 1), 2)})
    engine.dispose()
    schema = reflect_schema(mariadb_url)
    assert schema.tables["virements"].columns["compte_beneficiaire"].pii == "account_number"
    assert schema.tables["clients"].columns["inscrit"].format == "yyyymmdd"
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _clone(mariadb_url, target)
    rows = _rows(target, "SELECT canaux, photo, inscrit, segment FROM clients")
    assert all(len(r[0] or "") <= 16 for r in rows)  # a SET's combinations fit the column
    assert all(isinstance(r[1], bytes) and 50 <= len(r[1]) <= 300 for r in rows if r[1] is not None)
    assert all(dt.datetime.strptime(str(r[2]), "%Y%m%d") for r in rows)
    assert {r[3] for r in rows} <= {"particulier", "professionnel", "prive"}
    fakes = [r[0] for r in _rows(target, "SELECT compte_beneficiaire FROM virements")]
    assert not set(fakes) & set(beneficiaries) and all(len(v) == 11 and v.isdigit() for v in fakes)
