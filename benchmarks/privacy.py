"""Privacy risks side by side: the re-identification risks and membership inference that ``synthbank evaluate``
reports, for clones, a peer, and databases that should be flagged, all measured in one run.

Contenders, each on the same real SQLite database:

* ``clone``: this checkout's ``synthbank clone --no-text --seed 0`` (defaults); ``copula``: the same with
  ``--table-model copula``; ``dp1``, ``dp3``, ``dp10``: ``--dp-epsilon 1/3/10`` (the tables learned with
  differential privacy; the seconds are the time DP costs beside ``copula``'s);
* ``mostlyai``: MOSTLY AI 6.2's TabularARGN (2-minute cap per table; venv by ``benchmarks/peers/make_mostlyai.sh``);
* ``copy``: a byte copy of the training database, an exact copy of the people it holds;
* ``perturbed``: that copy with 10% of the cells of every non-key column (neither primary nor foreign key)
  replaced by the column's value in another row (numpy ``default_rng(0)``; columns under a UNIQUE constraint
  trade values among the chosen rows), written by UPDATEs so that types and DDL stay.

Each data set (``demo``, ``lendingclub``: see benchmarks/rules.py) is split along its foreign keys as in
benchmarks/table_models.py: 80% of the root rows and everything under them train, the other 20% are the holdout,
the control of every attack. Per contender: the clone's seconds; from ``synthbank evaluate REAL SYNTH --holdout``
the worst GDPR risk (attack, table or entity, risk, 95% CI, verdict), the largest risk of each attack (singling
out univariate and multivariate, linkability, inference; over tables, root entities and secrets), the worst
membership-inference AUC (CI, verdict) and the largest distance and density-ratio AUCs, then quality, C2ST-Agg,
the worst TSTR ROC-AUC ratio, rows breaking a rule, DCR share and exact copies, and the evaluation's notes and
warnings. A copy and a perturbed copy should be flagged (verdict high), a clone should not.
Results: ``--out``/results.json (default build/privacy); logs and reports under ``--out``/DATASET.

    python benchmarks/privacy.py --datasets demo,lendingclub --contenders clone,copula,mostlyai,copy,perturbed
    python benchmarks/privacy.py --datasets demo --contenders copy,perturbed      # a few minutes
    python benchmarks/privacy.py --reprint        # the tables again from the reports under --out (nothing run)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

import rules  # noqa: E402
from scale import run_measured  # noqa: E402
from table_models import split_database  # noqa: E402

DATASETS = ["demo", "lendingclub"]
DP = {"dp1": 1, "dp3": 3, "dp10": 10}
CONTENDERS = ["clone", "copula", "mostlyai", "copy", "perturbed", *DP]
ATTACKS = {"singling_out_univariate": "single-out uni", "singling_out_multivariate": "single-out multi",
           "linkability": "linkability", "inference": "inference"}
SEVERITY = {"low": 0, "inconclusive": 1, "elevated": 2, "high": 3}


def code_state() -> str:
    """This checkout's synthbank: the commit, and a hash of uncommitted changes under synthbank/ (another edit may land mid-run)."""
    import hashlib

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout

    changes = git("diff", "HEAD", "--", "synthbank") + "".join(
        f"{name}\n{(ROOT / name).read_bytes().hex()}" for name in git("ls-files", "--others", "--exclude-standard", "synthbank").split())
    return git("rev-parse", "--short", "HEAD").strip() + (f" + uncommitted {hashlib.sha1(changes.encode()).hexdigest()[:8]}" if changes else "")


def perturb(real: Path, target: Path, share: float = 0.1, seed: int = 0) -> None:
    """A copy of ``real`` with ``share`` of each non-key column's cells taken from another row of the column."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shutil.copy(real, target)
    with sqlite3.connect(target) as connection:
        tables = [t for (t,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            keys = {r[1] for r in connection.execute(f'PRAGMA table_info("{table}")') if r[5]}
            keys |= {r[3] for r in connection.execute(f'PRAGMA foreign_key_list("{table}")')}
            unique = {c[2] for i in connection.execute(f'PRAGMA index_list("{table}")') if i[2]
                      for c in connection.execute(f'PRAGMA index_info("{i[1]}")')}
            for column in [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")') if r[1] not in keys]:
                found = connection.execute(f'SELECT rowid, "{column}" FROM "{table}" ORDER BY rowid').fetchall()
                n, k = len(found), round(share * len(found))
                if n < 2 or k == 0:
                    continue
                rowids, values = zip(*found)
                chosen = rng.choice(n, k, replace=False)
                if column in unique:  # a derangement of the chosen rows' own values: still unique
                    source = chosen[(np.arange(k) + 1 + rng.integers(0, max(k - 1, 1))) % k] if k > 1 else chosen
                    connection.executemany(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?',
                                           [(f"__moving_{i}", rowids[i]) for i in chosen])
                else:
                    source = rng.integers(0, n - 1, k)
                    source += source >= chosen  # never the row itself
                connection.executemany(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?',
                                       [(values[s], rowids[i]) for i, s in zip(chosen, source)])


def make(contender: str, real: Path, target: Path, work: Path, args) -> dict:
    """Write the contender's database at ``target``; its seconds where it is a clone."""
    target.unlink(missing_ok=True)
    if contender == "copy":
        shutil.copy(real, target)
        return {"seconds": None}
    if contender == "perturbed":
        perturb(real, target)
        return {"seconds": None}
    if contender == "mostlyai":
        return rules.clone(contender, real, target, work, args)
    cmd = [sys.executable, "-m", "synthbank.cli", "clone", str(real), str(target), "--no-text", "--seed", "0"]
    if contender != "clone":
        cmd += ["--table-model", "copula"]
    if contender in DP:
        cmd += ["--dp-epsilon", str(DP[contender])]
    measured = run_measured(cmd, work / "logs" / f"{contender}.log")
    return {"seconds": measured["wall_s"], "peak_mb": measured["peak_mb"]}


def _attacks(gdpr: dict):
    """(attack, where, result) for every attack of the report's GDPR risks."""
    for part in ("tables", "entities"):
        for name, entry in (gdpr.get(part) or {}).items():
            where = name if part == "tables" else f"{name} entity"
            for key in list(ATTACKS)[:3]:
                if key in entry:
                    yield key, where, entry[key]
            for secret, result in (entry.get("inference") or {}).items():
                yield f"inference {secret}", where, result


def score(real: Path, synthetic: Path, holdout: Path, out: Path, log: Path) -> dict:
    cmd = [sys.executable, "-m", "synthbank.cli", "evaluate", str(real), str(synthetic), "--holdout", str(holdout), "--out", str(out)]
    return {"evaluate_s": run_measured(cmd, log)["wall_s"], **read_report(out, log)}


def read_report(out: Path, log: Path) -> dict:
    """What the table shows, from ``out``/report.json and the evaluation's log."""
    report = json.loads((out / "report.json").read_text())
    s, privacy = report["summary"], report["privacy"]
    gdpr, mia = privacy.get("gdpr_risks") or {}, privacy.get("membership_inference") or {}
    found = list(_attacks(gdpr))
    top = max(found, key=lambda a: (SEVERITY[a[2]["verdict"]], a[2]["risk"]), default=None)
    per_attack = {}
    for key in ATTACKS:
        mine = [a for a in found if a[0].startswith(key)]
        best = max(mine, key=lambda a: a[2]["risk"], default=None)
        per_attack[key] = best and {"risk": best[2]["risk"], "ci": best[2]["ci"], "verdict": best[2]["verdict"], "where": best[1],
                                    "attack": best[0]}
    mias = [(f"{n}{' entity' if p == 'entities' else ''}", e) for p in ("tables", "entities") for n, e in (mia.get(p) or {}).items() if "auc" in e]
    mtop = max(mias, key=lambda m: (SEVERITY[m[1]["verdict"]], m[1]["auc"]), default=None)
    tstr = [v for v in (s.get("utility") or {}).values() if v is not None]
    warnings = list(dict.fromkeys(line.strip() for line in log.read_text().splitlines() if re.search(r"warn", line, re.I)))
    return {
        "gdpr_worst": top and {"attack": top[0], "where": top[1], "risk": top[2]["risk"], "ci": top[2]["ci"], "verdict": top[2]["verdict"]},
        "gdpr_worst_report": gdpr.get("worst"), "gdpr_note": gdpr.get("note"), "per_attack": per_attack,
        "mia_worst": mtop and {"where": mtop[0], "auc": mtop[1]["auc"], "ci": mtop[1]["ci"], "verdict": mtop[1]["verdict"]},
        "mia_worst_report": mia.get("worst"), "mia_note": mia.get("note"),
        "mia_distance": max((e["distance"]["auc"] for _, e in mias if "distance" in e), default=None),
        "mia_density": max((e["density_ratio"]["auc"] for _, e in mias if "density_ratio" in e), default=None),
        "quality": s.get("quality_score"), "detection": s.get("detection_accuracy"),
        "flat": max((v for v in (s.get("detection_per_table") or {}).values() if v is not None), default=None), "tstr_ratio": min(tstr) if tstr else None,
        "tstr": s.get("utility"), "rows_breaking": (report.get("rules") or {}).get("synthetic_rows_breaking"),
        "dcr_share": s.get("dcr_share"), "exact_copies": s.get("exact_copy_share"), "evaluation_notes": report.get("notes") or [],
        "warnings": warnings[:10],
    }


def _ci(entry: dict | None, key: str = "risk") -> str:
    return "—" if not entry else f"{entry[key]:.3f} [{entry['ci'][0]:.2f}, {entry['ci'][1]:.2f}]"


def show(dataset: str, results: dict) -> None:
    f, width = rules._fmt, 24
    rows = [
        ("clone seconds", lambda r: f(r["seconds"], 1)), ("evaluate seconds", lambda r: f(r["evaluate_s"], 1)),
        ("GDPR worst risk [95% CI]", lambda r: _ci(r["gdpr_worst"])),
        ("  verdict", lambda r: r["gdpr_worst"]["verdict"] if r["gdpr_worst"] else r.get("gdpr_note") or "—"),
        ("  attack", lambda r: ATTACKS.get(r["gdpr_worst"]["attack"], r["gdpr_worst"]["attack"].replace("inference", "infer")) if r["gdpr_worst"] else "—"),
        ("  table / entity", lambda r: r["gdpr_worst"]["where"] if r["gdpr_worst"] else "—"),
        *[(f"max {label}", lambda r, k=key: f"{f(r['per_attack'][k]['risk'])} {r['per_attack'][k]['verdict']}" if r["per_attack"][k] else "—")
          for key, label in ATTACKS.items()],
        ("MIA worst AUC [95% CI]", lambda r: _ci(r["mia_worst"], "auc")),
        ("  verdict", lambda r: r["mia_worst"]["verdict"] if r["mia_worst"] else r.get("mia_note") or "—"),
        ("  table / entity", lambda r: r["mia_worst"]["where"] if r["mia_worst"] else "—"),
        ("  max distance AUC", lambda r: f(r["mia_distance"])), ("  max density-ratio AUC", lambda r: f(r["mia_density"])),
        ("quality", lambda r: f(r["quality"])), ("C2ST-Agg", lambda r: f(r["detection"])),
        ("C2ST flat (worst table)", lambda r: f(r["flat"])),
        ("TSTR ratio (worst)", lambda r: f(r["tstr_ratio"])), ("rows breaking a rule", lambda r: f(r["rows_breaking"], 4)),
        ("DCR share", lambda r: f(r["dcr_share"])), ("exact copies", lambda r: f(r["exact_copies"])),
    ]
    ok = {name: r for name, r in results.items() if "error" not in r}
    print(f"\n== {dataset}")
    print(f"{'':26}" + "".join(f"{name[:width - 1]:>{width}}" for name in ok))
    for label, cell in rows:
        print(f"{label:26}" + "".join(f"{str(cell(r))[:width - 1]:>{width}}" for r in ok.values()))
    for name, r in results.items():
        if "error" in r:
            print(f"  {name}: FAILED: {r['error']}")
        for line in [*(r.get("notes") or []), *r.get("evaluation_notes", [])]:  # the peer's import notes, the evaluation's
            print(f"  {name}: note: {line}")
        for line in r.get("warnings", []):
            print(f"  {name}: warning: {line[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help=f"of {','.join(CONTENDERS)}")
    parser.add_argument("--peers-dir", default=str(ROOT / "build" / "peers"))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "privacy")
    parser.add_argument("--reprint", action="store_true", help="re-read the reports under --out and print the tables (nothing run)")
    args = parser.parse_args()
    if args.reprint:
        everything = json.loads((args.out / "results.json").read_text())
        for dataset, results in ((d, r) for d, r in everything.items() if d != "code"):
            for name, r in ((n, r) for n, r in results.items() if "error" not in r):
                r.update(read_report(args.out / dataset / f"report-{name}", args.out / dataset / "logs" / f"evaluate-{name}.log"))
            show(dataset, results)
        (args.out / "results.json").write_text(json.dumps(everything, indent=1, default=str))
        return
    contenders = [c for c in args.contenders.split(",") if c]
    if unknown := [c for c in contenders if c not in CONTENDERS]:
        raise SystemExit(f"unknown contender(s) {', '.join(unknown)}; known: {', '.join(CONTENDERS)}")
    start, everything = time.perf_counter(), {"code": {}}
    print(f"synthbank: {code_state()}", flush=True)
    for dataset in [d for d in args.datasets.split(",") if d]:
        work = args.out / dataset
        work.mkdir(parents=True, exist_ok=True)
        whole, real, holdout = work / "whole.db", work / "real.db", work / "holdout.db"
        before = code_state()
        rules.write_real(dataset, whole, None)
        split_database(whole, real, holdout)
        results = {}
        for contender in contenders:
            try:
                made = make(contender, real, work / f"{contender}.db", work, args)
                results[contender] = {**made, **score(real, work / f"{contender}.db", holdout, work / f"report-{contender}",
                                                      work / "logs" / f"evaluate-{contender}.log")}
            except Exception as exc:  # noqa: BLE001 - one contender failing must not end the run
                lines = [line for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
                results[contender] = {"error": lines[0][:300] + (f" … {lines[-1][:300]}" if len(lines) > 1 else "")}
            print(f"  {dataset}/{contender} done ({time.perf_counter() - start:.0f} s)", flush=True)
        show(dataset, results)
        everything[dataset], everything["code"][dataset] = results, [before, code_state()]
        if before != everything["code"][dataset][1]:
            print(f"  WARNING: synthbank changed during {dataset}: {before} → {everything['code'][dataset][1]}", flush=True)
        (args.out / "results.json").write_text(json.dumps(everything, indent=1, default=str))
    print(f"\nelapsed {time.perf_counter() - start:.0f} s; results in {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
