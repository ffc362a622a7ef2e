"""The demo bank: a realistic ground-truth database to try and measure synthbank on."""

from __future__ import annotations

from synthbank.demo_bank.generate import DEFAULT_USERS, demo_schema, generate_demo_bank
from synthbank.io.writer import WriteReport, check_target, write_tables
from synthbank.progress import Progress, RowCounter

__all__ = ["DEFAULT_USERS", "demo_schema", "generate_demo_bank", "write_demo_bank"]


def write_demo_bank(url: str, users: int = DEFAULT_USERS, seed: int = 0, *, replace: bool = False,
                    progress: Progress | None = None) -> WriteReport:
    """Generate the demo bank and write it, with its DDL, into the database at ``url``; ``progress`` gets
    ``writing`` events."""
    schema = demo_schema()
    check_target(url, list(schema.tables), replace=replace)
    tables = generate_demo_bank(users=users, seed=seed)
    return write_tables(url, schema, tables, replace=replace, on_rows=RowCounter(progress, "writing").add if progress else None)
