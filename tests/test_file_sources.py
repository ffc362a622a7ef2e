"""DuckDB files and folders of Parquet or CSV files as sources and targets.

Round trips check the output in DuckDB SQL (orphans, duplicate keys) rather than through synthbank's own
reader; key discovery must find the demo bank's keys from its Parquet export and refuse an ambiguous case;
a failure while writing leaves no target folder; Arrow types survive (timestamp with time zone, decimal,
date).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import _fresh_database

from synthbank.cli import main
from synthbank.database import normalize_url
from synthbank.demo_bank import demo_schema
from synthbank.errors import SchemaError, SynthbankError, TargetNotEmptyError
from synthbank.io.writer import write_tables
from synthbank.schemas import ForeignKey, reflect_schema
from synthbank.synthesizer import DatabaseSynthesizer

DEMO_KEYS = {  # table: (primary key, {column: parent table})
    "users": (["user_id"], {}),
    "loans": (["loan_id"], {"user_id": "users"}),
    "transactions": (["transaction_id"], {"loan_id": "loans"}),
    "complaints": (["complaint_id"], {"user_id": "users", "loan_id": "loans"}),
}


def _sha(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def _scan(fmt: str, path: Path, name: str) -> str:
    """A DuckDB expression reading one table of a folder synthbank wrote (a file or a folder of parts)."""
    if fmt == "duckdb":
        return f'"{name}"'
    single = path / f"{name}.{fmt}"
    target = single if single.exists() else path / name / f"*.{fmt}"
    return f"read_{fmt}('{target}')"


def _integrity(fmt: str, path: Path) -> dict[str, int]:
    """Orphan foreign keys and duplicate primary keys of the demo bank's tables, counted by DuckDB."""
    connection = duckdb.connect(str(path), read_only=True) if fmt == "duckdb" else duckdb.connect()
    found = {}
    try:
        for table, (pk, parents) in DEMO_KEYS.items():
            scan = _scan(fmt, path, table)
            found[f"{table} duplicates"] = connection.execute(
                f"SELECT count(*) - count(DISTINCT {pk[0]}) FROM {scan}").fetchone()[0]
            for column, parent in parents.items():
                parent_pk = DEMO_KEYS[parent][0][0]
                found[f"{table}.{column} orphans"] = connection.execute(
                    f"SELECT count(*) FROM {scan} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {_scan(fmt, path, parent)} p WHERE p.{parent_pk} = c.{column})").fetchone()[0]
            found[f"{table} rows"] = connection.execute(f"SELECT count(*) FROM {scan}").fetchone()[0]
    finally:
        connection.close()
    return found


def _assert_intact(fmt: str, path: Path) -> None:
    found = _integrity(fmt, path)
    assert {k: v for k, v in found.items() if not k.endswith("rows") and v} == {}
    assert all(found[f"{t} rows"] > 0 for t in DEMO_KEYS), found


@pytest.fixture(scope="module")
def demo_folders(tmp_path_factory, demo_tables):
    """The demo bank as a DuckDB file, a Parquet folder and a CSV folder (written by synthbank itself)."""
    base = tmp_path_factory.mktemp("demo_files")
    schema = demo_schema()
    for target in (base / "bank.duckdb", base / "bank_parquet", f"csv:{base / 'bank_csv'}"):
        write_tables(str(target), schema, demo_tables)
    return base


def test_a_folder_is_named_by_its_path_or_its_format(tmp_path):
    (tmp_path / "parquet_in").mkdir()
    pq.write_table(pa.table({"id": [1]}), tmp_path / "parquet_in" / "t.parquet")
    assert normalize_url(tmp_path / "parquet_in") == f"parquet://{tmp_path / 'parquet_in'}"
    assert normalize_url(tmp_path / "new_folder") == f"parquet://{tmp_path / 'new_folder'}"
    assert normalize_url(f"csv:{tmp_path / 'new_folder'}") == f"csv://{tmp_path / 'new_folder'}"
    assert normalize_url(tmp_path / "bank.duckdb") == f"duckdb:///{tmp_path / 'bank.duckdb'}"
    assert normalize_url(tmp_path / "bank.db") == f"sqlite:///{tmp_path / 'bank.db'}"
    (tmp_path / "parquet_in" / "u.csv").write_text("id\n1\n")
    with pytest.raises(SynthbankError, match="both Parquet and CSV"):
        normalize_url(tmp_path / "parquet_in")


def test_duckdb_round_trip_keeps_ddl_and_leaves_the_source_alone(demo_folders, tmp_path):
    source = demo_folders / "bank.duckdb"
    before = _sha(source)
    assert main(["clone", str(source), f"duckdb:///{tmp_path / 'synthetic.duckdb'}", "--no-text"]) == 0
    assert _sha(source) == before
    _assert_intact("duckdb", tmp_path / "synthetic.duckdb")
    with duckdb.connect(str(tmp_path / "synthetic.duckdb"), read_only=True) as connection:
        constraints = set(connection.execute("SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints()").fetchall())
        columns = dict(((t, c), d) for t, c, d in connection.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal").fetchall())
    assert ("loans", "FOREIGN KEY", "FOREIGN KEY (user_id) REFERENCES users(user_id)") in constraints
    assert ("users", "PRIMARY KEY", "PRIMARY KEY(user_id)") in constraints
    assert ("users", "UNIQUE", "UNIQUE(email)") in constraints
    assert ("transactions", "NOT NULL", "NOT NULL") in constraints
    assert columns[("users", "annual_income")] == "DECIMAL(12,2)" and columns[("transactions", "posted_at")] == "TIMESTAMP"
    # reading it back: keys come from DuckDB's catalog, not discovery
    schema = reflect_schema(str(tmp_path / "synthetic.duckdb"))
    assert {n: (t.primary_key, {fk.columns[0]: fk.parent for fk in t.foreign_keys}) for n, t in schema.tables.items()} == DEMO_KEYS


def test_a_failed_duckdb_write_leaves_no_file(demo_tables, tmp_path):
    def chunks():
        yield dict(demo_tables)
        raise RuntimeError("the sampler broke")

    with pytest.raises(RuntimeError, match="the sampler broke"):
        write_tables(f"duckdb:///{tmp_path / 'out.duckdb'}", demo_schema(), chunks())
    assert list(tmp_path.iterdir()) == []


def test_mixed_sqlite_to_duckdb_and_duckdb_to_postgresql(demo_folders, tmp_path, demo_tables):
    sqlite = tmp_path / "bank.db"
    write_tables(str(sqlite), demo_schema(), demo_tables)
    synthesizer = DatabaseSynthesizer.from_url(str(sqlite), text=False)
    synthesizer.fit().sample_to_url(str(tmp_path / "from_sqlite.duckdb"), seed=1)
    _assert_intact("duckdb", tmp_path / "from_sqlite.duckdb")
    for url in _fresh_database("postgresql", tmp_path):
        synthesizer = DatabaseSynthesizer.from_url(str(demo_folders / "bank.duckdb"), text=False)
        report = synthesizer.fit().sample_to_url(url, seed=1)
        assert report.ok and report.rows["transactions"] > 0


def test_key_discovery_finds_the_demo_banks_keys_from_its_parquet_export(demo_folders):
    schema = reflect_schema(str(demo_folders / "bank_parquet"))
    found = {n: (t.primary_key, {fk.columns[0]: fk.parent for fk in t.foreign_keys}) for n, t in schema.tables.items()}
    assert found == DEMO_KEYS
    assert schema.tables["users"].columns["user_id"].sdtype == "id"
    assert schema.tables["users"].columns["email"].pii == "email"  # detection still runs on the files


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_folder_round_trip_with_cli_defaults(demo_folders, tmp_path, fmt):
    source = demo_folders / f"bank_{fmt}"
    before = _sha(source)
    target = tmp_path / "synthetic"
    name = str(target) if fmt == "parquet" else f"csv:{target}"
    assert main(["clone", str(source), name, "--no-text"]) == 0
    assert _sha(source) == before
    _assert_intact(fmt, target)
    marker = json.loads((target / "_synthbank.json").read_text())
    assert set(marker["files"]) == {f"{t}.{fmt}" for t in DEMO_KEYS}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    assert main(["clone", str(source), str(source / "inner"), "--no-text"]) == 1  # never inside the source folder
    assert main(["clone", str(source), str(source / "inner.duckdb"), "--no-text"]) == 1
    assert _sha(source) == before
    # refused without --replace; replaced with it
    assert main(["clone", str(source), name, "--no-text"]) != 0
    assert main(["clone", str(source), name, "--no-text", "--replace", "--seed", "3"]) == 0
    _assert_intact(fmt, target)


def test_a_failed_folder_write_leaves_no_folder_and_keeps_an_old_one(demo_tables, tmp_path):
    def chunks():
        yield dict(demo_tables)
        raise RuntimeError("the sampler broke")

    target = tmp_path / "out"
    with pytest.raises(RuntimeError, match="the sampler broke"):
        write_tables(str(target), demo_schema(), chunks())
    assert list(tmp_path.iterdir()) == []
    write_tables(str(target), demo_schema(), demo_tables)
    before = _sha(target)
    with pytest.raises(RuntimeError, match="the sampler broke"):
        write_tables(str(target), demo_schema(), chunks(), replace=True)
    assert _sha(target) == before and [p.name for p in tmp_path.iterdir()] == ["out"]
    bad = {**demo_tables, "loans": demo_tables["loans"].assign(user_id=10**6)}  # every loan an orphan
    with pytest.raises(SynthbankError, match="rolled back: Constraint Error: Violates foreign key"):
        write_tables(str(target), demo_schema(), bad, replace=True)
    assert _sha(target) == before


def test_replace_never_deletes_a_folder_synthbank_did_not_write(demo_tables, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(TargetNotEmptyError):
        write_tables(str(target), demo_schema(), demo_tables)
    with pytest.raises(SynthbankError, match="does not hold a synthbank folder of synthetic tables"):
        write_tables(str(target), demo_schema(), demo_tables, replace=True)
    assert (target / "notes.txt").read_text() == "keep me"


def test_arrow_types_survive_a_parquet_clone(tmp_path):
    rng = range(60)
    accounts = pa.table({
        "account_id": pa.array(list(rng), pa.int64()),
        "opened": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=7 * i) for i in rng], pa.date32()),
        "balance": pa.array([decimal.Decimal(f"{1000 + 13.37 * i:.2f}") for i in rng], pa.decimal128(12, 2)),
        "kind": pa.array(["checking", "savings", "loan"] * 20, pa.string()),
    })
    payments = pa.table({
        "payment_id": pa.array(list(range(300)), pa.int64()),
        "account_id": pa.array([i % 60 for i in range(300)], pa.int64()),
        "paid_at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=5 * i) for i in range(300)],
                            pa.timestamp("us", tz="UTC")),
        "amount": pa.array([decimal.Decimal(f"{(i * 7) % 500 + 0.25:.2f}") for i in range(300)], pa.decimal128(12, 2)),
    })
    source = tmp_path / "lake"
    (source / "payments").mkdir(parents=True)
    pq.write_table(accounts, source / "accounts.parquet")
    pq.write_table(payments.slice(0, 150), source / "payments" / "part-0.parquet")  # a table as part files
    pq.write_table(payments.slice(150), source / "payments" / "part-1.parquet")
    assert main(["clone", str(source), str(tmp_path / "out"), "--no-text"]) == 0
    written = {name: pq.read_schema(tmp_path / "out" / f"{name}.parquet") for name in ("accounts", "payments")}
    assert written["accounts"].field("opened").type == pa.date32()
    assert written["accounts"].field("balance").type == pa.decimal128(12, 2)
    assert written["payments"].field("paid_at").type == pa.timestamp("us", tz="UTC")
    assert written["payments"].field("amount").type == pa.decimal128(12, 2)
    assert written["payments"].field("account_id").type == pa.int64()
    synthetic = pq.read_table(tmp_path / "out" / "payments.parquet").to_pandas()
    assert len(synthetic) > 100 and synthetic["account_id"].isin(pq.read_table(tmp_path / "out" / "accounts.parquet")["account_id"].to_pylist()).all()


def test_csv_types_are_sniffed_like_a_warehouse_loader(tmp_path):
    source = tmp_path / "csvs"
    source.mkdir()
    pd.DataFrame({"branch_code": ["B01", "B02", "B03"], "city": ["Brno", "Praha", "Ostrava"]}).to_csv(source / "branches.csv", index=False)
    customers = pd.DataFrame({"customer_id": range(1, 41), "branch_code": ["B01", "B02", "B03", "B01"] * 10,
                              "since": pd.date_range("2019-01-01", periods=40, freq="W").strftime("%Y-%m-%d"),
                              "score": [round(0.5 + i / 100, 2) for i in range(40)]})
    customers.to_csv(source / "customers.csv", index=False)
    schema = reflect_schema(str(source))
    columns = schema.tables["customers"].columns
    assert (columns["customer_id"].type, columns["since"].type, columns["score"].type) == ("bigint", "date", "float")
    assert [(fk.columns, fk.parent) for fk in schema.tables["customers"].foreign_keys] == [(["branch_code"], "branches")]


def test_an_ambiguous_foreign_key_is_refused_until_a_schema_file_settles_it(tmp_path, capsys):
    source = tmp_path / "two_parents"
    source.mkdir()
    ids = list(range(1, 31))
    pq.write_table(pa.table({"account_id": ids, "owner": [f"o{i}" for i in ids]}), source / "checking.parquet")
    pq.write_table(pa.table({"account_id": ids, "rate": [0.01 * i for i in ids]}), source / "savings.parquet")
    pq.write_table(pa.table({"transfer_id": list(range(90)), "account_id": [1 + i % 30 for i in range(90)],
                             "amount": [10.0 * i for i in range(90)]}), source / "transfers.parquet")
    with pytest.raises(SchemaError, match=r"transfers\.account_id could reference checking\.account_id or savings\.account_id"):
        DatabaseSynthesizer.from_url(str(source), text=False)
    assert main(["clone", str(source), str(tmp_path / "out"), "--no-text"]) == 1
    assert "could reference checking.account_id or savings.account_id" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["schema", str(source), "--out", str(tmp_path / "schema.yaml"), "--no-rules"]) == 0
    assert "Unsettled key: transfers.account_id could reference" in " ".join(capsys.readouterr().out.split())
    text = (tmp_path / "schema.yaml").read_text()
    import yaml

    data = yaml.safe_load(text)
    assert "foreign_keys" not in data["tables"]["transfers"]  # left out, not guessed
    data["tables"]["transfers"]["foreign_keys"] = [{"columns": ["account_id"], "parent": "checking", "parent_columns": ["account_id"]}]
    (tmp_path / "schema.yaml").write_text(yaml.safe_dump(data))
    synthesizer = DatabaseSynthesizer.from_url(str(source), schema=str(tmp_path / "schema.yaml"), text=False)
    assert [(fk.columns, fk.parent) for fk in synthesizer.schema.tables["transfers"].foreign_keys] == [(["account_id"], "checking")]


def test_sample_rows_and_evaluate_read_a_parquet_folder(demo_folders, tmp_path):
    source = demo_folders / "bank_parquet"
    assert main(["clone", str(source), str(tmp_path / "out"), "--no-text", "--sample-rows", "100"]) == 0
    found = _integrity("parquet", tmp_path / "out")
    assert found["users rows"] == 100 and found["loans.user_id orphans"] == 0
    assert main(["evaluate", str(source), str(tmp_path / "out"), "--out", str(tmp_path / "report")]) == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(report["integrity"]["tables"]) == set(DEMO_KEYS)
    assert report["integrity"]["ok"] is True


def test_the_api_takes_and_returns_arrow_and_polars(demo_tables, tmp_path):
    import polars as pl

    from synthbank.evaluation import evaluate

    schema = demo_schema()
    arrow = {name: pa.Table.from_pandas(frame, preserve_index=False) for name, frame in demo_tables.items()}
    polars = {name: pl.from_arrow(table) for name, table in arrow.items()}
    from_arrow = DatabaseSynthesizer(schema, text=False).fit(arrow).sample(seed=2)
    from_polars = DatabaseSynthesizer(schema, text=False).fit(polars).sample(seed=2)
    from_pandas = DatabaseSynthesizer(schema, text=False).fit(demo_tables).sample(seed=2)
    for name in schema.tables:  # the same model whatever the input was
        pd.testing.assert_frame_equal(from_arrow[name], from_pandas[name])
        pd.testing.assert_frame_equal(from_polars[name], from_pandas[name])
    out_arrow, out_polars = from_pandas.to_arrow(), from_pandas.to_polars()
    assert isinstance(out_arrow["loans"], pa.Table) and out_arrow["loans"].num_rows == len(from_pandas["loans"])
    assert isinstance(out_polars["loans"], pl.DataFrame) and out_polars["loans"].columns == list(from_pandas["loans"].columns)
    report = evaluate(polars, out_arrow, schema)
    assert report.data["integrity"]["ok"] is True
    write_tables(str(tmp_path / "out"), schema, out_polars)  # a chunk of Polars tables
    _assert_intact("parquet", tmp_path / "out")


def test_a_doubt_about_a_table_whose_name_holds_a_dot_is_settled_by_that_table(tmp_path):
    from synthbank.schemas import resolve_schema

    source = tmp_path / "lake"
    source.mkdir()
    ids = list(range(1, 31))
    pq.write_table(pa.table({"account_id": ids, "owner": [f"o{i}" for i in ids]}), source / "checking.parquet")
    pq.write_table(pa.table({"account_id": ids, "rate": [0.01 * i for i in ids]}), source / "savings.parquet")
    pq.write_table(pa.table({"transfer_id": list(range(90)), "account_id": [1 + i % 30 for i in range(90)]}),
                   source / "transfers.2024.parquet")
    reflected = reflect_schema(str(source))
    assert [table for table, _ in reflected.key_doubts] == ["transfers.2024"]
    given = reflected.subset(["checking", "transfers.2024"])
    given.tables["transfers.2024"].foreign_keys = [ForeignKey(["account_id"], "checking", ["account_id"])]
    settled = resolve_schema(reflected, given)
    assert [fk.parent for fk in settled.tables["transfers.2024"].foreign_keys] == ["checking"]
