"""A realistic ground-truth bank: users, loans, transactions and complaints with engineered correlations.

What a model of this data should learn (and what tests check):

* income → credit score → loan grade → interest rate → default (a rare-ish class, ~10–15%);
* loan amount grows with income; defaulted loans carry more late fees;
* fraud (~1% of transactions) concentrates in a few merchant categories and in larger amounts;
* complaints: product, sub-product and issue follow the CFPB taxonomy; a complaint tied to a loan is about
  that loan's kind and belongs to the loan's own user (a diamond: complaints → users and → loans → users);
  the narrative's wording depends on product and issue.

Everything is deterministic for a given seed.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
from faker import Faker

from synthbank.demo_bank.narratives import CATALOG, PRODUCT_WEIGHTS, write_narrative
from synthbank.schemas.model import DatabaseSchema

DEFAULT_USERS = 1000

STATES = {"CA": 0.16, "TX": 0.12, "FL": 0.10, "NY": 0.09, "PA": 0.06, "IL": 0.06, "OH": 0.05, "GA": 0.05,
          "NC": 0.05, "MI": 0.05, "NJ": 0.05, "VA": 0.04, "WA": 0.04, "AZ": 0.04, "MA": 0.04}
GRADES = list("ABCDEFG")
_GRADE_FLOORS = [760, 720, 690, 660, 630, 600, -np.inf]
_GRADE_RATES = [6.5, 9.5, 13.0, 16.5, 20.0, 24.0, 28.0]
PURPOSES = {"debt_consolidation": 0.42, "credit_card": 0.2, "home_improvement": 0.1, "car": 0.08,
            "medical": 0.06, "small_business": 0.06, "education": 0.08}
MERCHANT_CATEGORIES = {"grocery": 0.24, "restaurants": 0.16, "gas": 0.12, "online_retail": 0.14,
                       "utilities": 0.1, "travel": 0.07, "electronics": 0.07, "gambling": 0.03,
                       "crypto_exchange": 0.03, "wire_transfer": 0.04}
#: Probability that a purchase in this category is fraudulent (the rest: a small base rate).
FRAUD_RATE = {"electronics": 0.08, "gambling": 0.12, "crypto_exchange": 0.16, "wire_transfer": 0.1,
              "travel": 0.03}
BASE_FRAUD_RATE = 0.002


def demo_schema() -> DatabaseSchema:
    """The demo bank's schema (DDL, keys, PII and text columns), shipped as a data file."""
    return DatabaseSchema.load(resources.files("synthbank.schemas") / "data" / "demo_bank.yaml")


def generate_demo_bank(users: int = DEFAULT_USERS, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Generate the four demo tables as DataFrames (deterministic for ``seed``)."""
    if users < 1:
        raise ValueError("The demo bank needs at least one user.")
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    users_df = _users(rng, fake, users)
    loans_df = _loans(rng, users_df)
    transactions_df = _transactions(rng, loans_df, users_df)
    complaints_df = _complaints(rng, users_df, loans_df)
    return {"users": users_df, "loans": loans_df, "transactions": transactions_df, "complaints": complaints_df}


def _choice(rng, weights: dict, size: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]


def _users(rng, fake: Faker, n: int) -> pd.DataFrame:
    status = _choice(rng, {"employed": 0.74, "self-employed": 0.12, "unemployed": 0.05, "retired": 0.09}, n)
    status_factor = pd.Series(status).map({"employed": 1.0, "self-employed": 1.1, "unemployed": 0.35, "retired": 0.6}).to_numpy()
    log_income = rng.normal(11.0, 0.5, n) + np.log(status_factor)
    income = np.round(np.exp(log_income), -2)
    z = (log_income - 11.0) / 0.5
    credit_score = np.clip(np.round(680 + 40 * z + rng.normal(0, 45, n)), 300, 850).astype(int)
    age = rng.integers(21, 76, n)
    employed = np.isin(status, ["employed", "self-employed"])
    employment_length = np.where(employed, np.minimum(rng.poisson(6, n), age - 18), np.nan)
    own_p = 1 / (1 + np.exp(-(z * 0.8 + (age - 45) / 12)))
    home = np.where(rng.random(n) < own_p, np.where(rng.random(n) < 0.7, "MORTGAGE", "OWN"), "RENT")
    signup = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    birth = pd.Timestamp("2025-01-01") - pd.to_timedelta(age * 365 + rng.integers(0, 365, n), unit="D")

    names = [fake.name() for _ in range(n)]
    emails = []
    for i, name in enumerate(names):
        first, last = name.split()[0].lower(), name.split()[-1].lower()
        emails.append(f"{first}.{last}{i + 1}@{fake.free_email_domain()}".replace("'", ""))
    ssns = [fake.unique.ssn() for _ in range(n)]
    return pd.DataFrame({
        "user_id": np.arange(1, n + 1),
        "full_name": names,
        "email": emails,
        "phone": [fake.numerify("(###) ###-####") for _ in range(n)],
        "ssn": ssns,
        "street_address": [fake.street_address() for _ in range(n)],
        "city": [fake.city() for _ in range(n)],
        "state": _choice(rng, STATES, n),
        "zip_code": [fake.zipcode() for _ in range(n)],
        "date_of_birth": birth.date,
        "annual_income": income,
        "employment_status": status,
        "employment_length_years": pd.array(employment_length, dtype="Int64"),
        "home_ownership": home,
        "credit_score": credit_score,
        "signup_date": signup.date,
    })


def _loans(rng, users: pd.DataFrame) -> pd.DataFrame:
    counts = np.minimum(rng.poisson(0.9 + 0.5 * (users["annual_income"] > 60_000)), 5)
    owner = np.repeat(users.index.to_numpy(), counts)
    n = len(owner)
    u = users.iloc[owner].reset_index(drop=True)
    noisy_score = u["credit_score"].to_numpy() + rng.normal(0, 15, n)
    grade_idx = np.array([next(i for i, floor in enumerate(_GRADE_FLOORS) if s >= floor) for s in noisy_score])
    rate = np.round(np.array(_GRADE_RATES)[grade_idx] + rng.normal(0, 0.9, n), 2).clip(5.0, 30.99)
    amount = np.round(np.clip(u["annual_income"].to_numpy() * rng.uniform(0.05, 0.35, n), 1000, 40_000) / 25) * 25
    term = np.where(rng.random(n) < np.clip(amount / 50_000, 0.1, 0.7), 60, 36)
    purpose = _choice(rng, PURPOSES, n)
    signup = pd.to_datetime(u["signup_date"])
    issue = signup + pd.to_timedelta(rng.integers(30, 2 * 365, n), unit="D")
    dti = amount / u["annual_income"].to_numpy()
    logit = -3.6 + 0.45 * grade_idx + 2.5 * dti + 0.5 * (u["employment_status"].to_numpy() == "unemployed")
    default = rng.random(n) < 1 / (1 + np.exp(-logit))
    late = ~default & (rng.random(n) < 0.04 + 0.02 * grade_idx)
    status = np.where(default, "Charged Off", np.where(late, "Late", np.where(rng.random(n) < 0.55, "Current", "Fully Paid")))
    return pd.DataFrame({
        "loan_id": np.arange(1, n + 1),
        "user_id": u["user_id"].to_numpy(),
        "amount": amount,
        "term_months": term,
        "interest_rate": rate,
        "grade": np.array(GRADES)[grade_idx],
        "purpose": purpose,
        "status": status,
        "is_default": default,
        "issue_date": issue.dt.date,
    })


def _transactions(rng, loans: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for loan in loans.itertuples(index=False):
        start = pd.Timestamp(loan.issue_date)
        rows.append((loan.loan_id, start + pd.Timedelta(hours=10), float(loan.amount), "disbursement", None, False))
        installment = round(float(loan.amount) * (1 + loan.interest_rate / 100 * loan.term_months / 24) / loan.term_months, 2)
        for month in range(1, int(rng.integers(2, 7))):
            when = start + pd.DateOffset(months=month) + pd.Timedelta(hours=int(rng.integers(6, 22)))
            rows.append((loan.loan_id, when, installment, "repayment", None, False))
            if loan.is_default and rng.random() < 0.5 or rng.random() < 0.03:
                rows.append((loan.loan_id, when + pd.Timedelta(days=16), 39.0, "fee", None, False))
        for _ in range(int(rng.poisson(3))):
            category = str(_choice(rng, MERCHANT_CATEGORIES, 1)[0])
            fraud = bool(rng.random() < FRAUD_RATE.get(category, BASE_FRAUD_RATE))
            amount = round(float(rng.lognormal(4.0 if not fraud else 6.0, 0.8)), 2)
            when = start + pd.Timedelta(minutes=int(rng.integers(60, 180 * 24 * 60)))
            rows.append((loan.loan_id, when, amount, "purchase", category, fraud))
            if not fraud and rng.random() < 0.03:
                rows.append((loan.loan_id, when + pd.Timedelta(days=5), amount, "refund", category, False))
    frame = pd.DataFrame(rows, columns=["loan_id", "posted_at", "amount", "transaction_type", "merchant_category", "is_fraud"])
    frame = frame.sort_values(["posted_at", "loan_id"], kind="stable").reset_index(drop=True)
    frame.insert(0, "transaction_id", np.arange(1, len(frame) + 1))
    frame["posted_at"] = frame["posted_at"].dt.floor("s")
    return frame


_LOAN_PRODUCT = {"education": ("Student loan", "Private student loan")}


def _complaints(rng, users: pd.DataFrame, loans: pd.DataFrame) -> pd.DataFrame:
    loans_by_user = loans.groupby("user_id")
    rows = []
    for user in users.itertuples(index=False):
        for _ in range(int(rng.poisson(0.4))):
            loan = None
            if user.user_id in loans_by_user.groups and rng.random() < 0.5:
                user_loans = loans_by_user.get_group(user.user_id)
                loan = user_loans.iloc[int(rng.integers(len(user_loans)))]
            if loan is not None:
                product, sub_product = _LOAN_PRODUCT.get(loan["purpose"], ("Personal loan", "Installment loan"))
                since = pd.Timestamp(loan["issue_date"])
            else:
                product = str(_choice(rng, PRODUCT_WEIGHTS, 1)[0])
                sub_product = str(rng.choice(CATALOG[product][0]))
                since = pd.Timestamp(user.signup_date)
            issue = str(rng.choice(list(CATALOG[product][1])))
            received = since + pd.Timedelta(days=int(rng.integers(15, 700)))
            relief = issue in {"Late fee", "Charged fees or interest you didn't expect", "Purchase shown on statement"}
            response = str(_choice(rng, {
                "Closed with explanation": 0.62 - 0.2 * relief, "Closed with monetary relief": 0.1 + 0.25 * relief,
                "Closed with non-monetary relief": 0.18, "In progress": 0.05, "Untimely response": 0.05,
            }, 1)[0])
            has_text = rng.random() < 0.9
            narrative = write_narrative(
                rng, product, issue,
                name=user.full_name if rng.random() < 0.15 else None,
                email=user.email if rng.random() < 0.05 else None,
                phone=user.phone if rng.random() < 0.05 else None,
            ) if has_text else None
            rows.append({
                "user_id": user.user_id,
                "loan_id": None if loan is None else int(loan["loan_id"]),
                "received_date": received.date(),
                "product": product, "sub_product": sub_product, "issue": issue,
                "state": user.state if rng.random() < 0.95 else str(_choice(rng, STATES, 1)[0]),
                "submitted_via": str(_choice(rng, {"Web": 0.74, "Referral": 0.1, "Phone": 0.08, "Postal mail": 0.05, "Email": 0.03}, 1)[0]),
                "company_response": response,
                "timely_response": response != "Untimely response",
                "narrative": narrative,
            })
    columns = ["user_id", "loan_id", "received_date", "product", "sub_product", "issue", "state",
               "submitted_via", "company_response", "timely_response", "narrative"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.insert(0, "complaint_id", np.arange(1, len(frame) + 1))
    frame["loan_id"] = frame["loan_id"].astype("Int64")
    return frame
