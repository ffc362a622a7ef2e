"""The CLI as a user runs it: demo-db, schema, and one clear sentence (no traceback) for bad input."""

import os
import subprocess
import sys

import pytest
import yaml

from synthbank.cli import main


def run_cli(*args):
    """Run the real console entry point in a subprocess, as a user would."""
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "160"}, timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_demo_db_then_schema(tmp_path, database_url):
    code, out, err = run_cli("demo-db", database_url, "--users", "80")
    assert code == 0, err
    assert "Wrote the demo bank" in out and "80 users" in out
    code, out, err = run_cli("schema", database_url, "--out", str(tmp_path / "schema.yaml"))
    assert code == 0, err
    for expected in ("users", "loans", "transactions", "complaints", "user_id → users(user_id)", "email (email)",
                     "ssn (ssn)", "narrative"):
        assert expected in out
    saved = yaml.safe_load((tmp_path / "schema.yaml").read_text())
    assert saved["tables"]["complaints"]["columns"]["narrative"]["sdtype"] == "text"


def test_demo_db_refuses_a_non_empty_target_unless_replace(sqlite_url):
    assert main(["demo-db", sqlite_url, "--users", "20"]) == 0
    code, _, err = run_cli("demo-db", sqlite_url, "--users", "20")
    assert code == 1 and "already has the table(s)" in err and "--replace" in err
    assert main(["demo-db", sqlite_url, "--users", "25", "--replace"]) == 0


@pytest.mark.parametrize("args, message", [
    (["schema", "postgresql://postgres@127.0.0.1:1/none"], "Cannot connect to"),
    (["schema", "nosuchdb://x/y"], "Cannot open"),
    (["schema", "/nonexistent/bank.db"], "does not exist"),
    (["schema", "{tmp}/bank.db", "--tables", "users,cards"], "no table named 'cards'"),
    (["schema", "{tmp}/empty.db"], "has no tables"),
    (["demo-db", "/nonexistent/dir/bank.db"], "does not exist"),
])
def test_bad_input_is_one_sentence_and_non_zero(tmp_path, args, message):
    main(["demo-db", str(tmp_path / "bank.db"), "--users", "10"])
    (tmp_path / "empty.db").write_bytes(b"")
    code, out, err = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 1
    assert message in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) <= 3  # one sentence (rich may wrap it)


def test_bad_options_exit_non_zero():
    code, _, err = run_cli("demo-db", "x.db", "--users", "0")
    assert code == 2 and "at least 1" in err
    code, _, err = run_cli("frobnicate")
    assert code == 2
