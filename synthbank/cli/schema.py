"""``synthbank schema`` (what synthbank sees in a database) and ``synthbank demo-db`` (the demo bank).
"""

from __future__ import annotations

from synthbank.cli.console import console, err_console, progress_display
from synthbank.cli.options import check_output_file
from synthbank.cli.output import print_schema


# --- commands -------------------------------------------------------------------------------------
def cmd_demo_db(args) -> None:
    from synthbank.database import display_url, normalize_url
    from synthbank.demo_bank import write_demo_bank

    url = normalize_url(args.target)
    with progress_display() as (progress, _):
        report = write_demo_bank(url, users=args.users, seed=args.seed, replace=args.replace, progress=progress)
    summary = ", ".join(f"{n:,} {name}" for name, n in report.rows.items())
    console.print(f"Wrote the demo bank to {display_url(url)}: {summary}.")


def cmd_schema(args) -> None:
    from synthbank.schemas import reflect_schema

    if args.out:
        check_output_file(args.out, "--out")
    tables = args.tables.split(",") if args.tables else None
    with err_console.status("Reflecting the schema…"):
        schema = reflect_schema(args.url, tables, sample_rows=args.sample_rows)
    if not args.no_rules:
        from synthbank.synthesizer import discover_schema_rules

        with err_console.status("Finding the rules every row obeys…"):
            schema = discover_schema_rules(args.url, schema, sample_rows=args.rule_rows)
    print_schema(schema, details=args.columns)
    for _, doubt in schema.key_doubts:  # found on a folder of files: clone/fit refuse until a schema file settles it
        console.print(f"Unsettled key: {doubt}", markup=False, highlight=False, soft_wrap=True)
    for note in schema.key_notes:
        console.print(f"Near miss: {note}", markup=False, highlight=False, soft_wrap=True)
    if args.out:
        path = schema.save(args.out)
        console.print(f"Schema written to {path} — review it (mark PII, free text, table modes) and pass it back with --schema.")
