"""Writing synthetic tables into a folder of Parquet or CSV files, all at once.

The tables are first written by :mod:`synthbank.io.writer` into a DuckDB database inside a hidden staging
folder beside the target — the same DDL (types, keys, NOT NULL), the same chunk-by-chunk writing and the
same integrity check as for a database — and DuckDB's ``COPY`` then writes each table out:

- Parquet: ``name.parquet`` with row groups of :data:`ROW_GROUP_ROWS` rows (zstd), in the Arrow types the
  schema's types map to (``numeric(12,2)`` → ``decimal128(12, 2)``, ``datetime(tz)`` → ``timestamp[us, UTC]``,
  ``date`` → ``date32``, ``integer`` → ``int32``…). A table whose file would exceed :data:`PART_BYTES` is
  written as a folder ``name/`` of part files of about that size instead.
- CSV: ``name.csv`` with a header row.

Last, a marker ``_synthbank.json`` listing every file with its size and SHA-256 is written, and the staging
folder is renamed into place (the old folder renamed aside and deleted only once the new one is in). So a
failure, Ctrl-C or kill leaves no target folder, or the old one untouched; and ``replace`` only ever replaces
a folder that is empty or holds that marker, never a folder synthbank did not write.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from synthbank.errors import DatabaseConnectionError, TargetNotEmptyError
from synthbank.files import check_replaceable, staged_directory
from synthbank.folders import MARKER, Folder, sql_identifier, sql_literal

ROW_GROUP_ROWS = 122_880
PART_BYTES = 256 * 1024 * 1024
_WHAT = "folder of synthetic tables"
#: The working DuckDB database inside the staging folder (removed before the folder is renamed into place).
WORK_DATABASE = "_synthbank_work.duckdb"


def check_folder_target(folder: Folder, *, replace: bool) -> None:
    """Refuse a target folder that already holds files (unless ``replace``) or that synthbank did not write."""
    path = folder.path
    if path.is_dir() and any(path.iterdir()) and not replace:
        raise TargetNotEmptyError(f"The target folder '{path}' already holds files; use replace=True to overwrite it.")
    check_replaceable(path, marker=MARKER, what=_WHAT)
    if not path.parent.is_dir():
        raise DatabaseConnectionError(f"The folder '{path.parent}' for the target folder does not exist.")


@contextlib.contextmanager
def staged_folder(folder: Folder, *, replace: bool) -> Iterator[Path]:
    """A hidden staging folder that replaces ``folder`` once the block ends without an error."""
    check_folder_target(folder, replace=replace)
    with staged_directory(folder.path, kind=f"{folder.format} tables", marker=MARKER, what=_WHAT) as staging:
        yield staging


def export_tables(database: Path, staging: Path, fmt: str, names: list[str]) -> None:
    """Write each table of the DuckDB file ``database`` into ``staging`` as Parquet or CSV, then delete it."""
    import duckdb

    connection = duckdb.connect(str(database), read_only=True)
    try:
        connection.execute("SET enable_progress_bar = false")  # no bar of DuckDB's own on the terminal
        for name in names:
            query = f"SELECT * FROM {sql_identifier(name)}"
            if fmt == "csv":
                connection.execute(f"COPY ({query}) TO {sql_literal(str(staging / f'{name}.csv'))} (FORMAT csv, HEADER true)")
                continue
            single = staging / f"{name}.parquet"
            options = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
            connection.execute(f"COPY ({query}) TO {sql_literal(str(single))} ({options})")
            if single.stat().st_size > PART_BYTES:  # too large for one file: a folder of part files
                single.unlink()
                connection.execute(f"COPY ({query}) TO {sql_literal(str(staging / name))} "
                                   f"({options}, FILE_SIZE_BYTES {PART_BYTES}, FILENAME_PATTERN 'part-{{i}}')")
    finally:
        connection.close()
    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(database.with_name(database.name + ".tmp"), ignore_errors=True)  # DuckDB's spill folder
