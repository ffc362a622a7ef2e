"""The evaluation's own rule check: planted rules are found on the real tables and nothing among
independent columns; synthetic rows that break a rule are counted with the right share; an exact copy
breaks none; the report carries the section, the summary keys and the HTML section."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from synthbank.evaluation.evaluate import model_dtypes
from synthbank.evaluation.rule_report import rule_check
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table

INDEPENDENT = {"x1", "x2", "c1", "c2", "segment", "score"}


def _bank_schema() -> DatabaseSchema:
    c = Column
    return DatabaseSchema({
        "customers": Table("customers", {"customer_id": c("customer_id", "integer", False, "id"),
                                         "signup": c("signup", "date", False, "datetime"),
                                         "kyc_date": c("kyc_date", "date", False, "datetime"),
                                         "segment": c("segment", "varchar(10)", False, "categorical"),
                                         "score": c("score", "integer", False, "numerical"),
                                         "email": c("email", "varchar(60)", False, "pii", pii="email")}, ["customer_id"]),
        "accounts": Table("accounts", {
            "branch": c("branch", "varchar(4)", False, "id"), "account_no": c("account_no", "integer", False, "id"),
            "customer_id": c("customer_id", "integer", False, "id"), "opened": c("opened", "date", False, "datetime"),
            "status": c("status", "varchar(10)", False, "categorical"), "flagged": c("flagged", "boolean", False, "boolean"),
            "principal": c("principal", "numeric(12,2)", False, "numerical"), "interest": c("interest", "numeric(12,2)", False, "numerical"),
            "fees": c("fees", "numeric(12,2)", False, "numerical"), "total": c("total", "numeric(12,2)", False, "numerical"),
            "start_date": c("start_date", "date", False, "datetime"), "end_date": c("end_date", "date", False, "datetime"),
            "co_name": c("co_name", "varchar(10)", True, "categorical"), "co_income": c("co_income", "float", True, "numerical"),
            "x1": c("x1", "float", False, "numerical"), "x2": c("x2", "float", False, "numerical"),
            "c1": c("c1", "varchar(3)", False, "categorical"), "c2": c("c2", "varchar(3)", False, "categorical")},
            ["branch", "account_no"], [ForeignKey(["customer_id"], "customers", ["customer_id"])]),
        "payments": Table("payments", {"payment_id": c("payment_id", "integer", False, "id"),
                                       "branch": c("branch", "varchar(4)", False, "id"),
                                       "account_no": c("account_no", "integer", False, "id"),
                                       "paid_at": c("paid_at", "timestamp", False, "datetime")},
                          ["payment_id"], [ForeignKey(["branch", "account_no"], "accounts", ["branch", "account_no"])]),
    })


def _bank(customers: int = 300, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Planted: customers' signup <= kyc_date; accounts opened after their customer's signup, status decides
    flagged, start_date <= end_date, co_name and co_income NULL together, money with 2 decimals, total =
    principal + interest + fees; payments after their account's opening and (two keys up) after the
    customer's KYC date. x1, x2, c1, c2, segment and score are independent of everything."""
    rng = np.random.default_rng(seed)
    day = pd.to_timedelta(1, unit="D")
    signup = pd.Timestamp("2015-01-01") + rng.integers(0, 1500, customers) * day
    people = pd.DataFrame({"customer_id": np.arange(1, customers + 1), "signup": signup,
                           "kyc_date": signup + rng.integers(0, 400, customers) * day,
                           "segment": rng.choice(["retail", "premium", "private", "student"], customers),
                           "score": rng.integers(300, 851, customers), "email": [f"p{i}@example.com" for i in range(customers)]})
    owner = rng.integers(0, customers, 2 * customers)
    n = len(owner)
    status = rng.choice(["active", "closed", "frozen", "pending"], n, p=[0.5, 0.2, 0.15, 0.15])
    principal = np.round(rng.uniform(1_000, 10_000, n), 2)
    interest = np.round(principal * rng.uniform(0.02, 0.08, n), 2)
    fees = np.where(rng.random(n) < 0.3, np.round(rng.uniform(10, 50, n), 2), 0.0)
    start = pd.Timestamp("2010-01-01") + rng.integers(0, 3650, n) * day
    has_co = rng.random(n) < 0.4
    accounts = pd.DataFrame({
        "branch": rng.choice(["B1", "B2", "B3"], n), "account_no": np.arange(1, n + 1), "customer_id": owner + 1,
        "opened": signup[owner] + rng.integers(1, 300, n) * day, "status": status, "flagged": status == "frozen",
        "principal": principal, "interest": interest, "fees": fees, "total": np.round(principal + interest + fees, 2),
        "start_date": start, "end_date": start + rng.integers(1, 1000, n) * day,
        "co_name": np.where(has_co, rng.choice(["ann", "bob", "cy", "dee", "eve"], n), None),
        "co_income": np.where(has_co, np.round(rng.uniform(10_000, 90_000, n), -2), np.nan),
        "x1": rng.normal(0, 1, n), "x2": rng.lognormal(3, 1, n),
        "c1": rng.choice(["a", "b", "c"], n), "c2": rng.choice(["p", "q", "r", "s", "t"], n)})
    account = rng.integers(0, n, 4 * customers)
    after = np.maximum(accounts["opened"].to_numpy()[account], people["kyc_date"].to_numpy()[owner[account]])
    payments = pd.DataFrame({"payment_id": np.arange(1, len(account) + 1), "branch": accounts["branch"].to_numpy()[account],
                             "account_no": accounts["account_no"].to_numpy()[account],
                             "paid_at": after + pd.to_timedelta(rng.integers(3_600, 90 * 86_400, len(account)), unit="s")})
    return {"customers": people, "accounts": accounts, "payments": payments}


@pytest.fixture(scope="module")
def schema():
    return _bank_schema()


@pytest.fixture(scope="module")
def real(schema):
    return model_dtypes(schema, _bank())


@pytest.fixture(scope="module")
def copy_check(schema, real):
    return rule_check(schema, real, {name: frame.copy() for name, frame in real.items()})


def _find(section: dict, kind: str, table: str, columns: list[str], **details) -> dict | None:
    return next((r for r in section["rules"] if r["kind"] == kind and r["table"] == table and r["columns"] == columns
                 and all(r.get(k) == v for k, v in details.items())), None)


def test_planted_rules_are_found(copy_check):
    planted = [("decides", "accounts", ["status", "flagged"], {}),
               ("order", "customers", ["signup", "kyc_date"], {}),
               ("order", "accounts", ["start_date", "end_date"], {}),
               ("after_parent", "accounts", ["opened"], {"parent": "customers", "parent_column": "signup", "path": [["customer_id"]]}),
               ("after_parent", "payments", ["paid_at"], {"parent": "accounts", "parent_column": "opened",
                                                          "path": [["branch", "account_no"]]}),
               ("after_parent", "payments", ["paid_at"], {"parent": "customers", "parent_column": "kyc_date", "via": ["accounts"],
                                                          "path": [["branch", "account_no"], ["customer_id"]]}),
               ("null_together", "accounts", ["co_name", "co_income"], {}),
               ("precision", "accounts", ["principal"], {"decimals": 2}),
               ("precision", "customers", ["score"], {"decimals": 0}),
               ("sum", "accounts", ["total", "principal", "interest", "fees"], {"decimals": 2})]
    for kind, table, columns, details in planted:
        rule = _find(copy_check, kind, table, columns, **details)
        assert rule is not None, (kind, table, columns)
        assert rule["real_share"] == 1.0 and rule["rows"] >= 20
    # implied by two one-hop rules (paid_at >= opened >= signup): not repeated two keys up
    assert _find(copy_check, "after_parent", "payments", ["paid_at"], parent="customers", parent_column="signup") is None
    assert _find(copy_check, "decides", "accounts", ["flagged", "status"]) is None  # "not frozen" is three statuses


def test_independent_columns_give_no_rules(copy_check):
    for rule in copy_check["rules"]:
        named = set(rule["columns"]) | ({rule["parent_column"]} if rule["kind"] == "after_parent" else set())
        if rule["kind"] == "precision":
            assert rule["columns"][0] not in {"x1", "x2"}  # floats with any decimals
        else:
            assert not named & INDEPENDENT, rule
    # money is always above a credit score, but only because their ranges do not overlap: no rule
    assert not [r for r in copy_check["rules"] if r["kind"] == "after_parent" and r["parent_column"] == "score"]
    assert _find(copy_check, "order", "accounts", ["interest", "total"]) is None


def test_an_exact_copy_breaks_no_rule(copy_check):
    assert copy_check["synthetic_rows_breaking"] == 0.0 and copy_check["real_rows_breaking"] == 0.0
    assert all(r["synthetic_share"] == 1.0 and r["real_share"] == 1.0 for r in copy_check["rules"])
    assert all(t["synthetic_rows_breaking"] == 0.0 and t["rules"] > 0 for t in copy_check["tables"].values())
    assert set(copy_check["per_kind"]) == {"decides", "order", "after_parent", "null_together", "precision", "sum"}
    assert not copy_check["capped"]


def test_children_dated_before_their_parent_are_flagged_with_their_share(schema, real):
    synthetic = {name: frame.copy() for name, frame in real.items()}
    accounts = synthetic["accounts"]
    moved = np.random.default_rng(1).random(len(accounts)) < 0.25
    signup = accounts["customer_id"].map(real["customers"].set_index("customer_id")["signup"])
    accounts.loc[moved, "opened"] = signup[moved] - pd.Timedelta(days=10)
    section = rule_check(schema, real, synthetic)
    rule = _find(section, "after_parent", "accounts", ["opened"], parent_column="signup")
    assert rule["synthetic_share"] == pytest.approx(1 - moved.mean()) and rule["real_share"] == 1.0
    assert section["tables"]["accounts"]["synthetic_rows_breaking"] == pytest.approx(moved.mean())
    assert section["tables"]["customers"]["synthetic_rows_breaking"] == 0.0
    rows = sum(len(frame) for frame in real.values())
    assert section["synthetic_rows_breaking"] == pytest.approx(moved.sum() / rows)
    assert section["per_kind"]["after_parent"] == pytest.approx(moved.sum() / (len(accounts) + len(synthetic["payments"])))
    assert section["real_rows_breaking"] == 0.0


def test_each_kind_counts_the_rows_that_break_it(schema, real):
    synthetic = {name: frame.copy() for name, frame in real.items()}
    a = synthetic["accounts"]
    rows = {"decides": a.index[a["status"] == "active"][:10], "null_together": a.index[a["co_name"].notna()][:7],
            "precision": a.index[:5], "sum": a.index[20:28], "order": a.index[40:46]}
    a.loc[rows["decides"], "flagged"] = True
    a.loc[rows["null_together"], "co_income"] = np.nan
    a.loc[rows["precision"], "principal"] += 0.004  # within the sum's tolerance of one cent
    a.loc[rows["sum"], "total"] += 5
    a.loc[rows["order"], ["start_date", "end_date"]] = a.loc[rows["order"], ["end_date", "start_date"]].to_numpy()
    section = rule_check(schema, real, synthetic)
    n = len(a)
    assert _find(section, "decides", "accounts", ["status", "flagged"])["synthetic_share"] == pytest.approx(1 - 10 / n)
    assert _find(section, "null_together", "accounts", ["co_name", "co_income"])["synthetic_share"] == pytest.approx(1 - 7 / n)
    assert _find(section, "precision", "accounts", ["principal"])["synthetic_share"] == pytest.approx(1 - 5 / n)
    assert _find(section, "sum", "accounts", ["total", "principal", "interest", "fees"])["synthetic_share"] == pytest.approx(1 - 8 / n)
    assert _find(section, "order", "accounts", ["start_date", "end_date"])["synthetic_share"] == pytest.approx(1 - 6 / n)
    broken = set().union(*map(set, rows.values()))
    assert section["tables"]["accounts"]["synthetic_rows_breaking"] == pytest.approx(len(broken) / n)
    assert section["per_kind"]["decides"] == pytest.approx(10 / n) and section["per_kind"]["sum"] == pytest.approx(8 / n)


def _one_table(frame: pd.DataFrame, sdtypes: dict[str, str]) -> tuple[DatabaseSchema, dict]:
    columns = {name: Column(name, "varchar(10)" if sdtype == "categorical" else "float", True, sdtype) for name, sdtype in sdtypes.items()}
    schema = DatabaseSchema({"t": Table("t", columns)})
    return schema, model_dtypes(schema, {"t": frame})


def test_a_rule_leaves_rare_values_out_and_needs_a_varied_decided_column():
    a = np.array(["a"] * 300 + ["b"] * 292 + ["s"] * 5 + ["r"] * 3)
    frame = pd.DataFrame({"a": a, "b": np.where(a == "b", "y", "x"),
                          "nearly_constant": np.where(a == "s", "y", "x")})  # "x" in 99.2% of the rows
    schema, real = _one_table(frame, {"a": "categorical", "b": "categorical", "nearly_constant": "categorical"})
    section = rule_check(schema, real, real)
    rule = _find(section, "decides", "t", ["a", "b"])
    assert rule["values"] == 3 and rule["rows"] == 597  # "r" is held by fewer than 5 rows: not judged
    assert _find(section, "decides", "t", ["a", "nearly_constant"]) is None
    synthetic = real["t"].copy()
    synthetic.loc[0:3, "b"] = "y"  # a → y: broken
    synthetic.loc[10:19, ["a", "b"]] = ["r", "y"]  # a rare value: not judged
    synthetic.loc[100, "a"] = "never seen"  # a value no real row holds: not judged
    rule = _find(rule_check(schema, real, {"t": synthetic}), "decides", "t", ["a", "b"])
    assert rule["synthetic_rows"] == 600 - 3 - 10 - 1 and rule["synthetic_share"] == pytest.approx(1 - 4 / 586)


def test_empty_tables_and_orphans_are_not_judged(schema, real):
    empty = rule_check(schema, real, {name: frame.iloc[:0] for name, frame in real.items()})
    assert empty["synthetic_rows_breaking"] is None and empty["real_rows_breaking"] == 0.0
    assert all(r["synthetic_share"] is None and r["synthetic_rows"] == 0 for r in empty["rules"])
    synthetic = {name: frame.copy() for name, frame in real.items()}
    synthetic["accounts"]["customer_id"] += 10**6  # every account an orphan
    synthetic["customers"] = pd.concat([real["customers"], real["customers"].iloc[:10]])  # and some customers twice
    section = rule_check(schema, real, synthetic)
    assert _find(section, "after_parent", "accounts", ["opened"])["synthetic_rows"] == 0
    assert _find(section, "after_parent", "payments", ["paid_at"], parent="customers")["synthetic_rows"] == 0
    assert _find(section, "after_parent", "payments", ["paid_at"], parent="accounts")["synthetic_share"] == 1.0
    assert section["synthetic_rows_breaking"] == 0.0


def test_round_values_are_compared(schema, real):
    synthetic = {name: frame.copy() for name, frame in real.items()}
    synthetic["accounts"]["co_income"] += 37.0  # no longer round hundreds
    section = rule_check(schema, real, synthetic)
    hundreds = next(r for r in section["round_values"] if r["column"] == "co_income" and r["step"] == 100)
    assert hundreds["real_share"] == 1.0 and hundreds["synthetic_share"] == 0.0
    assert not [r for r in section["round_values"] if r["column"] in {"x1", "x2", "principal"}]


def test_the_demo_bank_rules():
    from synthbank.demo_bank import demo_schema, generate_demo_bank

    schema = demo_schema()
    real = model_dtypes(schema, generate_demo_bank(users=150, seed=21))
    section = rule_check(schema, real, {name: frame.copy() for name, frame in real.items()})
    assert _find(section, "after_parent", "transactions", ["posted_at"], parent="loans", parent_column="issue_date")
    assert _find(section, "after_parent", "loans", ["issue_date"], parent="users", parent_column="signup_date")
    assert _find(section, "after_parent", "complaints", ["received_date"], parent="users", parent_column="signup_date")
    assert _find(section, "decides", "loans", ["status", "is_default"])
    assert section["synthetic_rows_breaking"] == 0.0


def test_wide_random_tables_stay_fast_and_ruleless():
    rng = np.random.default_rng(5)
    n, columns, data = 3_000, {"id": Column("id", "integer", False, "id")}, {"id": np.arange(3_000)}
    for i in range(60):
        data[f"n{i}"] = [rng.normal(0, 50, n), rng.lognormal(6, 1, n), rng.poisson(2, n).astype(float)][i % 3]
        columns[f"n{i}"] = Column(f"n{i}", "float", True, "numerical")
        data[f"c{i}"] = rng.choice(list("abcdefgh"[: 2 + i % 6]), n)
        columns[f"c{i}"] = Column(f"c{i}", "varchar(1)", True, "categorical")
    schema = DatabaseSchema({"wide": Table("wide", columns, ["id"])})
    real = model_dtypes(schema, {"wide": pd.DataFrame(data)})
    start = time.perf_counter()
    section = rule_check(schema, real, real)
    assert time.perf_counter() - start < 10
    assert {r["kind"] for r in section["rules"]} == {"precision"}  # only the whole-number counts


def test_the_report_carries_the_rule_check(schema, real, tmp_path):
    from synthbank.evaluation import evaluate
    from synthbank.evaluation.html import render_html

    synthetic = {name: frame.copy() for name, frame in real.items()}
    synthetic["accounts"]["flagged"] = ~synthetic["accounts"]["flagged"]
    small = schema.subset(["customers", "accounts"])
    report = evaluate({n: real[n] for n in small.tables}, {n: synthetic[n] for n in small.tables}, small, targets=[])
    section = report.data["rules"]
    assert _find(section, "decides", "accounts", ["status", "flagged"])["synthetic_share"] == 0.0
    assert report.summary["rule_break_share"] == section["synthetic_rows_breaking"] > 0
    assert report.summary["rule_break_per_kind"]["decides"] == 1.0
    assert "rules" in report.data["seconds"]
    page = render_html(report)
    assert "Rules every real row obeys" in page and "status decides flagged" in page
