"""Cloning real databases: SQLite, PostgreSQL and MariaDB in any direction, the CLI, and bad input."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa
from builders import tricky_schema_and_data
from conftest import _fresh_database

from synthbank.demo_bank import write_demo_bank
from synthbank.errors import SchemaError, SynthbankError, TargetNotEmptyError
from synthbank.io.writer import write_tables
from synthbank.schemas import Column, reflect_schema
from synthbank.synthesizer import DatabaseSynthesizer, SyntheticDatabase


def _structure(url):
    schema = reflect_schema(url)
    return {name: ([(c.name, c.type, c.nullable) for c in t.columns.values()], t.primary_key,
                   sorted((fk.columns, fk.parent, fk.parent_columns) for fk in t.foreign_keys), sorted(t.unique))
            for name, t in schema.tables.items()}


def _rows_digest(url, table, order):
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}")).fetchall()
    engine.dispose()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def small_demo_source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "bank.db"
    url = f"sqlite:///{path}"
    write_demo_bank(url, users=40, seed=2)
    # the snapshot is taken here, before anything reads the source
    SOURCE_SNAPSHOT[url] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return url


#: url → (sha256 of the file's bytes, modification time) right after the source was written
SOURCE_SNAPSHOT: dict[str, tuple[str, int]] = {}


def _snapshot(url):
    path = sa.engine.make_url(url).database
    import pathlib

    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest(), pathlib.Path(path).stat().st_mtime_ns


@pytest.fixture(scope="module")
def fitted_demo(small_demo_source):
    return DatabaseSynthesizer.from_url(small_demo_source, text=False).fit()


def test_clone_keeps_ddl_and_integrity_on_every_backend(small_demo_source, fitted_demo, database_url):
    report = fitted_demo.sample(seed=1).to_url(database_url)
    assert report.ok, report.tables
    assert set(report.rows) == {"users", "loans", "transactions", "complaints"}
    source, target = _structure(small_demo_source), _structure(database_url)
    assert source == target  # same columns, types, NOT NULL, keys, foreign keys, unique constraints
    assert _snapshot(small_demo_source) == SOURCE_SNAPSHOT[small_demo_source]  # untouched since it was written


@pytest.mark.slow
def test_clone_between_backends(database_url, second_database_url):
    """A demo bank on one backend cloned into another database (same backend here; sqlite→server below)."""
    write_demo_bank(database_url, users=30, seed=4)
    report = DatabaseSynthesizer.from_url(database_url, text=False).fit().sample(seed=2).to_url(second_database_url)
    assert report.ok and report.rows["users"] == 30


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_sqlite_to_server_and_back(fitted_demo, backend, tmp_path):
    for server_url in _fresh_database(backend, tmp_path):
        assert fitted_demo.sample(seed=3).to_url(server_url).ok
        back = f"sqlite:///{tmp_path / 'back.db'}"
        report = DatabaseSynthesizer.from_url(server_url, text=False).fit().sample(seed=1).to_url(back)
        assert report.ok and report.rows["users"] == 40


def test_cycles_self_references_and_composite_keys_in_a_database(database_url, second_database_url):
    schema, data = tricky_schema_and_data()
    report = write_tables(database_url, schema, data)  # needs insert-NULL-then-UPDATE for the cycle
    assert report.ok
    reflected = reflect_schema(database_url)
    assert reflected.deferred_edges()
    synthesizer = DatabaseSynthesizer.from_url(database_url, schema=_as_copy_lookup(reflected), text=False).fit()
    report = synthesizer.sample(seed=5).to_url(second_database_url)
    assert report.ok, report.tables
    engine = sa.create_engine(second_database_url)
    with engine.connect() as connection:
        managers = connection.execute(sa.text("SELECT COUNT(*) FROM employees WHERE manager_id IS NOT NULL")).scalar_one()
    engine.dispose()
    assert managers > 0


def _as_copy_lookup(schema):
    schema.tables["currencies"].mode = "copy"
    return schema


def test_target_is_left_as_it_was_on_error(fitted_demo, database_url):
    synthetic = fitted_demo.sample(seed=1)
    broken = SyntheticDatabase({**synthetic, "users": synthetic["users"].assign(email=None)}, synthetic.schema)
    with pytest.raises(SynthbankError, match="failed and was rolled back"):
        broken.to_url(database_url)
    engine = sa.create_engine(database_url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    synthetic.to_url(database_url)
    with pytest.raises(TargetNotEmptyError, match="replace=True"):  # the API speaks in its own terms
        synthetic.to_url(database_url)
    assert synthetic.to_url(database_url, replace=True).ok


def test_schema_file_strict_and_sample_rows(small_demo_source, tmp_path):
    path = reflect_schema(small_demo_source).save(tmp_path / "schema.yaml")
    text = path.read_text().replace("      home_ownership: {type: varchar(10), nullable: false, sdtype: categorical}\n", "")
    path.write_text(text)
    with pytest.raises(SchemaError, match="strict=True: the schema file does not classify users.home_ownership"):
        DatabaseSynthesizer.from_url(small_demo_source, schema=path, strict=True, text=False)
    lenient = DatabaseSynthesizer.from_url(small_demo_source, schema=path, text=False)
    assert lenient.schema.tables["users"].columns["home_ownership"].sdtype == "categorical"
    edited = reflect_schema(small_demo_source)
    edited.tables["users"].columns["shoe_size"] = Column("shoe_size", "integer", sdtype="numerical")
    edited.save(path)
    with pytest.raises(SchemaError, match="users.shoe_size, which the database does not have"):
        DatabaseSynthesizer.from_url(small_demo_source, schema=path, text=False)

    sampled = DatabaseSynthesizer.from_url(small_demo_source, sample_rows=10, text=False).fit()
    assert sampled.relational_.row_counts_["users"] == 10
    out = sampled.sample(scale=4.0, seed=1)
    assert len(out["users"]) == 40 and out["loans"]["user_id"].isin(out["users"]["user_id"]).all()


def test_dataframes_in_and_out_without_a_database(small_demo_source):
    from synthbank.demo_bank import demo_schema, generate_demo_bank

    tables = generate_demo_bank(users=25, seed=9)
    synthetic = DatabaseSynthesizer(demo_schema(), text=False).fit(tables).sample(seed=1)
    assert set(synthetic) == set(tables)
    assert all(isinstance(frame, pd.DataFrame) for frame in synthetic.values())


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True, timeout=600,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    return result.returncode, result.stdout, result.stderr


def test_cli_clone_fit_sample(small_demo_source, tmp_path):
    target = f"sqlite:///{tmp_path / 'synth.db'}"
    code, out, err = run_cli("clone", small_demo_source, target, "--seed", "3", "--no-text")
    assert code == 0, err
    assert "Integrity: every foreign key resolves" in out and "complaints.narrative" in out
    code, _, err = run_cli("clone", small_demo_source, target)
    assert code == 1 and "already has the table(s)" in err and "Traceback" not in err
    code, out, err = run_cli("fit", small_demo_source, "--model", str(tmp_path / "model"), "--no-text")
    assert code == 0, err
    assert "users → complaints, loans" in out
    code, out, err = run_cli("sample", str(tmp_path / "again.db"), "--model", str(tmp_path / "model"), "--scale", "2")
    assert code == 0, err
    assert "80" in out  # 2 × 40 users


@pytest.mark.parametrize("args, message", [
    (["clone", "{src}", "postgresql://postgres@127.0.0.1:1/x"], "Cannot connect to"),
    (["clone", "/nonexistent.db", "{tmp}/t.db"], "does not exist"),
    (["clone", "{src}", "{tmp}/t.db", "--tables", "nope"], "no table named 'nope'"),
    (["clone", "{src}", "{tmp}/t.db", "--schema", "{tmp}/missing.yaml"], "does not exist"),
    (["clone", "{src}", "{tmp}/t.db", "--strict"], "--strict needs a reviewed schema file"),
    (["sample", "{tmp}/t.db", "--model", "{tmp}"], "not a synthbank model directory"),
    (["sample", "{tmp}/t.db", "--model", "{tmp}/none"], "does not exist"),
])
def test_cli_bad_input(small_demo_source, tmp_path, args, message):
    args = [a.replace("{src}", small_demo_source).replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run_cli(*args)
    assert code == 1, err
    assert message in err and "Traceback" not in err + out
    assert not (tmp_path / "t.db").exists()  # nothing half-written


def test_cli_bad_option(small_demo_source, tmp_path):
    code, _, err = run_cli("clone", small_demo_source, str(tmp_path / "t.db"), "--scale", "-1")
    assert code == 2 and "greater than 0" in err


def test_postgres_types(tmp_path):
    """Enums, jsonb, arrays, numeric, uuid, timestamptz and booleans: learned where learnable, reported otherwise."""
    for source in _fresh_database("postgresql", tmp_path):
        engine = sa.create_engine(source)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TYPE tier AS ENUM ('basic', 'gold', 'platinum')"))
            connection.execute(sa.text(
                "CREATE TABLE cards (card_id uuid PRIMARY KEY, tier tier NOT NULL, limit_usd numeric(10,2) NOT NULL,"
                " opened_at timestamptz NOT NULL, active boolean NOT NULL, prefs jsonb, tags text[])"))
            connection.execute(sa.text(
                "INSERT INTO cards SELECT gen_random_uuid(), (ARRAY['basic','gold','platinum'])[1 + i % 3]::tier,"
                " 1000 + i * 10.5, now() - (i || ' days')::interval, i % 4 <> 0, '{\"a\": 1}', ARRAY['x', 'y']"
                " FROM generate_series(1, 40) AS i"))
        engine.dispose()
        schema = reflect_schema(source)
        cards = schema.tables["cards"]
        assert [cards.columns[c].type for c in ("card_id", "tier", "limit_usd", "opened_at", "active", "prefs", "tags")] == [
            "uuid", "enum(basic|gold|platinum)", "numeric(10,2)", "datetime(tz)", "boolean", "json", "array(text)"]
        assert cards.columns["prefs"].sdtype == "unsupported" and cards.columns["tier"].sdtype == "categorical"
        synthesizer = DatabaseSynthesizer.from_url(source, text=False).fit()
        assert synthesizer.relational_.unsupported_columns == {"cards": ["prefs", "tags"]}
        for pg_target in _fresh_database("postgresql", tmp_path):
            for target in (f"sqlite:///{tmp_path / 'cards.db'}", pg_target):
                assert synthesizer.sample(seed=1).to_url(target).ok
                engine = sa.create_engine(target)
                frame = pd.read_sql("SELECT * FROM cards", engine)
                engine.dispose()
                assert len(frame) == 40 and frame["card_id"].astype(str).str.fullmatch(r"[0-9a-f-]{32,36}").all()
                assert set(frame["tier"]) <= {"basic", "gold", "platinum"} and frame["prefs"].isna().all()
