"""Sources and targets beside each other, in one run: SQLite, DuckDB files and Parquet folders (``scale.py --formats``).

1. The demo bank at ``--format-users`` users (default 100,000) is written once per format by ``synthbank demo-db``
   (SQLite file, DuckDB file, Parquet folder) and cloned into the same format with ``synthbank clone --no-text``
   and its defaults: seconds end to end (process start to exit), rows written per second, peak RSS of the
   process; ratios against SQLite → SQLite.
2. ``--big-rows N`` (default 10,000,000; 0 skips it): a Parquet folder whose transactions file has N rows
   (customers → accounts → transactions, made by DuckDB SQL, not by synthbank), cloned with ``--sample-rows``
   (``--big-sample``, default 5,000 customers): the sample is drawn while reading (DuckDB streams the file,
   only kept rows reach pandas), so the peak stays far below the file's size in memory.

    python benchmarks/scale.py --formats                       # ~15 min on 2 cores
    python benchmarks/scale.py --formats --format-users 10000 --big-rows 1000000
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

FORMATS = {"sqlite": "bank.db", "duckdb": "bank.duckdb", "parquet": "bank_parquet"}


def add_arguments(parser) -> None:
    group = parser.add_argument_group("--formats")
    group.add_argument("--format-users", type=int, default=100_000, help="demo bank size for the format comparison")
    group.add_argument("--big-rows", type=int, default=10_000_000, help="rows of the large transactions file (0: skip)")
    group.add_argument("--big-sample", type=int, default=5_000, help="--sample-rows for the large file")


def _target(work: Path, fmt: str, name: str) -> Path:
    return work / (name + {"sqlite": ".db", "duckdb": ".duckdb", "parquet": ""}[fmt])


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _rows_written(stdout: str) -> int:
    """Rows in the CLI's 'Written to' table (its rows column)."""
    total = 0
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) >= 2 and cells[1].replace(",", "").isdigit():
            total += int(cells[1].replace(",", ""))
    return total


def run_formats(args, run_measured, synthbank_cmd, code_state) -> dict:
    work = Path(args.work) / "formats"
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for fmt, name in FORMATS.items():
        source = work / f"{args.format_users}_{name}"
        if not source.exists():
            print(f"writing the demo bank at {args.format_users:,} users as {fmt} …", flush=True)
            made = run_measured(synthbank_cmd() + ["demo-db", str(source), "--users", str(args.format_users), "--seed", str(args.seed)],
                                work / "logs" / f"demo-db-{fmt}.log")
            print(f"  written in {made['wall_s']:.1f} s", flush=True)
        target = _target(work, fmt, f"clone_{args.format_users}_{fmt}")
        _remove(target)
        print(f"→ clone {fmt} → {fmt} …", flush=True)
        measured = run_measured(synthbank_cmd() + ["clone", str(source), str(target), "--no-text", "--seed", str(args.seed)],
                                work / "logs" / f"clone-{fmt}.log", env={**os.environ, "COLUMNS": "200"})
        rows = _rows_written(measured["stdout"])
        run = {"format": fmt, "users": args.format_users, "rows": rows, "wall_s": measured["wall_s"], "peak_mb": measured["peak_mb"],
               "rows_per_s": rows / measured["wall_s"]}
        runs.append(run)
        print(f"  {rows:,} rows in {run['wall_s']:.1f} s = {run['rows_per_s']:,.0f} rows/s, peak {run['peak_mb']:,.0f} MB", flush=True)
        _remove(target)
    big = _run_big(args, work, run_measured, synthbank_cmd) if args.big_rows else None
    _print(runs, big)
    out = {"seed": args.seed, "code": code_state(), "runs": runs, "big": big}
    (work / "formats.json").write_text(json.dumps(out, indent=1))
    print(f"figures written to {work / 'formats.json'}")
    return out


def _make_big(folder: Path, transactions: int) -> dict:
    """customers → accounts → transactions as Parquet, made by DuckDB SQL (10 accounts' worth of rows per customer)."""
    import duckdb

    customers = max(transactions // 200, 10)
    accounts = customers * 2
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute(f"""COPY (SELECT i AS customer_id, 'segment_' || (i % 5) AS segment,
                                         DATE '1950-01-01' + CAST(i % 18000 AS INTEGER) AS born,
                                         CAST(20000 + (hash(i) % 120000) AS DECIMAL(12,2)) AS income
                                  FROM range({customers}) t(i)) TO '{folder / 'customers.parquet'}' (FORMAT parquet)""")
        connection.execute(f"""COPY (SELECT i AS account_id, i // 2 AS customer_id, ['checking','savings'][1 + i % 2] AS kind,
                                         DATE '2015-01-01' + CAST(hash(i) % 2500 AS INTEGER) AS opened
                                  FROM range({accounts}) t(i)) TO '{folder / 'accounts.parquet'}' (FORMAT parquet)""")
        connection.execute(f"""COPY (SELECT i AS transaction_id, CAST(hash(i) % {accounts} AS BIGINT) AS account_id,
                                         TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds(CAST(hash(i * 7) % 60000000 AS BIGINT)) AS posted_at,
                                         CAST((hash(i * 13) % 500000) / 100.0 AS DECIMAL(12,2)) AS amount,
                                         ['card','transfer','cash','fee'][1 + i % 4] AS channel
                                  FROM range({transactions}) t(i)) TO '{folder / 'transactions.parquet'}' (FORMAT parquet)""")
    return {"customers": customers, "accounts": accounts, "transactions": transactions,
            "file_mb": sum(p.stat().st_size for p in folder.iterdir()) / 2**20}


def _run_big(args, work: Path, run_measured, synthbank_cmd) -> dict:
    folder = work / f"big_{args.big_rows}"
    if not folder.exists():
        print(f"writing a {args.big_rows:,}-row transactions file …", flush=True)
        _make_big(folder, args.big_rows)
    sizes = {p.name: p.stat().st_size / 2**20 for p in folder.iterdir()}
    target = work / "big_clone"
    _remove(target)
    print(f"→ clone it with --sample-rows {args.big_sample:,} …", flush=True)
    measured = run_measured(synthbank_cmd() + ["clone", str(folder), str(target), "--no-text", "--sample-rows", str(args.big_sample),
                                               "--seed", str(args.seed)], work / "logs" / "clone-big.log", env={**os.environ, "COLUMNS": "200"})
    rows = _rows_written(measured["stdout"])
    _remove(target)
    big = {"source_rows": args.big_rows, "files_mb": sizes, "sample_rows": args.big_sample, "rows_written": rows,
           "wall_s": measured["wall_s"], "peak_mb": measured["peak_mb"]}
    print(f"  {rows:,} rows written in {big['wall_s']:.1f} s, peak {big['peak_mb']:,.0f} MB "
          f"(transactions.parquet {sizes['transactions.parquet']:,.0f} MB on disk)", flush=True)
    return big


def _print(runs: list[dict], big: dict | None) -> None:
    base = next((r for r in runs if r["format"] == "sqlite"), None)
    print("\n`synthbank clone --no-text` of the demo bank into the same format, end to end (process start to exit)")
    header = f"{'format':10}{'users':>9}{'rows written':>14}{'wall s':>9}{'rows/s':>10}{'peak MB':>9}{'time vs SQLite':>16}"
    print(header)
    print("-" * len(header))
    for r in runs:
        ratio = r["wall_s"] / base["wall_s"] if base else float("nan")
        print(f"{r['format']:10}{r['users']:>9,}{r['rows']:>14,}{r['wall_s']:>9.1f}{r['rows_per_s']:>10,.0f}{r['peak_mb']:>9,.0f}{ratio:>16.2f}")
    if big:
        print(f"\n{big['source_rows']:,}-row transactions file ({big['files_mb']['transactions.parquet']:,.0f} MB Parquet), "
              f"--sample-rows {big['sample_rows']:,}: {big['rows_written']:,} rows written in {big['wall_s']:.1f} s, "
              f"peak {big['peak_mb']:,.0f} MB")
