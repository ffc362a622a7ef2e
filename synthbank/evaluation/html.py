"""``report.html``: one self-contained page (inline CSS, plots as embedded PNG; no network)."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from synthbank.evaluation.fidelity import as_numbers, learned_columns
from synthbank.evaluation.html_privacy import privacy_risks_html
from synthbank.evaluation.integrity import children_per_parent

REAL, SYNTHETIC = "#1f77b4", "#ff7f0e"
MAX_COLUMNS_PER_TABLE = 8
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:24px;color:#222}
h1{margin-bottom:4px} h2{border-bottom:2px solid #eee;padding-bottom:4px;margin-top:36px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:12px 16px;min-width:170px;background:#fafafa}
.card .v{font-size:26px;font-weight:600} .card .r{color:#666;font-size:13px}
.good{color:#1a7f37} .bad{color:#c62828}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px} td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:6px 0} .note{color:#666;font-size:13px}
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _card(title: str, value, reference: str = "", good: bool | None = None) -> str:
    css = "" if good is None else (" good" if good else " bad")
    return f'<div class="card"><div>{html.escape(title)}</div><div class="v{css}">{_fmt(value)}</div><div class="r">{html.escape(reference)}</div></div>'


# --- plots ---------------------------------------------------------------------------------------------
def _distribution_plots(report) -> str:
    import matplotlib.pyplot as plt

    out = []
    for name in report.schema.tables:
        columns = learned_columns(report.schema, name)[:MAX_COLUMNS_PER_TABLE]
        if not columns:
            continue
        fig, axes = plt.subplots(1, len(columns), figsize=(3.0 * len(columns), 2.6), squeeze=False)
        for ax, column in zip(axes[0], columns):
            sdtype = report.schema.tables[name].columns[column].sdtype
            real, syn = report.real[name][column], report.synthetic[name][column]
            r, s = as_numbers(real, sdtype), as_numbers(syn, sdtype)
            if r is not None:
                if sdtype == "datetime":  # seconds → calendar years
                    r, s = 1970 + r / 31_557_600, 1970 + s / 31_557_600
                r, s = r.dropna(), s.dropna()
                if len(r) and len(s):
                    low, high = np.percentile(r, [1, 99])  # long tails would squeeze the plot
                    bins = np.linspace(low, high if high > low else low + 1, 26)
                    r, s = r.clip(low, high), s.clip(low, high)
                    ax.hist(r, bins=bins, alpha=0.55, density=True, color=REAL, label="real")
                    ax.hist(s, bins=bins, alpha=0.55, density=True, color=SYNTHETIC, label="synthetic")
            else:
                top = real.astype(str).value_counts(normalize=True).head(8)
                syn_share = syn.astype(str).value_counts(normalize=True).reindex(top.index).fillna(0)
                x = np.arange(len(top))
                ax.bar(x - 0.2, top.to_numpy(), 0.4, color=REAL, label="real")
                ax.bar(x + 0.2, syn_share.to_numpy(), 0.4, color=SYNTHETIC, label="synthetic")
                ax.set_xticks(x, [t[:12] for t in top.index], rotation=45, ha="right", fontsize=7)
            ax.set_title(column, fontsize=9)
            ax.tick_params(labelsize=7)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(name, fontsize=11, fontweight="bold", y=1.06)
        out.append(_png(fig))
    return "".join(out)


def _correlation_plots(report) -> str:
    import matplotlib.pyplot as plt

    out = []
    for name in report.schema.tables:
        numeric = [c for c in learned_columns(report.schema, name)
                   if report.schema.tables[name].columns[c].sdtype in ("numerical", "datetime")]
        if len(numeric) < 2:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(2.0 + 0.7 * len(numeric) * 2, 1.5 + 0.6 * len(numeric)))
        for ax, (label, tables) in zip(axes, (("real", report.real), ("synthetic", report.synthetic))):
            frame = pd.DataFrame({c: as_numbers(tables[name][c], report.schema.tables[name].columns[c].sdtype) for c in numeric})
            image = ax.imshow(frame.corr().to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_xticks(range(len(numeric)), numeric, rotation=60, ha="right", fontsize=7)
            ax.set_yticks(range(len(numeric)), numeric, fontsize=7)
            ax.set_title(f"{name}: {label}", fontsize=9)
        fig.colorbar(image, ax=axes, shrink=0.8)
        out.append(_png(fig))
    return "".join(out)


def _cardinality_plots(report) -> str:
    relationships = [(c, fk) for c, fk in report.schema.relationships() if fk.parent != c]
    if not relationships:
        return ""
    panels = []
    for child, fk in relationships:
        r = children_per_parent(report.schema, report.real, child, fk)
        s = children_per_parent(report.schema, report.synthetic, child, fk)
        top = int(max(np.percentile(r, 99) if len(r) else 1, 1))
        panels.append((f"{child} per {fk.parent}", r, s, np.arange(0, top + 2) - 0.5, top))
    return _histograms(panels, ("real", "synthetic"))


def _histograms(panels: list[tuple], labels: tuple[str, str]) -> str:
    """One row of panels ``(title, real values, synthetic values, bins, clip at)``, real and synthetic overlaid."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6), squeeze=False)
    for ax, (title, real, synthetic, bins, top) in zip(axes[0], panels):
        ax.hist(np.clip(real, 0, top), bins=bins, alpha=0.55, density=True, color=REAL, label=labels[0])
        ax.hist(np.clip(synthetic, 0, top), bins=bins, alpha=0.55, density=True, color=SYNTHETIC, label=labels[1])
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    return _png(fig)


def _projection(ax, real: np.ndarray, syn: np.ndarray, title: str) -> None:
    from sklearn.decomposition import PCA

    both = np.vstack([real, syn])
    if both.shape[1] < 2 or len(both) < 3:
        return
    points = PCA(2, random_state=0).fit(real).transform(both)
    ax.scatter(points[:len(real), 0], points[:len(real), 1], s=4, alpha=0.4, color=REAL, label="real")
    ax.scatter(points[len(real):, 0], points[len(real):, 1], s=4, alpha=0.4, color=SYNTHETIC, label="synthetic")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, markerscale=3)


def _projection_plots(report) -> str:
    import matplotlib.pyplot as plt

    from synthbank.evaluation.privacy import encode_rows

    panels = []
    for name in report.schema.tables:
        if not learned_columns(report.schema, name):
            continue
        real = report.real[name].sample(min(len(report.real[name]), 1500), random_state=0)
        syn = report.synthetic[name].sample(min(len(report.synthetic[name]), 1500), random_state=0)
        r, s = encode_rows(report.schema, name, report.real[name], real, syn)
        panels.append((r, s, f"{name} rows (PCA)"))
    for key, value in report.extras.items():
        if key.startswith("embeddings:") and value is not None:
            panels.append((value["real"], value["synthetic"], f"{key.split(':', 1)[1]} embeddings (PCA)"))
    if not panels:
        return ""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.0), squeeze=False)
    for ax, (r, s, title) in zip(axes[0], panels):
        _projection(ax, r, s, title)
    return _png(fig)


def _dcr_plots(report) -> str:
    panels = [(k.split(":", 1)[1], v) for k, v in report.extras.items() if k.startswith("dcr:")]
    if not panels:
        return ""
    rows = []
    for name, (syn, hold) in panels:
        top = float(np.percentile(np.r_[syn, hold], 99)) or 1.0
        rows.append((f"{name}: distance to closest record", hold, syn, np.linspace(0, top, 30), top))
    return _histograms(rows, ("real holdout → real", "synthetic → real"))


# --- rules ---------------------------------------------------------------------------------------------
MAX_RULE_ROWS = 40


def _rule_text(rule: dict) -> str:
    """One rule of report.json in words."""
    columns, kind = rule["columns"], rule["kind"]
    if kind == "decides":
        return f"{columns[0]} decides {columns[1]} ({rule['values']} values)"
    if kind == "order":
        return f"{columns[0]} ≤ {columns[1]}"
    if kind == "after_parent":
        route = f"via {' → '.join(rule['via'])}" if rule.get("via") else f"key {', '.join(rule['path'][0])}"
        return f"{columns[0]} ≥ {rule['parent']}.{rule['parent_column']} ({route})"
    if kind == "null_together":
        return f"{', '.join(columns)} NULL together"
    if kind == "precision":
        return f"{columns[0]} has at most {rule['decimals']} decimals"
    return f"{columns[0]} = {' + '.join(columns[1:])}"


def _rules_section(d: dict) -> str:
    """The rules every real row obeys, the worst kept by the synthetic rows first, and the round values."""
    section = d.get("rules") or {}
    rules, share = section.get("rules") or [], section.get("synthetic_rows_breaking")
    parts = ["<h2>Rules every real row obeys</h2>",
             "<p class='note'>Found on the real tables by the evaluation itself (not read from the schema): a category "
             "that decides another, an order between two columns, a child never before its parent, columns NULL together, "
             "the decimals of a number, a column that is the sum of others.</p>",
             "<div class='cards'>" + _card("Synthetic rows breaking a rule", share,
                                           f"real rows: {_fmt(section.get('real_rows_breaking'))}; {len(rules)} rules",
                                           None if share is None else share <= 0.005) + "</div>"]
    if section.get("tables"):
        parts.append(_table(["table", "rules", "synthetic rows breaking one", "real rows breaking one"],
                            [[n, t["rules"], t["synthetic_rows_breaking"], t["real_rows_breaking"]] for n, t in section["tables"].items()]))
    if section.get("per_kind"):
        parts.append(_table(["rule kind", "synthetic rows breaking one (tables with such rules)"], list(map(list, section["per_kind"].items()))))
    ranked = sorted(rules, key=lambda r: (r["synthetic_share"] is None, r["synthetic_share"] if r["synthetic_share"] is not None else 0))
    if ranked:
        parts.append(_table(["kind", "table", "rule", "real rows obeying", "synthetic rows obeying", "real rows", "synthetic rows"],
                            [[r["kind"], r["table"], _rule_text(r), r["real_share"], r["synthetic_share"], r["rows"], r["synthetic_rows"]]
                             for r in ranked[:MAX_RULE_ROWS]]))
    if len(ranked) > MAX_RULE_ROWS:
        parts.append(f"<p class='note'>{len(ranked) - MAX_RULE_ROWS} more rules, each kept by more synthetic rows (see report.json).</p>")
    if section.get("capped"):
        parts.append("<p class='note'>More rules were found than are listed; the list stops at the first of them.</p>")
    if section.get("round_values"):
        parts.append("<h3>Round values</h3>")
        parts.append(_table(["table", "column", "multiple of", "real share", "synthetic share"],
                            [[r["table"], r["column"], r["step"], r["real_share"], r["synthetic_share"]] for r in section["round_values"]]))
    return "".join(parts)


# --- the page ---------------------------------------------------------------------------------------------
def render_html(report) -> str:
    import matplotlib

    matplotlib.use("Agg")
    d, s = report.data, report.summary
    cards = [
        _card("Integrity", "OK" if s["integrity_ok"] else "FAILED",
              f"{s['orphan_foreign_keys']} orphan FKs, {s['constraint_violations']} violations", s["integrity_ok"]),
        _card("Quality (SDMetrics)", s["quality_score"], f"real vs real: {_fmt(s['quality_real_reference'])}"),
        _card("k-hop AVG 2-way", s["k_hop_avg_2way"], f"real vs real: {_fmt(s['k_hop_real_reference'])}"),
        _card("Detection accuracy", s["detection_accuracy"], f"0.5 = indistinguishable; real vs real: {_fmt(s['detection_real_reference'])}"),
    ]
    for column, text in s["text"].items():
        cards.append(_card(f"MAUVE {column}", text["mauve"], f"real vs real: {_fmt(text['mauve_real_reference'])}"))
        cards.append(_card(f"Length KS {column}", text["length_ks"], f"0 = same lengths; real vs real: {_fmt(text['length_ks_real_reference'])}"))
        if text.get("dp_epsilon") is not None:
            cards.append(_card(f"DP ε {column}", text["dp_epsilon"], f"text model trained with DP-SGD, δ = {text['dp_delta']:g}"))
    cards.append(_card("PII leaks", s["pii_leaks"], "real PII values found in synthetic data", s["pii_leaks"] == 0))
    copies, copies_reference = s["exact_copy_share"] or 0.0, s.get("exact_copy_real_reference")
    cards.append(_card("Exact copies", s["exact_copy_share"],
                       f"largest share of synthetic rows equal to a real row; real vs real: {_fmt(copies_reference)}",
                       copies < 0.05 or (copies_reference is not None and copies <= copies_reference)))
    if s["dcr_share"] is not None:
        cards.append(_card("DCR share", s["dcr_share"], "closer to training than holdout; 0.5 ideal"))
    for title, worst, score in (("Re-identification risk", s.get("reidentification_risk"), "risk"),
                                ("Membership inference AUC", s.get("membership_inference"), "auc")):
        if worst:
            cards.append(_card(title, worst[score], f"worst: {worst['verdict']}", worst["verdict"] not in ("elevated", "high")))
    for target, ratio in s["utility"].items():
        cards.append(_card(f"Utility {target}", ratio, "ROC-AUC synthetic-trained / real-trained"))

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>synthbank evaluation</title><style>{CSS}</style></head><body>",
             "<h1>synthbank evaluation report</h1>",
             f"<p class='note'>{len(report.schema.tables)} tables; each score is shown beside the same score for one half of the real data "
             f"against the other (the best a synthesizer can hope for). Holdout given: {_fmt(d['holdout'])}.</p>",
             f"<div class='cards'>{''.join(cards)}</div>"]
    if d.get("notes"):  # metrics that could not run, empty tables…
        parts.append("<p class='note'>Notes: " + html.escape("; ".join(map(str, d["notes"]))) + "</p>")

    parts.append("<h2>Referential integrity and structure</h2>")
    parts.append(_table(["table", "real rows", "synthetic rows", "duplicate PKs", "NULL in NOT NULL", "duplicate unique"],
                        [[n, t["real_rows"], t["rows"], t["duplicate_primary_keys"], t["null_in_not_null"], t["duplicate_unique"]]
                         for n, t in d["integrity"]["tables"].items()]))
    parts.append(_table(["relationship", "orphans", "orphan %", "children/parent real", "synthetic", "KS statistic"],
                        [[f"{r['child']}({', '.join(r['columns'])}) → {r['parent']}", r["orphans"], 100 * r["orphan_share"],
                          r.get("children_per_parent", {}).get("real_mean", r.get("real_coverage")),
                          r.get("children_per_parent", {}).get("synthetic_mean", r.get("synthetic_coverage")),
                          r.get("children_per_parent", {}).get("ks_statistic")] for r in d["integrity"]["relationships"]]))
    parts.append(_cardinality_plots(report))
    parts.append(_rules_section(d))

    parts.append("<h2>Column and relational fidelity</h2>")
    quality = d["quality"]["quality"]
    parts.append(_table(["property", "synthetic", "real vs real"],
                        [[p, v, quality.get("real_reference_properties", {}).get(p)] for p, v in quality["properties"].items()]
                        + [["Diagnostic: " + p, v, None] for p, v in d["quality"]["diagnostic"]["properties"].items()]))
    per_table = quality["per_table"]
    properties = sorted({p for t in per_table.values() for p in t})
    parts.append(_table(["table", *properties], [[t, *[v.get(p) for p in properties]] for t, v in per_table.items()]))
    parts.append(_table(["k-hop path", "hops", "column pairs", "score"],
                        [[p["path"], p["hops"], p["pairs"], p["score"]] for p in d["k_hop"]["paths"]]))
    parts.append(_table(["detection (C2ST-Agg)", "accuracy", "real vs real", "p-value", "rows per side", "features"],
                        [[t, e["accuracy"], e.get("real_reference_accuracy"), e["p_value"], e["rows_per_side"], e["features"]]
                         for t, e in d["detection"].items()]))
    parts.append(_table(["detection per table (own columns)", "accuracy", "real vs real", "p-value", "rows per side", "features"],
                        [[t, e["accuracy"], e.get("real_reference_accuracy"), e["p_value"], e["rows_per_side"], e["features"]]
                         for t, e in d.get("detection_per_table", {}).items()]))
    if d.get("conditions"):
        parts.append("<h3>Conditions (rebalancing)</h3>")
        parts.append(_table(["column", "value", "condition", "requested share", "synthetic share", "real share"],
                            [[c["column"], str(v["value"]), c["condition"], v["requested_share"], v["synthetic_share"], v["real_share"]]
                             for c in d["conditions"] for v in c["values"]]))
        parts.append("<p>Within each condition (rows of one value against the real rows of that value):</p>")
        parts.append(_table(["column", "group", "real rows", "synthetic rows", "quality", "column shapes", "pair trends",
                             "quality real vs real"],
                            [[c["column"], group, g["real_rows"], g["synthetic_rows"], (g["quality"] or {}).get("score"),
                              (g["quality"] or {}).get("Column Shapes"), (g["quality"] or {}).get("Column Pair Trends"),
                              (g["real_reference"] or {}).get("score")]
                             for c in d["conditions"] for group, g in c["within"].items()]))
    parts.append("<h3>Distributions</h3>" + _distribution_plots(report))
    parts.append("<h3>Correlations</h3>" + _correlation_plots(report))
    parts.append("<h3>Real and synthetic rows, projected</h3>" + _projection_plots(report))

    parts.append("<h2>Text</h2>")
    for column, text in d["text"].items():
        parts.append(f"<h3>{html.escape(column)}</h3>")
        if "scores" in text:
            parts.append(_table(["score", "synthetic", "real vs real"],
                                [[k, v["synthetic"], v["real_reference"]] for k, v in text["scores"].items()]))
        if "category_consistency" in text:
            c = text["category_consistency"]
            parts.append(f"<p>A classifier trained on real texts predicts <b>{html.escape(c['column'])}</b>: "
                         f"accuracy {_fmt(c['synthetic_accuracy'])} on synthetic texts, {_fmt(c['real_holdout_accuracy'])} on real held-out texts "
                         f"(chance {_fmt(c['chance'])}).</p>")
        parts.append(_table(["statistic", "real", "synthetic"], [[k, text["real"][k], text["synthetic"][k]] for k in text["real"]]))
        if "note" in text:
            parts.append(f"<p class='note'>{html.escape(text['note'])}</p>")

    parts.append("<h2>Privacy</h2>")
    leaks = d["privacy"]["pii_leaks"]
    parts.append(f"<p>Leak scan: {leaks['values_searched']:,} real values (PII columns, name-like columns, categories held by "
                 f"fewer than {leaks.get('rare_threshold', 5)} rows) searched in every synthetic string and text: "
                 f"<b>{leaks['total']}</b> found ({leaks['cells']} equal cells, {leaks.get('inside_strings', 0)} inside strings, "
                 f"{leaks['texts']} in texts); {leaks.get('coarse_matches', 0)} matches of coarse values (a first name, a city… alone) "
                 "not counted.</p>")
    if leaks["examples"]:
        parts.append("<p class='note'>Masked examples: " + html.escape("; ".join(leaks["examples"])) + "</p>")
    parts.append(_table(["table", "exact copies", "real vs real", "DCR share", "median DCR", "real median DCR", "DCR overfitting protection"],
                        [[t, e["exact_copy_share"], e["real_reference_exact_copy_share"], e.get("dcr_share"), e["median_dcr"],
                          e["holdout_median_dcr"], e.get("dcr_overfitting_protection")] for t, e in d["privacy"]["tables"].items()]))
    parts.append(_table(["text column", "synthetic sharing ≥8 words with training", "real holdout reference", "exact copies"],
                        [[c, e["synthetic_share"], e.get("holdout_share"), e["synthetic_exact"]] for c, e in d["privacy"]["text_copying"].items()]))
    parts.append(_dcr_plots(report))
    parts.append(privacy_risks_html(d["privacy"]))

    parts.append("<h2>Utility: train on synthetic, test on real</h2>")
    parts.append(_table(["target", "ROC-AUC real-trained", "ROC-AUC synthetic-trained", "ratio", "recall at 1% FPR real-trained",
                         "synthetic-trained", "accuracy real", "accuracy synthetic", "positive share real", "synthetic"],
                        [[u["target"], u.get("train_real", {}).get("roc_auc"), u.get("train_synthetic", {}).get("roc_auc"), u.get("roc_auc_ratio"),
                          u.get("train_real", {}).get("recall_at_1pct_fpr"), u.get("train_synthetic", {}).get("recall_at_1pct_fpr"),
                          u.get("train_real", {}).get("accuracy"), u.get("train_synthetic", {}).get("accuracy"),
                          u.get("positive_share_real"), u.get("positive_share_synthetic")] for u in d["utility"]]))
    baselines = [u for u in d["utility"] if "train_baseline" in u]
    if baselines:
        parts.append(_table(["target", "ROC-AUC baseline-trained", "this database", "recall at 1% FPR baseline", "this database",
                             "positive share baseline", "this database"],
                            [[u["target"], u["train_baseline"].get("roc_auc"), u.get("train_synthetic", {}).get("roc_auc"),
                              u["train_baseline"].get("recall_at_1pct_fpr"), u.get("train_synthetic", {}).get("recall_at_1pct_fpr"),
                              u.get("positive_share_baseline"), u.get("positive_share_synthetic")] for u in baselines]))
    notes = {u.get("note") for u in d["utility"] if u.get("note")}
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    parts.append(f"<p class='note'>Seconds per step: {html.escape(str(d['seconds']))}</p></body></html>")
    return "".join(parts)
