"""Folders of Parquet or CSV files as databases: one table per file, or per sub-folder of part files.

A folder is named by its path (an existing folder), or with its format in front, ``parquet:PATH`` or
``csv:PATH`` (needed for a target that does not exist yet and should be CSV; a new target folder is
Parquet unless named ``csv:``). Internally it is the URL ``parquet:///abs/path`` or ``csv:///abs/path``.

Which files are tables:

- ``name.parquet`` (or ``name.csv``, ``name.csv.gz``) directly in the folder is the table ``name``;
- a sub-folder ``name/`` holding ``*.parquet`` (or CSV) part files, at any depth (Hive partitions such as
  ``name/year=2024/part-0.parquet`` included), is the table ``name``;
- names starting with ``_`` or ``.`` are skipped (``_SUCCESS``, synthbank's ``_synthbank.json``, hidden
  partial folders), as Spark, Hive and DuckDB do.

Reading goes through an in-memory DuckDB database in which each table is a view over its files: the files
are only read, never written, and DuckDB streams them, so a large file is read in batches. CSV types are
sniffed once over the whole file by DuckDB's CSV sniffer (as a warehouse loader infers them) and the view
is created with those types fixed, so every query sees the same types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synthbank.errors import DatabaseConnectionError

FORMATS = ("parquet", "csv")
#: ``parquet:PATH``, ``csv:PATH``, ``parquet://PATH`` (``parquet:///abs`` keeps its leading slash)
_NAMED = re.compile(r"^(?P<format>parquet|csv):(?://)?(?P<path>.*)$", re.IGNORECASE | re.DOTALL)
_SUFFIXES = {"parquet": (".parquet", ".parq", ".pq"), "csv": (".csv", ".csv.gz", ".tsv")}
#: The marker synthbank writes last into a folder it wrote (the files, their rows and the format).
MARKER = "_synthbank.json"


@dataclass(frozen=True)
class Folder:
    path: Path
    format: str

    @property
    def url(self) -> str:
        return f"{self.format}://{self.path}"


def named_folder(text: str) -> Folder | None:
    """The folder a ``parquet:``/``csv:`` name or a folder URL names; None for anything else."""
    match = _NAMED.match(str(text).strip())
    if not match:
        return None
    path = match.group("path")
    if not path:
        raise DatabaseConnectionError(f"'{text}' names no folder: write {match.group('format').lower()}:PATH.")
    return Folder(Path(path).expanduser().resolve(), match.group("format").lower())


def folder_format(path: Path) -> str:
    """The format of the table files in a folder: Parquet or CSV (not both); Parquet for a new or empty one."""
    found = {fmt for fmt in FORMATS if _files_of(path, fmt)}
    if len(found) > 1:
        raise DatabaseConnectionError(f"The folder '{path}' holds both Parquet and CSV files; name the format as "
                                      f"parquet:{path} or csv:{path}.")
    return found.pop() if found else "parquet"


def _visible(path: Path | str) -> bool:
    return not Path(path).name.startswith(("_", "."))


def _is_table_file(path: Path, fmt: str) -> bool:
    return path.is_file() and _visible(path) and path.name.lower().endswith(_SUFFIXES[fmt])


def _stem(path: Path, fmt: str) -> str:
    name = path.name
    for suffix in sorted(_SUFFIXES[fmt], key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _part_files(directory: Path, fmt: str) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if _is_table_file(p, fmt)
                  and all(_visible(part) for part in p.relative_to(directory).parts))


def _files_of(path: Path, fmt: str) -> dict[str, list[Path]]:
    tables: dict[str, list[Path]] = {}
    if not path.is_dir():
        return tables
    for entry in sorted(path.iterdir()):
        if _is_table_file(entry, fmt):
            tables.setdefault(_stem(entry, fmt), []).append(entry)
        elif entry.is_dir() and _visible(entry):
            parts = _part_files(entry, fmt)
            if parts:
                tables.setdefault(entry.name, []).extend(parts)
    return tables


def table_files(folder: Folder) -> dict[str, list[Path]]:
    """Table name → its files (one, or the part files of its sub-folder), in name order."""
    if not folder.path.is_dir():
        raise DatabaseConnectionError(f"The folder '{folder.path}' does not exist.")
    tables = _files_of(folder.path, folder.format)
    if not tables:
        label = {"parquet": "Parquet", "csv": "CSV"}[folder.format]
        raise DatabaseConnectionError(f"The folder '{folder.path}' holds no {label} table files "
                                      f"(name.{folder.format}, or a folder name/ of part files).")
    return tables


def sql_literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(text: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + text.replace('"', '""') + '"'


def _file_list(files: list[Path]) -> str:
    return "[" + ", ".join(sql_literal(str(f)) for f in files) + "]"


def create_views(duck, folder: Folder) -> list[str]:
    """Create one view per table of ``folder`` in the DuckDB connection ``duck``; returns the table names."""
    tables = table_files(folder)
    for name, files in tables.items():
        if folder.format == "parquet":
            hive = any("=" in part for f in files for part in f.parent.relative_to(folder.path).parts)
            source = f"read_parquet({_file_list(files)}, hive_partitioning = {str(hive).lower()}, union_by_name = true)"
        else:
            source = _csv_source(duck, files)
        duck.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS SELECT * FROM {source}")
    return list(tables)


#: The sniffer's findings per CSV file (path, size, modification time): a view is created on every connection
#: of every engine that reads the folder (reflection, reading, the evaluation), and sniffing a whole file takes
#: about half a second per 50 MB.
_SNIFFED: dict[tuple[str, int, int], tuple] = {}


def _sniffed(duck, path: Path) -> tuple:
    """DuckDB's sniffer over the whole file: delimiter, quote, escape, skip, header, columns, date and timestamp formats."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SNIFFED:
        _SNIFFED[key] = duck.execute(
            "SELECT Delimiter, Quote, Escape, SkipRows, HasHeader, Columns, DateFormat, TimestampFormat "
            "FROM sniff_csv(?, sample_size = -1)", [str(path)]).fetchone()
    return _SNIFFED[key]


def _csv_source(duck, files: list[Path]) -> str:
    """``read_csv(...)`` with the dialect and column types DuckDB's sniffer found over the whole first file."""
    row = _sniffed(duck, files[0])
    delimiter, quote, escape, skip, header, columns, date_format, timestamp_format = (
        "" if value == "(empty)" else value for value in row)
    options = [f"delim = {sql_literal(delimiter)}", f"quote = {sql_literal(quote or '')}", f"escape = {sql_literal(escape or '')}",
               f"skip = {int(skip or 0)}", f"header = {str(bool(header)).lower()}", "auto_detect = false",
               "columns = {" + ", ".join(f"{sql_literal(c['name'])}: {sql_literal(c['type'])}" for c in columns) + "}"]
    if date_format:
        options.append(f"dateformat = {sql_literal(date_format)}")
    if timestamp_format:
        options.append(f"timestampformat = {sql_literal(timestamp_format)}")
    return f"read_csv({_file_list(files)}, {', '.join(options)})"
