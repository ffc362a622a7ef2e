"""Sources stay read-only, targets are never lost, model directories are replaced only when they are models.

Real servers (PostgreSQL, MariaDB) and real processes killed with SIGKILL: no mocks of the databases.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import _fresh_database

from synthbank.database import open_engine, same_database
from synthbank.demo_bank import write_demo_bank
from synthbank.errors import SynthbankError
from synthbank.files import MARKER, staged_directory, verify_model_directory
from synthbank.io.writer import write_tables
from synthbank.schemas.model import Column, DatabaseSchema, ForeignKey, Table


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- sources ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a#b.db", "a?b.db", "a%23b.db", "a%b.db", "x#?%.db"])
def test_a_source_path_with_uri_characters_is_opened_read_only(tmp_path, name):
    source = tmp_path / name
    write_demo_bank(str(source), users=10)
    before_bytes, before_files = _digest(source), sorted(p.name for p in tmp_path.iterdir())  # snapshot first
    from synthbank.io.reader import read_tables
    from synthbank.schemas import reflect_schema

    schema = reflect_schema(str(source))
    assert read_tables(str(source), schema)["users"].shape[0] == 10
    engine = open_engine(str(source), read_only=True)
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM users"))
    engine.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == before_files  # no file 'a' created beside it
    assert _digest(source) == before_bytes


def test_same_database():
    assert same_database("bank.db", "sqlite:///./bank.db")
    assert same_database("postgresql://u:pw@localhost/bank", "postgresql+psycopg://u@127.0.0.1:5432/bank")
    assert not same_database("postgresql://u@127.0.0.1/bank", "postgresql://u@127.0.0.1/other")
    assert not same_database("postgresql://u@127.0.0.1:5432/bank", "postgresql://u@127.0.0.1:5433/bank")
    assert same_database("mysql://root@127.0.0.1/test", "mariadb://root@localhost:3306/test")
    assert not same_database("bank.db", "postgresql://u@127.0.0.1/bank.db")


def test_target_equal_to_source_is_refused_by_the_api(tmp_path):
    source = tmp_path / "bank.db"
    write_demo_bank(str(source), users=10)
    before = _digest(source)
    schema, tables = _tiny(rows=5)
    with pytest.raises(SynthbankError, match="is the source database itself"):
        write_tables(f"sqlite:///{source}", schema, tables, replace=True, source_url=str(source))
    assert _digest(source) == before


# --- model directories --------------------------------------------------------------------------------
def test_a_folder_that_is_not_a_model_is_never_replaced(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "thesis.txt").write_text("three years of work")
    for target in (folder, tmp_path, Path(".")):
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SynthbankError, match="Refusing"):
            with staged_directory(target) as staging:
                (staging / "model.bin").write_bytes(b"x")
    assert (folder / "thesis.txt").read_text() == "three years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # no staging folder left


def test_model_swap_is_atomic_and_a_failed_write_keeps_the_old_model(tmp_path):
    model = tmp_path / "model"
    with staged_directory(model, kind="database") as staging:
        (staging / "weights.bin").write_bytes(b"old")
    verify_model_directory(model, "database")
    with pytest.raises(RuntimeError):
        with staged_directory(model, kind="database") as staging:
            (staging / "weights.bin").write_bytes(b"new, half")
            raise RuntimeError("the fit crashed")
    assert (model / "weights.bin").read_bytes() == b"old"
    with staged_directory(model, kind="database") as staging:  # a model may replace a model
        (staging / "weights.bin").write_bytes(b"new")
    assert (model / "weights.bin").read_bytes() == b"new"
    assert json.loads((model / MARKER).read_text())["files"]["weights.bin"]["size"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .partial / .old left
    (model / "weights.bin").write_bytes(b"neW")
    with pytest.raises(SynthbankError, match="damaged"):
        verify_model_directory(model, "database")


def test_a_swap_interrupted_by_kill_is_repaired_on_the_next_write(tmp_path):
    """A process killed between 'old aside' and 'new in' left only '.model.old-PID': the next write puts
    the old model back before anything else, and staging folders of dead processes are removed."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    old = tmp_path / f".model.old-{pid}"
    with staged_directory(old, kind="database") as staging:
        (staging / "weights.bin").write_bytes(b"old")
    (tmp_path / f".model.partial-{pid}").mkdir()
    with pytest.raises(RuntimeError):
        with staged_directory(tmp_path / "model") as staging:
            raise RuntimeError
    assert (tmp_path / "model" / "weights.bin").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --- integrity check ----------------------------------------------------------------------------------
def test_a_failed_integrity_check_writes_nothing(tmp_path):
    """SQLite does not enforce foreign keys by default, so orphans reach the final check: it must roll back."""
    schema, tables = _tiny(rows=20)
    tables["child"].loc[3, "parent_id"] = 999
    target = tmp_path / "out.db"
    with pytest.raises(SynthbankError, match=r"integrity check .* failed \(child: 1 orphan foreign keys\)"):
        write_tables(f"sqlite:///{target}", schema, tables)
    assert list(tmp_path.iterdir()) == []  # not even an empty file
    write_demo_bank(str(target), users=5)
    before = _digest(target)
    with pytest.raises(SynthbankError, match="integrity check"):
        write_tables(f"sqlite:///{target}", schema, tables)
    assert _digest(target) == before


def test_sqlite_leaves_no_file_on_ctrl_c(tmp_path):
    schema, tables = _tiny(rows=50)

    def interrupt(table, n, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_tables(f"sqlite:///{tmp_path / 'out.db'}", schema, tables, batch_size=10, on_rows=interrupt)
    assert list(tmp_path.iterdir()) == []


# --- kill -9 mid-insert -------------------------------------------------------------------------------
_WRITER = textwrap.dedent("""
    import sys, time, pathlib
    sys.path.insert(0, {tests!r})
    from test_safety import _tiny
    from synthbank.io.writer import write_tables
    schema, tables = _tiny(rows=40_000)
    flag = pathlib.Path({flag!r})
    def on_rows(table, n, total):
        if table == "child" and not flag.exists():
            flag.write_text("inserting")
            time.sleep(600)  # killed here, mid-transaction
    write_tables({url!r}, schema, tables, replace=True, batch_size=1000, on_rows=on_rows)
""")


def _kill_mid_insert(url: str, tmp_path: Path) -> None:
    flag = tmp_path / "inserting.flag"
    script = _WRITER.format(tests=str(Path(__file__).parent), flag=str(flag), url=url)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not flag.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.time() < deadline
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def _state(url: str) -> dict:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            names = sorted(sa.inspect(connection).get_table_names())
            return {n: connection.execute(sa.text(f"SELECT COUNT(*) FROM {n}")).scalar_one() for n in names}
    finally:
        engine.dispose()


def test_kill_9_while_writing_a_new_sqlite_file_leaves_no_target(tmp_path):
    target = tmp_path / "new.db"
    _kill_mid_insert(f"sqlite:///{target}", tmp_path)
    assert not target.exists()
    schema, tables = _tiny(rows=10)  # the next write removes the dead process's hidden partial file
    write_tables(f"sqlite:///{target}", schema, tables)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inserting.flag", "new.db"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_while_replacing_tables_leaves_the_target_as_it_was(tmp_path, backend):
    databases = _fresh_database(backend, tmp_path)
    url = next(databases)
    try:
        schema, tables = _tiny(rows=7)
        write_tables(url, schema, tables)  # the previous parent/child tables
        write_demo_bank(url, users=5)  # and unrelated tables
        before = _state(url)
        _kill_mid_insert(url, tmp_path)
        time.sleep(0.2)
        assert _state(url) == before  # SQLite: the hot journal is rolled back on this open
    finally:
        databases.close()


def test_mariadb_replace_keeps_the_old_tables_until_the_new_ones_are_complete(tmp_path):
    databases = _fresh_database("mariadb", tmp_path)
    url = next(databases)
    try:
        schema, tables = _tiny(rows=30)
        write_tables(url, schema, tables)
        before, fks_before = _state(url), _foreign_keys(url)
        bad = {name: frame.copy() for name, frame in _tiny(rows=3000)[1].items()}
        bad["child"].loc[2500, "amount"] = None  # NOT NULL: fails in a late batch of the second table
        with pytest.raises(SynthbankError, match="rolled back"):
            write_tables(url, schema, bad, replace=True, batch_size=500)
        assert _state(url) == before and _foreign_keys(url) == fks_before

        def interrupt(table, n, total):
            if table == "child":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            write_tables(url, schema, _tiny(rows=3000)[1], replace=True, batch_size=500, on_rows=interrupt)
        assert _state(url) == before and _foreign_keys(url) == fks_before

        report = write_tables(url, schema, _tiny(rows=50)[1], replace=True)
        assert report.ok and _state(url) == {"child": 50, "parent": 50}
        assert _foreign_keys(url) == fks_before  # the schema's constraint names, not temporary ones
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            engines = connection.execute(sa.text(
                "SELECT DISTINCT engine FROM information_schema.tables WHERE table_schema = DATABASE()")).scalars().all()
        engine.dispose()
        assert engines == ["InnoDB"]
    finally:
        databases.close()


def _foreign_keys(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return sorted((t, fk["name"], fk["referred_table"]) for t in inspector.get_table_names()
                      for fk in inspector.get_foreign_keys(t))
    finally:
        engine.dispose()


def _tiny(rows: int):
    """parent(id) ← child(parent_id, amount NOT NULL): a schema and rows that any backend takes."""
    parent = Table("parent", {"id": Column("id", "INTEGER", nullable=False, sdtype="id"),
                              "label": Column("label", "VARCHAR(20)")}, primary_key=["id"])
    child = Table("child", {"id": Column("id", "INTEGER", nullable=False, sdtype="id"),
                            "parent_id": Column("parent_id", "INTEGER", sdtype="id"),
                            "amount": Column("amount", "FLOAT", nullable=False, sdtype="numerical")},
                  primary_key=["id"], foreign_keys=[ForeignKey(["parent_id"], "parent", ["id"], name="fk_child_parent")])
    schema = DatabaseSchema({"parent": parent, "child": child})
    ids = np.arange(1, rows + 1)
    tables = {"parent": pd.DataFrame({"id": ids, "label": [f"p{i}" for i in ids]}),
              "child": pd.DataFrame({"id": ids, "parent_id": ids[::-1], "amount": ids * 1.5})}
    return schema, tables

