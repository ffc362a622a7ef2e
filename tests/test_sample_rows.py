"""``sample_rows``: the sample is chosen in SQL and only it is read from the source.

The source: 20,000 users (a nullable self-reference) → 60,000 loans (a NOT NULL and a nullable key to
users, a NOT NULL key to a 5-row lookup table) → 100,000 transactions; 2,000 branches with a composite
primary key → 4,000 accounts (composite NOT NULL key, nullable key to users); 3,000 notes without a
primary key whose only key (to users) is nullable. Rows are inserted in a shuffled order, so the backend's
row order is not the key order.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import _fresh_database

from synthbank.io.reader import read_tables
from synthbank.schemas import reflect_schema


def _metadata() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("users", md, sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("name", sa.String(40), nullable=False), sa.Column("income", sa.Float, nullable=False),
             sa.Column("referred_by", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True))
    sa.Table("loan_types", md, sa.Column("code", sa.String(8), primary_key=True), sa.Column("label", sa.String(40)))
    sa.Table("loans", md, sa.Column("loan_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
             sa.Column("cosigner_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
             sa.Column("type_code", sa.String(8), sa.ForeignKey("loan_types.code"), nullable=False),
             sa.Column("amount", sa.Float, nullable=False))
    sa.Table("transactions", md, sa.Column("txn_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("loan_id", sa.Integer, sa.ForeignKey("loans.loan_id"), nullable=False),
             sa.Column("amount", sa.Float, nullable=False), sa.Column("kind", sa.String(10), nullable=False))
    sa.Table("branches", md, sa.Column("region", sa.String(10), primary_key=True),
             sa.Column("branch_no", sa.Integer, primary_key=True, autoincrement=False), sa.Column("city", sa.String(30)))
    sa.Table("accounts", md, sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("region", sa.String(10), nullable=False), sa.Column("branch_no", sa.Integer, nullable=False),
             sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
             sa.Column("balance", sa.Float, nullable=False),
             sa.ForeignKeyConstraint(["region", "branch_no"], ["branches.region", "branches.branch_no"]))
    sa.Table("notes", md, sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=True),
             sa.Column("body", sa.String(40), nullable=False))
    return md


def build_source(url: str, users: int = 20_000, order_seed: int = 0) -> dict[str, int]:
    """Write the source; the data depend on ``users`` only, the insert order on ``order_seed``."""
    rng = np.random.default_rng(42)
    n_loans, n_txns, n_branches, n_accounts, n_notes = 3 * users, 5 * users, users // 10, users // 5, 3 * users // 20
    regions = ["north", "south", "east", "west"]
    rows = {
        "users": [{"user_id": i + 1, "name": f"user {i}", "income": float(rng.integers(1_000, 9_000)),
                   "referred_by": int(r) if r > 0 else None}
                  for i, r in enumerate(rng.integers(-users, users, size=users) // 2 + 1)],
        "loan_types": [{"code": f"T{i}", "label": f"type {i}"} for i in range(5)],
        "loans": [{"loan_id": i + 1, "user_id": int(u), "cosigner_id": int(c), "type_code": f"T{t}", "amount": float(a)}
                  for i, (u, c, t, a) in enumerate(zip(rng.integers(1, users + 1, n_loans), rng.integers(1, users + 1, n_loans),
                                                       rng.integers(0, 5, n_loans), rng.integers(100, 50_000, n_loans)))],
        "transactions": [{"txn_id": i + 1, "loan_id": int(loan), "amount": float(a), "kind": "debit" if a % 2 else "credit"}
                         for i, (loan, a) in enumerate(zip(rng.integers(1, n_loans + 1, n_txns), rng.integers(1, 5_000, n_txns)))],
        "branches": [{"region": regions[i % 4], "branch_no": i // 4, "city": f"city {i % 37}"} for i in range(n_branches)],
        "accounts": [{"account_id": i + 1, "region": regions[b % 4], "branch_no": int(b) // 4, "user_id": int(u),
                      "balance": float(v)}
                     for i, (b, u, v) in enumerate(zip(rng.integers(0, n_branches, n_accounts),
                                                       rng.integers(1, users + 1, n_accounts), rng.integers(0, 10_000, n_accounts)))],
        "notes": [{"user_id": int(u) if i % 3 else None, "body": f"note {i % 50}"}
                  for i, u in enumerate(rng.integers(1, users + 1, n_notes))],
    }
    shuffle = np.random.default_rng(order_seed)
    md = _metadata()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        md.create_all(connection)
        for table in md.sorted_tables:
            data = rows[table.name]
            order = shuffle.permutation(len(data)) if order_seed else range(len(data))
            if table.name == "users":  # the self-reference is set once every user exists
                connection.execute(table.insert(), [{**data[i], "referred_by": None} for i in order])
                connection.execute(table.update().where(table.c.user_id == sa.bindparam("id")).values(referred_by=sa.bindparam("ref")),
                                   [{"id": row["user_id"], "ref": row["referred_by"]} for row in data if row["referred_by"]])
            else:
                connection.execute(table.insert(), [data[i] for i in order])
    engine.dispose()
    return {name: len(data) for name, data in rows.items()}


@pytest.fixture(scope="module")
def big_source(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "source.db"
    counts = build_source(f"sqlite:///{path}", order_seed=1)
    return path, counts, reflect_schema(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def small_sources(tmp_path_factory):
    """The same data, 2,000 users, in two SQLite files with different insert orders."""
    folder = tmp_path_factory.mktemp("small")
    urls = []
    for order_seed in (1, 2):
        urls.append(f"sqlite:///{folder / f'source_{order_seed}.db'}")
        build_source(urls[-1], users=2_000, order_seed=order_seed)
    return urls


class FetchCounter:
    """Every query the reader runs on a SQLite file, with how many rows and columns it returned."""

    def __init__(self, path):
        self.path, self.queries = str(path), []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if conn.engine.url.database and conn.engine.url.database.endswith(self.path) and cursor.description:
            self.queries.append((statement, tuple(parameters or ()), len(cursor.description)))

    def __enter__(self):
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", self._record)

    def rows(self, schema) -> tuple[int, int, int]:
        """(rows of queries that select whole rows, rows of the others, cells of all)."""
        full = other = cells = 0
        check = sqlite3.connect(self.path)
        for statement, parameters, width in self.queries:
            n = check.execute(f"SELECT COUNT(*) FROM ({statement})", parameters).fetchone()[0]
            table = re.search(r"\bFROM\s+\"?(\w+)", statement)  # not a table read: PRAGMA and the like
            if table and table.group(1) in schema.tables and width == len(schema.tables[table.group(1)].columns):
                full += n
            else:
                other += n
            cells += n * width
        check.close()
        return full, other, cells


def _source_frame(path, table) -> pd.DataFrame:
    with sqlite3.connect(path) as connection:
        return pd.read_sql(f"SELECT * FROM {table}", connection)


def _in(values: pd.Series, keys: pd.Series) -> bool:
    return bool(values.dropna().astype(int).isin(keys.astype(int)).all())


def test_only_the_sample_is_read(big_source):
    path, counts, schema = big_source
    with FetchCounter(path) as counter:
        frames = read_tables(f"sqlite:///{path}", schema, sample_rows=500, seed=3)
    full, keys, cells = counter.rows(schema)
    source_rows = sum(counts.values())
    source_cells = sum(n * len(schema.tables[t].columns) for t, n in counts.items())
    assert full < 0.05 * source_rows, f"{full} whole rows read of {source_rows}"
    # besides whole rows: the key columns of the two sampled roots and a few counts, nothing else
    assert keys <= counts["users"] + counts["branches"] + 20
    assert cells < 0.10 * source_cells, f"{cells} values read of {source_cells}"
    assert len(frames["users"]) == 500 and len(frames["branches"]) == 500 and len(frames["loan_types"]) == 5


def test_sample_keeps_referential_integrity(big_source):
    path, counts, schema = big_source
    frames = read_tables(f"sqlite:///{path}", schema, sample_rows=500, seed=3)
    users, loans, txns = frames["users"], frames["loans"], frames["transactions"]
    # every loan of a kept user, and only those; every transaction of a kept loan
    source_loans = _source_frame(path, "loans")
    assert sorted(loans["loan_id"]) == sorted(source_loans.loc[source_loans["user_id"].isin(users["user_id"]), "loan_id"])
    source_txns = _source_frame(path, "transactions")
    assert sorted(txns["txn_id"]) == sorted(source_txns.loc[source_txns["loan_id"].isin(loans["loan_id"]), "txn_id"])
    assert _in(loans["user_id"], users["user_id"]) and _in(txns["loan_id"], loans["loan_id"])
    assert set(loans["type_code"]) <= set(frames["loan_types"]["code"])
    # nullable keys (cosigner, a self-reference) point inside the sample or are NULL
    assert _in(loans["cosigner_id"], users["user_id"]) and loans["cosigner_id"].isna().any()
    assert _in(users["referred_by"], users["user_id"])
    assert _in(frames["notes"]["user_id"], users["user_id"])
    assert len(frames["loans"]) < 0.05 * counts["loans"] and len(txns) < 0.05 * counts["transactions"]


def test_composite_keys_and_nullable_keys_pointing_outside(big_source):
    path, counts, schema = big_source
    frames = read_tables(f"sqlite:///{path}", schema, sample_rows=500, seed=3)
    branches, accounts = frames["branches"], frames["accounts"]
    assert not branches.duplicated(["region", "branch_no"]).any()
    kept = set(branches[["region", "branch_no"]].itertuples(index=False, name=None))
    pairs = set(accounts[["region", "branch_no"]].itertuples(index=False, name=None))
    assert pairs <= kept
    source = _source_frame(path, "accounts")
    expected = source[[pair in kept for pair in source[["region", "branch_no"]].itertuples(index=False, name=None)]]
    assert sorted(accounts["account_id"]) == sorted(expected["account_id"])  # every account of a kept branch
    # accounts.user_id is never NULL in the source; pointing at a user left out, it becomes NULL
    assert source["user_id"].notna().all()
    inside = expected["user_id"].isin(frames["users"]["user_id"])
    assert accounts["user_id"].isna().sum() == (~inside).sum() > 0
    assert _in(accounts["user_id"], frames["users"]["user_id"])
    # notes: no primary key, only a nullable key; its NULL rows are sampled at the users' kept share
    notes, source_notes = frames["notes"], _source_frame(path, "notes")
    assert notes["user_id"].isna().sum() == round(source_notes["user_id"].isna().sum() * 500 / counts["users"])
    linked = source_notes["user_id"].isin(frames["users"]["user_id"]).sum()
    assert notes["user_id"].notna().sum() == linked


def test_deterministic_for_a_seed_whatever_the_row_order(small_sources):
    first, second = small_sources
    schema = reflect_schema(first)
    a = read_tables(first, schema, sample_rows=100, seed=5)
    b = read_tables(second, schema, sample_rows=100, seed=5)  # same rows, inserted in another order
    for name in a:
        if name == "notes":  # no key: compare as sets of rows
            assert sorted(map(repr, a[name].itertuples(index=False))) == sorted(map(repr, b[name].itertuples(index=False)))
        else:
            pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False)
    c = read_tables(first, schema, sample_rows=100, seed=6)
    assert set(c["users"]["user_id"]) != set(a["users"]["user_id"])
    assert set(c["branches"]["branch_no"].astype(str) + c["branches"]["region"]) != \
        set(a["branches"]["branch_no"].astype(str) + a["branches"]["region"])


def test_small_tables_and_no_sample_read_whole(small_sources):
    url = small_sources[0]
    schema = reflect_schema(url)
    whole = read_tables(url, schema)
    assert len(whole["users"]) == 2_000 and len(whole["notes"]) == 300 and whole["notes"]["user_id"].isna().sum() == 100
    sampled = read_tables(url, schema, sample_rows=6_000)  # every table has at most 6,000 rows but transactions
    assert len(sampled["users"]) == 2_000 and len(sampled["loans"]) == 6_000 and len(sampled["accounts"]) == 400
    assert len(sampled["transactions"]) == 6_000  # a child of tables read whole is sampled like a root
    seen: dict[str, list] = {}
    read_tables(url, schema, sample_rows=100, on_rows=lambda t, n, total: seen.setdefault(t, []).append((n, total)))
    assert sum(n for n, _ in seen["users"]) == 100 and seen["users"][0][1] == 100
    assert set(seen) == set(schema.tables)
    for calls in seen.values():  # a child's first total is an estimate; the last one is the rows read
        assert calls[-1][1] == sum(n for n, _ in calls)


def test_cli_clone_with_sample_rows(small_sources, tmp_path):
    target = f"sqlite:///{tmp_path / 'clone.db'}"
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", "clone", small_sources[0], target, "--sample-rows", "60",
                             "--no-text", "--seed", "2"], capture_output=True, text=True, timeout=600,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(target)
    with engine.connect() as connection:
        users = connection.execute(sa.text("SELECT COUNT(*) FROM users")).scalar_one()
        orphans = connection.execute(sa.text(
            "SELECT COUNT(*) FROM loans WHERE user_id NOT IN (SELECT user_id FROM users)")).scalar_one()
    engine.dispose()
    assert users == 60 and orphans == 0


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_servers_draw_the_same_sample(backend, small_sources, tmp_path):
    """The same data on a server and in SQLite give the same sample for a seed (the server's row order is its own)."""
    for url in _fresh_database(backend, tmp_path):
        build_source(url, users=2_000, order_seed=3)
        schema = reflect_schema(url)
        server = read_tables(url, schema, sample_rows=100, seed=5)
        lite = read_tables(small_sources[0], reflect_schema(small_sources[0]), sample_rows=100, seed=5)
        for name, key in (("users", ["user_id"]), ("loans", ["loan_id"]), ("transactions", ["txn_id"]),
                          ("branches", ["region", "branch_no"]), ("accounts", ["account_id"])):
            assert server[name][key].values.tolist() == lite[name][key].values.tolist(), name
        assert _in(server["accounts"]["user_id"], server["users"]["user_id"]) and server["accounts"]["user_id"].isna().any()


def _dangling(frames, schema) -> list[str]:
    """Foreign keys whose non-NULL values point at no row of the parent as read."""
    bad = []
    for name, frame in frames.items():
        for fk in schema.tables[name].foreign_keys:
            values = frame[fk.columns].dropna()
            keys = set(frames[fk.parent][fk.parent_columns].itertuples(index=False, name=None))
            if not set(values.itertuples(index=False, name=None)) <= keys:
                bad.append(f"{name}({', '.join(fk.columns)})")
    return bad


def test_cycles_self_references_and_tables_without_keys(tmp_path):
    from builders import tricky_schema_and_data

    from synthbank.io.writer import write_tables

    schema, data = tricky_schema_and_data(n_accounts=200)
    url = f"sqlite:///{tmp_path / 'tricky.db'}"
    assert write_tables(url, schema, data).ok
    whole = read_tables(url, schema)
    assert {name: len(frame) for name, frame in whole.items()} == {name: len(frame) for name, frame in data.items()}
    for seed in (1, 2):
        frames = read_tables(url, schema, sample_rows=3, seed=seed)
        assert _dangling(frames, schema) == []
        assert len(frames["branches"]) == 3 and len(frames["currencies"]) == 3
        assert len(frames["audit_log"]) == 3  # no key at all: a seeded hash picks the rows
        assert set(frames["employees"]["branch_code"]) <= set(frames["branches"]["branch_code"])
        assert 0 < len(frames["transfers"]) < len(data["transfers"])
    again = read_tables(url, schema, sample_rows=3, seed=2)
    for name, frame in again.items():
        pd.testing.assert_frame_equal(frame, frames[name])
