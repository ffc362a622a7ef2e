"""The public PKDD'99 Berka bank (8 tables) as a SQLite database, cloned with the CLI's defaults and checked.

The data is not shipped: give the folder that holds its ``.asc`` files (``account.asc``, ``card.asc``,
``client.asc``, ``disp.asc``, ``district.asc``, ``loan.asc``, ``order.asc``, ``trans.asc``; a ``trans.asc``
cut short is read up to its last whole line). The tables get the DDL the data implies: keys and foreign
keys, dates as the ``yymmdd`` integers the files hold (cards' ``issued`` as ``yymmdd hh:mm:ss`` strings),
birth numbers and other banks' account numbers as strings, the counterparty ``trans.account`` as an integer.

Printed: how many real identifiers (other banks' account numbers, birth numbers) the synthetic database
holds, how many distinct values it has against the real one, the share of synthetic dates that are valid
dates, the leak scan's count, and the clone's seconds.

    python benchmarks/berka.py ~/data/berka
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def schema() -> sa.MetaData:
    m = sa.MetaData()
    integer, text, money = sa.Integer, sa.String, sa.Numeric

    def key(table: str, column: str = "account_id") -> sa.Column:
        return sa.Column(column, integer, sa.ForeignKey(f"{table}.{column if table != 'district' else 'A1'}"), nullable=False)

    sa.Table("district", m, sa.Column("A1", integer, primary_key=True),
             *[sa.Column(f"A{i}", text(40) if i in (2, 3) else money(10, 2) if i in (10, 12, 13) else integer) for i in range(2, 17)])
    sa.Table("account", m, sa.Column("account_id", integer, primary_key=True), key("district", "district_id"),
             sa.Column("frequency", text(20)), sa.Column("date", integer))
    sa.Table("client", m, sa.Column("client_id", integer, primary_key=True), sa.Column("birth_number", text(6)),
             key("district", "district_id"))
    sa.Table("disp", m, sa.Column("disp_id", integer, primary_key=True), key("client", "client_id"), key("account"),
             sa.Column("type", text(10)))
    sa.Table("card", m, sa.Column("card_id", integer, primary_key=True), key("disp", "disp_id"), sa.Column("type", text(10)),
             sa.Column("issued", text(20)))
    sa.Table("loan", m, sa.Column("loan_id", integer, primary_key=True), key("account"), sa.Column("date", integer),
             sa.Column("amount", integer), sa.Column("duration", integer), sa.Column("payments", money(10, 2)),
             sa.Column("status", text(1)))
    sa.Table("order", m, sa.Column("order_id", integer, primary_key=True), key("account"), sa.Column("bank_to", text(2)),
             sa.Column("account_to", text(10)), sa.Column("amount", money(10, 2)), sa.Column("k_symbol", text(10)))
    sa.Table("trans", m, sa.Column("trans_id", integer, primary_key=True), key("account"), sa.Column("date", integer),
             sa.Column("type", text(10)), sa.Column("operation", text(20)), sa.Column("amount", money(12, 2)),
             sa.Column("balance", money(12, 2)), sa.Column("k_symbol", text(20)), sa.Column("bank", text(2)),
             sa.Column("account", integer))
    return m


def load(folder: Path, target: Path) -> None:
    m = schema()
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.begin() as connection:
        m.create_all(connection)
        for table in m.sorted_tables:
            text = (folder / f"{table.name}.asc").read_text(encoding="latin-1")
            text = text[: text.rfind("\n") + 1]  # a file cut short: its whole lines
            frame = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False, na_values=["", "?"])
            connection.execute(table.insert(), frame.astype(object).where(frame.notna(), None).to_dict("records"))
    engine.dispose()


def column(path: Path, table: str, name: str) -> list:
    with sqlite3.connect(path) as connection:
        return [r[0] for r in connection.execute(f'SELECT "{name}" FROM "{table}"')]


def valid_date(value) -> bool:
    digits = str(value).split(" ")[0].zfill(6)
    try:
        yy = int(digits[:2])
        dt.date(1900 + yy if yy > 30 else 2000 + yy, int(digits[2:4]), int(digits[4:6]))
        return True
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder of the Berka .asc files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        real, synthetic, report = Path(tmp) / "berka.db", Path(tmp) / "synthetic.db", Path(tmp) / "report"
        load(args.folder, real)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "synthbank.cli", "clone", str(real), str(synthetic), "--no-text"],
                       check=True, cwd=ROOT, capture_output=True)
        seconds = time.perf_counter() - started
        subprocess.run([sys.executable, "-m", "synthbank.cli", "evaluate", str(real), str(synthetic), "--out", str(report)],
                       check=True, cwd=ROOT, capture_output=True)
        print(f"clone: {seconds:.1f} s")
        for table, name in (("order", "account_to"), ("trans", "account"), ("client", "birth_number")):
            real_values = {str(v) for v in column(real, table, name) if v is not None and str(v) != "0"}
            fake = [str(v) for v in column(synthetic, table, name) if v is not None]
            print(f"{table}.{name}: {len(real_values & set(fake))} of {len(real_values)} real values in the output; "
                  f"distinct {len(set(fake))} of {len(fake)} synthetic rows (real: {len(real_values)} of "
                  f"{sum(v is not None for v in column(real, table, name))}); e.g. {fake[:3]}")
        for table, name in (("trans", "date"), ("account", "date"), ("loan", "date"), ("card", "issued")):
            values = [v for v in column(synthetic, table, name) if v is not None]
            print(f"{table}.{name}: {sum(map(valid_date, values)) / max(1, len(values)):.3f} valid dates; e.g. {values[:3]}")
        leaks = json.loads((report / "report.json").read_text())["privacy"]["pii_leaks"]
        print(f"leak scan: {leaks['total']} leaks ({leaks['values_searched']} real values searched)")


if __name__ == "__main__":
    main()
