"""synthbank's two relational engines side by side: ``--engine fast`` against ``--engine sdv`` (the reference).

For each data set (benchmarks/datasets.py: the demo bank, LendingClub, nycflights13) the real data is
written to SQLite, then, one after another, each in its own process and with the same seed:

    synthbank clone REAL.db OUT-ENGINE.db --no-text --engine ENGINE --seed S
    synthbank evaluate REAL.db OUT-ENGINE.db --out REPORT --seed S [--target T …]

The clone is timed end to end (wall seconds, peak RSS of the process); the evaluation's report.json gives
SDMetrics quality, k-hop AVG 2-way (intertable), C2ST-Agg detection (mean accuracy over the tables that
have children; 0.5 = can't tell), utility (TSTR ROC-AUC ratio, where the data set has a target), PII leaks,
exact copies and integrity. Two figures are computed here, because the report does not hold them:
``flat C2ST`` — the same gradient-boosted real-vs-synthetic classifier on every table's own columns (so
single tables such as LendingClub and leaf tables such as flights get a detection score too) — and, for
finding where one engine is worse, SDMetrics' QualityReport details (every column shape, column pair,
cardinality and intertable pair), stored in engines.json.

The table gives both engines and the ratio fast/sdv per metric (quality, k-hop: > 1 means fast is better;
detection: < 1 means fast is better). With several ``--seeds`` each seed is one row, and the spread of the
same engine between seeds is the noise the differences are judged against (``--details`` lists the column
shapes, column pairs, tables and paths where fast falls furthest behind sdv).

    python benchmarks/engines.py                                  # 3 data sets × 2 engines, seed 0
    python benchmarks/engines.py --seeds 0,1 --datasets nycflights13 --flights 10000
    python benchmarks/engines.py --report                         # print the stored figures again
    python benchmarks/engines.py --refresh --seeds 0              # rescore stored outputs (after changing this script)

Work files go to --work (default out/bench/engines, ignored by git): the real and synthetic databases, the
reports, the logs of every process; the figures accumulate in engines.json there (a rerun of one data set /
seed / engine replaces only its own entry).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import DATASETS, FLIGHTS, WEATHER, write_dataset  # noqa: E402

ENGINES = ["fast", "sdv"]
#: utility targets where the evaluation's default (columns named like default/fraud) finds none
TARGETS = {"lendingclub": ["loans.term", "loans.homeownership"]}
# metric → (label, format, higher is better)
METRICS = {
    "seconds": ("seconds", ".1f", False),
    "peak_mb": ("peak MB", ".0f", False),
    "quality": ("quality", ".3f", True),
    "k_hop": ("k-hop", ".3f", True),
    "detection": ("C2ST-Agg", ".3f", False),
    "flat_detection": ("flat C2ST", ".3f", False),
    "utility": ("utility", ".3f", True),
    "leaks": ("leaks", "d", False),
}


# --- processes -------------------------------------------------------------------------------------------
def synthbank_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("synthbank")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "synthbank.cli"]


#: Runs the command as its own child and prints that child's peak RSS. The command is forked from this small
#: process, not from the benchmark (which holds pandas, scikit-learn and SDMetrics): a child's ru_maxrss
#: counts what it inherited at fork, so forking from the benchmark itself would add the benchmark's size.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stdout.flush()
print("__peak_kb__", usage.ru_maxrss, flush=True)
sys.exit(min(255, abs(os.waitstatus_to_exitcode(status))))
"""


def run_measured(cmd: list[str], log_path: Path, timeout: float | None = None) -> dict:
    """Run ``cmd`` in its own session; wall seconds and its peak RSS (see LAUNCHER). Killed after ``timeout``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, *cmd], stdout=log, stderr=subprocess.STDOUT,
                                cwd=ROOT, start_new_session=True)
        expired = threading.Event()

        def stop():  # the process group this call started (start_new_session), and nothing else
            expired.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, stop) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if expired.is_set():
            raise TimeoutError(f"{' '.join(cmd)} ran past {timeout:.0f} s and was stopped")
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); output tail:\n{text[-3000:]}")
    peak = re.findall(r"^__peak_kb__ (\d+)$", text, re.MULTILINE)
    return {"wall_s": wall, "peak_mb": int(peak[-1]) / 1024 if peak else None, "warnings": warning_lines(text)}


def warning_lines(text: str) -> list[str]:
    """Distinct lines of a log that look like warnings or errors (progress bars and the command left out)."""
    seen = []
    for line in text.splitlines():
        line = line.strip()
        if re.search(r"warn|error|exception|traceback|could not|failed", line, re.IGNORECASE) and not line.startswith("$ "):
            line = re.sub(r"\s+", " ", line)[:400]
            if line not in seen:
                seen.append(line)
    return seen[:40]


def code_state() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "cpus": os.cpu_count()}


# --- figures computed here ----------------------------------------------------------------------------------
def read_both(real_url: str, synth_url: str):
    from synthbank.io.reader import read_tables
    from synthbank.schemas import reflect_schema

    schema = reflect_schema(real_url)
    return schema, read_tables(real_url, schema), read_tables(synth_url, schema)


def flat_c2st(schema, real: dict, synthetic: dict, seed: int) -> dict:
    """Per table: the evaluation's C2ST classifier on the table's own learned columns."""
    import pandas as pd

    from synthbank.evaluation.fidelity import as_numbers, classifier_test, learned_columns

    out = {}
    for name in schema.tables:
        columns = learned_columns(schema, name)
        if not columns:
            continue

        def features(frame):
            data = pd.DataFrame(index=frame.index)
            for column in columns:
                numbers = as_numbers(frame[column], schema.tables[name].columns[column].sdtype)
                data[column] = numbers if numbers is not None else frame[column].astype(str)
            return data

        result = classifier_test(features(real[name]), features(synthetic[name]), seed)
        if result is not None:
            out[name] = result["accuracy"]
    return out


def quality_details(schema, real: dict, synthetic: dict) -> dict:
    """SDMetrics' QualityReport details: one score per column, column pair, foreign key and intertable pair."""
    import warnings

    from sdmetrics.reports import QualityReport

    from synthbank.evaluation.fidelity import sdmetrics_frames
    from synthbank.schemas.sdv_metadata import to_sdv_metadata

    metadata = to_sdv_metadata(schema).metadata.to_dict()
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(sdmetrics_frames(schema, real), sdmetrics_frames(schema, synthetic), metadata, verbose=False)
    out = {}
    for prop in report.get_properties()["Property"]:
        details = report.get_details(prop)
        entries = {}
        for _, row in details.iterrows():
            score = row.get("Score")
            if score is None or score != score:
                continue
            if prop == "Column Shapes":
                key = f"{row['Table']}.{row['Column']}"
            elif prop == "Column Pair Trends":
                key = f"{row['Table']}.{row['Column 1']} × {row['Column 2']}"
            elif prop == "Cardinality":
                key = f"{row['Child Table']}.{row['Foreign Key']} → {row['Parent Table']}"
            else:  # Intertable Trends
                key = f"{row['Parent Table']}.{row['Column 1']} × {row['Child Table']}.{row['Column 2']} ({row['Foreign Key']})"
            entries[key] = float(score)
        out[prop] = entries
        if prop == "Column Pair Trends":
            out["Column Pair Trends (real bins)"] = common_bin_pairs(schema, real, synthetic, details)
    return out


def common_bin_pairs(schema, real: dict, synthetic: dict, details) -> dict:
    """The report's numeric × categorical pairs scored again with the real column's bins on both sides.

    SDMetrics' Column Pair Trends (0.32) bins a numeric or datetime column into 10 equal-width bins over
    each side's own range, so a synthetic minimum or maximum unlike the real one shifts every bin and
    lowers the pair's score; ContingencySimilarity with ``continuous_column_names`` uses the real
    column's bin edges for both sides, which compares the joint distributions themselves.
    """
    import warnings

    from sdmetrics.column_pairs import ContingencySimilarity

    from synthbank.evaluation.fidelity import as_numbers

    out = {}
    rows = details[details["Metric"] == "ContingencySimilarity"] if "Metric" in details else details.iloc[0:0]
    for _, row in rows.iterrows():
        if row.get("Score") is None or row["Score"] != row["Score"]:
            continue
        table, pair = row["Table"], [row["Column 1"], row["Column 2"]]
        sdtypes = [schema.tables[table].columns[c].sdtype for c in pair]
        continuous = [c for c, t in zip(pair, sdtypes) if t in ("numerical", "datetime")]
        if not continuous:
            continue

        def frame(tables):
            data = {}
            for column, sdtype in zip(pair, sdtypes):
                numbers = as_numbers(tables[table][column], sdtype)
                data[column] = numbers if numbers is not None else tables[table][column].astype(object)
            return __import__("pandas").DataFrame(data)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = ContingencySimilarity.compute(frame(real), frame(synthetic), continuous_column_names=continuous)
        out[f"{table}.{pair[0]} × {pair[1]}"] = float(score)
    return out


def _path_scores(paths: list[dict]) -> dict:
    """k-hop score per path; a label the report repeats (two foreign keys to one parent) gets '#2', '#3'…"""
    out = {}
    for p in paths:
        label = f"{p['path']} ({p['hops']})"
        n = 2
        while label in out:
            label = f"{p['path']} ({p['hops']}) #{n}"
            n += 1
        out[label] = p["score"]
    return out


def summarize(report: dict) -> dict:
    s = report["summary"]
    utility = [v for v in (s.get("utility") or {}).values() if v is not None]
    return {
        "quality": s["quality_score"], "quality_real_reference": s.get("quality_real_reference"),
        "k_hop": s["k_hop_avg_2way"], "k_hop_real_reference": s.get("k_hop_real_reference"),
        "detection": s["detection_accuracy"], "detection_real_reference": s.get("detection_real_reference"),
        "utility": sum(utility) / len(utility) if utility else None, "utility_per_target": s.get("utility"),
        "leaks": s["pii_leaks"], "exact_copy_share": s.get("exact_copy_share"), "dcr_share": s.get("dcr_share"),
        "integrity_ok": s["integrity_ok"], "diagnostic": s.get("diagnostic_score"),
        "properties": report["quality"]["quality"]["properties"],
        "per_table": report["quality"]["quality"]["per_table"],
        "detection_per_table": {t: e["accuracy"] for t, e in report["detection"].items()},
        "k_hop_paths": _path_scores(report["k_hop"]["paths"]),
        "notes": report.get("notes", []),
    }


# --- one data set --------------------------------------------------------------------------------------------
def run_engine(dataset: str, engine: str, seed: int, real_db: Path, work: Path, args) -> dict:
    target = work / f"{dataset}-{engine}-seed{seed}.db"
    target.unlink(missing_ok=True)
    real_url, synth_url = f"sqlite:///{real_db}", f"sqlite:///{target}"
    clone = synthbank_cmd() + ["clone", real_url, synth_url, "--no-text", "--engine", engine, "--seed", str(seed)]
    load_before = os.getloadavg()[0]
    measured = run_measured(clone, work / "logs" / f"{dataset}-{engine}-seed{seed}.clone.log", args.timeout)
    result = {"seconds": measured["wall_s"], "peak_mb": measured["peak_mb"], "clone_warnings": measured["warnings"],
              "load": [round(load_before, 2), round(os.getloadavg()[0], 2)], "command": " ".join(clone)}
    out = work / "reports" / f"{dataset}-{engine}-seed{seed}"
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    evaluate = synthbank_cmd() + ["evaluate", real_url, synth_url, "--out", str(out), "--seed", str(seed)]
    for t in TARGETS.get(dataset, []):
        evaluate += ["--target", t]
    start = time.perf_counter()
    measured = run_measured(evaluate, work / "logs" / f"{dataset}-{engine}-seed{seed}.evaluate.log", args.timeout)
    result["evaluate_s"] = time.perf_counter() - start
    result["evaluate_warnings"] = measured["warnings"]
    result.update(score_here(real_url, synth_url, out, seed, args.details))
    return result


def score_here(real_url: str, synth_url: str, report_dir: Path, seed: int, details: bool) -> dict:
    """The report's figures plus those computed in this process (flat C2ST, SDMetrics' details)."""
    result = summarize(json.loads((report_dir / "report.json").read_text()))
    start = time.perf_counter()
    schema, real, synthetic = read_both(real_url, synth_url)
    result["rows"] = {t: len(f) for t, f in synthetic.items()}
    result["flat_detection_per_table"] = flat_c2st(schema, real, synthetic, seed)
    flat = list(result["flat_detection_per_table"].values())
    result["flat_detection"] = sum(flat) / len(flat) if flat else None
    if details:
        result["details"] = quality_details(schema, real, synthetic)
    result["extra_s"] = time.perf_counter() - start
    return result


def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"datasets": {}}


def save_results(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float))
    tmp.replace(path)


# --- printing -----------------------------------------------------------------------------------------------
def _f(value, fmt=".3f") -> str:
    if value is None:
        return "—"
    if fmt == "d":
        return f"{int(value):,}"
    return format(value + 0.0 if abs(value) >= 5e-4 else 0.0, fmt)  # no '-0.000


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def print_dataset(name: str, entry: dict) -> None:
    rows = entry.get("rows", {})
    note = f"  ({entry['note']})" if entry.get("note") else ""
    print(f"\n== {name}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + note)
    keys = list(METRICS)
    header = f"{'seed':>4}  {'contender':16}" + "".join(f"{METRICS[k][0]:>11}" for k in keys) + f"{'integrity':>10}"
    print(header)
    print("-" * len(header))
    results = entry.get("results", {})
    reference = None
    for seed in sorted(results, key=int):
        by_engine = results[seed]
        for engine in ENGINES:
            r = by_engine.get(engine)
            if r is None:
                continue
            if "error" in r:
                last = [line for line in r["error"].splitlines() if line.strip()][-1]
                print(f"{seed:>4}  {engine:16}FAILED: {last[:200]}")
                continue
            reference = reference or r
            print(f"{seed:>4}  {engine:16}" + "".join(f"{_f(r.get(k), METRICS[k][1]):>11}" for k in keys)
                  + f"{'OK' if r.get('integrity_ok') else 'FAILED':>10}")
        fast, sdv = by_engine.get("fast"), by_engine.get("sdv")
        if fast and sdv and "error" not in fast and "error" not in sdv:
            cells = []
            for k in keys:
                q = ratio(fast.get(k), sdv.get(k))
                cells.append(f"{_f(q, '.3f') + '×' if q is not None else '—':>11}")
            print(f"{seed:>4}  {'fast/sdv':16}" + "".join(cells))
    if reference:
        print(f"{'':4}  {'real half/half':16}{'':22}{_f(reference.get('quality_real_reference')):>11}"
              f"{_f(reference.get('k_hop_real_reference')):>11}{_f(reference.get('detection_real_reference')):>11}")
    print("(quality, k-hop, utility: higher is better, ratio > 1 favours fast; C2ST: 0.5 is best, ratio < 1 favours fast;"
          " seconds: clone wall time end to end)")


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def print_details(name: str, entry: dict, top: int = 12) -> None:
    """Where fast is worse than sdv: per table property, detection, k-hop path, column shape and pair."""
    results = {s: r for s, r in entry.get("results", {}).items()
               if all(e in r and "error" not in r[e] for e in ENGINES)}
    if not results:
        return
    seeds = sorted(results, key=int)

    def collect(getter):
        """key → {engine: [value per seed]}"""
        out: dict = {}
        for seed in seeds:
            for engine in ENGINES:
                for key, value in (getter(results[seed][engine]) or {}).items():
                    out.setdefault(key, {e: [None] * len(seeds) for e in ENGINES})[engine][seeds.index(seed)] = value
        return out

    def show(title, table, higher_better=True, limit=top, only_worse=True):
        rows = []
        for key, values in table.items():
            f, s = _mean(values["fast"]), _mean(values["sdv"])
            if f is None or s is None:
                continue
            gap = (f - s) if higher_better else (s - f)  # < 0: fast worse
            rows.append((gap, key, values))
        rows.sort(key=lambda r: r[0])
        shown = [r for r in rows if r[0] < 0] if only_worse else rows
        if not shown:
            print(f"  {title}: fast never behind sdv")
            return
        print(f"  {title}" + (f" (the {min(limit, len(shown))} furthest behind of {len(rows)})" if only_worse else ""))
        for gap, key, values in shown[:limit]:
            fs = "/".join(_f(v) for v in values["fast"])
            ss = "/".join(_f(v) for v in values["sdv"])
            print(f"    {key[:78]:78} fast {fs:>13}  sdv {ss:>13}  gap {gap:+.3f}")

    print(f"\n-- {name}: where fast is behind sdv (values per seed {'/'.join(seeds)}; gap = mean fast − mean sdv, "
          "sign flipped for detection so that negative = fast worse)")
    show("SDMetrics properties", collect(lambda r: r.get("properties")), only_worse=False)
    show("quality per table and property",
         collect(lambda r: {f"{t}: {p}": v for t, props in (r.get("per_table") or {}).items() for p, v in props.items()}))
    show("C2ST-Agg per table", collect(lambda r: r.get("detection_per_table")), higher_better=False)
    show("flat C2ST per table", collect(lambda r: r.get("flat_detection_per_table")), higher_better=False)
    show("k-hop per path", collect(lambda r: r.get("k_hop_paths")))
    for prop in ("Column Shapes", "Column Pair Trends", "Column Pair Trends (real bins)", "Cardinality", "Intertable Trends"):
        show(prop, collect(lambda r, p=prop: (r.get("details") or {}).get(p)))


def print_all(data: dict, datasets: list[str], details: bool) -> None:
    code = data.get("code", {})
    print(f"\nsynthbank {code.get('commit', '?')}{' (uncommitted changes)' if code.get('dirty') else ''}, "
          f"{code.get('cpus', '?')} CPUs; clone: `synthbank clone REAL OUT --no-text --engine E --seed S`, "
          "evaluate: `synthbank evaluate REAL OUT --out DIR --seed S`")
    for name in datasets:
        if name in data["datasets"]:
            print_dataset(name, data["datasets"][name])
            if details:
                print_details(name, data["datasets"][name])


# --- main -----------------------------------------------------------------------------------------------
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--seeds", default="0", help="clone and evaluation seeds, comma-separated (e.g. 0,1 for the noise)")
    parser.add_argument("--flights", type=int, default=FLIGHTS, help="flights sampled from nycflights13 (seeded, 0 = all)")
    parser.add_argument("--weather", type=int, default=WEATHER,
                        help="weather hours sampled from nycflights13 (seeded, 0 = all; see datasets.py for why not all)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a clone or evaluation is stopped")
    parser.add_argument("--work", default=str(ROOT / "out" / "bench" / "engines"))
    parser.add_argument("--no-details", dest="details", action="store_false",
                        help="skip SDMetrics' per-column details (the lists of where fast is behind)")
    parser.add_argument("--report", action="store_true", help="print the figures stored in engines.json and stop")
    parser.add_argument("--refresh", action="store_true",
                        help="recompute the figures of stored runs from their reports and databases (no clone, no evaluate)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / "engines.json"
    data = load_results(path)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for name in datasets:
        if name not in DATASETS:
            parser.error(f"unknown data set {name!r}: one of {', '.join(DATASETS)}")
    if args.report:
        print_all(data, datasets, args.details)
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.refresh:
        for name in datasets:
            entry = data["datasets"].get(name, {})
            for seed, by_engine in entry.get("results", {}).items():
                for engine, result in by_engine.items():
                    if "error" in result:
                        continue
                    print(f"refreshing {name}, seed {seed}, {engine} …", flush=True)
                    kept = {k: result[k] for k in ("seconds", "peak_mb", "clone_warnings", "load", "command",
                                                   "evaluate_s", "evaluate_warnings") if k in result}
                    fresh = score_here(f"sqlite:///{entry['real_db']}", f"sqlite:///{work / f'{name}-{engine}-seed{seed}.db'}",
                                       work / "reports" / f"{name}-{engine}-seed{seed}", int(seed), args.details)
                    by_engine[engine] = {**kept, **fresh}
                    save_results(path, data)
        print_all(data, datasets, args.details)
        return
    data["code"] = code_state()
    for name in datasets:
        real_db = work / f"{name}.db"
        rows = write_dataset(name, real_db, flights=args.flights, weather=args.weather)
        entry = data["datasets"].setdefault(name, {"results": {}})
        note = f"seeded samples of {args.flights:,} flights, {args.weather:,} weather hours" if name == "nycflights13" else ""
        if entry.get("rows") != rows:  # different real data: earlier figures no longer compare
            entry["results"] = {}
        entry.update(rows=rows, note=note, real_db=str(real_db))
        print(f"{name}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + f" → {real_db}", flush=True)
        for seed in seeds:
            for engine in engines:
                print(f"  → seed {seed}, --engine {engine} …", flush=True)
                try:
                    result = run_engine(name, engine, seed, real_db, work, args)
                except (RuntimeError, TimeoutError) as exc:
                    print(f"    FAILED: {exc}", flush=True)
                    result = {"error": str(exc)}
                else:
                    print(f"    {result['seconds']:.1f} s (load {result['load'][0]:.1f}→{result['load'][1]:.1f}), "
                          f"quality {_f(result['quality'])}, k-hop {_f(result['k_hop'])}, C2ST-Agg {_f(result['detection'])}, "
                          f"flat C2ST {_f(result['flat_detection'])}, utility {_f(result['utility'])}, leaks {result['leaks']}"
                          + (f"; {len(result['clone_warnings'])} warning line(s) in the clone log" if result["clone_warnings"] else ""),
                          flush=True)
                entry["results"].setdefault(str(seed), {})[engine] = result
                save_results(path, data)
    print_all(data, datasets, args.details)
    print(f"\nfigures in {path}; reports in {work / 'reports'}, logs in {work / 'logs'}")


if __name__ == "__main__":
    main()
