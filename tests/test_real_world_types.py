"""Real-world types and shapes: ISO-8601 strings with ``Z``/offsets, aware and mixed datetimes, dates before
1970 and after 2262, times of day, unscaled decimals, empty tables, composite keys with dates, natural keys,
self-references and many-to-many links, cloned with the CLI defaults on SQLite, PostgreSQL and MariaDB;
and an evaluation that copes with all-NULL and empty columns and tables."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import _fresh_database
from sample_databases import flights, hr, music_shop

from synthbank.relational.frames import cast_to_schema, learn_forms, normalize
from synthbank.schemas import Column, Table

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def _clone(source: str, target: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "clone", source, target, "--no-text"],
                            capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def _query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


# --- the form of each value survives normalize → cast_to_schema ------------------------------------
ROUND_TRIPS = [
    ("datetime", "datetime", ["2023-05-10T12:36:00Z", "2021-01-01T00:00:05Z", None]),
    ("datetime", "datetime", ["2023-05-10 12:36:00+02:00", "1969-07-20 20:17:40+02:00"]),
    ("datetime", "datetime", ["2023-05-10T12:36:00.123-0500", "2023-05-11T01:00:00.500-0500"]),
    ("datetime", "datetime", ["2009-01-01 00:00:00", "2013-12-22 00:00:00"]),
    ("datetime", "datetime", ["2009-01-01", "1950-03-02"]),
    ("text", "datetime", ["2024-01-02T03:04:05+05:30", "2024-02-03T04:05:06+05:30"]),
    ("date", "datetime", ["1931-12-02", "1899-01-31"]),
    ("time", "datetime", ["18:14:00", "00:00:01"]),
    ("time", "datetime", ["07:30", "23:59"]),
]


@pytest.mark.parametrize("sql_type, sdtype, values", ROUND_TRIPS)
def test_strings_come_back_exactly_as_written(sql_type, sdtype, values):
    table = Table("t", {"c": Column("c", sql_type, True, sdtype)}, [])
    raw = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    forms = learn_forms(raw, table)
    back = cast_to_schema(normalize(raw, table), table, forms)["c"]
    assert list(back.where(back.notna(), None)) == values


def test_driver_objects_come_back_as_objects_of_their_kind():
    plus2 = dt.timezone(dt.timedelta(hours=2))
    table = Table("t", {"at": Column("at", "datetime(tz)", True, "datetime"), "tod": Column("tod", "time", True, "datetime"),
                        "mysql_tod": Column("mysql_tod", "time", True, "datetime"),
                        "amount": Column("amount", "numeric", True, "numerical")})
    raw = pd.DataFrame({"at": [dt.datetime(2024, 3, 1, 9, 30, tzinfo=plus2), dt.datetime(1960, 1, 1, 0, 0, tzinfo=plus2)],
                        "tod": [dt.time(9, 30), dt.time(23, 15, 59)],
                        "mysql_tod": [dt.timedelta(hours=9, minutes=30), dt.timedelta(hours=23, seconds=1)],
                        "amount": [Decimal("12.500"), Decimal("0.125")]})
    forms = learn_forms(raw, table)
    model = normalize(raw, table)
    model["amount"] = [12.50012, 0.12549]  # what a model samples
    back = cast_to_schema(model, table, forms)
    assert list(back["at"]) == list(raw["at"]) and back["at"].dt.tz is not None
    assert back["at"].iloc[0].utcoffset() == dt.timedelta(hours=2)
    assert list(back["tod"]) == [dt.time(9, 30), dt.time(23, 15, 59)]
    assert list(back["mysql_tod"]) == [dt.time(9, 30), dt.time(23, 0, 1)]
    assert list(back["amount"]) == [12.5, 0.125]  # the source's three decimals


def test_dates_after_2262_are_kept_when_many_rows_share_them():
    table = Table("t", {"to_date": Column("to_date", "date", False, "datetime")}, [])
    values = ["9999-01-01"] * 6 + ["1990-05-01", "1991-06-02"]
    raw = pd.DataFrame({"to_date": values})
    forms = learn_forms(raw, table)
    model = normalize(raw, table)
    assert model["to_date"].isna().sum() == 6  # the model sees "no end date" as missing
    back = cast_to_schema(model, table, forms)["to_date"]
    assert list(back) == values
    rare = pd.DataFrame({"to_date": ["9999-01-01", "1990-05-01", "1991-06-02"]})  # one row alone: not kept
    assert "sentinel" not in learn_forms(rare, table)["to_date"]


# --- a SQLite database with ISO strings, cloned with the CLI defaults -------------------------------
def _iso_events(path: Path, rows: int = 200) -> None:
    rng = np.random.default_rng(3)
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, kind TEXT, birth_date TEXT, updated_at TIMESTAMP, "
                       "born DATE, starts TIME, score NUMERIC, seen TEXT)")
    for i in range(rows):
        day = f"2023-{rng.integers(1, 10):02d}-{rng.integers(10, 29):02d}"
        seen = [f"{day} 10:{rng.integers(0, 60):02d}:00", f"{day}T10:{rng.integers(0, 60):02d}:00Z",
                f"{day}T10:{rng.integers(0, 60):02d}:00+02:00"][i % 3]
        connection.execute("INSERT INTO people VALUES (?,?,?,?,?,?,?,?)", (
            i + 1, str(rng.choice(list("abc"))), f"19{rng.integers(50, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}T00:00:00Z",
            f"{day}T{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}Z",
            f"19{rng.integers(30, 99)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}",
            f"{rng.integers(8, 18):02d}:{rng.choice([0, 15, 30, 45]):02d}:00", round(float(rng.normal(50, 10)), 3), seen))
    connection.commit()
    connection.close()


def test_sqlite_iso_strings_clone_and_keep_their_form(tmp_path):
    """Before: a date of birth ending in 'Z' failed the whole clone (pandas TypeError, tz-naive minus tz-aware),
    datetimes came back as '2023-01-27 05:50:18.000000', and times of day as '00:00:00'."""
    _iso_events(tmp_path / "src.db")
    target = tmp_path / "out.db"
    _clone(f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    out = pd.read_sql("SELECT * FROM people", f"sqlite:///{target}")
    assert len(out) == 200
    assert out["updated_at"].str.fullmatch(r"2023-\d\d-\d\dT\d\d:\d\d:\d\dZ").all(), out["updated_at"].head()
    real = pd.read_sql("SELECT * FROM people", f"sqlite:///{tmp_path / 'src.db'}")
    assert out["born"].str.fullmatch(r"\d{4}-\d\d-\d\d").all() and out["born"].min() < "1940"
    assert abs((out["born"] < "1970").mean() - (real["born"] < "1970").mean()) < 0.15  # dates before 1970 as often
    assert out["starts"].str.fullmatch(r"\d\d:\d\d:00").all()
    hours = out["starts"].str.slice(0, 2).astype(int)
    assert hours.between(8, 18).all() and hours.nunique() >= 5  # learned, not a constant
    decimals = out["score"].dropna().map(lambda v: len(repr(float(v)).split(".")[1]))
    assert decimals.max() <= 3  # NUMERIC without scale: the source's three decimals
    aware = out["seen"].str.contains(r"(Z|[+-]\d\d:\d\d)$")
    assert 0.5 <= aware.mean() <= 0.85  # two thirds of the source's values carried an offset
    assert out["seen"][aware].str.endswith("+02:00").all() or out["seen"][aware].str.endswith("Z").all()


# --- empty tables --------------------------------------------------------------------------------
def test_empty_parent_and_child_are_written_empty_with_a_note(tmp_path):
    source = tmp_path / "src.db"
    connection = sqlite3.connect(source)
    connection.executescript("""
        CREATE TABLE shops (id INTEGER PRIMARY KEY, city TEXT);
        CREATE TABLE audits (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL REFERENCES shops(id), at DATETIME);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, audit_id INTEGER REFERENCES audits(id), body TEXT);
        CREATE TABLE items (id INTEGER PRIMARY KEY, shop_id INTEGER REFERENCES shops(id), price NUMERIC(8,2));
    """)
    rng = np.random.default_rng(1)
    connection.executemany("INSERT INTO shops VALUES (?, ?)", [(i, str(rng.choice(["Oslo", "Lima", "Pune"]))) for i in range(1, 41)])
    connection.executemany("INSERT INTO items VALUES (?, ?, ?)", [(i, int(rng.integers(1, 41)), round(float(rng.uniform(1, 50)), 2))
                                                                  for i in range(1, 121)])
    connection.commit()
    connection.close()
    target = tmp_path / "out.db"
    result = _clone(f"sqlite:///{source}", f"sqlite:///{target}")
    assert "audits is empty" in result.stderr and "notes is empty" in result.stderr
    counts = {t: _query(f"sqlite:///{target}", f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("shops", "audits", "notes", "items")}
    assert counts == {"shops": 40, "audits": 0, "notes": 0, "items": 120}


# --- the evaluation on all-NULL and empty columns and tables --------------------------------------
def test_evaluation_copes_with_all_null_and_empty_columns_and_tables():
    """Before: a synthetic foreign key that is NULL in every row (float NaN) made SDMetrics refuse to join
    it to the parent key ("merge on float64 and object columns"), which crashed `synthbank demo --quick`;
    an all-NULL numeric column crashed the utility and detection classifiers."""
    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.evaluation import evaluate, utility

    schema = demo_schema()
    schema.tables["complaints"].columns["narrative"].sdtype = "unsupported"  # no text scores: keeps it fast
    real = generate_demo_bank(users=40, seed=0)
    synthetic = {name: frame.copy() for name, frame in generate_demo_bank(users=40, seed=1).items()}
    synthetic["complaints"]["loan_id"] = np.nan
    synthetic["loans"]["amount"] = np.nan
    synthetic["loans"]["issue_date"] = None
    report = evaluate(real, synthetic, schema, seed=0, targets=["loans.is_default"])
    assert report.data["notes"] == []  # every score ran
    assert report.summary["quality_score"] is not None and report.summary["k_hop_avg_2way"] is not None
    assert report.data["detection"]
    scores = utility.tstr(schema, real, real, synthetic, "loans.is_default")  # both classes in the test rows
    assert scores["train_synthetic"]["roc_auc"] is not None

    real["transactions"] = real["transactions"].iloc[:0]
    synthetic["transactions"] = synthetic["transactions"].iloc[:0]
    synthetic["complaints"] = synthetic["complaints"].iloc[:0]
    report = evaluate(real, synthetic, schema, seed=0, targets=["loans.is_default"])
    assert any("'transactions' is empty" in note for note in report.data["notes"])
    assert any("synthetic table 'complaints' is empty" in note for note in report.data["notes"])
    assert report.summary["quality_score"] is not None


# --- real-shaped sample databases ----------------------------------------------------------------
def test_music_shop_on_sqlite(tmp_path):
    source, target = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'out.db'}"
    music_shop(source)
    _clone(source, target)
    dates = [row[0] for row in _query(target, "SELECT invoice_date FROM invoices")]
    assert len(dates) > 100 and all(re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:00Z", d) for d in dates)
    hired = [row[0] for row in _query(target, "SELECT hire_date FROM employees")]
    assert all(re.fullmatch(r"200\d-\d\d-\d\d 00:00:00", h) for h in hired)  # midnight strings, as in the source
    bosses = dict(_query(target, "SELECT employee_id, reports_to FROM employees"))
    assert any(b is None for b in bosses.values()) and set(bosses.values()) - {None} <= set(bosses)
    for employee in bosses:  # no cycles in the reporting line
        seen, node = set(), employee
        while node is not None:
            assert node not in seen
            seen.add(node)
            node = bosses[node]
    prices = [row[0] for row in _query(target, "SELECT unit_price FROM tracks")]
    assert all(round(p, 2) == p for p in prices)
    assert _query(target, "SELECT COUNT(*) FROM (SELECT playlist_id, track_id FROM playlist_track GROUP BY 1, 2 HAVING COUNT(*) > 1)")[0][0] == 0


@pytest.mark.slow  # the MariaDB HR test below covers the same database by default
def test_hr_on_sqlite(tmp_path):
    source, target = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'out.db'}"
    hr(source)
    result = _clone(source, target)
    assert "dept_budget is empty" in result.stderr
    assert _query(target, "SELECT COUNT(*) FROM dept_budget")[0][0] == 0
    departments = [row[0] for row in _query(target, "SELECT dept_no FROM departments")]
    assert all(re.fullmatch(r"d\d{3}", d) for d in departments)
    salaries = _query(target, "SELECT from_date, to_date FROM salaries")
    assert salaries and all(re.fullmatch(r"\d{4}-\d\d-\d\d", f) for f, _ in salaries)  # a date in the key, learned
    open_ended = [row[0] for row in _query(target, "SELECT to_date FROM dept_emp")]
    assert open_ended.count("9999-01-01") >= 0.9 * len(open_ended)
    births = [row[0] for row in _query(target, "SELECT birth_date FROM employees")]
    assert min(births) < "1960"
    starts = [row[0] for row in _query(target, "SELECT starts_at FROM shifts")]
    assert len(set(starts)) >= 3 and all(re.fullmatch(r"\d\d:\d\d:00", s) for s in starts)


def test_flights_on_sqlite_keep_offsets_and_hubs(tmp_path):
    source, target = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'out.db'}"
    flights(source)
    _clone(source, target)
    rows = _query(target, "SELECT origin, scheduled_at, dep_time FROM flights")
    scheduled = pd.Series([r[1] for r in rows])
    assert scheduled.str.fullmatch(r"2024-\d\d-\d\dT\d\d:\d\d:00(-05:00)?|2024-\d\d-\d\d \d\d:\d\d:00").all(), scheduled.head()
    assert 0.8 <= scheduled.str.endswith("-05:00").mean() < 1.0  # nine in ten carried an offset
    iata = [row[0] for row in _query(target, "SELECT iata FROM airports")]
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in iata)
    origins = pd.Series([r[0] for r in rows]).value_counts()
    assert origins.head(3).sum() >= 0.9 * len(rows)  # every real flight leaves from one of 3 hubs


def _database_pair(backend: str, tmp_path):
    """A fresh source and target database on ``backend``, dropped afterwards."""
    source, target = _fresh_database(backend, tmp_path), _fresh_database(backend, tmp_path)
    yield next(source), next(target)
    for generator in (source, target):
        next(generator, None)


@pytest.fixture
def postgres_pair(tmp_path):
    yield from _database_pair("postgresql", tmp_path)


@pytest.fixture
def mariadb_pair(tmp_path):
    yield from _database_pair("mariadb", tmp_path)


def test_flights_on_postgresql_keep_timestamptz_and_times(postgres_pair):
    source, target = postgres_pair
    flights(source)
    _clone(source, target)
    real = pd.read_sql("SELECT scheduled_at, dep_time, distance_mi FROM flights", source)
    out = pd.read_sql("SELECT scheduled_at, dep_time, distance_mi FROM flights", target)
    assert str(out["scheduled_at"].dtype).startswith("datetime64[ns, UTC]")
    # the same instants (not shifted by the offset): within the source's year, spread like it
    assert out["scheduled_at"].min() >= real["scheduled_at"].min() - pd.Timedelta(days=7)
    assert out["scheduled_at"].max() <= real["scheduled_at"].max() + pd.Timedelta(days=7)
    times = out["dep_time"].dropna()
    assert len(times) > 0.8 * len(out) and all(isinstance(t, dt.time) for t in times) and len(set(times)) > 20
    assert out["distance_mi"].dropna().map(lambda v: round(v, 1) == v).all()
    metadata = sa.MetaData()
    engine = sa.create_engine(target)
    try:
        column = sa.Table("flights", metadata, autoload_with=engine).c["scheduled_at"]
    finally:
        engine.dispose()
    assert column.type.timezone


def test_hr_on_mariadb_keeps_times_decimals_and_far_dates(mariadb_pair):
    source, target = mariadb_pair
    hr(source)
    result = _clone(source, target)
    assert "dept_budget is empty" in result.stderr
    shifts = pd.read_sql("SELECT starts_at, hours FROM shifts", target)
    assert shifts["starts_at"].nunique() >= 3  # TIME came back learned (pymysql reads it as timedelta)
    assert (shifts["starts_at"] < pd.Timedelta(days=1)).all()
    assert set(shifts["hours"].round(1)) == set(shifts["hours"])
    to_dates = pd.read_sql("SELECT to_date FROM dept_emp", target)["to_date"].astype(str)
    assert (to_dates == "9999-01-01").mean() >= 0.9
