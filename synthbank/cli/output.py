"""What the commands print: the schema, the write report, the evaluation's headline scores, how a model was
trained and its differential-privacy guarantee.
"""

from __future__ import annotations

from collections import Counter

from rich.table import Table as RichTable

from synthbank.cli.console import console
from synthbank.schemas import types


def print_conditions(conditions: list[dict]) -> None:
    """Per conditioned value, one line: the share written, the share asked for and the real share."""
    for c in conditions:
        real = "" if c["real_share"] is None else f"; real {c['real_share']:.1%}"
        console.print(f"Condition {c['column']} = {c['value']}: {c['achieved_share']:.1%} of {c['rows']:,} rows "
                      f"(asked {c['requested_share']:.1%}{real}).", markup=False, highlight=False, soft_wrap=True)


def print_write_report(report, target: str, synthesizer) -> None:
    from synthbank.database import display_url, normalize_url

    table = RichTable(title=f"Written to {display_url(normalize_url(target))}", title_justify="left")
    for header in ("table", "rows", "orphan FKs", "duplicate keys", "NULL in NOT NULL"):
        table.add_column(header, justify="right" if header != "table" else "left")
    for name, check in report.tables.items():
        table.add_row(name, f"{check.rows:,}", str(check.orphan_fks), str(check.duplicate_unique), str(check.null_violations))
    console.print(table)
    console.print("Integrity: every foreign key resolves and every key is unique." if report.ok
                  else "[bold red]Integrity check failed[/]: see the table above.")
    print_conditions(getattr(report, "conditions", []))
    described = synthesizer.describe()
    for model in sorted(set(described["text_models"].values())):
        columns = [c for c, m in described["text_models"].items() if m == model]
        console.print(f"Free text written by the LoRA-tuned {model} model: {', '.join(columns)}.")
    for column, training in described["text_training"].items():
        console.print(text_training_line(column, training), markup=False, highlight=False, soft_wrap=True)
    if described["empty_text_columns"]:
        console.print(f"Free-text columns left empty (NULL, or '' where NOT NULL): {', '.join(described['empty_text_columns'])}.")
    if described["unsupported_columns"]:
        console.print(f"Columns synthbank cannot learn (written as NULL or a constant): {', '.join(described['unsupported_columns'])}.")
    if described.get("binary_columns"):
        console.print(f"Binary columns written as random bytes of the real lengths: {', '.join(described['binary_columns'])}.")
    if described.get("rules"):
        kinds = Counter(rule.kind for rule in synthesizer.relational_.schema_.rules)
        console.print(f"Kept in every synthetic row: {len(described['rules'])} rules every real row obeys "
                      f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}; `synthbank schema SOURCE` lists them).",
                      markup=False, highlight=False)
    if described.get("differential_privacy"):
        console.print(dp_line(described["differential_privacy"]), markup=False, highlight=False, soft_wrap=True)
    for note in described.get("notes") or []:
        console.print(f"Note: {note}", markup=False, highlight=False)


def dp_line(dp: dict) -> str:
    """One sentence on the differential-privacy guarantee of a model: the totals and each part's share."""
    parts = ", ".join(f"{name} {part['epsilon']:.2f}" for name, part in dp["parts"].items() if part["epsilon"] > 0)
    return (f"Differentially private: epsilon {dp['epsilon']:.2f}, delta {dp['delta']:.2g}, the unit being {dp['unit']}; "
            f"epsilon by part: {parts}.")


_STOPPED = {"steps": "all planned steps", "time": "time budget spent", "early": "validation loss stopped improving",
            "budget": "DP budget spent"}


def text_training_line(column: str, training: dict) -> str:
    """One sentence on how a text model was trained: steps, why it stopped, speed, and the DP guarantee."""
    validation = "" if training.get("validation_loss") is None else f", validation loss {training['validation_loss']:.2f}"
    dp = training.get("dp")
    privacy = (f"; differentially private: epsilon {dp['epsilon']:.2f} (asked {dp['target_epsilon']:g}), delta {dp['delta']:g}"
               if dp else "; not differentially private (--text-dp-epsilon trains with DP-SGD)")
    return (f"Text model {column}: {training['texts']:,} texts, {training['steps']} steps ({_STOPPED.get(training['stopped'], training['stopped'])}), "
            f"{training['tokens_per_second']:.0f} tokens/s{validation}{privacy}.")


def print_summary(summary: dict) -> None:
    """The headline scores of an evaluation as a table."""
    def f(value):
        return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    table = RichTable(title="Evaluation (each score beside one real half scored against the other)", title_justify="left")
    for header in ("score", "synthetic", "real reference"):
        table.add_column(header, justify="left" if header == "score" else "right")
    table.add_row("integrity", "OK" if summary["integrity_ok"] else "FAILED",
                  f"{summary['orphan_foreign_keys']} orphan FKs, {summary['constraint_violations']} violations")
    table.add_row("quality (SDMetrics)", f(summary["quality_score"]), f(summary["quality_real_reference"]))
    table.add_row("diagnostic (SDMetrics)", f(summary["diagnostic_score"]), "")
    table.add_row("k-hop AVG 2-way", f(summary["k_hop_avg_2way"]), f(summary["k_hop_real_reference"]))
    table.add_row("detection accuracy (0.5 best)", f(summary["detection_accuracy"]), f(summary["detection_real_reference"]))
    references = summary.get("detection_per_table_real_reference") or {}
    for name, accuracy in (summary.get("detection_per_table") or {}).items():
        table.add_row(f"detection {name}, own columns", f(accuracy), f(references.get(name)))
    if summary.get("rule_break_share") is not None:
        kinds = ", ".join(f"{k} {v:.1%}" for k, v in (summary.get("rule_break_per_kind") or {}).items() if v)
        table.add_row("rows breaking a rule every real row obeys" + (f" ({kinds})" if kinds else ""),
                      f"{summary['rule_break_share']:.2%}", "0.00%")
    for column, text in summary["text"].items():
        table.add_row(f"MAUVE {column}", f(text["mauve"]), f(text["mauve_real_reference"]))
        table.add_row(f"category accuracy {column}", f(text["category_accuracy"]), f(text["category_real_reference"]))
        table.add_row(f"length KS {column} (0 best)", f(text["length_ks"]), f(text["length_ks_real_reference"]))
        table.add_row(f"texts ended {column}", f(text["ended_share"]), f(text["ended_share_real"]))
        if text.get("dp_epsilon") is not None:
            table.add_row(f"DP epsilon {column}", f(text["dp_epsilon"]), f"delta {text['dp_delta']:g}")
    table.add_row("PII leaks", str(summary["pii_leaks"]), "0")
    table.add_row("exact-copy share", f(summary["exact_copy_share"]), f(summary.get("exact_copy_real_reference")))
    table.add_row("DCR share (0.5 best)", f(summary["dcr_share"]), "needs --holdout" if summary["dcr_share"] is None else "")
    risk, mia = summary.get("reidentification_risk"), summary.get("membership_inference")
    table.add_row("re-identification risk, worst (0 best)", f"{risk['risk']:.3f} {risk['verdict']}" if risk else "—",
                  "needs --holdout" if risk is None else f"95% interval {risk['ci'][0]:.2f}–{risk['ci'][1]:.2f}")
    table.add_row("membership inference AUC, worst (0.5 best)", f"{mia['auc']:.3f} {mia['verdict']}" if mia else "—",
                  "needs --holdout" if mia is None else f"95% interval {mia['ci'][0]:.2f}–{mia['ci'][1]:.2f}")
    if summary.get("dp_epsilon") is not None:
        table.add_row("tables: differential privacy epsilon", f(summary["dp_epsilon"]), "")
    for c in summary.get("conditions") or []:
        table.add_row(f"share {c['column']}={c['value']} (asked {c['requested_share']:.2f})", f(c["synthetic_share"]),
                      f"{f(c['real_share'])} real")
        table.add_row(f"quality within {c['column']} groups", f(c["within_quality"]), f(c["within_quality_real_reference"]))
    for target, ratio in summary["utility"].items():
        table.add_row(f"utility {target} (ROC-AUC ratio)", f(ratio), "1.000")
        scores = summary.get("utility_scores", {}).get(target, {})
        if scores.get("recall_at_1pct_fpr_synthetic") is not None:
            table.add_row(f"recall@1%FPR {target}", f(scores["recall_at_1pct_fpr_synthetic"]),
                          f"{f(scores.get('recall_at_1pct_fpr_real'))} real-trained")
        if "roc_auc_baseline" in scores:
            table.add_row(f"ROC-AUC {target}", f(scores["roc_auc_synthetic"]), f"{f(scores['roc_auc_baseline'])} baseline")
            table.add_row(f"recall@1%FPR {target}", f(scores.get("recall_at_1pct_fpr_synthetic")),
                          f"{f(scores.get('recall_at_1pct_fpr_baseline'))} baseline")
    console.print(table)


def print_schema(schema, *, details: bool = False) -> None:
    overview = RichTable(title="Tables", title_justify="left")
    for header in ("table", "rows", "primary key", "foreign keys", "PII columns", "free text"):
        overview.add_column(header, overflow="fold")
    for table in schema.tables.values():
        fks = [f"{', '.join(fk.columns)} → {fk.parent}({', '.join(fk.parent_columns)})" for fk in table.foreign_keys]
        pii = [f"{c.name} ({c.pii})" for c in table.columns.values() if c.is_pii]
        overview.add_row(table.name, f"{table.row_count:,}" if table.row_count is not None else "?",
                         ", ".join(table.primary_key) or "—", "\n".join(fks) or "—",
                         "\n".join(pii) or "—", ", ".join(table.columns_of("text")) or "—")
    console.print(overview)
    if getattr(schema, "locale", None):
        console.print(f"Fake names, streets and cities follow the locale {schema.locale} (from the people's names; "
                      "change `locale:` in the schema file).")
    if details:
        for table in schema.tables.values():
            columns = RichTable(title=f"{table.name}", title_justify="left")
            for header in ("column", "type", "sdtype", "pii", "nullable", "unique", "why personal / format"):
                columns.add_column(header)
            for c in table.columns.values():
                columns.add_row(c.name, c.type, c.sdtype, c.pii or "", "yes" if c.nullable else "no", "yes" if c.unique else "",
                                c.reason or (f"format {c.format}" if c.format else ""))
            console.print(columns)
    unsupported = [f"{t.name}.{c}" for t in schema.tables.values() for c in t.columns_of("unsupported")
                   if types.base_name(t.columns[c].type) != "binary"]
    binary = [f"{t.name}.{c}" for t in schema.tables.values() for c in t.columns_of("unsupported")
              if types.base_name(t.columns[c].type) == "binary"]
    if unsupported:
        console.print(f"Columns synthbank cannot learn (written as NULL): {', '.join(unsupported)}.")
    if binary:
        console.print(f"Binary columns (never learned; written as random bytes of the real lengths): {', '.join(binary)}.")
    if schema.rules:
        rules = RichTable(title="Rules every row obeys (kept by every synthetic row; edit `rules:` in the schema file)",
                          title_justify="left")
        for header in ("kind", "rule", "rows"):
            rules.add_column(header, overflow="fold")
        for rule in schema.rules:
            rules.add_row(rule.kind, str(rule), f"{rule.support:,}" if rule.support is not None else "")
        console.print(rules)
