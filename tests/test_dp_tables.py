"""Differential privacy for the tables: noise calibrated to ε, the budget accounted part by part, nothing exact kept."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from synthbank.demo_bank import generate_demo_bank
from synthbank.dp import accounting
from synthbank.dp.tables import DPTables, TableSpec

USERS = {"state": "category", "annual_income": "number", "employment_status": "category", "credit_score": "integer",
         "signup_date": "date"}
LOANS = {"amount": "number", "grade": "category", "purpose": "category", "is_default": "boolean", "issue_date": "date"}
TRANSACTIONS = {"posted_at": "date", "amount": "number", "transaction_type": "category", "is_fraud": "boolean"}


def bank(users: int = 800, seed: int = 2) -> dict[str, pd.DataFrame]:
    """The demo bank with each foreign key as the parent row's position."""
    t = generate_demo_bank(users, seed=seed)
    position = {n: pd.Series(np.arange(len(f)), index=f[f.columns[0]]) for n, f in t.items()}
    return {"users": t["users"], "loans": t["loans"].assign(user_id=t["loans"].user_id.map(position["users"])),
            "transactions": t["transactions"].assign(loan_id=t["transactions"].loan_id.map(position["loans"]))}


SPECS = [TableSpec("users", USERS), TableSpec("loans", LOANS, "users", "user_id"),
         TableSpec("transactions", TRANSACTIONS, "loans", "loan_id")]


def exact_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """δ(ε) of one Gaussian mechanism, exactly (Balle & Wang 2018, Theorem 8): independent of any accountant."""
    a, b = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
    return float(norm.cdf(a - b) - np.exp(epsilon) * norm.cdf(-a - b))


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 3.0])
def test_one_release_gets_the_noise_its_epsilon_needs(epsilon):
    delta = 1e-6
    z = accounting.noise_multiplier(epsilon, delta, releases=1)
    # valid: the exact privacy curve of that noise stays within (ε, δ) ...
    assert exact_delta(z, epsilon) <= delta
    # ... and not wasteful: half the noise would break it
    assert exact_delta(z / 2, epsilon) > delta
    # more releases of the same budget need more noise each
    assert accounting.noise_multiplier(epsilon, delta, releases=10) > 2 * z


def test_the_noise_added_has_the_scale_of_its_sensitivity():
    """Row counts (a person adds one root row) and a child table's boolean counts (a person adds up to max_rows
    rows) carry noise of z × sensitivity: measured over many fits."""
    frames = bank(300)
    deviations, flags = [], []
    for seed in range(40):
        model = DPTables(SPECS[:2], 2.0, max_rows=4, seed=seed).fit(frames)
        deviations.append(model.tables_["users"].rows - len(frames["users"]))
        cap = model.caps_["loans"]
        assert 1 <= cap <= 4  # a noisy quantile of the loans per customer (90% hold at most 2), never above max_rows
        kept = model._bounded(frames, caps=model.caps_)[0]["loans"]
        flags.append((model.tables_["loans"].marginals["is_default"].weights[2] - kept["is_default"].sum()) / cap)
    z = model.budget_.z
    assert np.std(deviations) == pytest.approx(z("row counts"), rel=0.3)
    assert np.std(flags) == pytest.approx(z("marginals"), rel=0.3)  # noise of z × cap (a person's rows at most)


def test_the_total_is_the_sum_of_the_parts_and_within_the_budget():
    model = DPTables(SPECS, 3.0, delta=1e-6).fit(bank(300))
    statement = model.statement()
    parts = statement["parts"]
    assert set(parts) == {"row counts", "marginals", "children counts", "correlations", "categories"}
    assert statement["epsilon"] == pytest.approx(sum(p["epsilon"] for p in parts.values()))
    assert statement["delta"] == pytest.approx(sum(p["delta"] for p in parts.values()))
    assert 0.97 * 3.0 <= statement["epsilon"] <= 3.0 and statement["delta"] <= 1e-6
    for name, part in parts.items():
        assert part["epsilon"] <= model.budget_.parts[name].epsilon + 1e-9
    # the marginals' part: one release per column, and one more per category of a child table (its selection)
    child_categories = sum(k == "category" for k in [*LOANS.values(), *TRANSACTIONS.values()])
    assert parts["marginals"]["releases"] == len(USERS) + len(LOANS) + len(TRANSACTIONS) + child_categories
    assert parts["marginals"]["epsilon"] == pytest.approx(accounting.spent(parts["marginals"]["noise_multiplier"],
                                                                          parts["marginals"]["releases"], parts["marginals"]["delta"]))
    # the texts' budget joins the total
    both = accounting.combine({"tables": statement, "texts": {"epsilon": 2.0, "delta": 1e-5}})
    assert both["epsilon"] == pytest.approx(statement["epsilon"] + 2.0) and "tables: marginals" in both["parts"]


def _floats(obj, seen=None) -> list[float]:
    """Every number held anywhere in an object graph (arrays, lists, dicts, dataclasses)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (int, float, np.integer, np.floating)) and not isinstance(obj, bool):
        return [float(obj)]
    if isinstance(obj, np.ndarray):
        return obj.astype(float).ravel().tolist() if obj.dtype.kind in "iuf" else []
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in _floats(k, seen) + _floats(v, seen)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in _floats(v, seen)]
    if hasattr(obj, "__dict__"):
        return _floats(vars(obj), seen)
    return []


def test_a_dp_model_holds_no_exact_count_or_bound_and_no_rare_value():
    frames = bank(600)
    frames["users"].loc[5, "state"] = "Atlantis"  # one person's value: must not be released
    model = DPTables(SPECS, 10.0).fit(frames)
    held = set(_floats(model))
    kept = model._bounded(frames, caps=model.caps_)[0]
    exact = {float(len(f)) for f in [*frames.values(), *kept.values()]}
    for spec in SPECS:
        for column, kind in spec.columns.items():
            values = frames[spec.name][column]
            if kind in ("number", "integer"):
                exact |= {float(values.min()), float(values.max())}
            elif kind == "category":
                exact |= {float(n) for n in values.value_counts()}  # every category's exact count
    exact = {x for x in exact if abs(x) > 20}  # small whole numbers are the model's own constants (1, max_rows, …)
    assert len(exact) > 30 and not (held & exact), sorted(held & exact)[:10]
    assert "Atlantis" not in model.tables_["users"].marginals["state"].cells
    assert b"Atlantis" not in pickle.dumps(model)
    synthetic = model.sample(seed=0)
    assert synthetic["users"]["annual_income"].max() != frames["users"]["annual_income"].max()


def test_samples_keep_the_tree_and_follow_the_data_at_a_generous_budget():
    frames = bank(1500)
    model = DPTables(SPECS, 50.0, max_rows=20).fit(frames)
    out = model.sample(seed=1)
    assert abs(len(out["users"]) - 1500) < 30
    assert out["loans"]["user_id"].between(0, len(out["users"]) - 1).all()
    assert out["transactions"]["loan_id"].between(0, len(out["loans"]) - 1).all()
    real, synthetic = frames["users"], out["users"]
    assert synthetic["annual_income"].median() == pytest.approx(real["annual_income"].median(), rel=0.1)
    assert synthetic["credit_score"].corr(synthetic["annual_income"], method="spearman") > 0.4  # real: 0.69
    assert set(synthetic["state"].dropna()) <= set(real["state"])
    signup = pd.to_datetime(real["signup_date"])
    assert synthetic["signup_date"].between(signup.min() - pd.Timedelta(days=62), signup.max() + pd.Timedelta(days=62)).mean() > 0.99
    # loans per customer: the mean held within 15% (each customer's rows capped at 20)
    assert len(out["loans"]) / len(synthetic) == pytest.approx(len(frames["loans"]) / len(real), rel=0.15)
    assert model.sample(seed=1)["loans"].equals(out["loans"])  # same seed, same rows


def test_bad_budgets_are_refused_in_one_sentence():
    with pytest.raises(accounting.BudgetError, match="epsilon must be a positive"):
        DPTables(SPECS, 0.0).fit(bank(50))
    with pytest.raises(accounting.BudgetError, match="delta"):
        DPTables(SPECS, 1.0, delta=1.5).fit(bank(50))
    with pytest.raises(accounting.BudgetError, match="after its parent"):
        DPTables(SPECS[::-1], 1.0)


def test_a_column_nothing_of_which_stands_above_the_noise_is_named():
    frames = bank(60)
    assert "loans.amount" in DPTables(SPECS, 0.5).fit(frames).unlearned_  # 60 people at epsilon 0.5: noise only
    assert not [c for c in DPTables(SPECS[:1], 50.0).fit(bank(1500)).unlearned_ if c.startswith("users.")]
