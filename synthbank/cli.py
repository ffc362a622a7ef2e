"""The ``synthbank`` command line. It only parses arguments and calls the Python API.

Every command mirrors a function or method of the API; errors the user can fix arrive as
:class:`~synthbank.errors.SynthbankError` and are printed as one sentence with exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from synthbank import __version__
from synthbank.errors import SynthbankError

console = Console()
err_console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=False)


# --- commands -------------------------------------------------------------------------------------
def cmd_demo_db(args) -> None:
    from synthbank.database import display_url, normalize_url
    from synthbank.demo_bank import write_demo_bank

    url = normalize_url(args.target)
    with _progress() as progress:
        report = write_demo_bank(url, users=args.users, seed=args.seed, replace=args.replace,
                                 on_rows=_table_progress(progress, "writing"))
    summary = ", ".join(f"{n:,} {name}" for name, n in report.rows.items())
    console.print(f"Wrote the demo bank to {display_url(url)}: {summary}.")


def _table_progress(progress: Progress, verb: str):
    """An ``on_rows(table, n, total)`` callback that keeps one progress bar per table."""
    tasks: dict[str, int] = {}

    def on_rows(table: str, n: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = progress.add_task(f"{verb} {table}", total=total)
        progress.advance(tasks[table], n)

    return on_rows


def cmd_schema(args) -> None:
    from synthbank.schemas import reflect_schema

    tables = args.tables.split(",") if args.tables else None
    with err_console.status("Reflecting the schema…"):
        schema = reflect_schema(args.url, tables, sample_rows=args.sample_rows)
    print_schema(schema, details=args.columns)
    if args.out:
        path = schema.save(args.out)
        console.print(f"Schema written to {path} — review it (mark PII, free text, table modes) and pass it back with --schema.")


def print_schema(schema, *, details: bool = False) -> None:
    overview = RichTable(title="Tables", title_justify="left")
    for header in ("table", "rows", "primary key", "foreign keys", "PII columns", "free text"):
        overview.add_column(header, overflow="fold")
    for table in schema.tables.values():
        fks = [f"{', '.join(fk.columns)} → {fk.parent}({', '.join(fk.parent_columns)})" for fk in table.foreign_keys]
        pii = [f"{c.name} ({c.pii})" for c in table.columns.values() if c.is_pii]
        overview.add_row(table.name, f"{table.row_count:,}" if table.row_count is not None else "?",
                         ", ".join(table.primary_key) or "—", "\n".join(fks) or "—",
                         "\n".join(pii) or "—", ", ".join(table.columns_of("text")) or "—")
    console.print(overview)
    if details:
        for table in schema.tables.values():
            columns = RichTable(title=f"{table.name}", title_justify="left")
            for header in ("column", "type", "sdtype", "pii", "nullable", "unique"):
                columns.add_column(header)
            for c in table.columns.values():
                columns.add_row(c.name, c.type, c.sdtype, c.pii or "", "yes" if c.nullable else "no", "yes" if c.unique else "")
            console.print(columns)
    unsupported = [f"{t.name}.{c}" for t in schema.tables.values() for c in t.columns_of("unsupported")]
    if unsupported:
        console.print(f"Columns synthbank cannot learn (written as NULL): {', '.join(unsupported)}.")


# --- parser ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synthbank", description="Privacy-safe synthetic copies of financial databases.")
    parser.add_argument("--version", action="version", version=f"synthbank {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what synthbank does (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo-db", help="write the demo bank (users, loans, transactions, complaints) into a database")
    p.add_argument("target", metavar="PATH_OR_URL", help="a SQLite file path or a SQLAlchemy URL")
    p.add_argument("--users", type=_positive_int, default=1000, help="number of users (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--replace", action="store_true", help="overwrite the demo tables if the target has them")
    p.set_defaults(func=cmd_demo_db)

    p = sub.add_parser("schema", help="reflect a database and show tables, keys, PII and free-text columns")
    p.add_argument("url", metavar="URL", help="a SQLAlchemy URL or a SQLite file path (opened read-only)")
    p.add_argument("--out", metavar="FILE", help="write the schema to a .yaml or .json file for review")
    p.add_argument("--tables", metavar="T1,T2", help="only these tables")
    p.add_argument("--columns", action="store_true", help="also list every column with its type and sdtype")
    p.add_argument("--sample-rows", type=_positive_int, default=1000, help="rows per table read for detection")
    p.set_defaults(func=cmd_schema)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        args.func(args)
    except SynthbankError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
