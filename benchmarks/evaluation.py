"""How long the evaluation takes, and what its headline scores look like for "perfect" synthetic data:
the demo bank scored against a disjoint real half of itself (split along the foreign keys), optionally
also against a synthbank clone fitted on the first half (with the second half as holdout).

    python benchmarks/evaluation.py --users 1000 [--clone] [--out report-dir]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clone", action="store_true", help="also fit synthbank (tables and text) on one half and score it")
    parser.add_argument("--out", help="write the report(s) here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from synthbank.demo_bank import demo_schema, generate_demo_bank
    from synthbank.evaluation import evaluate
    from synthbank.evaluation.split import split_tables

    schema = demo_schema()
    tables = generate_demo_bank(users=args.users, seed=args.seed)
    train, holdout = split_tables(schema, tables, 0.5, args.seed)
    print("rows:", {n: (len(train[n]), len(holdout[n])) for n in schema.tables}, "(first half, second half)")

    start = time.perf_counter()
    report = evaluate(train, holdout, schema)
    print(f"real half vs real half: evaluation took {time.perf_counter() - start:.1f} s; per step {report.data['seconds']}")
    print(json.dumps(report.summary, indent=1))
    if args.out:
        report.save(os.path.join(args.out, "real-vs-real"))

    if args.clone:
        from synthbank.synthesizer import DatabaseSynthesizer

        start = time.perf_counter()
        synthesizer = DatabaseSynthesizer(schema).fit(train)
        fitted = time.perf_counter() - start
        synthetic = synthesizer.sample(seed=args.seed)
        print(f"synthbank on the first half: fit {fitted:.0f} s, sample {time.perf_counter() - start - fitted:.0f} s")
        start = time.perf_counter()
        report = evaluate(train, synthetic, schema, holdout=holdout)
        print(f"synthbank vs real (holdout = second half): evaluation took {time.perf_counter() - start:.1f} s; per step {report.data['seconds']}")
        print(json.dumps(report.summary, indent=1))
        if args.out:
            report.save(os.path.join(args.out, "synthbank"))


if __name__ == "__main__":
    main()
