"""Writing a synthetic database that arrives in chunks: same rows as one mapping, one transaction for all
chunks (a failing chunk leaves no target), the bulk paths bind the values SQLAlchemy's INSERT would, and the
writer's memory does not grow with the number of chunks."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from synthbank.errors import SynthbankError
from synthbank.io.ddl import build_metadata
from synthbank.io.writer import to_records, write_tables
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table


def _chain_schema() -> DatabaseSchema:
    """currencies (copied lookup) · users (self-reference) ← loans (nullable FK) ← payments."""
    c = Column
    return DatabaseSchema({
        "currencies": Table("currencies", {"code": c("code", "varchar(3)", False, "id"),
                                           "name": c("name", "varchar(20)", False, "categorical")}, ["code"], mode="copy"),
        "users": Table("users", {"user_id": c("user_id", "integer", False, "id"),
                                 "referrer_id": c("referrer_id", "integer", True, "id"),
                                 "name": c("name", "varchar(40)", False, "categorical"),
                                 "joined": c("joined", "datetime", False, "datetime")},
                       ["user_id"], [ForeignKey(["referrer_id"], "users", ["user_id"])]),
        "loans": Table("loans", {"loan_id": c("loan_id", "integer", False, "id"),
                                 "user_id": c("user_id", "integer", True, "id"),
                                 "currency": c("currency", "varchar(3)", False, "id"),
                                 "amount": c("amount", "float", False, "numerical")},
                       ["loan_id"], [ForeignKey(["user_id"], "users", ["user_id"]),
                                     ForeignKey(["currency"], "currencies", ["code"])]),
        "payments": Table("payments", {"payment_id": c("payment_id", "bigint", False, "id"),
                                       "loan_id": c("loan_id", "integer", False, "id"),
                                       "paid": c("paid", "float", True, "numerical"),
                                       "at": c("at", "datetime", True, "datetime")},
                          ["payment_id"], [ForeignKey(["loan_id"], "loans", ["loan_id"])]),
    })


def _chunks(count: int = 3, users: int = 40, seed: int = 0, fail_at: int | None = None, error: BaseException | None = None):
    """Chunks as the sampler makes them: disjoint key ranges, references to this or earlier chunks only,
    self-references within the chunk, the copied lookup table in the first chunk only."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        if fail_at is not None and k == fail_at:
            raise error
        chunk = {}
        if k == 0:
            chunk["currencies"] = pd.DataFrame({"code": ["EUR", "USD"], "name": ["euro", "dollar"]})
        ids = np.arange(k * users + 1, (k + 1) * users + 1)
        referrer = [float(rng.choice(ids[:i])) if i and rng.random() < 0.6 else np.nan for i in range(users)]
        chunk["users"] = pd.DataFrame({"user_id": ids, "referrer_id": referrer,  # float64 with NaN, as pandas has it
                                       "name": [f"user 'no' {i}\t\\N" for i in ids],
                                       "joined": pd.Timestamp("2024-01-01") + pd.to_timedelta(ids * 3600, unit="s")})
        loans = 2 * users if k != 1 else 0  # a chunk with no loans (and so no payments)
        loan_ids = np.arange(k * 2 * users + 1, k * 2 * users + loans + 1)
        owners = rng.integers(1, (k + 1) * users + 1, loans).astype(float)  # this chunk's users or earlier ones
        owners[rng.random(loans) < 0.2] = np.nan
        chunk["loans"] = pd.DataFrame({"loan_id": loan_ids, "user_id": pd.array(owners, dtype="Int64"),
                                       "currency": rng.choice(["EUR", "USD"], loans), "amount": rng.lognormal(8, 1, loans).round(2)})
        pays = 3 * loans
        chunk["payments"] = pd.DataFrame({"payment_id": np.arange(k * 1000 + 1, k * 1000 + pays + 1, dtype=np.int64),
                                          "loan_id": rng.choice(loan_ids, pays) if loans else np.array([], dtype=int),
                                          "paid": np.where(rng.random(pays) < 0.1, np.nan, rng.random(pays) * 100),
                                          "at": pd.Series(pd.date_range("2024-02-01", periods=pays, freq="17min")).where(
                                              rng.random(pays) > 0.1)})
        yield chunk


def _concat(chunks) -> dict[str, pd.DataFrame]:
    parts: dict[str, list] = {}
    for chunk in chunks:
        for name, frame in chunk.items():
            parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def _content(url: str, keys: dict[str, str]) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {name: [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY {key}"))]
                    for name, key in keys.items()}
    finally:
        engine.dispose()


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


KEYS = {"currencies": "code", "users": "user_id", "loans": "loan_id", "payments": "payment_id"}


def test_chunks_write_the_same_rows_as_their_concatenation(database_url, second_database_url):
    schema = _chain_schema()
    calls = []
    report = write_tables(second_database_url, schema, _chunks(), on_rows=lambda t, n, total: calls.append((t, n, total)))
    whole = _concat(_chunks())
    assert write_tables(database_url, schema, whole).ok
    assert report.ok and report.rows == {name: len(frame) for name, frame in whole.items()}
    streamed, at_once = _content(second_database_url, KEYS), _content(database_url, KEYS)
    assert streamed == at_once
    referred = [row[:2] for row in streamed["users"] if row[1] is not None]
    expected = whole["users"].dropna(subset=["referrer_id"])
    assert len(referred) > 30 and referred == list(zip(expected["user_id"], expected["referrer_id"].astype(int)))
    assert {t: sum(n for u, n, _ in calls if u == t) for t in KEYS} == report.rows
    assert {total for *_, total in calls} == {None}  # totals unknown while streaming ...
    calls.clear()
    write_tables(second_database_url, schema, _chunks(), replace=True, totals={"users": 120},
                 on_rows=lambda t, n, total: calls.append((t, n, total)))
    assert {t: total for t, _, total in calls} == {"currencies": None, "users": 120, "loans": None, "payments": None}
    calls.clear()
    write_tables(database_url, schema, whole, replace=True, on_rows=lambda t, n, total: calls.append((t, n, total)))
    assert {t: total for t, _, total in calls} == report.rows  # ... and known for one mapping, as before


class SamplerFailed(SynthbankError):
    pass


@pytest.mark.parametrize("error", [SamplerFailed("The sampler ran out of luck."), KeyboardInterrupt(),
                                   sa.exc.OperationalError("SELECT 1", None, Exception("source went away"))],
                         ids=["synthbank-error", "ctrl-c", "source-statement-error"])
def test_a_chunk_that_fails_leaves_no_target(database_url, tmp_path, error):
    schema = _chain_schema()
    backend = sa.engine.make_url(database_url).get_backend_name()
    with pytest.raises(type(error)) as raised:
        write_tables(database_url, schema, _chunks(count=5, fail_at=2, error=error))
    assert raised.value is error  # the sampler's own error, not re-labelled as a write error
    if backend == "sqlite":
        assert list(tmp_path.iterdir()) == []  # no file, no hidden partial file
    else:
        assert _tables(database_url) == []  # nothing created (MariaDB: no _sbnew_ tables left either)
    write_tables(database_url, schema, _chunks(count=2))
    before = _content(database_url, KEYS)
    with pytest.raises(type(error)):
        write_tables(database_url, schema, _chunks(count=5, seed=1, fail_at=2, error=error), replace=True)
    assert _content(database_url, KEYS) == before and _tables(database_url) == sorted(KEYS)


def test_a_database_error_in_a_later_chunk_rolls_everything_back(database_url):
    schema = _chain_schema()

    def chunks():
        for k, chunk in enumerate(_chunks(count=4)):
            if k == 2:
                chunk["loans"].loc[5, "amount"] = None  # NOT NULL
            yield chunk

    with pytest.raises(SynthbankError, match="failed and was rolled back"):
        write_tables(database_url, schema, chunks())
    if sa.engine.make_url(database_url).get_backend_name() != "sqlite":
        assert _tables(database_url) == []


def test_a_later_chunk_with_a_new_table_is_refused(sqlite_url):
    def chunks():
        yield {"currencies": pd.DataFrame({"code": ["EUR"], "name": ["euro"]})}
        yield {"users": pd.DataFrame({"user_id": [1], "name": ["x"], "joined": [pd.Timestamp("2024-01-01")]})}

    with pytest.raises(SynthbankError, match="first chunk did not have"):
        write_tables(sqlite_url, _chain_schema(), chunks())
    with pytest.raises(SynthbankError, match="not a mapping"):
        write_tables(sqlite_url, _chain_schema(), iter([[1, 2]]))
    source_error = sa.exc.OperationalError("SELECT 1", None, Exception("source went away"))
    with pytest.raises(sa.exc.OperationalError) as raised:  # raised by the first chunk: before anything is created
        write_tables(sqlite_url, _chain_schema(), _chunks(fail_at=0, error=source_error))
    assert raised.value is source_error
    flags = {"currencies": pd.DataFrame({"code": ["EUR"], "name": ["euro"]}),
             "users": pd.DataFrame({"user_id": [1], "name": ["x"], "joined": [pd.Timestamp("2024-01-01")]})}
    schema = _chain_schema()
    schema.tables["currencies"].columns["name"] = Column("name", "boolean", False, "categorical")
    flags["currencies"]["name"] = ["maybe"]  # SQLAlchemy's boolean refuses it: an error of the write, rolled back
    with pytest.raises(SynthbankError, match="failed and was rolled back: Not a boolean value: 'maybe'"):
        write_tables(sqlite_url, schema, flags)
    assert not Path(sa.engine.make_url(sqlite_url).database).exists()


# --- the bulk paths write what SQLAlchemy's INSERT writes --------------------------------------------
def _typed_schema_and_rows() -> tuple[DatabaseSchema, pd.DataFrame]:
    c = Column
    types = {"id": "integer", "n_float": "integer", "n_masked": "bigint", "n_object": "smallint", "x": "float",
             "money": "numeric(10,2)", "s": "varchar(40)", "s_mixed": "text", "flag": "boolean", "day": "date",
             "at": "datetime", "clock": "time", "token": "uuid", "kind": "enum(a|b)", "doc": "json", "blob": "binary"}
    table = Table("typed", {name: c(name, t, name != "id", "numerical") for name, t in types.items()}, ["id"])
    n = 6
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "n_float": [1.0, np.nan, 3.0, -4.0, 2.0**30, 6.0],  # a nullable integer column as pandas holds it
        "n_masked": pd.array([1, None, 3, 2**40, -5, 6], dtype="Int64"),
        "n_object": pd.Series([np.int64(7), None, np.int16(-3), 4, np.nan, pd.NA], dtype=object),
        "x": [0.1, np.nan, -2.5e-7, 1e15, 123456.789, -0.0],
        "money": [Decimal("12.34"), None, 5.5, Decimal("-0.01"), 99999999.99, 0],
        "s": ["plain", "quote ' and \" and \\ backslash", "tab\there\nnewline\r", "\\N", "", None],
        "s_mixed": ["text", 5.0, True, 12, None, "ünïcödé ✓"],
        "flag": [True, False, None, np.True_, True, False],
        "day": [dt.date(2024, 2, 29), None, dt.date(1931, 12, 2), dt.date(2099, 1, 1), dt.date(1970, 1, 1), None],
        "at": pd.to_datetime(["2024-05-01 09:30:00", None, "1969-07-20 20:17:40.25", "2038-01-19 03:14:08",
                              "2000-01-01", "2024-12-31 23:59:59"], format="ISO8601"),
        "clock": [dt.time(9, 30), None, dt.time(0, 0, 1), dt.time(23, 59, 59), dt.time(12), None],
        "token": [str(uuid.UUID(int=i)) for i in range(5)] + [None],
        "kind": ["a", "b", None, "a", "a", "b"],
        "doc": [{"a": 1, "b": [1, 2]}, None, {"text": "it's"}, [1, "x"], {}, {"nested": {"k": None}}],
        "blob": [b"\x00\x01binary\xff", None, b"", b"\\N", b"x" * 100, b"\t\n"],
    })
    return DatabaseSchema({"typed": table}), frame


def _write_with_sqlalchemy(url: str, schema: DatabaseSchema, frame: pd.DataFrame) -> None:
    """The writer's previous path: SQLAlchemy's INSERT with to_records' values."""
    engine = sa.create_engine(url)
    metadata = build_metadata(schema)
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(metadata.tables["typed"].insert(), to_records(frame))
    engine.dispose()


def test_bulk_paths_write_what_sqlalchemy_writes(database_url, second_database_url):
    schema, frame = _typed_schema_and_rows()
    assert write_tables(database_url, schema, {"typed": frame}, batch_size=4).ok
    _write_with_sqlalchemy(second_database_url, schema, frame)
    bulk, reference = _content(database_url, {"typed": "id"}), _content(second_database_url, {"typed": "id"})
    assert bulk == reference
    assert len(bulk["typed"]) == len(frame)


# --- memory does not grow with the number of chunks ------------------------------------------------
def test_the_writers_memory_does_not_grow_with_the_number_of_chunks(tmp_path):
    """Peak traced memory after 30 chunks of 20,000 rows stays close to the peak after 3: the writer holds
    one chunk at a time (holding all of them would make the peak about ten times as high)."""
    table = Table("events", {"event_id": Column("event_id", "integer", False, "id"),
                             "value": Column("value", "float", True, "numerical"),
                             "label": Column("label", "varchar(20)", True, "categorical")}, ["event_id"])
    schema, rows = DatabaseSchema({"events": table}), 20_000
    peaks: list[int] = []

    def chunks():
        for k in range(30):
            peaks.append(tracemalloc.get_traced_memory()[1])  # peak so far, before chunk k is made
            ids = np.arange(k * rows, (k + 1) * rows)
            yield {"events": pd.DataFrame({"event_id": ids, "value": ids * 0.5, "label": [f"label {i % 977}" for i in ids]})}

    tracemalloc.start()
    try:
        report = write_tables(f"sqlite:///{tmp_path / 'events.db'}", schema, chunks(), batch_size=5000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.rows == {"events": 30 * rows}
    after_three = peaks[3]  # the first three chunks made and written
    assert peak < 1.5 * after_three, (peak, after_three)
