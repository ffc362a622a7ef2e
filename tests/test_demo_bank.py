"""The demo bank: deterministic, realistic, with the correlations and rare classes it promises."""

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from synthbank.demo_bank import generate_demo_bank


def test_deterministic_for_a_seed():
    a, b, c = generate_demo_bank(60, seed=5), generate_demo_bank(60, seed=5), generate_demo_bank(60, seed=6)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["users"]["full_name"].equals(c["users"]["full_name"])


def test_keys_and_diamond_are_consistent(demo_tables):
    users, loans, tx, complaints = (demo_tables[n] for n in ("users", "loans", "transactions", "complaints"))
    assert users["user_id"].is_unique and loans["loan_id"].is_unique and tx["transaction_id"].is_unique
    assert users["email"].is_unique and users["ssn"].is_unique
    assert loans["user_id"].isin(users["user_id"]).all()
    assert tx["loan_id"].isin(loans["loan_id"]).all()
    assert complaints["user_id"].isin(users["user_id"]).all()
    linked = complaints.dropna(subset=["loan_id"]).merge(loans[["loan_id", "user_id"]], on="loan_id", suffixes=("", "_loan"))
    assert len(linked) > 10
    assert (linked["user_id"] == linked["user_id_loan"]).all()  # a complaint's loan is its own user's


def test_engineered_correlations(demo_tables):
    users, loans, tx = demo_tables["users"], demo_tables["loans"], demo_tables["transactions"]
    assert users["annual_income"].corr(users["credit_score"]) > 0.4
    by_grade = loans.groupby("grade")["is_default"].mean()
    assert by_grade.loc[["A", "B"]].mean() < by_grade.loc[["E", "F", "G"]].mean()
    assert loans.groupby("grade")["interest_rate"].mean().is_monotonic_increasing
    assert 0.05 < loans["is_default"].mean() < 0.3
    assert 0.003 < tx["is_fraud"].mean() < 0.03
    fraud_share = tx[tx["transaction_type"] == "purchase"].groupby("merchant_category")["is_fraud"].mean()
    assert fraud_share[["crypto_exchange", "gambling"]].mean() > 5 * fraud_share[["grocery", "restaurants"]].mean()


def test_narratives_depend_on_product_and_carry_some_pii(demo_tables):
    complaints = demo_tables["complaints"].dropna(subset=["narrative"])
    words = complaints["narrative"].str.split().str.len()
    assert words.between(40, 200).all()
    accuracy = cross_val_score(LogisticRegression(max_iter=500), TfidfVectorizer().fit_transform(complaints["narrative"]),
                               complaints["product"], cv=3).mean()
    assert accuracy > 0.8, accuracy
    names = demo_tables["users"].set_index("user_id")["full_name"]
    quoted = [names[u] in text for u, text in zip(complaints["user_id"], complaints["narrative"])]
    assert 0 < np.mean(quoted) < 0.5
