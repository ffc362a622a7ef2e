"""Identifiers in a clone: are real account numbers, IBANs, card and birth numbers copied, and do the fakes
look like the real ones?

Builds two databases with ``tests/core_banking.py`` (no file is fetched):

- ``payments``: the core-banking sample's customers, accounts and transactions only, whose counterparty
  ``transactions.account`` holds 8-digit account numbers in a ``VARCHAR(10)`` (300 counterparties that
  repeat, not a key); it clones on every version of synthbank, so it gives the before/after figures;
- ``core``: the whole sample (branches, cards, standing orders, a foreign key to ``accounts.iban``, a
  ``BLOB`` column, ``yyyymmdd`` integer dates).

Each is cloned with the CLI's defaults (``synthbank fit`` then ``synthbank sample``, ``--no-text``) and
evaluated (``synthbank evaluate``). Printed per identifier column: how many distinct real values appear
in the synthetic table, in the model directory's files and in report.json; the share of fake values with
the real width and character classes (and a valid checksum where the real ones have one); the mean number
of rows per distinct value, real and synthetic. Then the leak scan's count, and for ``yyyymmdd`` columns
the share of synthetic values that are valid dates.

    python benchmarks/identifiers.py                 # both databases
    python benchmarks/identifiers.py --only payments
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

IDENTIFIERS = {"transactions": ["account"], "standing_orders": ["account_to"], "accounts": ["account_no", "iban"],
               "cards": ["card_number"], "customers": ["birth_number"], "transfers": ["to_iban", "from_iban"]}
DATES = {"transactions": ["date"], "accounts": ["opened"], "customers": ["since"], "branches": ["opened"]}


def shape(value: str) -> str:
    return re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", value))


def luhn(value: str) -> bool:
    digits = [int(c) for c in value][::-1]
    return sum(d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d) for i, d in enumerate(digits)) % 10 == 0


def iban_ok(value: str) -> bool:
    moved = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def valid_date(value) -> bool:
    try:
        text = str(int(value))
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return len(text) == 8
    except (ValueError, TypeError):
        return False


def column(path: Path, table: str, name: str) -> list:
    with sqlite3.connect(path) as connection:
        try:
            return [r[0] for r in connection.execute(f'SELECT "{name}" FROM "{table}"')]
        except sqlite3.OperationalError:
            return []


def run(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")


def measure(name: str, real: Path, work: Path) -> None:
    model, synthetic, report = work / f"{name}-model", work / f"{name}-synthetic.db", work / f"{name}-report"
    run("fit", str(real), "--model", str(model), "--no-text")
    run("sample", "--model", str(model), str(synthetic))
    run("evaluate", str(real), str(synthetic), "--out", str(report))
    model_bytes = b"".join(p.read_bytes() for p in model.rglob("*") if p.is_file())
    report_text = (report / "report.json").read_text()
    print(f"\n== {name}: {real.name}")
    print(f"{'column':32} {'real in output':>15} {'in model':>9} {'in report':>10} {'same shape':>11} "
          f"{'checksum ok':>12} {'rows/value real':>16} {'synthetic':>10}")
    for table, names in IDENTIFIERS.items():
        for col in names:
            real_values = [str(v) for v in column(real, table, col) if v is not None]
            fake_values = [str(v) for v in column(synthetic, table, col) if v is not None]
            if not real_values:
                continue
            distinct = set(real_values)
            copied = len(distinct & set(fake_values))
            in_model = sum(bool(re.search(rb"(?<![0-9A-Za-z])" + re.escape(v.encode()) + rb"(?![0-9A-Za-z])", model_bytes))
                           for v in distinct)
            in_report = sum(bool(re.search(r"(?<![0-9A-Za-z])" + re.escape(v) + r"(?![0-9A-Za-z])", report_text))
                            for v in distinct)
            shapes = {shape(v) for v in real_values}
            same = sum(shape(v) in shapes for v in fake_values) / max(1, len(fake_values))
            check = iban_ok if all(iban_ok(v) for v in real_values if v[:2].isalpha()) and real_values[0][:2].isalpha() \
                else luhn if all(luhn(v) for v in real_values) and len(real_values[0]) >= 13 else None
            checked = f"{sum(map(check, fake_values)) / max(1, len(fake_values)):.3f}" if check else "-"
            repeat_real = len(real_values) / len(distinct)
            repeat_fake = len(fake_values) / max(1, len(set(fake_values)))
            print(f"{table + '.' + col:32} {copied:>7} of {len(distinct):<5} {in_model:>9} {in_report:>10} "
                  f"{same:>11.3f} {checked:>12} {repeat_real:>16.2f} {repeat_fake:>10.2f}")
    leaks = json.loads(report_text).get("privacy", {}).get("pii_leaks", {})
    print(f"leak scan: {leaks.get('total')} leaks, {leaks.get('coarse_matches')} coarse matches (a birth date, a city), "
          f"{leaks.get('values_searched')} real values searched")
    for table, names in DATES.items():
        for col in names:
            values = [v for v in column(synthetic, table, col) if v is not None]
            if values:
                print(f"{table}.{col}: {sum(map(valid_date, values)) / len(values):.3f} valid yyyymmdd dates "
                      f"(first: {values[:3]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["payments", "core"])
    parser.add_argument("--customers", type=int, default=300)
    args = parser.parse_args()
    from core_banking import core_banking

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        core = work / "core.db"
        core_banking(f"sqlite:///{core}", seed=0, customers=args.customers)
        payments = work / "payments.db"
        with sqlite3.connect(core) as source, sqlite3.connect(payments) as target:
            for table in ("branches", "customers", "accounts", "transactions"):
                ddl = source.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
                target.execute(ddl)
                rows = source.execute(f'SELECT * FROM "{table}"').fetchall()
                target.executemany(f'INSERT INTO "{table}" VALUES ({",".join("?" * len(rows[0]))})', rows)
        for name, path in (("payments", payments), ("core", core)):
            if args.only in (None, name):
                try:
                    measure(name, path, work)
                except RuntimeError as error:
                    print(f"\n== {name}: the CLI failed ({error})")


if __name__ == "__main__":
    main()
