"""Sampling and narratives in one process, in local worker processes and on Ray — side by side in one run.

Run by ``python benchmarks/scale.py --executors`` (or on its own with the same options). The demo bank at
``--bank-users`` (default 10,000) is written to SQLite and learned once (``synthbank fit --no-text``); a text
model is trained once on its complaints (``synthbank complaints train``, ``--text-steps`` steps). Then, each
executor in its own process, one after another:

* tables: ``DatabaseSynthesizer.load(model).sample_to_url(target, seed, executor=…)`` — seconds of that call
  alone (the model is loaded and Ray is started before the clock starts; Ray's start is reported apart),
  rows written per second, and a checksum of every table (the outputs must be the same);
* narratives: ``generate_corpus(text_model, n=--narratives, executor=…)`` — seconds, texts per second and
  new tokens per second, and the texts' checksum.

Executors: ``in-process`` (the plain path), ``workers=1`` (the chunked path through one worker process: its
overhead), ``workers=2`` (two local processes), ``ray`` (a local Ray with ``--cpus`` CPUs; its start and its
workers' first imports are timed apart). The tables run again with ``--block-rows`` rows per block
(``name/rows``): the default 50,000-row blocks give a 10,000-user bank only three blocks to share. Speed-ups
are against in-process with the same blocks, measured in the same run.

    python benchmarks/distributed.py --bank-users 10000 --narratives 500
    python benchmarks/scale.py --executors --narratives 0          # tables only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTORS = ["in-process", "workers=1", "workers=2", "ray"]


def synthbank_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("synthbank")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "synthbank.cli"]


def split_name(name: str) -> tuple[str, int | None]:
    """``workers=2/12000`` → (``workers=2``, 12000 rows per block); without ``/``: the default blocks."""
    executor, _, rows = name.partition("/")
    return executor, int(rows) if rows else None


def warm(_shared, _item) -> int:
    """A task that imports what sampling needs (a Ray worker's first task pays for it otherwise)."""
    import synthbank.relational.synthesizer  # noqa: F401

    return os.getpid()


def make_executor(name: str, cpus: int):
    from synthbank.executors import InProcess, LocalProcesses, RayExecutor

    name, _ = split_name(name)
    if name == "in-process":
        return InProcess()
    if name.startswith("workers="):
        return LocalProcesses(int(name.split("=")[1]))
    if name == "ray":
        return RayExecutor(address="local", num_cpus=cpus)
    raise SystemExit(f"unknown executor {name!r}: one of {', '.join(EXECUTORS)}")


def checksum_tables(url: str) -> str:
    import sqlalchemy as sa

    digest = hashlib.sha256()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        for name in sorted(sa.inspect(engine).get_table_names()):
            for row in connection.execute(sa.text(f'SELECT * FROM "{name}" ORDER BY 1')):
                digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()[:16]


def child_tables(args) -> None:
    from synthbank import DatabaseSynthesizer
    from synthbank.executors import RayExecutor

    model = DatabaseSynthesizer.load(args.model)
    target = Path(args.target)
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    executor = make_executor(args.executor, args.cpus).__enter__()
    if isinstance(executor, RayExecutor):  # start its worker processes and their imports before the clock
        list(executor.map(warm, None, range(2 * executor.workers)))
    startup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        report = model.sample_to_url(f"sqlite:///{target}", seed=args.seed, executor=executor,
                                     block_rows=split_name(args.executor)[1])
        seconds = time.perf_counter() - start
    finally:
        executor.close()
    rows = sum(report.rows.values())
    print(json.dumps({"seconds": seconds, "startup_s": startup, "rows": rows, "rows_per_s": rows / seconds,
                      "checksum": checksum_tables(f"sqlite:///{target}"), "ok": report.ok}))


def child_texts(args) -> None:
    from synthbank.text.corpus import generate_corpus

    executor = make_executor(args.executor, args.cpus)
    start = time.perf_counter()
    executor.__enter__()
    startup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        corpus = generate_corpus(args.text_model, None, n=args.narratives, seed=args.seed, executor=executor,
                                 max_new_tokens=args.max_new_tokens)
        seconds = time.perf_counter() - start
    finally:
        executor.close()
    texts = corpus[corpus.columns[-1]].astype(str).tolist()
    from synthbank.text.synthesizer import TextSynthesizer

    tokenizer = TextSynthesizer.load(args.text_model).tokenizer_
    tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    print(json.dumps({"seconds": seconds, "startup_s": startup, "texts": len(texts), "texts_per_s": len(texts) / seconds,
                      "tokens_per_s": tokens / seconds, "checksum": hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]}))


def run(cmd: list[str], log: Path) -> dict:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                             env={**os.environ, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"})
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {log}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(args, work: Path) -> tuple[Path, Path]:
    bank, model, text_model = work / "bank.db", work / "model", work / "text_model"
    if not bank.exists():
        subprocess.run(synthbank_cmd() + ["demo-db", str(bank), "--users", str(args.bank_users)], check=True, cwd=ROOT)
    if not model.exists():
        print(f"fitting the tables of {bank} …", flush=True)
        subprocess.run(synthbank_cmd() + ["fit", str(bank), "--model", str(model), "--no-text"], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    if args.narratives and not text_model.exists():
        print("training the text model …", flush=True)
        subprocess.run(synthbank_cmd() + ["complaints", "train", "--data", f"sqlite:///{bank}", "--table", "complaints",
                                          "--text", "narrative", "--context", "product,issue", "--model", str(text_model),
                                          "--text-max-steps", str(args.text_steps)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return model, text_model


def run_all(args) -> dict:
    work = Path(args.executors_work)
    work.mkdir(parents=True, exist_ok=True)
    model, text_model = prepare(args, work)
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--seed", str(args.seed), "--cpus", str(args.cpus)]
    results: dict = {"tables": {}, "texts": {}, "users": args.bank_users, "narratives": args.narratives,
                     "max_new_tokens": args.max_new_tokens, "cpus": os.cpu_count()}
    names = args.table_executors.split(",")
    if args.block_rows:
        names += [f"{n}/{args.block_rows}" for n in args.table_executors.split(",") if n != "workers=1"]
    for name in names:
        print(f"→ tables, {name} …", flush=True)
        results["tables"][name] = r = run(me + ["--child", "tables", "--executor", name, "--model", str(model),
                                                "--target", str(work / f"out-{name.replace('/', '-b')}.db"), *common],
                                                work / f"tables-{name.replace('/', '-b')}.log")
        print(f"  {r['seconds']:.1f} s ({r['rows']:,} rows, {r['rows_per_s']:,.0f} rows/s; start {r['startup_s']:.1f} s)", flush=True)
    if args.narratives:
        for name in args.text_executors.split(","):
            print(f"→ {args.narratives} narratives, {name} …", flush=True)
            results["texts"][name] = r = run(me + ["--child", "texts", "--executor", name, "--text-model", str(text_model),
                                                   "--narratives", str(args.narratives), "--max-new-tokens",
                                                   str(args.max_new_tokens), *common], work / f"texts-{name}.log")
            print(f"  {r['seconds']:.1f} s ({r['tokens_per_s']:.0f} tokens/s; start {r['startup_s']:.1f} s)", flush=True)
    (work / "executors.json").write_text(json.dumps(results, indent=1))
    print_results(results)
    return results


def print_results(results: dict) -> None:
    def table(kind: str, unit: str, rate: str):
        entries = results[kind]
        if not entries:
            return
        def base_of(name):
            rows = split_name(name)[1]
            return entries.get("in-process" + (f"/{rows}" if rows else ""))
        what = (f"demo bank at {results['users']:,} users" if kind == "tables" else
                f"{results['narratives']} narratives of at most {results['max_new_tokens']} new tokens")
        print(f"\n{kind}: {what}")
        header = f"{'executor':12}{'seconds':>9}{unit:>14}{'speed-up':>10}{'start s':>9}  same output"
        print(header)
        print("-" * len(header))
        for name, r in entries.items():
            base = base_of(name)
            speed = base["seconds"] / r["seconds"] if base else float("nan")
            same = "yes" if base and r["checksum"] == base["checksum"] else ("—" if not base else "NO")
            print(f"{name:12}{r['seconds']:9.1f}{r[rate]:14,.0f}{speed:9.2f}×{r['startup_s']:9.1f}  {same}")

    table("tables", "rows/s", "rows_per_s")
    table("texts", "tokens/s", "tokens_per_s")
    print(f"\n(one run on {results['cpus']} CPUs; seconds of the sampling call alone, the executor started before the clock)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--child", choices=["tables", "texts"], help=argparse.SUPPRESS)
    parser.add_argument("--executor", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--text-model", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "tables":
        return child_tables(args)
    if args.child == "texts":
        return child_texts(args)
    run_all(args)


def add_arguments(parser) -> None:
    group = parser.add_argument_group("executors (--executors)")
    group.add_argument("--bank-users", dest="bank_users", type=int, default=10_000, help="demo bank size (default 10,000)")
    group.add_argument("--narratives", type=int, default=500, help="texts generated per executor (0: tables only)")
    group.add_argument("--max-new-tokens", type=int, default=128, help="longest narrative in tokens (default 128)")
    group.add_argument("--text-steps", type=int, default=24, help="LoRA steps of the benchmark's text model")
    group.add_argument("--table-executors", default=",".join(EXECUTORS), help="for the tables, comma-separated")
    group.add_argument("--text-executors", default="in-process,workers=2,ray", help="for the narratives")
    group.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    group.add_argument("--block-rows", type=int, default=12_000,
                       help="also run the tables with this many rows per block (0: only the default 50,000)")
    group.add_argument("--executors-work", dest="executors_work", default=str(ROOT / "out" / "bench" / "executors"),
                       help="work folder of this part (default out/bench/executors)")
    if not any(a.dest == "seed" for a in parser._actions):
        parser.add_argument("--seed", type=int, default=0)


if __name__ == "__main__":
    main()
