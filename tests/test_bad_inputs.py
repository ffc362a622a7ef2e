"""A corpus of bad inputs: each gives one sentence, a non-zero exit, no traceback, no password, and leaves
nothing half-written (no new file or folder, no new table, the source untouched)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import MARIADB_ADMIN, POSTGRES_ADMIN, _server_engine

from synthbank.cli import main
from synthbank.demo_bank import write_demo_bank

PASSWORD = "s3cretpw"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A tiny bank, a fitted model (no text) and damaged copies of it, shared by the corpus."""
    root = tmp_path_factory.mktemp("bad_inputs")
    write_demo_bank(str(root / "bank.db"), users=20)
    from synthbank.synthesizer import DatabaseSynthesizer

    DatabaseSynthesizer.from_url(str(root / "bank.db"), text=False).fit().save(root / "model")
    damaged = {
        "truncated_pickle": lambda d: _truncate(next((d / "relational" / "windows").glob("*.pkl"))),
        "truncated_json": lambda d: _truncate(d / "relational" / "relational.json"),
        "garbled_marker": lambda d: (d / "synthbank-model.json").write_text("{not json"),
        "half_written": lambda d: (d / "synthbank-model.json").unlink(),  # the marker is written last
    }
    for name, damage in damaged.items():
        shutil.copytree(root / "model", root / name)
        damage(root / name)
    (root / "not_a_model").mkdir()
    (root / "not_a_model" / "notes.txt").write_text("my notes")
    (root / "other_format" / "relational").mkdir(parents=True)  # an older layout, but not one this version reads
    (root / "other_format" / "relational" / "manifest.json").write_text('{"format": 99}')
    (root / "other_format" / "relational" / "relational.json").write_text('{"format": 99}')
    schemas = {
        "half.yaml": "tables:\n  users:\n    mode: subset\n    subset_fraction: half\n    columns:\n      user_id: {type: INTEGER}\n",
        "maybe.yaml": "tables:\n  users:\n    columns:\n      user_id: {type: INTEGER, nullable: maybe}\n",
        "list.yaml": "tables:\n  users:\n    columns:\n      user_id: [INTEGER, id]\n",
        "notyaml.yaml": "tables: [users: {\n  - : :\n",
        "brackets.yaml": "tables:\n  users:\n    columns:\n      user_id: {type: INTEGER, sdtype: '[bold]x[/]'}\n",
        "format.yaml": "tables:\n  users:\n    columns:\n      user_id: {type: INTEGER, format: ddmmyyyy}\n",
        "locale.yaml": "locale: xx_XX\ntables:\n  users:\n    columns:\n      user_id: {type: INTEGER}\n",
    }
    for name, text in schemas.items():
        (root / name).write_text(text)
    return root


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# (arguments, expected words in the one-sentence error); {d} is the work folder, {pw} the password
CORPUS = [
    (["clone", "postgresql://u:{pw}@host:notaport/db", "{d}/out.db"], "port 'notaport' is not a number"),
    (["clone", "{d}/bank.db", "postgresql://u:{pw}@host:notaport/db", "--no-text"], "not a number"),
    (["clone", "{d}/bank.db", "postgresql://postgres:ab@{pw}@127.0.0.1/test", "--no-text"], "%40"),
    (["schema", "postgresql:/postgres:{pw}@127.0.0.1/test"], "lacks '://'"),
    (["schema", "postgresql//postgres:{pw}@127.0.0.1/test"], "lacks '://'"),
    (["schema", "postgresql://postgres:{pw}@127.0.0.1:1/test"], "Cannot connect"),
    (["schema", "mysql://nosuchuser:{pw}@127.0.0.1:3306/test"], "Cannot connect"),
    (["schema", "{d}/bank.db", "--out", "."], "is a folder"),
    (["schema", "{d}/bank.db", "--out", "{d}/no/such/folder/schema.yaml"], "does not exist"),
    (["schema", "{d}/bank.db", "--out", "/sys/synthbank-schema.yaml"], "/sys"),
    (["fit", "{d}/bank.db", "--model", ".", "--no-text"], "current folder"),
    (["fit", "{d}/bank.db", "--model", "..", "--no-text"], "current folder"),
    (["fit", "{d}/bank.db", "--model", "{d}/not_a_model", "--no-text"], "does not hold a synthbank model"),
    (["fit", "{d}/bank.db", "--model", "{d}/bank.db", "--no-text"], "is a file"),
    (["fit", "{d}/bank.db", "--model", "{d}/bank.db/model", "--no-text"], "is not writable"),
    (["fit", "{d}/bank.db", "--model", "/sys/synthbank-model", "--no-text"], "/sys"),
    (["complaints", "train", "--data", "{d}/bank.db", "--table", "complaints", "--text", "narrative", "--model", "."],
     "current folder"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/half.yaml", "--no-text"], "subset_fraction: 'half'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/maybe.yaml", "--no-text"], "nullable: 'maybe'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/list.yaml", "--no-text"], "must be a mapping"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/notyaml.yaml", "--no-text"], "not valid YAML"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/missing.yaml", "--no-text"], "does not exist"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/brackets.yaml", "--no-text"], "sdtype '[bold]x[/]'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/format.yaml", "--no-text"], "format 'ddmmyyyy'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--schema", "{d}/locale.yaml", "--no-text"], "locale is 'xx_XX'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--tables", "users,[/bold]", "--no-text"], "'[/bold]'"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--tables", "nope", "--no-text"], "no table named 'nope'"),
    (["clone", "{d}/missing.db", "{d}/out.db", "--no-text"], "does not exist"),
    (["clone", "{d}/bank.db", "{d}/bank.db", "--no-text"], "is the source database itself"),
    (["clone", "{d}/bank.db", "sqlite:///{d}/./bank.db", "--no-text", "--replace"], "is the source database itself"),
    (["clone", "{d}/bank.db", "{d}", "--no-text"], "already holds files"),
    (["schema", "parquet:{d}"], "holds no Parquet table files"),
    (["schema", "csv:{d}/nowhere"], "does not exist"),
    (["clone", "{d}/bank.db", "{d}", "--no-text", "--replace"], "Refusing to write a folder of synthetic tables"),
    (["clone", "{d}/bank.db", "{d}/no/such/folder/out.db", "--no-text"], "does not exist"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--scale", "-1"], "greater than 0"),
    (["clone", "{d}/bank.db", "{d}/out.db", "--batch-size", "0"], "at least 1"),
    (["sample", "{d}/out.db", "--model", "{d}/missing_model"], "does not exist"),
    (["sample", "{d}/out.db", "--model", "{d}/not_a_model"], "not a synthbank model directory, or not a complete one"),
    (["sample", "{d}/out.db", "--model", "{d}/other_format"], "other_format"),
    (["sample", "{d}/out.db", "--model", "{d}/truncated_pickle"], "damaged"),
    (["sample", "{d}/out.db", "--model", "{d}/truncated_json"], "damaged"),
    (["sample", "{d}/out.db", "--model", "{d}/garbled_marker"], "damaged"),
    (["sample", "{d}/out.db", "--model", "{d}/half_written"], "not a synthbank model directory, or not a complete one"),
    (["sample", "{d}/bank.db", "--model", "{d}/model"], "already has the table(s)"),
    (["complaints", "generate", "--model", "{d}/model", "--out", ".", "--n", "3"], "--out must end in"),
    (["complaints", "generate", "--model", "{d}/model", "--out", "{d}/corpus.jsonl", "--n", "3"], "not a text model"),
    (["evaluate", "{d}/bank.db", "{d}/bank.db", "--out", "{d}/bank.db"], "is a file"),
]


@pytest.mark.parametrize("args, expected", CORPUS, ids=[f"{i:02d}-{a[0]}" for i, (a, _) in enumerate(CORPUS)])
def test_bad_input(workdir, args, expected, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    argv = [a.replace("{d}", str(workdir)).replace("{pw}", PASSWORD) for a in args]
    before = _snapshot(workdir)
    with pytest.raises(SystemExit) if expected in ("greater than 0", "at least 1") else _no_exit() as exited:
        code = main(argv)
    code = exited.value.code if exited is not None else code
    out, err = capsys.readouterr()
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip() and "Warning" not in line and not line.startswith("  ")]
    assert len(lines) == 1 and "error" in lines[0], err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert PASSWORD not in out + err
    assert _snapshot(workdir) == before  # nothing new, nothing changed (source and models included)


class _no_exit:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_corpus_size():
    assert len(CORPUS) >= 20


def test_real_entry_point_masks_the_password_and_prints_brackets(workdir):
    """The console script in a subprocess: an unparsable URL and a message with rich-markup brackets."""
    env = {**os.environ, "COLUMNS": "60"}  # narrow: the sentence must still be one line
    for args, expected in ([["clone", f"postgresql://u:{PASSWORD}@host:notaport/db", "x.db"], "not a number"],
                           [["schema", str(workdir / "bank.db"), "--tables", "[/red]"], "[/red]"]):
        result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True,
                                env=env, timeout=120, cwd=workdir)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr, result.stderr
        assert PASSWORD not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_unexpected_errors_hide_the_password(workdir, capsys, monkeypatch):
    """A bug (not a SynthbankError) is one sentence too, and a password on the command line never shows."""
    import synthbank.cli as cli

    def boom(args):
        raise RuntimeError(f"could not use {args.url} (password {PASSWORD})")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["schema"].set_defaults(func=boom)
    code = main(["schema", f"postgresql://u:{PASSWORD}@127.0.0.1/db"])
    out, err = capsys.readouterr()
    assert code == 1 and "this is a bug" in err and PASSWORD not in out + err and "Traceback" not in err
    code = main(["-v", "schema", f"postgresql://u:{PASSWORD}@127.0.0.1/db"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" in err and PASSWORD not in out + err


@pytest.mark.parametrize("admin", [POSTGRES_ADMIN, MARIADB_ADMIN], ids=["postgresql", "mariadb"])
def test_bad_target_on_a_server_writes_no_table(workdir, admin, capsys, tmp_path):
    """A server target that already has the tables: refused before the fit, and no table is added or changed."""
    engine = _server_engine(admin)
    name = f"synthbank_bad_{os.getpid()}"
    with engine.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        write_demo_bank(url, users=5)
        target = sa.create_engine(url)
        before = sorted(sa.inspect(target).get_table_names())
        assert main(["clone", str(workdir / "bank.db"), url, "--no-text"]) == 1
        assert "already has the table(s)" in capsys.readouterr().err
        assert main(["clone", url, url, "--no-text", "--replace"]) == 1
        assert "is the source database itself" in capsys.readouterr().err
        assert sorted(sa.inspect(target).get_table_names()) == before
        target.dispose()
    finally:
        with engine.connect() as connection:
            force = " WITH (FORCE)" if admin == POSTGRES_ADMIN else ""
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        engine.dispose()
