"""The report's ``rules`` section: on the real tables, the rules every real row obeys, found by the
evaluation's own discovery (:mod:`~synthbank.evaluation.rule_discovery`), and how many real and synthetic
rows break them; beside them the "round values" statistic. The rules themselves, how tables are read
and how a row is judged live in :mod:`~synthbank.evaluation.rules`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.evaluation.rule_discovery import find_rules
from synthbank.evaluation.rules import MIN_ROWS, TableValues, encode, judge, links
from synthbank.schemas.model import DatabaseSchema

ROUND_STEPS = (1000, 100, 25)
ROUND_SHARE = 0.2  # a round step is reported where at least this share of the real (non-zero) values are on it


def empty_section() -> dict:
    """The section when the check cannot run."""
    return {"rules": [], "tables": {}, "synthetic_rows_breaking": None, "real_rows_breaking": None,
            "per_kind": {}, "round_values": [], "capped": False}


def _obeying(judged: np.ndarray, broken: np.ndarray) -> float | None:
    return float(1 - broken.sum() / judged.sum()) if judged.sum() else None


def _share(broken: int, rows: int) -> float | None:
    return broken / rows if rows else None


def _multiples(values: np.ndarray, step: int) -> float | None:
    """Share of the set, non-zero values that are multiples of ``step``."""
    values = values[~np.isnan(values) & (values != 0)]
    if not len(values):
        return None
    scaled = values / step
    return float((np.abs(scaled - np.round(scaled)) <= 1e-6).mean())


def round_values(real: dict[str, TableValues], synthetic: dict[str, TableValues]) -> list[dict]:
    """Per number column and round step, the real and synthetic shares of values on it (where the real share
    is at least :data:`ROUND_SHARE`, among at least 20 non-zero values)."""
    out = []
    for table, v in real.items():
        for column, values in v.numbers.items():
            if column in v.dates or ((values != 0) & ~np.isnan(values)).sum() < MIN_ROWS:
                continue
            for step in ROUND_STEPS:
                share = _multiples(values, step)
                if share is not None and share >= ROUND_SHARE:
                    out.append({"table": table, "column": column, "step": step, "real_share": share,
                                "synthetic_share": _multiples(synthetic[table].numbers[column], step)})
    return out


def rule_check(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]) -> dict:
    """The ``rules`` section of report.json (both sides in the engine's dtypes, see ``model_dtypes``):

    ``rules``: per rule its kind, table, columns (and kind's details), ``real_share``/``synthetic_share``
    (rows obeying it among the rows it applies to) and ``rows``/``synthetic_rows`` (how many it applies to);
    ``tables``: per table its rule count and the shares of its real and synthetic rows that break any rule;
    ``synthetic_rows_breaking``/``real_rows_breaking``: the same over every row of every table;
    ``per_kind``: per rule kind, the share of the synthetic rows (of the tables with rules of that kind)
    that break a rule of that kind; ``round_values``: see :func:`round_values`; ``capped``: the rules were
    more than :data:`~synthbank.evaluation.rule_discovery.MAX_RULES` and only the first are listed."""
    real_values = {name: encode(real[name], table) for name, table in schema.tables.items()}
    synthetic_values = {name: encode(synthetic[name], table, real_values[name]) for name, table in schema.tables.items()}
    sides = {"real": (real_values, links(schema, real)), "synthetic": (synthetic_values, links(schema, synthetic))}
    rules, capped = find_rules(schema, real_values, sides["real"][1])
    breaking = {side: {n: np.zeros(values[n].rows, dtype=bool) for n in schema.tables} for side, (values, _) in sides.items()}
    by_kind: dict[str, dict[str, np.ndarray]] = {}
    entries = []
    for rule in rules:
        entry = rule.describe(schema)
        for side, (values, links_) in sides.items():
            judged, broken = judge(rule, values, links_)
            entry[f"{side}_share"] = _obeying(judged, broken)
            entry["rows" if side == "real" else "synthetic_rows"] = int(judged.sum())
            breaking[side][rule.table] |= broken
            if side == "synthetic":
                kind = by_kind.setdefault(rule.kind.value, {})
                kind[rule.table] = kind.get(rule.table, np.zeros(len(broken), dtype=bool)) | broken
        entries.append(entry)
    counts = {name: sum(rule.table == name for rule in rules) for name in schema.tables}
    tables = {name: {"rules": counts[name],
                     "synthetic_rows_breaking": _share(int(breaking["synthetic"][name].sum()), synthetic_values[name].rows),
                     "real_rows_breaking": _share(int(breaking["real"][name].sum()), real_values[name].rows)}
              for name in schema.tables}
    totals = {side: _share(sum(int(b.sum()) for b in breaking[side].values()), sum(values[n].rows for n in schema.tables))
              for side, (values, _) in sides.items()}
    per_kind = {kind: _share(sum(int(b.sum()) for b in masks.values()), sum(len(b) for b in masks.values()))
                for kind, masks in by_kind.items()}
    return {"rules": entries, "tables": tables, "synthetic_rows_breaking": totals["synthetic"],
            "real_rows_breaking": totals["real"], "per_kind": per_kind,
            "round_values": round_values(real_values, synthetic_values), "capped": capped}
