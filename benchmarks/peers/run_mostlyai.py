"""Peer runner: the MOSTLY AI SDK in local mode (TabularARGN, CPU, offline) on a folder of parquet tables.

    build/peers/mostlyai/bin/python benchmarks/peers/run_mostlyai.py --data DIR --out DIR [--seed 0]
        [--max-training-minutes 2] [--workspace DIR]

DIR as for run_sdv.py (``<table>.parquet`` + ``tables.json``). Each foreign key is a context foreign key
(users → loans → transactions: every child table is a sequence in its parent's context; a table's further
foreign keys, such as complaints → loans beside complaints → users, are plain links); the column
encodings follow the sdtypes (categorical and boolean → TABULAR_CATEGORICAL, numerical →
TABULAR_NUMERIC_AUTO, datetime → TABULAR_DATETIME); each table trains for at most
--max-training-minutes; the model and data reports are switched off (they are evaluation, not
synthesis). Prints one JSON line: fit_s (``train``), sample_s (``generate`` + fetching the data), peak_mb,
rows, versions. Standalone: it imports nothing from synthbank.

Memory: local mode runs its HTTP server in this process and starts every training and generation job as a
separate Python process (``subprocess.Popen``, never waited for), so this process's ru_maxrss misses the
jobs. A thread samples the process tree every 0.2 s: peak_mb is the largest sum of the tree's PSS seen
(this process and its running jobs together, shared pages counted once; at least main_peak_mb), job_peak_mb the largest VmHWM (kernel-kept peak RSS) of any
job process, main_peak_mb this process's own ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path


class TreeMemory:
    """Peak memory of this process and all its descendants, sampled in a thread (psutil)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.me, self.interval = psutil.Process(), interval
        self.tree_peak, self.job_peak = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TreeMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in [self.me, *self.me.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss  # PSS: shared pages (torch's libraries) counted once
                    if proc.pid != self.me.pid:
                        self.job_peak = max(self.job_peak, _vm_hwm(proc.pid))
                except Exception:  # noqa: BLE001 - a job may end between listing and reading
                    continue
            self.tree_peak = max(self.tree_peak, total)
            self._stop.wait(self.interval)


def _vm_hwm(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0

ENCODINGS = {"categorical": "TABULAR_CATEGORICAL", "boolean": "TABULAR_CATEGORICAL",
             "numerical": "TABULAR_NUMERIC_AUTO", "datetime": "TABULAR_DATETIME"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-training-minutes", type=float, default=2.0)
    parser.add_argument("--workspace", help="MOSTLY AI's local home (default: a fresh folder beside --out)")
    args = parser.parse_args()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")

    import importlib.metadata

    import pandas as pd
    import torch
    from mostlyai.sdk import MostlyAI

    data_dir, out_dir = Path(args.data), Path(args.out)
    workspace = Path(args.workspace) if args.workspace else out_dir.with_name(out_dir.name + "-mostlyai-home")
    shutil.rmtree(workspace, ignore_errors=True)
    spec = json.loads((data_dir / "tables.json").read_text())
    tables = {name: pd.read_parquet(data_dir / f"{name}.parquet") for name in spec["tables"]}
    parents: dict[str, list] = {}  # per child, its foreign keys: the first is its context, the others plain links
    for r in spec["relationships"]:
        parents.setdefault(r["child"], []).append(r)

    config_tables = []
    for name, table in spec["tables"].items():
        keys = {table["primary_key"]} | {r["child_key"] for r in parents.get(name, [])}
        entry = {
            "name": name,
            "data": tables[name],
            "primary_key": table["primary_key"],
            "columns": [{"name": c} if c in keys else {"name": c, "model_encoding_type": ENCODINGS[s]}
                        for c, s in table["columns"].items()],
            "tabular_model_configuration": {"max_training_time": args.max_training_minutes, "enable_model_report": False},
        }
        if name in parents:
            entry["foreign_keys"] = [{"column": r["child_key"], "referenced_table": r["parent"], "is_context": i == 0}
                                     for i, r in enumerate(parents[name])]
        config_tables.append(entry)

    memory = TreeMemory().start()
    mostly = MostlyAI(local=True, local_dir=str(workspace), quiet=True)
    start = time.perf_counter()
    generator = mostly.train(config={"name": "chain", "random_state": args.seed, "tables": config_tables},
                             start=True, wait=True, progress_bar=False)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    dataset = mostly.generate(generator, config={
        "random_state": args.seed,
        "tables": [{"name": name, "configuration": {"enable_data_report": False,
                                                    **({"sample_size": spec["root_rows"]} if name == spec["root"] else {})}}
                   for name in spec["tables"]],
    }, progress_bar=False)
    synthetic = dataset.data(return_type="dict")
    sample_s = time.perf_counter() - start
    memory.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in synthetic.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    main_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "fit_s": fit_s, "sample_s": sample_s,
        "peak_mb": max(memory.tree_peak / 2**20, main_peak_mb),
        "job_peak_mb": memory.job_peak / 2**20,
        "main_peak_mb": main_peak_mb,
        "rows": {n: len(f) for n, f in synthetic.items()},
        "versions": {"mostlyai": importlib.metadata.version("mostlyai"),
                     "mostlyai-engine": importlib.metadata.version("mostlyai-engine"),
                     "torch": torch.__version__, "python": sys.version.split()[0]},
        "torch_threads": torch.get_num_threads(),
        "max_training_minutes": args.max_training_minutes,
    }))


if __name__ == "__main__":
    main()
