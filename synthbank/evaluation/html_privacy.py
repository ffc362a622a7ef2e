"""The report's privacy-risk part: Anonymeter's three risks, membership inference and the differential-privacy
budget, each with its 95% interval and a one-line verdict."""

from __future__ import annotations

import html

from synthbank.evaluation.risks import attacks_of

VERDICT_COLOURS = {"low": "#1a7f37", "inconclusive": "#9a6700", "elevated": "#bc4c00", "high": "#cf222e"}
EXPLAINED = {
    "singling_out_univariate": "singling out (one column)",
    "singling_out_multivariate": "singling out (three columns)",
    "linkability": "linkability (half the columns known)",
}


def verdict_html(verdict: str | None) -> str:
    verdict = verdict or "inconclusive"
    return f"<b style='color:{VERDICT_COLOURS.get(verdict, '#000')}'>{html.escape(verdict)}</b>"


def _interval(ci) -> str:
    return "—" if not ci else f"{ci[0]:.2f}–{ci[1]:.2f}"


def _rows(section: dict) -> list[str]:
    rows = []
    for part, label in (("tables", "table"), ("entities", "entity (flattened)")):
        for name, entry in (section.get(part) or {}).items():
            if not attacks_of(entry):
                rows.append(f"<tr><td>{html.escape(name)} ({label})</td><td colspan='4'>{html.escape(entry.get('note', ''))}</td></tr>")
                continue
            named = [(EXPLAINED[k], entry[k]) for k in EXPLAINED if k in entry]
            named += [(f"inference of {secret}", result) for secret, result in entry.get("inference", {}).items()]
            for attack, result in named:
                note = f"<div class='note'>{html.escape(result['note'])}</div>" if result.get("note") else ""
                rows.append(f"<tr><td>{html.escape(name)} ({label})</td><td>{html.escape(attack)}</td><td>{result['risk']:.3f}</td>"
                            f"<td>{_interval(result['ci'])}</td><td>{verdict_html(result['verdict'])}{note}</td></tr>")
    return rows


def _membership_rows(section: dict) -> list[str]:
    rows = []
    for part, label in (("tables", "table"), ("entities", "entity (flattened)")):
        for name, entry in (section.get(part) or {}).items():
            if "auc" not in entry:
                rows.append(f"<tr><td>{html.escape(name)} ({label})</td><td colspan='4'>{html.escape(entry.get('note', ''))}</td></tr>")
                continue
            rows.append(f"<tr><td>{html.escape(name)} ({label})</td><td>{entry['distance']['auc']:.3f}</td>"
                        f"<td>{entry['density_ratio']['auc']:.3f}</td><td>{_interval(entry['ci'])}</td>"
                        f"<td>{verdict_html(entry['verdict'])}</td></tr>")
    return rows


def privacy_risks_html(privacy: dict) -> str:
    parts = ["<h3>Re-identification risks (Anonymeter; Article 29 Working Party's three criteria)</h3>"]
    risks = privacy.get("gdpr_risks") or {}
    if "tables" not in risks:
        parts.append(f"<p class='note'>{html.escape(risks.get('note', 'not measured'))}</p>")
    else:
        parts.append("<p>Each risk is how much better an attack does on people the synthesizer saw than on people it never saw "
                     "(the holdout): 0 = no better, 1 = every attack succeeds. Verdicts read the 95% interval: high when its "
                     f"lower end reaches {risks['thresholds']['high_from']:.2f}, elevated when it reaches "
                     f"{risks['thresholds']['elevated_from']:.2f}, inconclusive when it cannot rule a high risk out (too few rows).</p>")
        parts.append("<table><tr><th>where</th><th>attack</th><th>risk</th><th>95% interval</th><th>verdict</th></tr>"
                     + "".join(_rows(risks)) + "</table>")
    mia = privacy.get("membership_inference") or {}
    parts.append("<h3>Membership inference</h3>")
    if "tables" not in mia:
        parts.append(f"<p class='note'>{html.escape(mia.get('note', 'not measured'))}</p>")
    else:
        parts.append("<p>ROC-AUC of an attacker telling training rows from holdout rows with the synthetic data: 0.5 = no signal. "
                     "Distance: closeness to a synthetic row; density ratio: where synthetic rows are denser than real ones. "
                     f"Verdict on the better attack: high from {mia['thresholds']['high_from']:.2f}, "
                     f"elevated from {mia['thresholds']['elevated_from']:.2f} (lower end of the interval).</p>")
        parts.append("<table><tr><th>where</th><th>distance AUC</th><th>density-ratio AUC</th><th>95% interval (better)</th>"
                     "<th>verdict</th></tr>" + "".join(_membership_rows(mia)) + "</table>")
    dp = privacy.get("differential_privacy")
    if dp:
        parts.append("<h3>Differential privacy of the tables</h3>")
        parts.append(f"<p>The tables' model was fitted with differential privacy: ε = {dp['epsilon']:.3g}, δ = {dp['delta']:.3g} "
                     f"in all, the unit being {html.escape(dp.get('unit', 'a person'))}.</p>")
        parts.append("<table><tr><th>part</th><th>ε</th><th>δ</th></tr>" + "".join(
            f"<tr><td>{html.escape(name)}</td><td>{part['epsilon']:.3g}</td><td>{part['delta']:.3g}</td></tr>"
            for name, part in dp.get("parts", {}).items()) + "</table>")
    return "".join(parts)
