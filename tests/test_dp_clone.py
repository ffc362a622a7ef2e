"""Differential privacy end to end: `synthbank fit/clone --dp-epsilon` on a database, the statement in the model
directory and the report, the texts' budget joined to it, and nothing changed without DP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from synthbank.cli import main
from synthbank.demo_bank import demo_schema
from synthbank.relational.settings import RelationalSettings
from synthbank.synthesizer import DatabaseSynthesizer


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"}, timeout=600)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def bank_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('dp') / 'bank.db'}"
    assert main(["demo-db", url, "--users", "1500"]) == 0
    return url


def test_fit_with_dp_states_the_budget_and_samples_a_whole_database(bank_url, tmp_path):
    model = tmp_path / "model"
    code, out, err = run_cli("fit", bank_url, "--model", str(model), "--dp-epsilon", "4", "--dp-max-rows", "5", "--no-text")
    assert code == 0, err
    assert "Differentially private: epsilon 3.9" in out and "a person" in out
    state = json.loads((model / "relational" / "relational.json").read_text())
    dp = state["differential_privacy"]
    assert dp["epsilon"] == pytest.approx(sum(p["epsilon"] for p in dp["parts"].values())) and dp["epsilon"] <= 4
    assert dp["delta"] <= 1e-6 and (model / "relational" / "dp.pkl").is_file()
    target = f"sqlite:///{tmp_path / 'synthetic.db'}"
    code, out, err = run_cli("sample", "--model", str(model), target)
    assert code == 0, err
    assert "every foreign key resolves" in out and "Differentially private" in out
    engine = sa.create_engine(target)
    with engine.connect() as connection:
        users = connection.execute(sa.text("SELECT COUNT(*) FROM users")).scalar()
        orphans = connection.execute(sa.text(
            "SELECT COUNT(*) FROM loans l LEFT JOIN users u ON l.user_id = u.user_id WHERE u.user_id IS NULL")).scalar()
        grades = {r[0] for r in connection.execute(sa.text("SELECT DISTINCT grade FROM loans"))}
    engine.dispose()
    assert 1400 < users < 1600 and orphans == 0  # a noisy count of 1,500 customers
    assert grades and grades <= set("ABCDEFG")
    report = tmp_path / "report"
    code, out, err = run_cli("evaluate", bank_url, target, "--model", str(model), "--out", str(report))
    assert code == 0, err
    assert "differential privacy" in out
    saved = json.loads((report / "report.json").read_text())
    assert saved["privacy"]["differential_privacy"]["epsilon"] == pytest.approx(dp["epsilon"])
    assert "Differential privacy of the tables" in (report / "report.html").read_text()


def test_dp_needs_the_texts_private_too_and_refuses_conditions(bank_url, tmp_path):
    code, _, err = run_cli("clone", bank_url, f"sqlite:///{tmp_path / 'out.db'}", "--dp-epsilon", "2")
    assert code == 1 and "--text-dp-epsilon" in err and "Traceback" not in err
    assert not (tmp_path / "out.db").exists()
    code, _, err = run_cli("clone", bank_url, f"sqlite:///{tmp_path / 'out.db'}", "--dp-epsilon", "2", "--no-text",
                           "--rebalance", "transactions.is_fraud=true:0.2")
    assert code == 1 and "differential privacy" in err and "Traceback" not in err
    code, _, err = run_cli("clone", bank_url, f"sqlite:///{tmp_path / 'out.db'}", "--dp-epsilon", "-1", "--no-text")
    assert code != 0 and "Traceback" not in err


def test_the_texts_budget_joins_the_total(demo_tables):
    from synthbank.dp.accounting import with_texts

    synthesizer = DatabaseSynthesizer(demo_schema(), text=False, relational=RelationalSettings(dp_epsilon=2.0))
    synthesizer.fit({n: f for n, f in demo_tables.items()})
    text = {"complaints.narrative": {"texts": 120, "dp": {"epsilon": 1.5, "delta": 1e-5, "target_epsilon": 1.5}}}
    both = with_texts(synthesizer.differential_privacy, text)
    assert both["epsilon"] == pytest.approx(synthesizer.differential_privacy["epsilon"] + 1.5)
    assert "texts complaints.narrative" in both["parts"] and "tables: correlations" in both["parts"]


def test_without_dp_nothing_changes(demo_tables, tmp_path):
    plain = DatabaseSynthesizer(demo_schema(), text=False).fit(demo_tables)
    assert plain.differential_privacy is None and getattr(plain.relational_, "dp_", None) is None
    assert not any("differential privacy" in w for w in plain.describe()["windows"])
    plain.save(tmp_path / "model")
    assert "differential_privacy" not in json.loads((tmp_path / "model" / "relational" / "relational.json").read_text())


def test_rules_written_by_hand_are_kept_and_found_ones_are_not():
    import pandas as pd

    from synthbank.demo_bank import generate_demo_bank
    from synthbank.schemas.rules import Rule

    tables = generate_demo_bank(1500, seed=4)
    schema = demo_schema()
    signup = Rule("after_parent", "loans", ["issue_date"], parent="users", parent_column="signup_date", path=["user_id"])
    found = Rule("after_parent", "complaints", ["received_date"], parent="users", parent_column="signup_date",
                 path=["user_id"], support=633)  # a rule synthbank found on the rows: it tells about them
    schema.rules = [signup, found]
    synthesizer = DatabaseSynthesizer(schema, text=False, relational=RelationalSettings(dp_epsilon=3.0)).fit(tables)
    assert synthesizer.rules == [signup] and "1 rule(s) of the schema file are not kept" in synthesizer.describe()["notes"][0]
    out = dict(synthesizer.sample(seed=0))
    loans = out["loans"].merge(out["users"], on="user_id")
    assert (pd.to_datetime(loans["issue_date"]) >= pd.to_datetime(loans["signup_date"])).all()


def test_under_a_lookup_table_each_customer_is_a_person(tmp_path):
    """Bank branches hold no one's data: the customers under them are the persons, as for the rest of the engine
    (with the branch as the person, a branch's 10 customers were all training kept, and their payments none)."""
    import numpy as np

    rng = np.random.default_rng(0)
    url = f"sqlite:///{tmp_path / 'branches.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE branches (branch_id INTEGER PRIMARY KEY, region VARCHAR(10) NOT NULL)"))
        connection.execute(sa.text("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name VARCHAR(30), "
                                   "income REAL NOT NULL, branch_id INTEGER NOT NULL REFERENCES branches(branch_id))"))
        connection.execute(sa.text("INSERT INTO branches VALUES (:i, :r)"), [{"i": i, "r": ["north", "south"][i % 2]} for i in range(1, 5)])
        connection.execute(sa.text("INSERT INTO customers VALUES (:i, :n, :m, :b)"),
                           [{"i": i, "n": ["Anna", "Jan", "Eva"][i % 3], "m": float(rng.lognormal(10, 0.5)), "b": 1 + i % 4}
                            for i in range(1, 1501)])
    engine.dispose()
    synthesizer = DatabaseSynthesizer.from_url(url, text=False, relational=RelationalSettings(dp_epsilon=4.0)).fit()
    model = synthesizer.relational_
    assert next(s for s in model.dp_.specs if s.name == "customers").parent is None
    assert model.dp_lookups_ == {"customers": "branches"}
    out = dict(synthesizer.sample(seed=0))
    assert 1400 < len(out["customers"]) < 1600 and out["customers"]["branch_id"].isin(out["branches"]["branch_id"]).all()
