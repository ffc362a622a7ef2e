"""Referential integrity and structure: keys, orphans, constraint violations, cardinality.

Every check runs on the synthetic tables; the structural ones (children per parent, self-reference and
many-to-many coverage) are compared with the same figure on the real tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema


def children_per_parent(schema: DatabaseSchema, tables: dict[str, pd.DataFrame], child: str, fk) -> np.ndarray:
    """How many ``child`` rows point at each row of the parent (zeros included)."""
    parent_keys = normalized_keys(row_keys(tables[fk.parent], fk.parent_columns))
    counts = normalized_keys(row_keys(tables[child], fk.columns)).value_counts()
    return parent_keys.map(counts).fillna(0).to_numpy(dtype=float)


def integrity(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]) -> dict:
    tables: dict[str, dict] = {}
    for name, table in schema.tables.items():
        frame = synthetic[name]
        entry = {"rows": int(len(frame)), "real_rows": int(len(real[name])), "duplicate_primary_keys": 0,
                 "null_in_not_null": 0, "duplicate_unique": 0}
        if table.primary_key:
            keys = row_keys(frame, table.primary_key)
            entry["duplicate_primary_keys"] = int(keys.duplicated().sum() + keys.isna().sum())
        entry["null_in_not_null"] = int(sum(frame[c].isna().sum() for c, col in table.columns.items()
                                            if not col.nullable and c in frame))
        entry["duplicate_unique"] = int(sum(row_keys(frame, u).dropna().duplicated().sum() for u in table.unique))
        tables[name] = entry

    relationships = []
    for child, fk in schema.relationships():
        keys = normalized_keys(row_keys(synthetic[child], fk.columns))
        parent_keys = set(normalized_keys(row_keys(synthetic[fk.parent], fk.parent_columns)))
        orphans = int((~keys.isin(parent_keys)).sum())
        entry = {"child": child, "columns": fk.columns, "parent": fk.parent, "orphans": orphans,
                 "orphan_share": orphans / len(keys) if len(keys) else 0.0}
        if fk.parent == child:  # self-reference: share of rows that have a parent row
            entry["kind"] = "self-reference"
            entry["real_coverage"] = float(row_keys(real[child], fk.columns).notna().mean()) if len(real[child]) else 0.0
            entry["synthetic_coverage"] = float(row_keys(synthetic[child], fk.columns).notna().mean()) if len(synthetic[child]) else 0.0
        else:
            entry["kind"] = "foreign key"
            real_counts = children_per_parent(schema, real, child, fk)
            synthetic_counts = children_per_parent(schema, synthetic, child, fk)
            entry["children_per_parent"] = {
                "real_mean": float(real_counts.mean()) if len(real_counts) else 0.0,
                "synthetic_mean": float(synthetic_counts.mean()) if len(synthetic_counts) else 0.0,
                "ks_statistic": float(ks_2samp(real_counts, synthetic_counts).statistic)
                if len(real_counts) and len(synthetic_counts) else 1.0,
                # parents with at least one child: for a link table, its coverage of that side
                "real_coverage": float((real_counts > 0).mean()) if len(real_counts) else 0.0,
                "synthetic_coverage": float((synthetic_counts > 0).mean()) if len(synthetic_counts) else 0.0,
            }
        relationships.append(entry)

    link_tables = [name for name, t in schema.tables.items()
                   if len({fk.parent for fk in t.foreign_keys if fk.parent != name}) >= 2
                   and set(t.primary_key) and set(t.primary_key) <= {c for fk in t.foreign_keys for c in fk.columns}]
    problems = sum(t["duplicate_primary_keys"] + t["null_in_not_null"] + t["duplicate_unique"] for t in tables.values())
    orphans = sum(r["orphans"] for r in relationships)
    return {"ok": problems == 0 and orphans == 0, "orphans": orphans, "constraint_violations": problems,
            "tables": tables, "relationships": relationships, "many_to_many_tables": link_tables}
