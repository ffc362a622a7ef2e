"""Scores of a conditioned (rebalanced) synthetic database.

A database sampled with ``rebalance`` or ``where`` holds another mix of the conditioned column than the real
one, so whole-table fidelity compares it with the wrong mix. For each condition this module reports the
shares (real, requested, synthetic) and compares the conditioned table *within each condition*: the rows of
each named value, and the rows of the other values, against the real rows of the same group (SDMetrics'
column shapes and column pair trends, each beside the same score for one real half against the other).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.evaluation import fidelity
from synthbank.relational.conditions import check_requested, resolve_value
from synthbank.schemas.model import DatabaseSchema

#: Rows a group needs on each side for its within-condition scores.
MIN_GROUP_ROWS = 10
OTHERS = "(other values)"


def resolve(schema: DatabaseSchema, real: dict, rebalance=None, where=None) -> list[dict]:
    """The conditions as evaluated: per condition its table, column and ``{real value: requested share}``."""
    out = []
    for table, column, shares, fixed in check_requested(schema, rebalance, where):
        values = list(pd.Series(real[table][column]).dropna().unique())
        resolved = {resolve_value(v, values, f"{table}.{column}", "real data"): float(s) for v, s in shares.items()}
        out.append({"table": table, "column": column, "shares": resolved, "fixed": fixed})
    return out


def _holds(values: pd.Series, value) -> np.ndarray:
    """Rows equal to ``value``, compared as text (a boolean read back from SQL may be 1 or 'true')."""
    text = values.astype(str).str.strip().str.lower()
    wanted = str(value).strip().lower()
    if isinstance(value, bool | np.bool_):
        wanted = {"true", "1", "t"} if value else {"false", "0", "f"}
        return text.isin(wanted).to_numpy()
    return (text == wanted).to_numpy()


def groups(frame: pd.DataFrame, condition: dict) -> dict[str, np.ndarray]:
    """Row masks of each named value and of the other values."""
    masks = {str(v): _holds(frame[condition["column"]], v) for v in condition["shares"]}
    named = np.zeros(len(frame), dtype=bool)
    for mask in masks.values():
        named |= mask
    if not condition["fixed"]:
        masks[OTHERS] = ~named & frame[condition["column"]].notna().to_numpy()
    return masks


def _group_quality(schema: DatabaseSchema, table: str, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict | None:
    if len(real) < MIN_GROUP_ROWS or len(synthetic) < MIN_GROUP_ROWS:
        return None
    single = schema.subset([table])
    scores = fidelity.sdmetrics_reports(single, {table: real.reset_index(drop=True)},
                                        {table: synthetic.reset_index(drop=True)})["quality"]
    return {"score": scores["score"], **{k: v for k, v in scores["properties"].items()
                                         if k in ("Column Shapes", "Column Pair Trends")}}


def evaluate_conditions(schema: DatabaseSchema, real: dict, synthetic: dict, half_a: dict, half_b: dict,
                        conditions: list[dict]) -> list[dict]:
    """Per condition: the shares and the within-condition quality of its table (see the module's doc)."""
    out = []
    for condition in conditions:
        table = condition["table"]
        real_groups, synthetic_groups = groups(real[table], condition), groups(synthetic[table], condition)
        a_groups, b_groups = groups(half_a[table], condition), groups(half_b[table], condition)
        entry = {"column": f"{table}.{condition['column']}", "condition": "where" if condition["fixed"] else "rebalance",
                 "values": [], "within": {}}
        for value, share in condition["shares"].items():
            entry["values"].append({"value": value.item() if isinstance(value, np.generic) else value,
                                    "requested_share": share,
                                    "real_share": float(real_groups[str(value)].mean()) if len(real[table]) else None,
                                    "synthetic_share": float(synthetic_groups[str(value)].mean()) if len(synthetic[table]) else None})
        for group in real_groups:
            quality = _group_quality(schema, table, real[table][real_groups[group]], synthetic[table][synthetic_groups[group]])
            reference = _group_quality(schema, table, half_a[table][a_groups[group]], half_b[table][b_groups[group]])
            entry["within"][group] = {"real_rows": int(real_groups[group].sum()),
                                      "synthetic_rows": int(synthetic_groups[group].sum()),
                                      "quality": quality, "real_reference": reference}
        out.append(entry)
    return out
