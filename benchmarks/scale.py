"""synthbank's speed and fidelity beside its peers, and how its throughput grows with the data — in one run.

Two parts (either or both):

``--peers``: the users 500 → loans 1,000 → transactions 10,000 chain (benchmarks/chain.py, written to
SQLite). Contenders, one after another, each in its own process:

* ``fast`` / ``sdv``  synthbank with ``--engine fast`` / ``--engine sdv`` (as ``synthbank clone SRC TGT --no-text
  --engine E``, through the Python API so fit and sample are timed apart; ``--synthbank-cli`` runs the CLI
  itself and times only the whole). Where synthbank has no ``engine`` option yet, one contender
  ``synthbank`` runs its default engine instead, and the script says so.
* ``sdv137``  SDV 1.37.4's HMASynthesizer on the whole chain (venv: benchmarks/peers/make_sdv137.sh).
* ``mostlyai``  MOSTLY AI SDK 6.2 local TabularARGN, 2-minute training cap per table (make_mostlyai.sh).

Peers get the chain as parquet files without the PII columns (benchmarks/peers/run_*.py); their output
gets integer keys (1..n, foreign keys mapped along) and Faker values in the PII columns, and is written into
SQLite with the source's DDL. Every output is then scored by ``synthbank evaluate REAL SYNTH`` against
the same real chain: SDMetrics quality, k-hop AVG 2-way, C2ST-Agg detection accuracy (0.5 = can't tell).

Real-vs-real reference: a second draw of the same generator with the next seed (same sizes) is
evaluated exactly like a contender ("real, seed+1": the scores a perfect synthesizer would get);
the evaluation's own reference (one half of the real chain against the other, split along the foreign
keys) is printed beside it.

``--growth``: the demo bank (``synthbank demo-db``) at ``--sizes`` users (default 1,000, 10,000, 100,000),
cloned with ``synthbank clone --no-text`` and its defaults: rows written per second end to end (process
start to exit: read, fit, sample, write), peak RSS of the process, time per row relative to the 10,000-user
size; and for sizes above ``--sample-users`` (default 10,000): fit on a sample of that many users
(``--sample-rows``) and sample back to full size (``--scale size/sample-users``).

    python benchmarks/scale.py --peers                      # all four contenders (~15 min on 2 cores)
    python benchmarks/scale.py --peers --contenders sdv137,mostlyai
    python benchmarks/scale.py --growth --sizes 1000,10000  # add 100000 on a quiet machine
    python benchmarks/scale.py --growth --db postgresql --postgres-url postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/scale.py --executors                  # in-process vs --workers 2 vs Ray (benchmarks/distributed.py)
    python benchmarks/scale.py --formats                    # SQLite vs DuckDB vs Parquet, and a 10M-row file (benchmarks/formats.py)

Work files go to --work (default out/bench/scale, ignored by git); the figures also go to
peers.json / growth.json there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
PEER_VENVS = {"sdv137": "sdv137", "mostlyai": "mostlyai"}
PEER_RUNNERS = {"sdv137": "run_sdv.py", "mostlyai": "run_mostlyai.py"}
PEER_MAKERS = {"sdv137": "make_sdv137.sh", "mostlyai": "make_mostlyai.sh"}
LABELS = {"fast": "synthbank --engine fast", "sdv": "synthbank --engine sdv", "synthbank": "synthbank (default engine)",
          "sdv137": "SDV 1.37.4 HMA", "mostlyai": "MOSTLY AI 6.2 TabularARGN", "reference": "real, seed+1 (reference)"}


# --- running a child process and measuring it --------------------------------------------------------
def run_measured(cmd: list[str], log_path: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` to completion; wall seconds and the child's peak RSS (os.wait4: that process alone)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    log_path.with_suffix(".stdout").write_text(stdout)
    if proc.returncode != 0:
        tail = log_path.read_text()[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); stderr tail:\n{tail}")
    return {"wall_s": wall, "peak_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def code_state() -> dict:
    """Which synthbank was measured: the commit, and whether the work tree had uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "cpus": os.cpu_count()}


def last_json_line(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON line in the output:\n{stdout[-2000:]}")


def synthbank_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("synthbank")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "synthbank.cli"]


def engine_support() -> dict:
    """Whether this synthbank has the engine option: CLI flag ``--engine`` and ``RelationalSettings(engine=)``."""
    help_text = subprocess.run(synthbank_cmd() + ["clone", "--help"], capture_output=True, text=True).stdout
    try:
        from synthbank.relational.settings import RelationalSettings
    except ImportError:
        return {"cli": "--engine" in help_text, "api": False}
    return {"cli": "--engine" in help_text, "api": "engine" in RelationalSettings.__dataclass_fields__}


# --- part a: peers on the chain ----------------------------------------------------------------------
def export_for_peers(real_url: str, folder: Path, root_rows: int) -> None:
    """The learned columns of every table as parquet + tables.json (keys, sdtypes) for the peer runners."""
    import pandas as pd

    from synthbank.io.reader import read_tables
    from synthbank.schemas import reflect_schema
    from synthbank.vocabulary import LEARNED_SDTYPES

    schema = reflect_schema(real_url)
    tables = read_tables(real_url, schema)
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"root": None, "root_rows": root_rows, "tables": {}, "relationships": []}
    for name in schema.read_order():
        table = schema.tables[name]
        (pk,) = table.primary_key
        columns = {pk: "id"}
        for fk in table.foreign_keys:
            (column,), (parent_column,) = fk.columns, fk.parent_columns
            columns[column] = "id"
            spec["relationships"].append({"parent": fk.parent, "parent_key": parent_column, "child": name, "child_key": column})
        if not table.foreign_keys:
            spec["root"] = name
        frame = tables[name]
        out = pd.DataFrame({c: frame[c] for c in columns})
        for column in table.columns.values():
            if column.sdtype not in LEARNED_SDTYPES or column.name in columns:
                continue
            values = frame[column.name]
            if column.sdtype == "datetime":
                values = pd.to_datetime(values)
            elif column.sdtype == "boolean":
                values = values.map(lambda v: None if pd.isna(v) else bool(v)).astype("boolean")
            elif column.sdtype == "numerical":
                values = values.astype(float)
            out[column.name] = values
            columns[column.name] = column.sdtype
        out.to_parquet(folder / f"{name}.parquet", index=False)
        spec["tables"][name] = {"primary_key": pk, "columns": columns}
    (folder / "tables.json").write_text(json.dumps(spec, indent=1))


def import_from_peer(real_url: str, folder: Path, target_url: str, seed: int) -> dict:
    """A peer's parquet output → the source's DDL in ``target_url``: keys 1..n, PII by Faker, types cast."""
    import numpy as np
    import pandas as pd
    from faker import Faker

    from synthbank.io.writer import write_tables
    from synthbank.schemas import reflect_schema

    schema = reflect_schema(real_url)
    fake = Faker("en_US")
    fake.seed_instance(f"peer output {seed}")  # not the generator's seed: its Faker would redraw the real names
    notes = []
    tables, key_maps = {}, {}
    for name in schema.read_order():
        table = schema.tables[name]
        frame = pd.read_parquet(folder / f"{name}.parquet").reset_index(drop=True)
        (pk,) = table.primary_key
        duplicated = frame[pk].duplicated()
        if duplicated.any():
            notes.append(f"{name}: {int(duplicated.sum())} rows with a repeated {pk} dropped")
        frame = frame[~duplicated].reset_index(drop=True)
        key_maps[name] = pd.Series(np.arange(1, len(frame) + 1), index=frame[pk].to_numpy())
        frame[pk] = np.arange(1, len(frame) + 1)
        for fk in table.foreign_keys:
            (column,) = fk.columns
            mapped = frame[column].map(key_maps[fk.parent])
            orphans = mapped.isna() & frame[column].notna()
            if orphans.any():
                notes.append(f"{name}: {int(orphans.sum())} rows whose {column} matches no synthetic {fk.parent} dropped")
            frame = frame.assign(**{column: mapped})[~orphans].reset_index(drop=True)
            frame[column] = frame[column].astype("Int64")
        n = len(frame)
        for column in table.columns.values():
            if column.name not in frame.columns:
                frame[column.name] = fake_column(fake, column, n) if column.sdtype == "pii" else None
            frame[column.name] = cast_column(frame[column.name], column)
            missing = frame[column.name].isna()
            if not column.nullable and missing.any() and frame[column.name].notna().any():
                # a NULL where the DDL forbids one would fail the whole write: the column's commonest value, noted
                notes.append(f"{name}.{column.name}: {int(missing.sum())} NULLs in a NOT NULL column set to its commonest value")
                frame.loc[missing, column.name] = frame[column.name].mode().iloc[0]
        tables[name] = frame[list(table.columns)]
    report = write_tables(target_url, schema, tables)
    return {"rows": report.rows, "integrity_ok": report.ok, "notes": notes}


def fake_column(fake, column, n: int) -> list:
    makers = {"name": fake.name, "first_name": fake.first_name, "last_name": fake.last_name, "email": fake.email,
              "phone": lambda: fake.numerify("(###) ###-####"), "ssn": fake.ssn, "address": fake.address,
              "street_address": fake.street_address, "city": fake.city, "zipcode": fake.zipcode,
              "date_of_birth": lambda: fake.date_of_birth(minimum_age=18, maximum_age=80),
              "username": fake.user_name, "ip_address": fake.ipv4, "iban": fake.iban,
              "card_number": fake.credit_card_number, "account_number": lambda: fake.numerify("##########")}
    make = makers.get(column.pii, fake.pystr)
    if column.unique:
        make = getattr(fake.unique, make.__name__) if hasattr(fake.unique, getattr(make, "__name__", "")) else make
    return [make() for _ in range(n)]


def cast_column(values, column):
    """Peer values into the SQL type: integers rounded, NUMERIC(p,s) to s decimals, dates, booleans."""
    import re

    import pandas as pd

    kind = column.type.lower()
    if values.isna().all():
        return values.astype(object)
    if column.sdtype == "boolean" or kind.startswith("bool"):  # MOSTLY AI hands categorical booleans back as 'True'/'False'
        return values.map(lambda v: None if pd.isna(v) else v.strip().lower() in ("true", "1") if isinstance(v, str) else bool(v)).astype(object)
    if kind.startswith("integer") or kind.startswith("bigint") or kind.startswith("smallint"):
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    match = re.match(r"numeric\(\d+,\s*(\d+)\)", kind)
    if match:
        return pd.to_numeric(values, errors="coerce").round(int(match.group(1)))
    if kind == "date":
        return pd.to_datetime(values).dt.date.astype(object).where(values.notna(), None)
    if kind.startswith("datetime"):
        return pd.to_datetime(values).dt.floor("s").astype(object).where(values.notna(), None)
    return values


def synthbank_worker(args) -> None:
    """One synthbank contender, timed by phase (run in a child process by --peers)."""
    import resource

    import sdv.multi_table  # noqa: F401  (imported before the clock starts, as the peers import theirs)

    from synthbank.relational.settings import RelationalSettings
    from synthbank.synthesizer import DatabaseSynthesizer

    options = {"text": False}
    if args.engine:
        options["relational"] = RelationalSettings(engine=args.engine)
    start = time.perf_counter()
    synthesizer = DatabaseSynthesizer.from_url(args.source, **options)
    synthesizer.fit()
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = synthesizer.sample(seed=args.seed)
    sample_s = time.perf_counter() - start
    start = time.perf_counter()
    report = synthetic.to_url(args.target)
    write_s = time.perf_counter() - start
    print(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "write_s": write_s, "rows": report.rows,
                      "integrity_ok": report.ok, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def evaluate(real_url: str, synth_url: str, out: Path, seed: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run_measured(synthbank_cmd() + ["evaluate", real_url, synth_url, "--out", str(out), "--seed", str(seed)],
                 out.with_name(out.name + ".evaluate.log"))
    summary = json.loads((out / "report.json").read_text())["summary"]
    summary["evaluate_s"] = time.perf_counter() - start
    return summary


def run_peers(args) -> dict:
    from chain import write_chain

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    real_db, ref_db = work / "real.db", work / "real-seed+1.db"
    sizes = (args.users, args.loans, args.transactions)
    for path, seed in ((real_db, args.seed), (ref_db, args.seed + 1)):
        path.unlink(missing_ok=True)
        write_chain(f"sqlite:///{path}", *sizes, seed=seed)
    real_url = f"sqlite:///{real_db}"
    print(f"chain: {args.users:,} users → {args.loans:,} loans → {args.transactions:,} transactions "
          f"(seed {args.seed}; reference draw seed {args.seed + 1}) in {real_db}", flush=True)

    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if {"fast", "sdv"} & set(contenders):
        support = engine_support()
        if not (support["cli"] if args.synthbank_cli else support["api"]):
            print("note: this synthbank has no engine option yet (CLI --engine / RelationalSettings(engine=)); "
                  "running its default engine once as 'synthbank' instead of 'fast' and 'sdv'", flush=True)
            contenders = [c for c in contenders if c not in ("fast", "sdv")]
            contenders.insert(0, "synthbank")
    results: dict[str, dict] = {}
    data_dir = work / "peer-data"
    if any(c in PEER_VENVS for c in contenders):
        export_for_peers(real_url, data_dir, args.users)
    for name in contenders:
        print(f"→ {LABELS.get(name, name)} …", flush=True)
        target = work / f"{name}.db"
        target.unlink(missing_ok=True)
        load_before = os.getloadavg()[0]
        try:
            if name in PEER_VENVS:
                python = Path(args.peers_dir) / PEER_VENVS[name] / "bin" / "python"
                if not python.exists():
                    raise RuntimeError(f"{python} is missing: run bash benchmarks/peers/{PEER_MAKERS[name]}")
                out_dir = work / f"{name}-out"
                shutil.rmtree(out_dir, ignore_errors=True)
                cmd = [str(python), str(ROOT / "benchmarks" / "peers" / PEER_RUNNERS[name]), "--data", str(data_dir),
                       "--out", str(out_dir), "--seed", str(args.seed)]
                if name == "mostlyai":
                    cmd += ["--max-training-minutes", str(args.mostlyai_minutes), "--workspace", str(work / "mostlyai-home")]
                measured = run_measured(cmd, work / "logs" / f"{name}.log")
                result = last_json_line(measured["stdout"])
                result.update(import_from_peer(real_url, out_dir, f"sqlite:///{target}", args.seed))
            else:
                engine = None if name == "synthbank" else name
                if args.synthbank_cli:
                    cmd = synthbank_cmd() + ["clone", real_url, f"sqlite:///{target}", "--no-text", "--seed", str(args.seed)]
                    cmd += ["--engine", engine] if engine else []
                    measured = run_measured(cmd, work / "logs" / f"{name}.log")
                    result = {"fit_s": None, "sample_s": None, "peak_mb": measured["peak_mb"]}
                else:
                    cmd = [sys.executable, __file__, "--synthbank-worker", "--source", real_url,
                           "--target", f"sqlite:///{target}", "--seed", str(args.seed)]
                    cmd += ["--engine", engine] if engine else []
                    measured = run_measured(cmd, work / "logs" / f"{name}.log")
                    result = last_json_line(measured["stdout"])
            result["wall_s"] = measured["wall_s"]
            # the machine's 1-minute load average before and after: timings taken beside other work are not comparable
            result["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            result["evaluation"] = evaluate(real_url, f"sqlite:///{target}", work / "reports" / name, args.seed)
        except RuntimeError as exc:
            print(f"  {name} FAILED: {exc}", flush=True)
            results[name] = {"error": str(exc)}
            continue
        results[name] = result
        print("  " + line_of(result), flush=True)
    print("→ real-vs-real reference (second draw) …", flush=True)
    results["reference"] = {"evaluation": evaluate(real_url, f"sqlite:///{ref_db}", work / "reports" / "reference", args.seed)}
    print_peers(results)
    out = {"sizes": dict(zip(("users", "loans", "transactions"), sizes)), "seed": args.seed, "code": code_state(),
           "results": results}
    (work / "peers.json").write_text(json.dumps(out, indent=1, default=float))
    print(f"figures written to {work / 'peers.json'}; reports in {work / 'reports'}")
    return out


def _f(value, fmt=".1f"):
    return "—" if value is None else format(value, fmt)


def line_of(result: dict) -> str:
    e = result["evaluation"]
    return (f"fit {_f(result.get('fit_s'))} s, sample {_f(result.get('sample_s'))} s, wall {_f(result['wall_s'])} s, "
            f"peak {_f(result['peak_mb'], '.0f')} MB, quality {_f(e['quality_score'], '.3f')}, "
            f"k-hop {_f(e['k_hop_avg_2way'], '.3f')}, detection {_f(e['detection_accuracy'], '.3f')}"
            + (f", load {result['load'][0]:.1f}→{result['load'][1]:.1f} on {os.cpu_count()} cores" if "load" in result else ""))


def print_peers(results: dict) -> None:
    ok = {k: v for k, v in results.items() if "error" not in v}
    ref = ok["reference"]["evaluation"]
    print("\nusers → loans → transactions, scored by `synthbank evaluate` against the same real chain")
    header = f"{'contender':30}{'fit s':>8}{'sample s':>10}{'fit+smp s':>10}{'wall s':>8}{'peak MB':>9}{'quality':>9}{'k-hop':>8}{'detect':>8}{'integrity':>10}"
    print(header)
    print("-" * len(header))
    for name, r in ok.items():
        e = r["evaluation"]
        total = r["fit_s"] + r["sample_s"] if r.get("fit_s") is not None else None
        print(f"{LABELS.get(name, name):30}{_f(r.get('fit_s')):>8}{_f(r.get('sample_s')):>10}{_f(total):>10}"
              f"{_f(r.get('wall_s')):>8}{_f(r.get('peak_mb'), '.0f'):>9}{_f(e['quality_score'], '.3f'):>9}"
              f"{_f(e['k_hop_avg_2way'], '.3f'):>8}{_f(e['detection_accuracy'], '.3f'):>8}"
              f"{'OK' if e['integrity_ok'] else 'FAILED':>10}")
    print(f"{'real half vs half (evaluate)':30}{'':53}{_f(ref['quality_real_reference'], '.3f'):>9}"
          f"{_f(ref['k_hop_real_reference'], '.3f'):>8}{_f(ref['detection_real_reference'], '.3f'):>8}")
    for name, r in results.items():
        if "error" in r:
            print(f"{LABELS.get(name, name):30} FAILED (see the log under logs/)")
    base = ok.get("sdv137")
    print("\nratios (same run): speed = SDV 1.37.4's seconds / the contender's (higher is faster); "
          "quality and k-hop = score / the reference draw's; detection = accuracy − the reference draw's (0 best)")
    print(f"{'contender':30}{'fit+sample':>11}{'wall':>8}{'peak MB':>9}{'quality':>9}{'k-hop':>8}{'detect':>8}")
    for name, r in ok.items():
        if name == "reference":
            continue
        e = r["evaluation"]
        speed = wall = mem = None
        if base and r.get("fit_s") is not None:
            speed = (base["fit_s"] + base["sample_s"]) / (r["fit_s"] + r["sample_s"])
        if base:
            wall, mem = base["wall_s"] / r["wall_s"], r["peak_mb"] / base["peak_mb"]
        q = e["quality_score"] / ref["quality_score"] if e["quality_score"] and ref["quality_score"] else None
        k = e["k_hop_avg_2way"] / ref["k_hop_avg_2way"] if e["k_hop_avg_2way"] and ref["k_hop_avg_2way"] else None
        d = e["detection_accuracy"] - ref["detection_accuracy"] if e["detection_accuracy"] is not None else None
        times = lambda v: "—" if v is None else f"{v:.2f}×"  # noqa: E731
        print(f"{LABELS.get(name, name):30}{times(speed):>11}{times(wall):>8}{_f(mem, '.2f'):>9}"
              f"{_f(q, '.3f'):>9}{_f(k, '.3f'):>8}{_f(d, '+.3f'):>8}")
    if not base:
        print("(no SDV 1.37.4 figures in this run: speed ratios left out)")


# --- part b: growth ------------------------------------------------------------------------------------
class Databases:
    """Source and target databases per size: SQLite files under the work folder, or PostgreSQL databases."""

    def __init__(self, kind: str, work: Path, postgres_url: str):
        self.kind, self.work, self.postgres_url = kind, work, postgres_url

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.work / (name + '.db')}"
        from sqlalchemy.engine import make_url

        return make_url(self.postgres_url).set(database=f"synthbank_scale_{name}").render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        if self.kind == "sqlite":
            (self.work / f"{name}.db").unlink(missing_ok=True)
            return
        self._admin(f'DROP DATABASE IF EXISTS "synthbank_scale_{name}"')

    def create(self, name: str) -> None:
        if self.kind == "postgresql":
            self._admin(f'CREATE DATABASE "synthbank_scale_{name}"')

    def exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            return (self.work / f"{name}.db").exists()
        import sqlalchemy as sa

        engine = sa.create_engine(self._url("postgres"))
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                          {"n": f"synthbank_scale_{name}"}).first() is not None
        finally:
            engine.dispose()

    def _url(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.postgres_url).set(database=database)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self._url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(statement))
        finally:
            engine.dispose()


def count_rows(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    from synthbank.database import open_engine

    engine = open_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            return {n: connection.execute(sa.select(sa.func.count()).select_from(sa.table(n))).scalar_one() for n in names}
    finally:
        engine.dispose()


def run_growth(args) -> dict:
    work = Path(args.work) / "growth"
    work.mkdir(parents=True, exist_ok=True)
    dbs = Databases(args.db, work, args.postgres_url)
    sizes = [int(s) for s in args.sizes.split(",")]
    engine_flag = []
    if args.engine:
        if not engine_support()["cli"]:
            raise SystemExit(f"this synthbank's clone has no --engine option; run without --engine {args.engine}")
        engine_flag = ["--engine", args.engine]
    runs = []
    for users in sizes:
        source = f"bank_{users}"
        if not dbs.exists(source):
            dbs.create(source)
            print(f"writing the demo bank at {users:,} users …", flush=True)
            run_measured(synthbank_cmd() + ["demo-db", dbs.url(source), "--users", str(users), "--seed", str(args.seed)],
                         work / "logs" / f"demo-db-{users}.log")
        source_rows = count_rows(dbs.url(source))
        variants = [("full", [], 1.0)]
        if users > args.sample_users:
            scale = users / args.sample_users
            variants.append((f"sample {args.sample_users:,}, scale {scale:g}",
                             ["--sample-rows", str(args.sample_users), "--scale", f"{scale:g}"], scale))
        for label, extra, _ in variants:
            target = f"clone_{users}" + ("" if label == "full" else "_sampled")
            dbs.drop(target)
            dbs.create(target)
            print(f"→ clone {users:,} users ({label}) …", flush=True)
            cmd = synthbank_cmd() + ["clone", dbs.url(source), dbs.url(target), "--no-text", "--seed", str(args.seed)] + engine_flag + extra
            load_before = os.getloadavg()[0]
            try:
                measured = run_measured(cmd, work / "logs" / f"{target}.log")
            except RuntimeError as exc:
                print(f"  FAILED: {exc}", flush=True)
                runs.append({"users": users, "variant": label, "error": str(exc)})
                continue
            rows = count_rows(dbs.url(target))
            run = {"users": users, "variant": label, "source_rows": sum(source_rows.values()), "rows": sum(rows.values()),
                   "rows_by_table": rows, "wall_s": measured["wall_s"], "peak_mb": measured["peak_mb"],
                   "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
            run["rows_per_s"] = run["rows"] / run["wall_s"]
            runs.append(run)
            print(f"  {run['rows']:,} rows written in {run['wall_s']:.1f} s = {run['rows_per_s']:,.0f} rows/s, "
                  f"peak {run['peak_mb']:,.0f} MB, load {run['load'][0]:.1f}→{run['load'][1]:.1f}", flush=True)
            if not args.keep:
                dbs.drop(target)
    print_growth(runs)
    out = {"db": args.db, "engine": args.engine, "seed": args.seed, "code": code_state(), "runs": runs}
    (work / "growth.json").write_text(json.dumps(out, indent=1))
    print(f"figures written to {work / 'growth.json'}")
    return out


def print_growth(runs: list[dict]) -> None:
    ok = [r for r in runs if "error" not in r]
    full = {r["users"]: r for r in ok if r["variant"] == "full"}
    base_users = 10_000 if 10_000 in full else (min(full) if full else None)
    print(f"\n`synthbank clone --no-text` of the demo bank, end to end (process start to exit), "
          f"time per row relative to {base_users:,} users" if base_users else "")
    header = f"{'users':>9}  {'variant':28}{'rows written':>14}{'wall s':>9}{'rows/s':>10}{'peak MB':>9}{'s/row rel.':>11}"
    print(header)
    print("-" * len(header))
    base = full.get(base_users)
    for r in ok:
        rel = (r["wall_s"] / r["rows"]) / (base["wall_s"] / base["rows"]) if base else None
        print(f"{r['users']:>9,}  {r['variant']:28}{r['rows']:>14,}{r['wall_s']:>9.1f}{r['rows_per_s']:>10,.0f}"
              f"{r['peak_mb']:>9,.0f}{_f(rel, '.2f'):>11}")
    for r in runs:
        if "error" in r:
            print(f"{r['users']:>9,}  {r['variant']:28} FAILED")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", action="store_true", help="part a: synthbank beside SDV 1.37.4 and MOSTLY AI on the chain")
    parser.add_argument("--growth", action="store_true", help="part b: rows per second and memory as the demo bank grows")
    parser.add_argument("--work", default=str(ROOT / "out" / "bench" / "scale"), help="work folder (default out/bench/scale)")
    parser.add_argument("--seed", type=int, default=0)
    peers = parser.add_argument_group("--peers")
    peers.add_argument("--contenders", default="fast,sdv,sdv137,mostlyai", help="comma-separated: fast, sdv, sdv137, mostlyai")
    peers.add_argument("--users", type=int, default=500)
    peers.add_argument("--loans", type=int, default=1000)
    peers.add_argument("--transactions", type=int, default=10_000)
    peers.add_argument("--peers-dir", default=str(ROOT / "build" / "peers"), help="where make_*.sh put the peer venvs")
    peers.add_argument("--mostlyai-minutes", type=float, default=2.0, help="MOSTLY AI's training cap per table")
    peers.add_argument("--synthbank-cli", action="store_true", help="run synthbank as `synthbank clone` (whole time only)")
    growth = parser.add_argument_group("--growth")
    growth.add_argument("--sizes", default="1000,10000,100000", help="demo bank sizes in users (comma-separated)")
    growth.add_argument("--sample-users", type=int, default=10_000, help="sizes above this also run fit-on-a-sample, sample-at-scale")
    growth.add_argument("--engine", help="pass --engine to synthbank clone (default: synthbank's default)")
    growth.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    growth.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for --db postgresql (databases synthbank_scale_* are created and dropped)")
    growth.add_argument("--keep", action="store_true", help="keep the cloned databases")
    parser.add_argument("--executors", action="store_true",
                        help="part c: in-process vs --workers 2 vs Ray on the demo bank (benchmarks/distributed.py)")
    import distributed
    import formats

    distributed.add_arguments(parser)
    parser.add_argument("--formats", action="store_true",
                        help="part d: SQLite vs DuckDB vs Parquet sources and targets, and a large Parquet file (benchmarks/formats.py)")
    formats.add_arguments(parser)
    parser.add_argument("--synthbank-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthbank_worker:
        synthbank_worker(args)
        return
    if not (args.peers or args.growth or args.executors or args.formats):
        parser.error("choose --peers, --growth, --executors and/or --formats")
    if args.peers:
        run_peers(args)
    if args.executors:
        distributed.run_all(args)
    if args.growth:
        run_growth(args)
    if args.formats:
        formats.run_formats(args, run_measured, synthbank_cmd, code_state)


if __name__ == "__main__":
    main()
