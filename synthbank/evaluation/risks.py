"""The three re-identification risks European regulators name for anonymised data (Article 29 Working Party,
Opinion 05/2014), measured as attacks with Anonymeter (Giomi et al., 2023):

- **singling out**: a query built from the synthetic rows ("income 81,250 and state VT") that matches exactly
  one real person; univariate (one rare value) and multivariate (three columns);
- **linkability**: an attacker holding half of a person's columns (auxiliary data) links them to the other
  half through the synthetic rows;
- **inference**: an attacker who knows a person's other columns guesses a sensitive one (a default flag, an
  income) from the nearest synthetic row.

Each attack is run twice: on training rows (people the synthesizer saw) and on the holdout (people it never
saw: the control; as many people of each). A singling-out query is tried on a sample of the training rows as
large as the holdout, so an exact copy's singling-out risk is diluted to about holdout/training rows (a query
from a copied row singles out its person only if that person is in the sample); linkability, inference and
membership inference catch a copy at any size. The risk is how much better it does on the first, ``(train − control) / (1 − control)``,
with its 95% confidence interval; it is 0 when the synthetic data tells nothing about the people it was
made from beyond what it tells about anybody. Without a holdout there is no control, so no risk can be told
from what the attacks learn about the population (which is the point of synthetic data); the section says so.

Verdicts (``verdict``) read the 95% interval, so that a verdict says what the data shows and noise is not
flagged: **high** when the interval's lower end is at least ``HIGH`` (0.30), **elevated** when it is at
least ``LOW`` (0.10), **inconclusive** when neither holds but the upper end reaches ``HIGH`` (too few real
rows to rule a high risk out), **low** otherwise. For scale: an independent demo bank of 3,000 customers,
scored as if it were synthetic, reaches risks of up to 0.08.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.evaluation.attack_frames import capped, flattened, roots, table_frame
from synthbank.schemas.model import DatabaseSchema

log = logging.getLogger(__name__)
logging.getLogger("anonymeter").setLevel(logging.ERROR)  # "could generate only 118 queries": for a reader of its code
LOW, HIGH = 0.10, 0.30
MIN_ATTACK_ROWS = 30  # below this many holdout rows the attacks are not run
MAX_ROWS = 10000  # rows of each frame attacked (the training rows, the synthetic rows, the holdout)
N_ATTACKS = 500
#: An inconclusive risk is low when, even at the top of its interval, the attack's absolute gain over the control
#: (risk × (1 - control rate): the share of people it learns something new about) stays below this.
SMALL_GAIN = 0.05
SENSITIVE_NAME = re.compile(r"income|salary|wage|earning|net_?worth|credit_?score|fico", re.I)


def verdict(ci: tuple[float, float] | list[float] | None, low: float = LOW, high: float = HIGH) -> str:
    """The verdict on a score's 95% interval: **high** when its lower end reaches ``high``, **elevated** when
    it reaches ``low``, **inconclusive** when it does not but its upper end reaches ``high`` (too few rows to
    rule a high risk out), **low** otherwise."""
    if ci is None:
        return "inconclusive"
    if ci[0] >= high:
        return "high"
    if ci[0] >= low:
        return "elevated"
    return "inconclusive" if ci[1] >= high else "low"


def sensitive_columns(schema: DatabaseSchema, table: str, targets: list[str], named: list[str]) -> list[str]:
    """The columns of ``table`` an inference attack goes after: the utility targets, income-like columns
    and the columns the user named (``table.column``)."""
    columns = schema.tables[table].columns
    chosen = [t.partition(".")[2] for t in [*targets, *named] if t.partition(".")[0] == table]
    chosen += [c for c, spec in columns.items() if spec.sdtype == "numerical" and SENSITIVE_NAME.search(c)]
    return [c for c in dict.fromkeys(chosen) if c in columns]


def _risk(evaluator) -> dict:
    risk = evaluator.risk(confidence_level=0.95)
    results = evaluator.results(confidence_level=0.95)
    value, (low, high) = float(risk.value), (float(risk.ci[0]), float(risk.ci[1]))
    out = {"risk": value, "ci": [low, high], "attack_rate": float(results.attack_rate.value),
            "control_rate": float(results.control_rate.value) if results.control_rate is not None else None,
            "baseline_rate": float(results.baseline_rate.value), "attacks": int(results.n_attacks_ori),
            "verdict": verdict((low, high))}
    control = out["control_rate"]
    if control is not None and out["verdict"] == "inconclusive" and high * (1 - control) < SMALL_GAIN:
        # the risk is the gain over the control divided by 1 - control: where the control is mostly right (a flag
        # almost always false, a column mostly NULL) the interval is wide, but the gain it allows is small
        out["verdict"] = "low"
        out["note"] = (f"the same attack is right for {control:.1%} of the people never seen, so even at the top of its "
                       f"interval the synthetic data tells an attacker something new about {high * (1 - control):.1%} of people")
    return out


@contextmanager
def _numpy_seeded(seed: int):
    """Anonymeter draws the linkability and inference targets with NumPy's global generator and samples rows
    with Polars' own: both seeded here (NumPy's restored after), so the same data and seed give the same risks."""
    import polars as pl

    state = np.random.get_state()
    np.random.seed(seeding.int_seed(seed, "evaluation", "anonymeter") % 2**32)
    pl.set_random_seed(seeding.int_seed(seed, "evaluation", "anonymeter polars") % 2**32)  # its singling-out checks
    try:
        yield
    finally:
        np.random.set_state(state)


def attack(train: pd.DataFrame, synthetic: pd.DataFrame, control: pd.DataFrame, secrets: list[str], seed: int) -> dict:
    """Anonymeter's three attacks on one frame. A singling-out query is tried on as many training rows as the
    holdout has (Anonymeter's correction for a smaller control left clones of the demo bank at a risk of 0.2-0.3
    that vanished at equal sizes); linkability and inference target as many people of each."""
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    rows, columns = len(control), list(train.columns)
    attacks = min(N_ATTACKS, rows, len(train))
    out: dict = {"rows": rows, "training_rows": len(train), "columns": len(columns)}
    if rows < MIN_ATTACK_ROWS:
        out["note"] = f"only {rows} holdout rows: too few for the attacks to say anything, so they were not run"
        return out
    with warnings.catch_warnings(), _numpy_seeded(seed):
        warnings.simplefilter("ignore")  # Anonymeter warns when an attack is no better than guessing: a low risk
        sample = train.iloc[seeding.rng(seed, "evaluation", "singling out").choice(len(train), min(rows, len(train)), replace=False)]
        for mode in ("univariate", "multivariate"):
            if mode == "multivariate" and len(columns) < 2:
                continue
            evaluator = SinglingOutEvaluator(sample, synthetic, n_attacks=attacks, n_cols=min(3, len(columns)),
                                             control=control, max_attempts=50 * attacks, seed=seed)
            out[f"singling_out_{mode}"] = _risk(evaluator.evaluate(mode=mode))
        if len(columns) >= 2:
            half = len(columns) // 2
            evaluator = LinkabilityEvaluator(train, synthetic, aux_cols=(columns[:half], columns[half:]), n_attacks=attacks,
                                             n_neighbors=1, control=control)
            out["linkability"] = _risk(evaluator.evaluate(n_jobs=1))
            out["linkability"]["auxiliary"] = [columns[:half], columns[half:]]
        out["inference"] = {}
        for secret in secrets:
            if secret not in columns or len(columns) < 2 or train[secret].isna().all():
                continue
            regression = pd.api.types.is_numeric_dtype(train[secret]) and train[secret].nunique() > 20
            evaluator = InferenceEvaluator(train, synthetic, aux_cols=[c for c in columns if c != secret], secret=secret,
                                           regression=regression, n_attacks=attacks, control=control)
            out["inference"][secret] = _risk(evaluator.evaluate(n_jobs=1))
    return out


ATTACKS = ("singling_out_univariate", "singling_out_multivariate", "linkability")  # and inference, per column
SEVERITY = {"low": 0, "inconclusive": 1, "elevated": 2, "high": 3}


def worst(results: list[dict], score: str = "risk") -> dict | None:
    """The most severe of some results (by verdict, then by ``score``)."""
    return max(results, key=lambda r: (SEVERITY[r["verdict"]], r[score]), default=None)


def attacks_of(entry: dict) -> list[dict]:
    """Every attack's result in one table's (or view's) entry."""
    found = [entry[k] for k in ATTACKS if k in entry]
    return found + list(entry.get("inference", {}).values())


def gdpr_risks(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
               holdout: dict[str, pd.DataFrame] | None, targets: list[str], sensitive: list[str], seed: int = 0) -> dict:
    """Singling out, linkability and inference per table and on each root entity's flattened view."""
    if holdout is None:
        return {"note": "not measured: the risks compare an attack on people the synthesizer saw with the same attack "
                        "on people it never saw, so they need a holdout (evaluate --holdout with real rows kept out of "
                        "training)"}
    out: dict = {"tables": {}, "entities": {}, "thresholds": {"elevated_from": LOW, "high_from": HIGH}}
    for name in schema.tables:
        frames = [table_frame(schema, name, tables[name]) for tables in (real, synthetic, holdout)]
        if frames[0].shape[1] == 0 or frames[1].empty:
            continue
        log.info("privacy attacks on %s", name)
        out["tables"][name] = attack(*(capped(f, MAX_ROWS, seed, name) for f in frames),
                                     sensitive_columns(schema, name, targets, sensitive), seed)
    for root in roots(schema):
        frames = [flattened(schema, root, tables) for tables in (real, synthetic, holdout)]
        out["entities"][root] = attack(*(capped(f, MAX_ROWS, seed, f"{root} entity") for f in frames),
                                       sensitive_columns(schema, root, targets, sensitive), seed)
    for part in ("tables", "entities"):
        for entry in out[part].values():
            if attacks_of(entry):
                entry["verdict"] = worst(attacks_of(entry))["verdict"]
    top = worst([a for part in ("tables", "entities") for e in out[part].values() for a in attacks_of(e)])
    out["worst"] = {"risk": top["risk"], "ci": top["ci"], "verdict": top["verdict"]} if top else None
    return out
