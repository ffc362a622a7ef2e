"""Utility: train on synthetic, test on real (TSTR).

For a target column (default: boolean columns named like default/fraud/churn/charged-off), a
gradient-boosted classifier is trained on the synthetic rows and, for reference, on real training rows;
both are tested on the same real held-out rows. Features are the table's learned columns and those of
the parent its first foreign key points to.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError
from synthbank.evaluation.fidelity import as_numbers, learned_columns, one_openmp_thread
from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema

_TARGET_NAME = re.compile(r"(default|fraud|churn|charged_?off|delinquen|is_bad|bad_loan)", re.IGNORECASE)
MAX_ROWS = 50_000
MAX_CATEGORIES = 250
OTHER = "(other)"


def default_targets(schema: DatabaseSchema) -> list[str]:
    return [f"{t}.{c}" for t, table in schema.tables.items() for c, col in table.columns.items()
            if col.sdtype in ("boolean", "categorical") and _TARGET_NAME.search(c)]


def check_targets(schema: DatabaseSchema, targets: list[str], what: str = "utility target") -> None:
    for target in targets:
        table, _, column = target.partition(".")
        if table not in schema.tables or column not in schema.tables[table].columns:
            raise SynthbankError(f"The {what} '{target}' does not exist; name it as table.column "
                                 f"(e.g. {', '.join(default_targets(schema)[:2]) or 'loans.default'}).")


def features(schema: DatabaseSchema, tables: dict, table: str, target: str) -> pd.DataFrame:
    """The classifier's inputs for ``table.target``: the table's learned columns but the target, and those of
    the parent its first foreign key points to (as ``parent.column``); numbers as numbers, the rest as text."""
    frame = tables[table]
    out = pd.DataFrame(index=frame.index)
    for column in learned_columns(schema, table):
        if column == target:
            continue
        sdtype = schema.tables[table].columns[column].sdtype
        numbers = as_numbers(frame[column], sdtype)
        out[column] = numbers if numbers is not None else frame[column].astype(str)
    fks = [fk for fk in schema.tables[table].foreign_keys if fk.parent != table]
    if fks:
        fk = fks[0]
        parent = tables[fk.parent]
        keys = normalized_keys(row_keys(frame, fk.columns)).reindex(frame.index)
        parent_keys = normalized_keys(row_keys(parent, fk.parent_columns))
        position = pd.Series(np.arange(len(parent_keys)), index=parent_keys.to_numpy())
        position = position[~position.index.duplicated()]
        rows = keys.map(position)
        for column in learned_columns(schema, fk.parent):
            sdtype = schema.tables[fk.parent].columns[column].sdtype
            values = parent.loc[parent_keys.index, column].reset_index(drop=True)
            numbers = as_numbers(values, sdtype)
            source = numbers if numbers is not None else values.astype(str)
            out[f"{fk.parent}.{column}"] = rows.map(source).to_numpy()
    return out


def positive_class(labels: list[str]) -> str:
    classes = sorted(labels)
    return next((c for c in classes if c.lower() in ("true", "1", "yes")), classes[-1])


def as_categories(reference: pd.DataFrame, *others: pd.DataFrame) -> None:
    """Text columns → pandas categories (in place), the ``MAX_CATEGORIES`` most common of ``reference`` kept
    and the rest as one "(other)": gradient boosting takes at most 255 categories."""
    for c in reference.columns:
        if reference[c].dtype == object:
            common = list(reference[c].value_counts().index[:MAX_CATEGORIES])
            for frame in (reference, *others):
                frame[c] = pd.Categorical(frame[c].where(frame[c].isin(common), OTHER), categories=[*common, OTHER])


def recall_at_fpr(truth: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """The share of positives scored above the threshold that lets ``fpr`` of the negatives through."""
    negatives, positives = scores[~truth], scores[truth]
    if not len(negatives) or not len(positives):
        return float("nan")
    threshold = np.quantile(negatives, 1 - fpr, method="higher")
    return float((positives > threshold).mean())


def classifier_scores(x: pd.DataFrame, y: np.ndarray, x_test: pd.DataFrame, truth: np.ndarray, seed: int = 0) -> dict:
    """A gradient-boosted classifier trained on ``x``/``y`` (booleans: the positive class) and scored on the
    test rows: ROC-AUC, accuracy and the recall at 1% false positives."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    empty = {"roc_auc": None, "accuracy": None, "recall_at_1pct_fpr": None}
    if len(set(np.asarray(y).tolist())) < 2:
        return empty
    usable = [c for c in x.columns if x[c].notna().any()]  # a column NULL in every training row says nothing
    if not usable:
        return empty
    model = HistGradientBoostingClassifier(max_iter=200, categorical_features="from_dtype", random_state=seed)
    with one_openmp_thread():
        model.fit(x[usable].head(MAX_ROWS), np.asarray(y)[:MAX_ROWS])
        proba = model.predict_proba(x_test[usable])[:, 1]
    return {"roc_auc": float(roc_auc_score(truth, proba)), "accuracy": float(accuracy_score(truth, proba >= 0.5)),
            "recall_at_1pct_fpr": recall_at_fpr(truth, proba, 0.01)}


def tstr(schema: DatabaseSchema, real_train: dict, real_test: dict, synthetic: dict, target: str, seed: int = 0, *,
         positive: str | None = None, baseline: dict | None = None) -> dict:
    """Train on real and on synthetic rows, test both on the same real rows. ``positive``: the class to score
    (default: true/1/yes, else the last); ``baseline``: another synthetic database (e.g. the plain clone
    beside a rebalanced one), scored the same way as ``train_baseline``."""
    table, _, column = target.partition(".")
    sides = [real_train, real_test, synthetic, *([baseline] if baseline is not None else [])]
    labels = [t[table][column].astype(str) for t in sides]
    frames = [features(schema, t, table, column) for t in sides]
    y_train, y_test, y_syn = labels[:3]
    if len(set(y_test)) < 2:
        return {"target": target, "note": "the real test rows hold one class only"}
    if positive is not None:
        positive = next((c for c in set(y_train) | set(y_test) if c.strip().lower() == str(positive).strip().lower()), str(positive))
    else:
        positive = positive_class(list(set(y_train) | set(y_test)))
    as_categories(frames[0], *frames[1:])
    truth = (y_test == positive).to_numpy()
    real_scores = classifier_scores(frames[0], (y_train == positive).to_numpy(), frames[1], truth, seed)
    synthetic_scores = classifier_scores(frames[2], (y_syn == positive).to_numpy(), frames[1], truth, seed)
    ratio = (synthetic_scores["roc_auc"] / real_scores["roc_auc"]
             if synthetic_scores["roc_auc"] and real_scores["roc_auc"] else None)
    out = {"target": target, "positive_class": positive, "test_rows": int(len(y_test)),
           "positive_share_real": float((y_test == positive).mean()),
           "positive_share_synthetic": float((y_syn == positive).mean()) if len(y_syn) else None,
           "train_real": real_scores, "train_synthetic": synthetic_scores, "roc_auc_ratio": ratio}
    if baseline is not None:
        out["train_baseline"] = classifier_scores(frames[3], (labels[3] == positive).to_numpy(), frames[1], truth, seed)
        out["positive_share_baseline"] = float((labels[3] == positive).mean()) if len(labels[3]) else None
    return out
