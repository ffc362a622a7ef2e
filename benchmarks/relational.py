"""synthbank's windowed HMA vs SDV's HMASynthesizer, side by side on the same demo bank, in one run.

SDV 2.0 refuses the full demo bank (users → loans → transactions is depth 3), so SDV gets the depth-2 part
it accepts: users → loans and users → complaints (complaints.loan_id dropped). synthbank runs on that same
part and on the whole bank. Each contender runs in its own subprocess (peak memory = its max RSS); quality
is SDMetrics' QualityReport on the common part (Column Shapes, Column Pair Trends, Cardinality, Intertable
Trends), real vs synthetic, with the same metadata for everyone.

    python benchmarks/relational.py --users 300
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
COMMON = ["users", "loans", "complaints"]


def common_metadata():
    """SDV metadata for the depth-2 part (PII and text columns left out, as synthbank never learns them)."""
    from synthbank.demo_bank import demo_schema
    from synthbank.schemas import to_sdv_metadata

    schema = demo_schema().subset(COMMON)
    schema.tables["complaints"].foreign_keys = [fk for fk in schema.tables["complaints"].foreign_keys if fk.parent == "users"]
    del schema.tables["complaints"].columns["loan_id"]
    return to_sdv_metadata(schema).metadata


def restrict(tables, metadata):
    spec = metadata.to_dict()["tables"]
    return {name: tables[name][list(spec[name]["columns"])].copy() for name in spec}


def worker(kind: str, users: int, seed: int, out_path: str) -> None:
    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.relational.frames import normalize

    real = generate_demo_bank(users=users, seed=seed)
    schema = demo_schema()
    if kind == "sdv":
        from sdv.multi_table import HMASynthesizer

        metadata = common_metadata()
        data = restrict({n: normalize(real[n], schema.tables[n]) for n in COMMON}, metadata)
        synthesizer = HMASynthesizer(metadata, verbose=False)
        start = time.perf_counter()
        synthesizer.fit(data)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synthetic = synthesizer.sample(num_rows=len(data["users"]), main_table_name="users")
        sample_s = time.perf_counter() - start
    else:
        import sdv.multi_table  # noqa: F401  (imported before timing, as for SDV above)

        from synthbank.relational.synthesizer import RelationalSynthesizer

        names = list(schema.tables) if kind == "synthbank-full" else COMMON
        sub = schema.subset(names)
        synthesizer = RelationalSynthesizer(sub, leaf_models=kind != "synthbank-common-no-leaf-models")
        start = time.perf_counter()
        synthesizer.fit({n: real[n] for n in names})
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        synthetic = synthesizer.sample(seed=1)
        sample_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_path).write_bytes(pickle.dumps({"fit_s": fit_s, "sample_s": sample_s, "peak_mb": peak_mb,
                                             "synthetic": {n: synthetic[n] for n in COMMON}}))


def quality(real, synthetic, metadata) -> dict:
    from sdmetrics.reports import QualityReport

    from synthbank.demo_bank import demo_schema
    from synthbank.relational.frames import normalize

    schema = demo_schema()
    real = restrict({n: normalize(real[n], schema.tables[n]) for n in COMMON}, metadata)
    synthetic = restrict({n: normalize(synthetic[n], schema.tables[n]) for n in COMMON}, metadata)
    report = QualityReport()
    report.generate(real, synthetic, metadata.to_dict(), verbose=False)
    scores = report.get_properties().set_index("Property")["Score"].to_dict()
    scores["Overall"] = report.get_score()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.users, args.seed, args.out)
        return

    from synthbank.demo_bank import generate_demo_bank

    real = generate_demo_bank(users=args.users, seed=args.seed)
    print(f"demo bank: {', '.join(f'{len(f):,} {n}' for n, f in real.items())}", flush=True)
    metadata = common_metadata()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sdv", "synthbank-common", "synthbank-common-no-leaf-models", "synthbank-full"):
            out = Path(tmp) / f"{kind}.pkl"
            subprocess.run([sys.executable, __file__, "--worker", kind, "--users", str(args.users),
                            "--seed", str(args.seed), "--out", str(out)], check=True)
            result = pickle.loads(out.read_bytes())
            result["quality"] = quality(real, result.pop("synthetic"), metadata)
            results[kind] = result
            print(f"{kind}: fit {result['fit_s']:.1f} s, sample {result['sample_s']:.1f} s, peak {result['peak_mb']:.0f} MB, "
                  f"quality {result['quality']['Overall']:.3f}", flush=True)

    properties = ["Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends", "Overall"]
    print("\nSDMetrics quality on users, loans, complaints (higher is better)")
    print(f"{'contender':32}" + "".join(f"{p:>20}" for p in properties))
    for kind, result in results.items():
        print(f"{kind:32}" + "".join(f"{result['quality'][p]:>20.3f}" for p in properties))
    sdv, mine = results["sdv"], results["synthbank-common"]
    print("\nratios synthbank-common / sdv (same tables, same run)")
    for key in ("fit_s", "sample_s", "peak_mb"):
        print(f"  {key:10} {mine[key] / sdv[key]:.2f}")
    print(f"  {'total_s':10} {(mine['fit_s'] + mine['sample_s']) / (sdv['fit_s'] + sdv['sample_s']):.2f}")
    print(f"  {'quality':10} {mine['quality']['Overall'] / sdv['quality']['Overall']:.3f}")
    full = results["synthbank-full"]
    print(f"synthbank-full (all 4 tables, depth 3, which SDV refuses): fit {full['fit_s']:.1f} s, sample {full['sample_s']:.1f} s")
    print(json.dumps({k: {kk: vv for kk, vv in v.items()} for k, v in results.items()}, default=float))


if __name__ == "__main__":
    main()
