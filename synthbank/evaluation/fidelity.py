"""Column and relational fidelity: SDMetrics' reports, k-hop trends and detection with aggregation.

- SDMetrics' unified ``QualityReport`` (Column Shapes, Column Pair Trends, Cardinality, Intertable Trends)
  and ``DiagnosticReport`` over the whole schema, with per-table breakdowns.
- **k-hop trends** (ClavaDDPM, Pang et al. 2024): for every foreign-key path of length k, the rows at its
  two ends are joined and every column pair (one column per end) is scored as SDMetrics scores a pair —
  numeric pairs by correlation similarity ``1 - |ρ_real - ρ_synthetic| / 2``, other pairs by contingency
  similarity ``1 - TVD`` of their joint distribution (numbers binned by the real quintiles). Reported per
  hop, and pooled over all hops as "AVG 2-way".
- **C2ST-Agg** (SyntheRela, Hudovernik et al. 2024): every parent row gets its own columns plus, per
  foreign key, its child count, the distinct counts of the children's categorical columns and the means of
  their numeric columns; a gradient-boosted classifier separates real from synthetic parents with 5-fold
  stratified cross-validation. Accuracy 0.5 = indistinguishable; a binomial test gives the p-value.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import LEARNED_SDTYPES, SDV_SDTYPES

log = logging.getLogger(__name__)

MAX_ROWS = 20_000  # rows per table and side that the joined and classifier metrics use
MAX_HOPS = 3


def learned_columns(schema: DatabaseSchema, table: str) -> list[str]:
    return [c for c, col in schema.tables[table].columns.items() if col.sdtype in LEARNED_SDTYPES]


def as_numbers(values: pd.Series, sdtype: str) -> pd.Series | None:
    if sdtype == "numerical":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if sdtype == "datetime":
        stamps = pd.to_datetime(values, errors="coerce", utc=True)
        return pd.Series(stamps.astype("int64").where(stamps.notna()) / 1e9, index=values.index, dtype="float64")
    return None


def sdmetrics_frames(schema, tables):
    out = {}
    for name in schema.tables:
        keep = [c for c, col in schema.tables[name].columns.items() if col.sdtype in SDV_SDTYPES]
        frame = tables[name][keep].copy()
        for column in keep:
            sdtype = schema.tables[name].columns[column].sdtype
            if sdtype == "datetime":
                frame[column] = pd.to_datetime(frame[column], errors="coerce", utc=True).dt.tz_localize(None)
            elif sdtype == "numerical":  # one dtype on both sides: SDMetrics' Data Structure compares dtypes
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
            elif sdtype in ("categorical", "boolean"):
                frame[column] = frame[column].astype(object)
            elif sdtype == "id":  # keys as strings (object dtype even when all NULL: SDMetrics joins keys by dtype)
                frame[column] = pd.Series([None if pd.isna(v) else str(int(v)) if isinstance(v, float) and v.is_integer()
                                           else str(v) for v in frame[column]], index=frame.index, dtype=object)
        out[name] = frame
    return out


def sdmetrics_reports(schema: DatabaseSchema, real: dict, synthetic: dict) -> dict:
    """SDMetrics' QualityReport and DiagnosticReport: scores, properties and per-table breakdowns."""
    from sdmetrics.reports import DiagnosticReport, QualityReport

    from synthbank.schemas.sdv_metadata import to_sdv_metadata

    metadata = to_sdv_metadata(schema).metadata.to_dict()
    real_frames, synthetic_frames = sdmetrics_frames(schema, real), sdmetrics_frames(schema, synthetic)
    out = {}
    for label, cls in (("quality", QualityReport), ("diagnostic", DiagnosticReport)):
        report = cls()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate(real_frames, synthetic_frames, metadata, verbose=False)
        properties = report.get_properties()
        entry = {"score": float(report.get_score()),
                 "properties": {row["Property"]: _float(row["Score"]) for _, row in properties.iterrows()},
                 "per_table": {}}
        for prop in entry["properties"]:
            details = report.get_details(prop)
            table_column = next((c for c in ("Table", "Child Table") if c in details.columns), None)
            score_column = next((c for c in details.columns if c.lower() == "score"), None)
            if table_column and score_column:
                for table, score in details.groupby(table_column)[score_column].mean().items():
                    entry["per_table"].setdefault(table, {})[prop] = _float(score)
        out[label] = entry
    return out


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- k-hop trends ----------------------------------------------------------------------------------
def fk_paths(schema: DatabaseSchema, max_hops: int = MAX_HOPS) -> list[list[tuple[str, object]]]:
    """Every chain child → parent → … of 1..max_hops foreign keys (self-references left out)."""
    paths = []

    def extend(path):
        paths.append(path)
        if len(path) == max_hops:
            return
        table = path[-1][1].parent
        for fk in schema.tables[table].foreign_keys:
            if fk.parent != table and fk.parent not in [t for t, _ in path]:
                extend(path + [(table, fk)])

    for name, table in schema.tables.items():
        for fk in table.foreign_keys:
            if fk.parent != name:
                extend([(name, fk)])
    return paths


def _join_path(tables: dict, path) -> pd.DataFrame:
    """Rows of the path's first table joined to the ancestor at its end (columns prefixed 'a.' / 'b.')."""
    start = path[0][0]
    frame = tables[start].head(MAX_ROWS).add_prefix("a.")
    current = "a."
    for i, (_child, fk) in enumerate(path):
        parent = tables[fk.parent]
        prefix = "b." if i == len(path) - 1 else f"h{i}."
        left_keys = normalized_keys(row_keys(frame, [current + c for c in fk.columns]).rename("_k"))
        right = parent.add_prefix(prefix)
        right_keys = normalized_keys(row_keys(right, [prefix + c for c in fk.parent_columns])).rename("_k")
        frame = frame.loc[left_keys.index].assign(_k=left_keys.to_numpy())
        right = right.loc[right_keys.index].assign(_k=right_keys.to_numpy()).drop_duplicates("_k")
        frame = frame.merge(right, on="_k", how="inner").drop(columns="_k")
        current = prefix
    return frame


def _pair_score(real_x, real_y, syn_x, syn_y, x_sdtype, y_sdtype) -> float | None:
    rx, ry = as_numbers(real_x, x_sdtype), as_numbers(real_y, y_sdtype)
    sx, sy = as_numbers(syn_x, x_sdtype), as_numbers(syn_y, y_sdtype)
    if rx is not None and ry is not None:
        real_corr = pd.concat([rx, ry], axis=1).corr().iloc[0, 1]
        syn_corr = pd.concat([sx, sy], axis=1).corr().iloc[0, 1]
        if pd.isna(real_corr) or pd.isna(syn_corr):
            return None
        return float(1 - abs(real_corr - syn_corr) / 2)

    def discrete(real_values, syn_values, numbers_real, numbers_syn):
        if numbers_real is None:
            return real_values.astype(str), syn_values.astype(str)
        edges = np.unique(np.nanquantile(numbers_real.dropna(), np.linspace(0, 1, 6))) if numbers_real.notna().any() else np.array([0.0])
        def cut(values):
            return pd.Series(np.searchsorted(edges[1:-1], values.fillna(np.inf), side="right"), index=values.index).astype(str)

        return cut(numbers_real), cut(numbers_syn)

    ax, bx = discrete(real_x, syn_x, rx, sx)
    ay, by = discrete(real_y, syn_y, ry, sy)
    p = pd.crosstab(ax, ay, normalize=True).stack()
    q = pd.crosstab(bx, by, normalize=True).stack()
    joint = pd.concat([p, q], axis=1).fillna(0)
    return float(1 - 0.5 * (joint.iloc[:, 0] - joint.iloc[:, 1]).abs().sum())


def k_hop_trends(schema: DatabaseSchema, real: dict, synthetic: dict, max_hops: int = MAX_HOPS) -> dict:
    """Per hop count: mean pair score, number of pairs, and per path; plus the pooled AVG 2-way."""
    per_hop: dict[int, list[float]] = {}
    paths_out = []
    for path in fk_paths(schema, max_hops):
        start, end = path[0][0], path[-1][1].parent
        a_columns, b_columns = learned_columns(schema, start), learned_columns(schema, end)
        if not a_columns or not b_columns:
            continue
        real_joined, syn_joined = _join_path(real, path), _join_path(synthetic, path)
        if real_joined.empty or syn_joined.empty:
            continue
        scores = []
        for a in a_columns:
            for b in b_columns:
                score = _pair_score(real_joined["a." + a], real_joined["b." + b], syn_joined["a." + a], syn_joined["b." + b],
                                    schema.tables[start].columns[a].sdtype, schema.tables[end].columns[b].sdtype)
                if score is not None:
                    scores.append(score)
        if scores:
            hops = len(path)
            per_hop.setdefault(hops, []).extend(scores)
            label = " → ".join([start] + [fk.parent for _, fk in path])
            paths_out.append({"path": label, "hops": hops, "pairs": len(scores), "score": float(np.mean(scores))})
    pooled = [s for scores in per_hop.values() for s in scores]
    return {"avg_2way": float(np.mean(pooled)) if pooled else None,
            "per_hop": {str(k): {"score": float(np.mean(v)), "pairs": len(v)} for k, v in sorted(per_hop.items())},
            "paths": paths_out}


# --- C2ST with aggregation ---------------------------------------------------------------------------
def aggregated_features(schema: DatabaseSchema, tables: dict, parent: str) -> pd.DataFrame:
    """The parent's own columns plus, per foreign key into it, child counts, distinct counts and means."""
    spec = schema.tables[parent]
    frame = tables[parent]
    features = pd.DataFrame(index=frame.index)
    for column in learned_columns(schema, parent):
        sdtype = spec.columns[column].sdtype
        numbers = as_numbers(frame[column], sdtype)
        features[column] = numbers if numbers is not None else frame[column].astype(str)
    for child, fk in schema.relationships():
        if fk.parent != parent or child == parent:
            continue
        keys = normalized_keys(row_keys(frame, fk.parent_columns))
        child_frame = tables[child]
        child_keys = normalized_keys(row_keys(child_frame, fk.columns))
        child_frame = child_frame.loc[child_keys.index].assign(_k=child_keys.to_numpy())
        grouped = child_frame.groupby("_k")
        name = f"{child}[{','.join(fk.columns)}]"
        features[f"{name}.count"] = keys.map(grouped.size()).reindex(frame.index).fillna(0)
        for column in learned_columns(schema, child):
            sdtype = schema.tables[child].columns[column].sdtype
            numbers = as_numbers(child_frame[column], sdtype)
            if numbers is not None:
                stat = numbers.groupby(child_frame["_k"]).mean()
                features[f"{name}.{column}.mean"] = keys.map(stat).reindex(frame.index)
            else:
                stat = grouped[column].nunique()
                features[f"{name}.{column}.distinct"] = keys.map(stat).reindex(frame.index).fillna(0)
    return features


def one_openmp_thread():
    """Gradient boosting on one OpenMP thread. On small tables threads gain nothing, and once torch (another
    OpenMP runtime) has run in the process, two thread pools on 2 cores made each fit 5-8x slower
    (C2ST 19 s instead of 2.4 s on the demo bank)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def classifier_test(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> dict | None:
    """C2ST on two feature frames: CV predictions of a gradient-boosted real-vs-synthetic classifier on at
    most :data:`MAX_ROWS` rows a side (equal numbers); None when there are too few rows or no feature."""
    from scipy.stats import binomtest
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n = min(len(real), len(synthetic), MAX_ROWS)
    if n < 10:
        return None
    rng = seeding.rng(seed, "evaluation", "c2st")
    r = real.iloc[rng.choice(len(real), n, replace=False)]
    s = synthetic.iloc[rng.choice(len(synthetic), n, replace=False)]
    data = pd.concat([r, s], ignore_index=True)
    data = data.loc[:, data.notna().any()]  # a feature NULL on both sides (all-NULL column, no children)
    if data.shape[1] == 0:
        return None
    for column in data.columns:
        if data[column].dtype == object:  # gradient boosting takes at most 255 categories
            common = data[column].value_counts().index[:250]
            data[column] = data[column].where(data[column].isin(common), "(other)").astype("category")
    labels = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=seed)
    with one_openmp_thread():
        predicted = cross_val_predict(model, data, labels, cv=StratifiedKFold(5, shuffle=True, random_state=seed))
    correct = int((predicted == labels).sum())
    return {"accuracy": correct / len(labels), "rows_per_side": n, "features": int(data.shape[1]),
            "p_value": float(binomtest(correct, len(labels), 0.5, alternative="greater").pvalue)}


def own_features(schema: DatabaseSchema, tables: dict, name: str) -> pd.DataFrame:
    """A table's own learned columns (numbers and instants as numbers, the rest as text), no keys, no children."""
    spec, frame = schema.tables[name], tables[name]
    features = pd.DataFrame(index=frame.index)
    for column in learned_columns(schema, name):
        numbers = as_numbers(frame[column], spec.columns[column].sdtype)
        features[column] = numbers if numbers is not None else frame[column].astype(str)
    return features


def c2st_flat(schema: DatabaseSchema, real: dict, synthetic: dict, seed: int = 0) -> dict:
    """Per table with learned columns: :func:`classifier_test` on its own columns alone (the "flat" C2ST)."""
    out = {}
    for name in schema.tables:
        if not learned_columns(schema, name):
            continue
        result = classifier_test(own_features(schema, real, name), own_features(schema, synthetic, name), seed)
        if result is not None:
            out[name] = result
    return out


def c2st_agg(schema: DatabaseSchema, real: dict, synthetic: dict, seed: int = 0) -> dict:
    """Per table with children: :func:`classifier_test` on the table's columns and its children's aggregates."""
    out = {}
    parents = sorted({fk.parent for child, fk in schema.relationships() if fk.parent != child})
    for parent in parents:
        result = classifier_test(aggregated_features(schema, real, parent), aggregated_features(schema, synthetic, parent), seed)
        if result is not None:
            out[parent] = result
    return out
