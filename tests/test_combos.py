"""Combinations of categories never seen together in the real data stay out of the synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.protection import RARE_MARKER
from synthbank.relational.combos import apply_rules, learn_rules
from synthbank.relational.synthesizer import RelationalSynthesizer

ISSUES = {"Mortgage": ["Struggling to pay mortgage", "Escrow", "Closing"],
          "Debt collection": ["Written notification", "False statements", "Threatened to sue"],
          "Credit card": ["Late fee", "Billing dispute", "Rewards"]}


def _complaints(n=600, seed=0):
    rng = np.random.default_rng(seed)
    product = rng.choice(list(ISSUES), n, p=[0.5, 0.3, 0.2])
    issue = [rng.choice(ISSUES[p]) for p in product]
    return pd.DataFrame({"product": product, "issue": issue, "channel": rng.choice(["web", "phone"], n)})


def test_nested_columns_are_found_and_unseen_pairs_redrawn():
    real = _complaints()
    rules = learn_rules(real, ["product", "issue", "channel"], k=5)
    assert [(r.column, r.given) for r in rules] == [("issue", ["product"])]  # channel is not nested
    mixed = pd.DataFrame({"product": ["Debt collection"] * 400, "issue": ["Struggling to pay mortgage"] * 400,
                          "channel": "web"})
    fixed = apply_rules(mixed.copy(), rules, np.random.default_rng(1))
    assert fixed["issue"].isin(ISSUES["Debt collection"]).all()
    shares = fixed["issue"].value_counts(normalize=True)
    real_shares = real.loc[real["product"] == "Debt collection", "issue"].value_counts(normalize=True)
    assert (shares - real_shares).abs().max() < 0.08  # redrawn by the real shares given the product
    untouched = pd.DataFrame({"product": ["Mortgage"], "issue": ["Escrow"], "channel": ["web"]})
    assert apply_rules(untouched.copy(), rules, np.random.default_rng(1)).equals(untouched)


def test_rare_combinations_are_not_kept():
    real = _complaints()
    real.loc[:2, ["product", "issue"]] = ["Credit card", "Escrow"]  # three rows: below k = 5
    real.loc[3:5, "issue"] = RARE_MARKER
    rules = learn_rules(real, ["product", "issue"], k=5)
    assert "Escrow" not in rules[0].shares["Credit card"]
    assert all(RARE_MARKER not in options for options in rules[0].shares.values())


def test_demo_bank_complaints_keep_their_product_issue_pairs():
    # 600 users: each product has issues held by at least k = 5 complaints. (With fewer, a product whose
    # every issue is rare keeps no allowed pair, and its sampled pairs are left as they come.)
    real = generate_demo_bank(users=600, seed=0)
    pairs = set(map(tuple, real["complaints"][["product", "issue"]].astype(str).to_numpy()))
    out = RelationalSynthesizer(demo_schema()).fit(real).sample(seed=2)
    synthetic = list(map(tuple, out["complaints"][["product", "issue"]].astype(str).to_numpy()))
    assert len(synthetic) > 50
    assert all(pair in pairs for pair in synthetic)
