"""Peer runner: SDV's HMASynthesizer on a folder of parquet tables (run it with the SDV 1.37.4 venv).

    build/peers/sdv137/bin/python benchmarks/peers/run_sdv.py --data DIR --out DIR [--seed 0]

DIR holds one ``<table>.parquet`` per table (only the columns to learn: PII and free text are left out) and
``tables.json``: ``{"root": "users", "root_rows": 500, "tables": {name: {"primary_key": col, "columns":
{col: sdtype}}}, "relationships": [{"parent", "parent_key", "child", "child_key"}]}``. Writes one
``<table>.parquet`` per synthetic table into --out and prints one JSON line: fit_s, sample_s, peak_mb (this
process's max RSS), rows, versions. Standalone: it imports nothing from synthbank.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import sdv
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    data_dir, out_dir = Path(args.data), Path(args.out)
    spec = json.loads((data_dir / "tables.json").read_text())
    tables = {name: pd.read_parquet(data_dir / f"{name}.parquet") for name in spec["tables"]}
    metadata = Metadata.load_from_dict({
        "METADATA_SPEC_VERSION": "V1",
        "tables": {name: {"primary_key": t["primary_key"], "columns": {c: {"sdtype": s} for c, s in t["columns"].items()}}
                   for name, t in spec["tables"].items()},
        "relationships": [{"parent_table_name": r["parent"], "parent_primary_key": r["parent_key"],
                           "child_table_name": r["child"], "child_foreign_key": r["child_key"]}
                          for r in spec["relationships"]],
    })
    np.random.seed(args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synthesizer = HMASynthesizer(metadata, verbose=False)
        start = time.perf_counter()
        synthesizer.fit(tables)
        fit_s = time.perf_counter() - start
        # SDV 1.37 samples by scale: root rows = scale × the real root rows
        scale = spec["root_rows"] / len(tables[spec["root"]])
        start = time.perf_counter()
        synthetic = synthesizer.sample(scale=scale)
        sample_s = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in synthetic.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    notes = sorted({str(w.message).splitlines()[0][:200] for w in caught if issubclass(w.category, UserWarning)})
    print(json.dumps({
        "fit_s": fit_s, "sample_s": sample_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": {n: len(f) for n, f in synthetic.items()},
        "versions": {"sdv": sdv.__version__, "python": sys.version.split()[0]},
        "warnings": notes,
    }))


if __name__ == "__main__":
    main()
