"""The table-model bake-off: every table model inside HMA's hierarchy, and the peers, side by side in one run.

Contenders, each on the same real SQLite database:

* ``trees``, ``copula``, ``arf``, ``ctgan``, ``tvae``: this checkout's ``synthbank clone --no-text --table-model NAME``
  (CTGAN and TVAE with ``--network-epochs``, default SDV's 300);
* ``sdv137``: SDV 1.37.4's HMASynthesizer; ``mostlyai``: MOSTLY AI 6.2's TabularARGN (2-minute cap per table);
  peer venvs made by ``benchmarks/peers/make_*.sh``.

Each data set is split along its foreign keys: 80% of the root rows (and everything under them) are what every
contender learns from, the other 20% the holdout the evaluation uses for the DCR share and as TSTR's test set.
Data sets (see benchmarks/rules.py): ``lendingclub`` (10,000 real loans × 55), ``demo`` (1,000 customers),
``nycflights13``, ``payments`` and ``core`` (a real-shaped core bank of 8 tables), ``berka`` with ``--berka``.

Per contender: wall seconds and peak memory of the clone, rows breaking a rule, quality, the worst flat C2ST
(a table on its own columns) and C2ST-Agg, the TSTR ROC-AUC ratio and recall@1%FPR of the worst target, DCR
share, exact copies and leaks, all from this checkout's ``synthbank evaluate``. Results: ``--out``
(default build/table_models/results.json).

    python benchmarks/table_models.py --datasets lendingclub,demo --contenders trees,copula
    python benchmarks/table_models.py            # everything (hours on 2 cores: CTGAN/TVAE are slow)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

import rules  # noqa: E402
from scale import run_measured  # noqa: E402

MODELS = ["trees", "copula", "arf", "ctgan", "tvae"]
DATASETS = ["lendingclub", "demo", "nycflights13", "payments", "core"]


def split_database(real: Path, train: Path, holdout: Path, share: float = 0.8) -> None:
    """``train`` holds ``share`` of the root rows and everything under them, ``holdout`` the rest (split along the
    foreign keys, as the evaluation splits); rows are deleted from byte copies, so every value keeps its format."""
    import shutil
    import sqlite3

    import pandas as pd

    from synthbank.evaluation.split import split_tables
    from synthbank.schemas.reflect import reflect_schema

    schema = reflect_schema(f"sqlite:///{real}")
    with sqlite3.connect(real) as connection:
        frames = {name: pd.read_sql(f'SELECT rowid AS _rowid_, * FROM "{name}"', connection) for name in schema.tables}
    first, second = split_tables(schema, frames, share, seed=0)
    for path, part in ((train, first), (holdout, second)):
        path.unlink(missing_ok=True)
        shutil.copy(real, path)
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA foreign_keys = OFF")
            for name, frame in part.items():
                connection.execute("CREATE TEMP TABLE keep_rows (id INTEGER PRIMARY KEY)")
                connection.executemany("INSERT INTO keep_rows VALUES (?)", [(int(i),) for i in frame["_rowid_"]])
                connection.execute(f'DELETE FROM "{name}" WHERE rowid NOT IN (SELECT id FROM keep_rows)')
                connection.execute("DROP TABLE keep_rows")
        with sqlite3.connect(path) as connection:
            connection.execute("VACUUM")


def clone(contender: str, real: Path, target: Path, work: Path, args) -> dict:
    if contender not in MODELS:
        return rules.clone(contender, real, target, work, args)
    target.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "synthbank.cli", "clone", str(real), str(target), "--no-text", "--seed", "0",
           "--table-model", contender]
    if contender in ("ctgan", "tvae"):
        cmd += ["--network-epochs", str(args.network_epochs)]
    measured = run_measured(cmd, work / "logs" / f"{contender}.log")
    return {"seconds": measured["wall_s"], "peak_mb": measured["peak_mb"]}


def show(dataset: str, results: dict) -> None:
    print(f"\n== {dataset}")
    print(f"{'contender':10} {'seconds':>8} {'peak MB':>8} {'breaking':>9} {'quality':>8} {'flat':>6} {'C2ST':>6} "
          f"{'TSTR':>6} {'rec@1%':>7} {'DCR':>6} {'copies':>7} {'leaks':>6}   (flat: the worst table on its own "
          "columns; C2ST: C2ST-Agg mean over tables; TSTR, rec@1%: the worst target)")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:10} FAILED: {r['error']}")
            continue
        flat = max((v for v in r["flat"].values() if v is not None), default=None)
        tstr = [v for v in r["tstr_ratio"].values() if v is not None]
        recall = [v for v in r["recall_1pct"].values() if v is not None]
        f = rules._fmt
        print(f"{name:10} {r['seconds']:8.1f} {f(r.get('peak_mb'), 0):>8} {f(r['rows_breaking'], 4):>9} {f(r['quality']):>8} "
              f"{f(flat):>6} {f(r['detection_mean']):>6} {f(min(tstr) if tstr else None):>6} "
              f"{f(min(recall) if recall else None):>7} {f(r['dcr_share']):>6} {f(r['exact_copies']):>7} {f(r['leaks']):>6}")
        print(f"{'':10} flat per table: " + ", ".join(f"{t} {f(v)}" for t, v in r["flat"].items())
              + "; TSTR per target: " + ", ".join(f"{t} {f(v)}" for t, v in r["tstr_ratio"].items())
              + "; rec@1% per target: " + ", ".join(f"{t} {f(v)}" for t, v in r["recall_1pct"].items()))
    reference = next((r for r in results.values() if "error" not in r), None)
    if reference:
        f = rules._fmt
        print(f"  real halves: quality {f(reference['quality_ref'])}, C2ST-Agg {f(reference['detection_ref'])}, flat "
              + ", ".join(f"{t} {f(v)}" for t, v in reference["flat_ref"].items())
              + f"; copies {f(reference['exact_copies_ref'])}; real-trained recall@1% "
              + ", ".join(f"{t} {f(v)}" for t, v in reference["recall_1pct_real"].items()))


def markdown(results: dict) -> str:
    """The README's tables: one row per contender, per data set."""
    f = rules._fmt
    lines = []
    for dataset, entries in results.items():
        lines += [f"\n**{dataset}**\n", "| contender | seconds | peak MB | rows breaking a rule | quality | flat C2ST (worst table) "
                  "| C2ST-Agg | TSTR ratio | recall@1%FPR | DCR share | exact copies | leaks |", "|" + "---|" * 12]
        for name, r in entries.items():
            if "error" in r:
                lines.append(f"| {name} | failed: {r['error']} |" + " |" * 10)
                continue
            flat = max((v for v in r["flat"].values() if v is not None), default=None)
            tstr = ", ".join(f"{t.split('.')[-1]} {f(v, 2)}" for t, v in r["tstr_ratio"].items()) or "—"
            recall = ", ".join(f"{t.split('.')[-1]} {f(v, 2)}" for t, v in r["recall_1pct"].items()) or "—"
            lines.append(f"| {name} | {f(r['seconds'], 1)} | {f(r.get('peak_mb'), 0)} | {f(r['rows_breaking'], 3)} | "
                         f"{f(r['quality'])} | {f(flat)} | {f(r['detection_mean'])} | {tstr} | {recall} | "
                         f"{f(r['dcr_share'])} | {f(r['exact_copies'])} | {f(r['leaks'])} |")
        ref = next((r for r in entries.values() if "error" not in r), None)
        if ref:
            recall = ", ".join(f"{t.split('.')[-1]} {f(v, 2)}" for t, v in ref["recall_1pct_real"].items()) or "—"
            flat = max((v for v in ref["flat_ref"].values() if v is not None), default=None)
            lines.append(f"| real halves | | | 0 | {f(ref['quality_ref'])} | {f(flat)} | {f(ref['detection_ref'])} | 1 | "
                         f"{recall} | | {f(ref['exact_copies_ref'])} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--contenders", default=",".join([*MODELS, "sdv137", "mostlyai"]))
    parser.add_argument("--peer-datasets", default="lendingclub,demo", help="data sets the peers run on (minutes each)")
    parser.add_argument("--network-epochs", type=int, default=300, help="CTGAN/TVAE epochs (SDV's default 300)")
    parser.add_argument("--berka", type=Path, help="a folder of the PKDD'99 .asc files: adds the data set 'berka'")
    parser.add_argument("--peers-dir", default=str(ROOT / "build" / "peers"))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "table_models")
    parser.add_argument("--markdown", type=Path, nargs="+", help="print the README tables of these results.json files")
    args = parser.parse_args()
    if args.markdown:
        merged: dict = {}
        for path in args.markdown:  # runs of some contenders each: merged per data set, the later run winning
            for dataset, entries in json.loads(path.read_text()).items():
                merged.setdefault(dataset, {}).update({k: v for k, v in entries.items() if "error" not in v}
                                                      or entries)
        order = [*MODELS, "sdv137", "mostlyai"]
        print(markdown({d: dict(sorted(e.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
                        for d, e in merged.items()}))
        return
    datasets = [d for d in args.datasets.split(",") if d] + (["berka"] if args.berka else [])
    contenders = [c for c in args.contenders.split(",") if c]
    peer_sets = set(args.peer_datasets.split(","))
    def prepare(dataset: str, work: Path) -> tuple[Path, Path]:
        whole, real, holdout = work / "whole.db", work / "real.db", work / "holdout.db"
        rules.write_real(dataset, whole, args.berka)
        split_database(whole, real, holdout)
        return real, holdout

    rules.run_all(datasets, contenders, peer_sets, args, prepare, clone, show)

if __name__ == "__main__":
    main()
