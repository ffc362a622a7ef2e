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


def check_targets(schema: DatabaseSchema, targets: list[str]) -> None:
    for target in targets:
        table, _, column = target.partition(".")
        if table not in schema.tables or column not in schema.tables[table].columns:
            raise SynthbankError(f"The utility target '{target}' does not exist; name it as table.column "
                                 f"(e.g. {', '.join(default_targets(schema)[:2]) or 'loans.default'}).")


def _features(schema: DatabaseSchema, tables: dict, table: str, target: str) -> pd.DataFrame:
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


def tstr(schema: DatabaseSchema, real_train: dict, real_test: dict, synthetic: dict, target: str, seed: int = 0) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score

    table, _, column = target.partition(".")
    y_train, y_test, y_syn = (t[table][column].astype(str) for t in (real_train, real_test, synthetic))
    x_train, x_test, x_syn = (_features(schema, t, table, column) for t in (real_train, real_test, synthetic))
    classes = sorted(set(y_train) | set(y_test))
    if len(set(y_test)) < 2:
        return {"target": target, "note": "the real test rows hold one class only"}
    positive = next((c for c in classes if c.lower() in ("true", "1", "yes")), classes[-1])
    for c in x_train.columns:
        if x_train[c].dtype == object:  # gradient boosting takes at most 255 categories: keep the common ones
            common = list(x_train[c].value_counts().index[:MAX_CATEGORIES])
            for frame in (x_train, x_test, x_syn):
                frame[c] = pd.Categorical(frame[c].where(frame[c].isin(common), OTHER), categories=[*common, OTHER])

    def fit_score(x, y):
        if len(set(y)) < 2:
            return {"roc_auc": None, "accuracy": None}
        usable = [c for c in x.columns if x[c].notna().any()]  # a column NULL in every training row says nothing
        if not usable:
            return {"roc_auc": None, "accuracy": None}
        model = HistGradientBoostingClassifier(max_iter=200, categorical_features="from_dtype", random_state=seed)
        with one_openmp_thread():
            model.fit(x[usable].head(MAX_ROWS), (y == positive).head(MAX_ROWS))
            proba = model.predict_proba(x_test[usable])[:, 1]
        truth = (y_test == positive).to_numpy()
        return {"roc_auc": float(roc_auc_score(truth, proba)), "accuracy": float(accuracy_score(truth, proba >= 0.5))}

    real_scores, synthetic_scores = fit_score(x_train, y_train), fit_score(x_syn, y_syn)
    ratio = (synthetic_scores["roc_auc"] / real_scores["roc_auc"]
             if synthetic_scores["roc_auc"] and real_scores["roc_auc"] else None)
    return {"target": target, "positive_class": positive, "test_rows": int(len(y_test)),
            "positive_share_real": float((y_test == positive).mean()),
            "positive_share_synthetic": float((y_syn == positive).mean()) if len(y_syn) else None,
            "train_real": real_scores, "train_synthetic": synthetic_scores, "roc_auc_ratio": ratio}
