"""Membership inference: can an attacker holding the synthetic data tell whether a real person's row was in
the training data?

The targets are training rows (members) and holdout rows (non-members), as many of each. Two attacks score
each target, and the score's ROC-AUC over members vs non-members is the attack's success: 0.5 is no signal,
1.0 tells every member apart.

- **distance**: a member is suspected when a synthetic row lies close to it (the score is minus the
  distance to the closest synthetic row; numbers scaled by the real range, categories one-hot);
- **density ratio** (DOMIAS, van Breugel et al., 2023): a member is suspected where the synthetic rows are
  denser than the population. A classifier tells synthetic rows from *reference* real rows (half of the
  holdout, never a target), and its odds estimate p_synthetic(x) / p_population(x).

Each AUC comes with a 95% bootstrap interval, and the verdict reads it as the re-identification risks'
(:func:`synthbank.evaluation.risks.verdict`) with ``LOW`` 0.55 and ``HIGH`` 0.65: high when the interval's
lower end reaches 0.65, elevated when it reaches 0.55, inconclusive when its upper end reaches 0.65
otherwise. The interval does not hold the density classifier's own variance: an independent demo bank of
1,000 customers scored as synthetic gave AUCs from 0.40 to 0.62.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.evaluation.attack_frames import capped, flattened, roots, table_frame
from synthbank.evaluation.privacy import encode_frames
from synthbank.evaluation.risks import verdict, worst
from synthbank.evaluation.split import split_tables
from synthbank.schemas.model import DatabaseSchema

LOW, HIGH = 0.55, 0.65
MIN_ATTACK_TARGETS = 30  # below this the attacks are not run
MAX_TARGETS = 2000
BOOTSTRAP = 200
MAX_SYNTHETIC = 20000


def _auc_with_interval(labels: np.ndarray, scores: np.ndarray, rng: np.random.Generator) -> dict:
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(labels, scores))
    draws = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(labels), len(labels))
        if labels[pick].min() != labels[pick].max():
            draws.append(roc_auc_score(labels[pick], scores[pick]))
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (auc, auc)
    return {"auc": auc, "ci": [float(low), float(high)]}


def attack(train: pd.DataFrame, synthetic: pd.DataFrame, outsiders: pd.DataFrame, reference: pd.DataFrame,
           seed: int, label: str) -> dict:
    """Both attacks on one frame. ``outsiders`` and ``reference`` are two halves of the holdout split along the
    foreign keys, so that no person is on both sides (the rows of one customer are alike, and the density
    attack would learn the targets' own customers). The density attack's non-member targets are the
    outsiders, its population the reference; the distance attack needs no reference and targets both."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import NearestNeighbors

    rng = seeding.rng(seed, "evaluation", "membership", label)
    n = min(len(outsiders), len(train), MAX_TARGETS)
    out: dict = {"targets_per_side": n}
    if n < MIN_ATTACK_TARGETS or len(reference) < MIN_ATTACK_TARGETS or synthetic.empty or train.shape[1] == 0:
        out["note"] = f"only {n} non-member targets: too few for the attacks to say anything, so they were not run"
        return out
    holdout = pd.concat([outsiders, reference], ignore_index=True)
    wide = min(len(holdout), len(train), MAX_TARGETS)
    order = rng.permutation(len(train))
    members = train.iloc[order[:n]]
    targets = pd.concat([members, outsiders.iloc[rng.choice(len(outsiders), n, replace=False)]], ignore_index=True)
    everyone = pd.concat([train.iloc[order[:wide]], holdout.iloc[rng.choice(len(holdout), wide, replace=False)]], ignore_index=True)
    labels = np.r_[np.ones(n), np.zeros(n)]
    target_x, synthetic_x, reference_x, everyone_x = encode_frames(train, targets, synthetic, reference, everyone, categories=30)

    distances = NearestNeighbors(n_neighbors=1).fit(synthetic_x).kneighbors(everyone_x)[0][:, 0]
    out["distance"] = _auc_with_interval(np.r_[np.ones(wide), np.zeros(wide)], -distances, rng)
    out["distance"]["targets_per_side"] = wide

    classifier = HistGradientBoostingClassifier(max_iter=200, random_state=seeding.int_seed(seed, "membership", label))
    weights = np.r_[np.full(len(synthetic_x), 1 / len(synthetic_x)), np.full(len(reference_x), 1 / len(reference_x))]
    classifier.fit(np.vstack([synthetic_x, reference_x]), np.r_[np.ones(len(synthetic_x)), np.zeros(len(reference_x))],
                   sample_weight=weights * len(weights) / 2)
    p = np.clip(classifier.predict_proba(target_x)[:, 1], 1e-6, 1 - 1e-6)
    out["density_ratio"] = _auc_with_interval(labels, np.log(p / (1 - p)), rng)

    best = max((out["distance"], out["density_ratio"]), key=lambda r: r["auc"])
    out["auc"], out["ci"] = best["auc"], best["ci"]
    out["verdict"] = verdict(best["ci"], LOW, HIGH)
    return out


def _capped(frames: list[pd.DataFrame], seed: int, label: str) -> list[pd.DataFrame]:
    train, synthetic, outsiders, reference = frames
    return [capped(train, 2 * MAX_TARGETS, seed, label), capped(synthetic, MAX_SYNTHETIC, seed, label),
            capped(outsiders, MAX_TARGETS, seed, label), capped(reference, MAX_SYNTHETIC, seed, label)]


def membership_inference(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                         holdout: dict[str, pd.DataFrame] | None, seed: int = 0) -> dict:
    """Both attacks on every table's learned columns and on each root entity's flattened view."""
    if holdout is None:
        return {"note": "not measured: membership inference needs real rows the synthesizer never saw "
                        "(evaluate --holdout)"}
    out: dict = {"tables": {}, "entities": {}, "thresholds": {"elevated_from": LOW, "high_from": HIGH}}
    outsiders, reference = split_tables(schema, holdout, 0.5, seed)
    for name in schema.tables:
        frames = [table_frame(schema, name, tables[name]) for tables in (real, synthetic, outsiders, reference)]
        if frames[0].shape[1]:
            out["tables"][name] = attack(*_capped(frames, seed, name), seed, name)
    for root in roots(schema):
        frames = [flattened(schema, root, tables) for tables in (real, synthetic, outsiders, reference)]
        out["entities"][root] = attack(*_capped(frames, seed, root), seed, f"{root} entity")
    top = worst([e for part in ("tables", "entities") for e in out[part].values() if "auc" in e], "auc")
    out["worst"] = {"auc": top["auc"], "ci": top["ci"], "verdict": top["verdict"]} if top else None
    return out
