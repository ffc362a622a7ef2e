"""The evaluation result: ``report.json`` (documented in the README) and a self-contained ``report.html``."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 1


def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


class Report:
    """Scores (``.data``, the content of report.json) plus what the HTML plots need."""

    def __init__(self, data: dict, schema, real: dict, synthetic: dict, extras: dict):
        self.data = _clean(data)
        self.schema, self.real, self.synthetic, self.extras = schema, real, synthetic, extras
        self.data = {"schema_version": SCHEMA_VERSION, "summary": self._summary(), **self.data}

    def _summary(self) -> dict:
        """The headline numbers. ``rule_break_share``: the share of all synthetic rows (every table) that
        break a rule every real row obeys; ``rule_break_per_kind``: per rule kind, the share of the synthetic
        rows of the tables with rules of that kind that break one of them (see ``rule_report.rule_check``)."""
        d = self.data
        rules = d.get("rules") or {}
        quality = d["quality"]["quality"]
        detection = [e["accuracy"] for e in d["detection"].values()]
        detection_ref = [e["real_reference_accuracy"] for e in d["detection"].values() if e.get("real_reference_accuracy") is not None]
        privacy_tables = d["privacy"]["tables"].values()
        copies = max(privacy_tables, key=lambda e: e["exact_copy_share"] or 0.0, default=None)  # the table with most
        summary = {
            "integrity_ok": d["integrity"]["ok"],
            "orphan_foreign_keys": d["integrity"]["orphans"],
            "constraint_violations": d["integrity"]["constraint_violations"],
            "quality_score": quality["score"], "quality_real_reference": quality.get("real_reference"),
            "diagnostic_score": d["quality"]["diagnostic"]["score"],
            "k_hop_avg_2way": d["k_hop"]["avg_2way"], "k_hop_real_reference": d["k_hop"]["real_reference"],
            "detection_accuracy": float(np.mean(detection)) if detection else None,
            "detection_real_reference": float(np.mean(detection_ref)) if detection_ref else None,
            "rule_break_share": rules.get("synthetic_rows_breaking"),
            "rule_break_per_kind": rules.get("per_kind") or {},
            "detection_per_table": {name: e["accuracy"] for name, e in d.get("detection_per_table", {}).items()},
            "detection_per_table_real_reference": {name: e.get("real_reference_accuracy")
                                                   for name, e in d.get("detection_per_table", {}).items()},
            "pii_leaks": d["privacy"]["pii_leaks"]["total"],
            "exact_copy_share": copies["exact_copy_share"] if copies else None,
            # in a table of few distinct rows (a year, a rating, a flag) most rows equal some real row: one real
            # half scored against the other says how many copies such a table has anyway
            "exact_copy_real_reference": copies.get("real_reference_exact_copy_share") if copies else None,
            "dcr_share": (float(np.mean([e["dcr_share"] for e in privacy_tables if "dcr_share" in e]))
                          if any("dcr_share" in e for e in privacy_tables) else None),
            "reidentification_risk": (d["privacy"].get("gdpr_risks") or {}).get("worst"),
            "membership_inference": (d["privacy"].get("membership_inference") or {}).get("worst"),
            "dp_epsilon": (d["privacy"].get("differential_privacy") or {}).get("epsilon"),
            "text": {k: {"mauve": v.get("scores", {}).get("mauve", {}).get("synthetic"),
                         "mauve_real_reference": v.get("scores", {}).get("mauve", {}).get("real_reference"),
                         "category_accuracy": v.get("category_consistency", {}).get("synthetic_accuracy"),
                         "category_real_reference": v.get("category_consistency", {}).get("real_holdout_accuracy"),
                         "length_ks": v.get("scores", {}).get("length_ks", {}).get("synthetic"),
                         "length_ks_real_reference": v.get("scores", {}).get("length_ks", {}).get("real_reference"),
                         "ended_share": v.get("synthetic", {}).get("ended_share"),
                         "ended_share_real": v.get("real", {}).get("ended_share"),
                         "dp_epsilon": ((v.get("training") or {}).get("dp") or {}).get("epsilon"),
                         "dp_delta": ((v.get("training") or {}).get("dp") or {}).get("delta")}
                     for k, v in d["text"].items()},
            "utility": {u["target"]: u.get("roc_auc_ratio") for u in d["utility"]},
            "utility_scores": {u["target"]: {f"{metric}_{side}": (u.get(f"train_{side}") or {}).get(metric)
                                             for metric in ("roc_auc", "recall_at_1pct_fpr")
                                             for side in ("real", "synthetic", "baseline") if f"train_{side}" in u}
                               for u in d["utility"]},
            "conditions": [{"column": c["column"], "value": v["value"], "requested_share": v["requested_share"],
                            "real_share": v["real_share"], "synthetic_share": v["synthetic_share"],
                            "within_quality": _mean([g["quality"]["score"] for g in c["within"].values() if g["quality"]]),
                            "within_quality_real_reference": _mean([g["real_reference"]["score"] for g in c["within"].values()
                                                                    if g["real_reference"]])}
                           for c in d.get("conditions") or [] for v in c["values"]],
        }
        return _clean(summary)

    @property
    def summary(self) -> dict:
        return self.data["summary"]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1)

    def save(self, directory: str | Path) -> Path:
        """Write ``report.json`` and ``report.html`` into ``directory`` (replaced only when complete)."""
        from synthbank.evaluation.html import render_html

        directory = Path(directory)
        staging = directory.with_name(f".{directory.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            (staging / "report.json").write_text(self.to_json())
            (staging / "report.html").write_text(render_html(self), encoding="utf-8")
            directory.mkdir(parents=True, exist_ok=True)
            for name in ("report.json", "report.html"):
                (staging / name).replace(directory / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return directory
