"""``evaluate(real, synthetic, schema)``: every score of the report, each beside its real reference.

Where the real data can be split (always, unless a table is too small), the real tables are cut in two
halves along the foreign keys, and each fidelity score is also computed for one real half against the
other: "how close to the best possible". A ``holdout`` (real rows the synthesizer never saw) makes the
privacy scores exact (DCR share) and is the test set for utility.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pandas as pd

from synthbank.errors import SynthbankError
from synthbank.evaluation import conditions as conditioned
from synthbank.evaluation import fidelity, integrity, leaks, membership, privacy, risks, rule_report, text_metrics, utility
from synthbank.evaluation.report import Report
from synthbank.evaluation.split import split_tables
from synthbank.io.dataframes import pandas_tables
from synthbank.progress import Progress, report
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)
STEPS = ["integrity", "rules", "quality", "conditions", "k-hop trends", "detection", "text", "privacy", "utility"]


def check_tables(schema: DatabaseSchema, real: dict, synthetic: dict) -> list[str]:
    """Refuse missing tables and columns; return notes on empty tables (their metrics are skipped)."""
    notes = []
    for name, table in schema.tables.items():
        for label, tables in (("real", real), ("synthetic", synthetic)):
            if name not in tables:
                raise SynthbankError(f"The {label} data has no table '{name}'.")
            missing = [c for c in table.columns if c not in tables[name].columns]
            if missing:
                raise SynthbankError(f"The {label} table '{name}' lacks column(s) {', '.join(missing)}.")
        if len(synthetic[name]) == 0 and len(real[name]) > 0:
            notes.append(f"The synthetic table '{name}' is empty although the real one has {len(real[name])} rows.")
        elif len(real[name]) == 0:
            notes.append(f"The real table '{name}' is empty; scores that need its rows leave it out.")
    return notes


def model_dtypes(schema: DatabaseSchema, tables: dict) -> dict[str, pd.DataFrame]:
    """Every table of ``schema`` in the engine's dtypes (:func:`~synthbank.relational.frames.normalize`), so
    that both sides of a comparison hold a value alike: a database gives a flag as 0/1 and an integer with
    NULLs as 5.0, a synthetic database sampled in memory as False/True and 5. Compared as text, those would
    never match, and an exact copy would go uncounted, a classifier would tell the sides apart by them."""
    from synthbank.relational.frames import normalize

    return {name: normalize(tables[name], table) for name, table in schema.tables.items()}


def _guarded(notes: list[str], label: str, compute: Callable, fallback):
    """Run one metric; if it cannot run on this data, say so in the notes and use ``fallback``."""
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 - one metric must not sink the report
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("%s could not be computed: %s", label, message)
        notes.append(f"{label} could not be computed: {message}")
        return fallback


def _category_for(schema: DatabaseSchema, table: str, frame: pd.DataFrame, column: str) -> str | None:
    """The categorical column of the text's own table that the real texts predict best (e.g. product)."""
    from synthbank.text.tables import category_lift

    candidates = [c for c, spec in schema.tables[table].columns.items() if spec.sdtype == "categorical"
                  and 2 <= frame[c].nunique() <= 30]
    texts = frame[column].where(frame[column].notna(), None)
    keep = texts.notna() & (texts.astype(str).str.strip() != "")
    if not candidates or keep.sum() < 20:
        return None
    lifts = {c: category_lift(texts[keep].astype(str), frame.loc[keep, c]) for c in candidates}
    best = max(lifts, key=lifts.get)
    return best if lifts[best] > 0 else None


def evaluate(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], schema: DatabaseSchema, *,
             holdout: dict[str, pd.DataFrame] | None = None, targets: list[str] | None = None, seed: int = 0,
             progress: Progress | None = None, text_models: dict | None = None, rebalance: dict | None = None,
             where: dict | None = None, baseline: dict[str, pd.DataFrame] | None = None,
             sensitive: list[str] | None = None, table_privacy: dict | None = None) -> Report:
    """Score ``synthetic`` against ``real`` (both: table name → DataFrame, following ``schema``).

    ``text_models``: how the synthetic texts' models were trained, per ``table.column``
    (:meth:`DatabaseSynthesizer.describe`'s ``text_training``), reported beside the text scores.
    ``rebalance``/``where``: the conditions the synthetic database was sampled with (as
    :meth:`DatabaseSynthesizer.sample` takes them): their shares are reported beside the real ones, the
    conditioned tables are also compared within each condition, and each rebalanced column is a utility
    target (its first named value the positive class). ``baseline``: another synthetic database (e.g. the
    plain clone), whose utility is reported beside. ``sensitive``: more columns (``table.column``) for the
    inference attack, beside the utility targets and income-like columns. ``table_privacy``: the tables'
    differential-privacy guarantee, as the model directory states it, reported in the privacy section."""
    real, synthetic = pandas_tables(real), pandas_tables(synthetic)  # pandas, Arrow or Polars tables
    holdout = pandas_tables(holdout) if holdout is not None else None
    baseline = pandas_tables(baseline) if baseline is not None else None
    schema = schema.subset([n for n, t in schema.tables.items() if not t.is_excluded])
    notes = check_tables(schema, real, synthetic)
    if holdout is not None:
        check_tables(schema, real, holdout)
    if baseline is not None:
        check_tables(schema, real, baseline)
    real, synthetic = model_dtypes(schema, real), model_dtypes(schema, synthetic)
    holdout = None if holdout is None else model_dtypes(schema, holdout)
    baseline = None if baseline is None else model_dtypes(schema, baseline)
    asked = conditioned.resolve(schema, real, rebalance, where) if rebalance or where else []
    targets = list(targets) if targets is not None else utility.default_targets(schema)
    positives = {}
    for condition in asked:
        name = f"{condition['table']}.{condition['column']}"
        if not condition["fixed"]:
            positives[name] = next(iter(condition["shares"]))
            if name not in targets:
                targets.append(name)
    utility.check_targets(schema, targets)
    utility.check_targets(schema, sensitive or [], "sensitive column")
    half_a, half_b = split_tables(schema, real, 0.5, seed)
    timings: dict[str, float] = {}
    data: dict = {"tables": {n: {"real_rows": len(real[n]), "synthetic_rows": len(synthetic[n])} for n in schema.tables},
                  "holdout": holdout is not None}
    extras: dict = {}

    def step(i: int, name: str):
        if progress:
            report(progress, "evaluating", name, i, len(STEPS))
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 2)

    step(0, "integrity")
    data["integrity"] = integrity.integrity(schema, real, synthetic)
    done("integrity")

    step(1, "rules")
    data["rules"] = _guarded(notes, "The rule check", lambda: rule_report.rule_check(schema, real, synthetic), rule_report.empty_section())
    done("rules")

    step(2, "quality")
    no_report = {"score": None, "properties": {}, "per_table": {}}
    data["quality"] = _guarded(notes, "SDMetrics' reports", lambda: fidelity.sdmetrics_reports(schema, real, synthetic),
                               {"quality": dict(no_report), "diagnostic": dict(no_report)})
    reference = _guarded(notes, "SDMetrics' reports on the real halves", lambda: fidelity.sdmetrics_reports(schema, half_a, half_b),
                         {"quality": dict(no_report), "diagnostic": dict(no_report)})
    data["quality"]["quality"]["real_reference"] = reference["quality"]["score"]
    data["quality"]["quality"]["real_reference_properties"] = reference["quality"]["properties"]
    done("quality")

    step(3, "conditions")
    data["conditions"] = _guarded(notes, "Within-condition scores",
                                  lambda: conditioned.evaluate_conditions(schema, real, synthetic, half_a, half_b, asked), [])
    if asked:
        notes.append("The synthetic database was sampled with conditions: the whole-table scores of "
                     + ", ".join(sorted({c["table"] for c in asked})) + " compare it with the real mix; "
                     "the within-condition scores compare like with like.")
    done("conditions")

    step(4, "k-hop trends")
    no_trends = {"avg_2way": None, "per_hop": {}, "paths": []}
    data["k_hop"] = _guarded(notes, "k-hop trends", lambda: fidelity.k_hop_trends(schema, real, synthetic), no_trends)
    data["k_hop"]["real_reference"] = _guarded(notes, "k-hop trends on the real halves",
                                               lambda: fidelity.k_hop_trends(schema, half_a, half_b), no_trends)["avg_2way"]
    done("k-hop trends")

    step(5, "detection")
    c2st = _guarded(notes, "Detection (C2ST)", lambda: fidelity.c2st_agg(schema, real, synthetic, seed), {})
    c2st_reference = _guarded(notes, "Detection (C2ST) on the real halves", lambda: fidelity.c2st_agg(schema, half_a, half_b, seed), {})
    for name, entry in c2st.items():
        entry["real_reference_accuracy"] = c2st_reference.get(name, {}).get("accuracy")
    data["detection"] = c2st
    flat = _guarded(notes, "Detection per table (flat C2ST)", lambda: fidelity.c2st_flat(schema, real, synthetic, seed), {})
    flat_reference = _guarded(notes, "Detection per table on the real halves",
                              lambda: fidelity.c2st_flat(schema, half_a, half_b, seed), {})
    for name, entry in flat.items():
        entry["real_reference_accuracy"] = flat_reference.get(name, {}).get("accuracy")
    data["detection_per_table"] = flat
    done("detection")

    step(6, "text")
    data["text"] = {}
    for name, table in schema.tables.items():
        for column in table.columns_of("text"):
            category = _category_for(schema, name, real[name], column)
            result = _guarded(notes, f"Text scores of {name}.{column}",
                              lambda: text_metrics.compare_texts(real[name], synthetic[name], column, category, seed), {})
            extras[f"embeddings:{name}.{column}"] = result.pop("embeddings", None)
            if text_models and f"{name}.{column}" in text_models:
                result["training"] = text_models[f"{name}.{column}"]
            data["text"][f"{name}.{column}"] = result
    done("text")

    step(7, "privacy")
    data["privacy"] = {"tables": {}, "pii_leaks": leaks.scan(schema, real, synthetic, schema.rare_threshold), "text_copying": {}}
    for name in schema.tables:
        entry = privacy.dcr(schema, name, real[name], synthetic[name], holdout[name] if holdout else None, seed)
        if entry is None:
            continue
        extras[f"dcr:{name}"] = (entry.pop("synthetic_dcr"), entry.pop("holdout_dcr"))
        entry["exact_copy_share"] = privacy.exact_copies(schema, name, real[name], synthetic[name])
        entry["real_reference_exact_copy_share"] = privacy.exact_copies(schema, name, half_a[name], half_b[name])
        data["privacy"]["tables"][name] = entry
    for name, table in schema.tables.items():
        for column in table.columns_of("text"):
            if holdout is not None:
                copying = privacy.text_copying(real[name][column], synthetic[name][column], holdout[name][column])
            else:
                copying = privacy.text_copying(real[name][column], synthetic[name][column], None)
                copying["holdout_share"] = privacy.text_copying(half_a[name][column], half_b[name][column], None)["synthetic_share"]
                copying["note"] = "reference: one real half against the other"
            data["privacy"]["text_copying"][f"{name}.{column}"] = copying
    data["privacy"]["gdpr_risks"] = _guarded(notes, "The re-identification risks (Anonymeter)", lambda: risks.gdpr_risks(
        schema, real, synthetic, holdout, targets, sensitive or [], seed), {"note": "could not be computed (see notes)"})
    data["privacy"]["membership_inference"] = _guarded(notes, "Membership inference", lambda: membership.membership_inference(
        schema, real, synthetic, holdout, seed), {"note": "could not be computed (see notes)"})
    if table_privacy:
        data["privacy"]["differential_privacy"] = table_privacy
    done("privacy")

    step(8, "utility")
    data["utility"] = []
    for target in targets:
        skipped = {"target": target, "note": "could not be computed (see notes)"}
        options = {"positive": positives.get(target), "baseline": baseline}
        if holdout is not None:
            data["utility"].append(_guarded(notes, f"Utility {target}", lambda: utility.tstr(schema, real, holdout, synthetic, target, seed,
                                                                                             **options), skipped))
        else:
            train, test = split_tables(schema, real, 0.7, seed + 1)
            entry = _guarded(notes, f"Utility {target}", lambda: utility.tstr(schema, train, test, synthetic, target, seed, **options),
                             skipped)
            entry.setdefault("note", "tested on 30% of the real rows, which the synthesizer may have seen (no holdout given)")
            data["utility"].append(entry)
    done("utility")
    if progress:
        report(progress, "evaluating", "", len(STEPS), len(STEPS))
    data["seconds"] = timings
    data["notes"] = notes
    return Report(data, schema, real, synthetic, extras)
