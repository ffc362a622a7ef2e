"""A users → loans → transactions chain of exact sizes (default 500 / 1,000 / 10,000), for side-by-side runs.

The demo bank cannot give those sizes (it draws ~1.2 loans per user and ~7.5 transactions per loan), so this
generator keeps the demo bank's users (``generate_demo_bank``: PII, income → credit score, …) and draws
loans and transactions with the demo bank's own formulas (grade from credit score, rate from grade, amount
from income, default from grade and debt-to-income; repayments, late fees, purchases by merchant category,
fraud by category, refunds), only with the fan-outs sized to hit the counts exactly:

* loans per user: ``loans`` loans dealt out by a multinomial whose weights follow the demo bank's
  (0.9, +0.5 above a 60,000 income), so some users have none and richer users have more;
* transactions per loan: the demo bank's disbursement, 1–5 repayments and fees, with purchases drawn a bit
  too generously (Poisson) and then purchase/refund rows thinned at random down to exactly ``transactions``.

Deterministic for a seed; two seeds are two independent draws of the same "population" (the real-vs-real
reference of benchmarks/scale.py).

    python benchmarks/chain.py chain.db [--seed 0] [--users 500 --loans 1000 --transactions 10000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.demo_bank.generate import BASE_FRAUD_RATE, FRAUD_RATE, GRADES, MERCHANT_CATEGORIES, PURPOSES

TABLES = ["users", "loans", "transactions"]
# the demo bank's grade floors (credit score) and base rates per grade
GRADE_FLOORS = [760, 720, 690, 660, 630, 600, -np.inf]
GRADE_RATES = [6.5, 9.5, 13.0, 16.5, 20.0, 24.0, 28.0]


def chain_schema():
    """The demo bank's schema restricted to users, loans and transactions (DDL, keys, PII)."""
    return demo_schema().subset(TABLES)


def _choice(rng, weights: dict, size: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]


def generate_chain(users: int = 500, loans: int = 1000, transactions: int = 10_000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Users, loans and transactions with exactly these row counts (deterministic for ``seed``)."""
    if transactions < loans:
        raise ValueError("Every loan has at least its disbursement: transactions must be >= loans.")
    users_df = generate_demo_bank(users=users, seed=seed)["users"]
    rng = np.random.default_rng([seed, 1_000_003])
    loans_df = _loans(rng, users_df, loans)
    transactions_df = _transactions(rng, loans_df, transactions)
    return {"users": users_df, "loans": loans_df, "transactions": transactions_df}


def _loans(rng, users: pd.DataFrame, n: int) -> pd.DataFrame:
    weight = 0.9 + 0.5 * (users["annual_income"].to_numpy() > 60_000)
    counts = rng.multinomial(n, weight / weight.sum())
    u = users.iloc[np.repeat(np.arange(len(users)), counts)].reset_index(drop=True)
    noisy_score = u["credit_score"].to_numpy() + rng.normal(0, 15, n)
    grade_idx = np.array([next(i for i, floor in enumerate(GRADE_FLOORS) if s >= floor) for s in noisy_score])
    rate = np.round(np.array(GRADE_RATES)[grade_idx] + rng.normal(0, 0.9, n), 2).clip(5.0, 30.99)
    amount = np.round(np.clip(u["annual_income"].to_numpy() * rng.uniform(0.05, 0.35, n), 1000, 40_000) / 25) * 25
    term = np.where(rng.random(n) < np.clip(amount / 50_000, 0.1, 0.7), 60, 36)
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
        "purpose": _choice(rng, PURPOSES, n),
        "status": status,
        "is_default": default,
        "issue_date": issue.dt.date,
    })


def _transactions(rng, loans: pd.DataFrame, target: int) -> pd.DataFrame:
    # structural rows per loan: 1 disbursement + 1..5 repayments (+ fees) ≈ 4.3; purchases fill the rest (+ ~3% refunds)
    purchases_per_loan = max(0.5, (target / len(loans) - 4.3) / 1.03 * 1.12)
    while True:
        frame = _draw_transactions(rng, loans, purchases_per_loan)
        if len(frame) >= target:
            break
        purchases_per_loan *= 1.2
    optional = np.flatnonzero(frame["transaction_type"].isin(["purchase", "refund"]).to_numpy())
    drop = rng.choice(optional, size=len(frame) - target, replace=False)
    frame = frame.drop(index=frame.index[drop])
    frame = frame.sort_values(["posted_at", "loan_id"], kind="stable").reset_index(drop=True)
    frame.insert(0, "transaction_id", np.arange(1, len(frame) + 1))
    frame["posted_at"] = frame["posted_at"].dt.floor("s")
    return frame


def _draw_transactions(rng, loans: pd.DataFrame, purchases_per_loan: float) -> pd.DataFrame:
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
        for _ in range(int(rng.poisson(purchases_per_loan))):
            category = str(_choice(rng, MERCHANT_CATEGORIES, 1)[0])
            fraud = bool(rng.random() < FRAUD_RATE.get(category, BASE_FRAUD_RATE))
            amount = round(float(rng.lognormal(4.0 if not fraud else 6.0, 0.8)), 2)
            when = start + pd.Timedelta(minutes=int(rng.integers(60, 180 * 24 * 60)))
            rows.append((loan.loan_id, when, amount, "purchase", category, fraud))
            if not fraud and rng.random() < 0.03:
                rows.append((loan.loan_id, when + pd.Timedelta(days=5), amount, "refund", category, False))
    return pd.DataFrame(rows, columns=["loan_id", "posted_at", "amount", "transaction_type", "merchant_category", "is_fraud"])


def write_chain(url: str, users: int = 500, loans: int = 1000, transactions: int = 10_000, seed: int = 0):
    """Generate the chain and write it with its DDL (keys, types, NOT NULL) into a new database at ``url``."""
    from synthbank.io.writer import write_tables

    return write_tables(url, chain_schema(), generate_chain(users, loans, transactions, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="a new SQLite file or a SQLAlchemy URL")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = write_chain(args.target, args.users, args.loans, args.transactions, args.seed)
    print(f"{args.target}: " + ", ".join(f"{rows:,} {name}" for name, rows in report.rows.items()))


if __name__ == "__main__":
    main()
