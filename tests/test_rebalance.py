"""Conditional generation across linked tables: ``rebalance`` / ``where`` on a leaf, a mid-level and a root
table, exact shares at 10,000+ rows, integrity, parents and children that follow the condition, bad
conditions refused in one sentence, the CLI, and the evaluation of a rebalanced database."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sample_databases import payments_bank

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.errors import SynthbankError
from synthbank.evaluation import evaluate
from synthbank.evaluation.integrity import integrity
from synthbank.executors import LocalProcesses
from synthbank.io.reader import read_tables
from synthbank.relational import conditions
from synthbank.schemas.reflect import reflect_schema
from synthbank.synthesizer import DatabaseSynthesizer


def flags(values: pd.Series) -> np.ndarray:
    return values.astype(str).str.strip().str.lower().isin({"true", "1"}).to_numpy()


def orphans(schema, tables) -> int:
    """Orphan foreign keys plus duplicate keys and NULLs in NOT NULL columns (the evaluation's check)."""
    found = integrity(schema, tables, tables)
    return int(found["orphans"] + found["constraint_violations"])


@pytest.fixture(scope="module")
def bank():
    return generate_demo_bank(users=600, seed=7)  # about 50 frauds: enough for a class copula of their own


@pytest.fixture(scope="module")
def demo_model(bank):
    return DatabaseSynthesizer(demo_schema(), text=False).fit(bank)


@pytest.fixture(scope="module")
def payments(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('payments') / 'payments.db'}"
    payments_bank(url, seed=3)
    schema = reflect_schema(url)
    real = read_tables(url, schema)
    return url, schema, real, DatabaseSynthesizer(schema, text=False).fit(real)


# --- the mathematics ------------------------------------------------------------------------------------
def test_the_odds_tilt_meets_the_targets_and_keeps_the_parents_order():
    rng = np.random.default_rng(0)
    q1 = rng.beta(0.5, 30, 5000)  # a rare class whose probability differs from parent to parent
    probabilities = np.column_stack([1 - q1, q1])
    tilted = conditions.tilt(probabilities, {1: 1000})
    assert tilted[:, 1].sum() == pytest.approx(1000, rel=1e-3)
    order = np.argsort(q1)
    assert (np.diff(tilted[order, 1]) >= -1e-12).all()  # a likelier parent stays likelier
    chosen = conditions.assign(tilted, {1: 1000}, rng)
    assert (chosen == 1).sum() == 1000 and (chosen >= 0).all()
    assert q1[chosen == 1].mean() > 2 * q1.mean()  # the extra rows go to the parents that had the class


def test_conditioning_a_gaussian_moves_the_other_coordinates_by_their_correlation():
    rng = np.random.default_rng(1)
    correlation = np.array([[1.0, 0.8, -0.5], [0.8, 1.0, 0.0], [-0.5, 0.0, 1.0]])
    factor = np.linalg.cholesky(correlation)
    factors = np.repeat(factor[None], 200_000, axis=0)
    latent = np.einsum("rij,rj->ri", factors, rng.standard_normal((200_000, 3)))
    held = conditions.truncated_normal(np.full(200_000, 1.5), np.full(200_000, np.inf), rng)
    assert held.min() >= 1.5
    moved = conditions.condition_latent(latent, factors, 0, held)
    assert np.allclose(moved[:, 0], held)
    # the draws are those of the Gaussian given its first coordinate beyond 1.5 (checked against rejection)
    plain = rng.standard_normal((2_000_000, 3)) @ factor.T
    wanted = plain[plain[:, 0] >= 1.5]
    assert np.allclose(moved.mean(axis=0), wanted.mean(axis=0), atol=0.02)
    assert np.allclose(moved.std(axis=0), wanted.std(axis=0), atol=0.02)


def test_block_counts_add_up_to_the_whole_tables_counts():
    mix = conditions.Mix("t", "c", (("a", 0.2), ("b", 0.05)))
    total = 10_007
    edges = [total * b // 7 for b in range(8)]
    parts = [mix.block_counts(total, edges[b], edges[b + 1] - edges[b]) for b in range(7)]
    assert sum(p["a"] for p in parts) == mix.counts(total)["a"] == 2001
    assert sum(p["b"] for p in parts) == mix.counts(total)["b"]


# --- a leaf table ---------------------------------------------------------------------------------------
def test_frauds_at_twenty_percent_of_ten_thousand_transactions(demo_model, bank):
    synthetic = demo_model.sample(scale=2, seed=1, rebalance={"transactions.is_fraud": {True: 0.2}})
    transactions = synthetic["transactions"]
    assert len(transactions) >= 10_000
    fraud = flags(transactions["is_fraud"])
    assert abs(fraud.mean() - 0.2) <= 0.02
    assert orphans(demo_schema(), synthetic) == 0
    (entry,) = synthetic.conditions
    assert entry["column"] == "transactions.is_fraud" and entry["requested_share"] == 0.2
    assert entry["achieved_share"] == pytest.approx(fraud.mean()) and entry["real_share"] < 0.03
    # the extra frauds look like real ones: purchases, at the merchants and amounts real frauds have
    real = bank["transactions"]
    real_fraud = flags(real["is_fraud"])
    assert (transactions.loc[fraud, "transaction_type"] == "purchase").mean() >= 0.9
    risky = set(real.loc[real_fraud, "merchant_category"].value_counts().index[:3])
    assert transactions.loc[fraud, "merchant_category"].isin(risky).mean() > 2 * real.loc[~real_fraud, "merchant_category"].isin(risky).mean()
    assert transactions.loc[fraud, "amount"].median() > 3 * transactions.loc[~fraud, "amount"].where(
        transactions["transaction_type"] == "purchase").median()
    # the other tables keep their size
    plain = demo_model.sample(scale=2, seed=1)
    assert {n: len(f) for n, f in plain.items() if n != "transactions"} == {n: len(f) for n, f in synthetic.items() if n != "transactions"}


def test_the_same_mix_in_blocks_in_workers_and_in_process(demo_model):
    rebalance = {"transactions.is_fraud": {"true": 0.3}}
    one = demo_model.sample(seed=2, rebalance=rebalance, block_rows=3000)
    with LocalProcesses(2) as executor:
        two = demo_model.sample(seed=2, rebalance=rebalance, block_rows=3000, executor=executor)
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
    assert flags(one["transactions"]["is_fraud"]).mean() == pytest.approx(0.3, abs=0.001)


# --- a mid-level table ----------------------------------------------------------------------------------
def test_flagged_accounts_at_thirty_percent_with_their_customers_and_transfers(payments):
    _, schema, real, model = payments
    synthetic = model.sample(scale=10, seed=0, rebalance={"accounts.is_flagged": {True: 0.3}})
    accounts, customers = synthetic["accounts"], synthetic["customers"]
    assert len(accounts) >= 10_000
    flagged = flags(accounts["is_flagged"])
    assert abs(flagged.mean() - 0.3) <= 0.02
    assert orphans(schema, synthetic) == 0
    assert len(customers) == 10 * len(real["customers"])  # the scale still sets the root table's size

    def by_flag(tables):
        acc = tables["accounts"].assign(flag=flags(tables["accounts"]["is_flagged"]))
        joined = tables["transfers"].merge(acc[["account_id", "flag", "customer_id"]], on="account_id")
        owners = acc.merge(tables["customers"][["customer_id", "segment"]], on="customer_id")
        return joined, owners

    real_transfers, real_owners = by_flag(real)
    transfers_, owners = by_flag(synthetic)
    # the flagged accounts' transfers are larger and go out by wire more often, as in the real data
    for frame in (real_transfers, transfers_):
        amounts = pd.to_numeric(frame["amount"])
        assert amounts[frame["flag"]].median() > 2 * amounts[~frame["flag"]].median()
        assert (frame.loc[frame["flag"], "channel"] == "wire").mean() > 1.5 * (frame.loc[~frame["flag"], "channel"] == "wire").mean()
    # and they belong to the customers real flagged accounts belong to (business customers)
    business = owners["segment"] == "business"
    assert owners.loc[business, "flag"].mean() > 1.2 * owners.loc[~business, "flag"].mean()


def test_where_fixes_a_value_on_a_root_table_and_its_children_follow(payments):
    _, _, real, model = payments
    synthetic = model.sample(seed=0, where={"customers.segment": "business"})
    assert (synthetic["customers"]["segment"] == "business").all()
    plain = model.sample(seed=0)
    assert flags(synthetic["accounts"]["is_flagged"]).mean() > 2 * flags(plain["accounts"]["is_flagged"]).mean()
    assert pd.to_numeric(synthetic["customers"]["monthly_income"]).median() > 1.5 * pd.to_numeric(plain["customers"]["monthly_income"]).median()


def test_several_values_and_tables_at_once(demo_model):
    synthetic = demo_model.sample(scale=2, seed=3, rebalance={"loans.grade": {"A": 0.3, "G": 0.2}},
                                  where={"users.home_ownership": "OWN"})
    grades = synthetic["loans"]["grade"]
    assert (grades == "A").mean() == pytest.approx(0.3, abs=0.01) and (grades == "G").mean() == pytest.approx(0.2, abs=0.01)
    assert (synthetic["users"]["home_ownership"] == "OWN").all()
    assert orphans(demo_schema(), synthetic) == 0
    assert {c["value"] for c in synthetic.conditions} == {"A", "G", "OWN"}


# --- bad conditions -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rebalance", "where", "message"), [
    ({"transactions.is_fraud": {"maybe": 0.2}}, None, "has no value 'maybe'"),
    ({"transactions.is_fraud": {True: 1.0}}, None, "between 0 and 1"),
    ({"transactions.is_fraud": {True: 0}}, None, "between 0 and 1"),
    ({"loans.grade": {"A": 0.6, "B": 0.5}}, None, "add up to 1.1"),
    ({"transactions.amount": {1: 0.2}}, None, "only categorical and boolean"),
    ({"transactions.loan_id": {1: 0.2}}, None, "is a key column"),
    ({"users.full_name": {"Ann": 0.2}}, None, "personal data"),
    ({"complaints.narrative": {"x": 0.2}}, None, "only categorical and boolean"),
    ({"nowhere.is_fraud": {True: 0.2}}, None, "no table 'nowhere'"),
    ({"transactions.nothing": {True: 0.2}}, None, "has no column 'nothing'"),
    ({"is_fraud": {True: 0.2}}, None, "TABLE.COLUMN"),
    ({"loans.grade": {"A": 0.2}}, {"loans.status": "Current"}, "more than one condition"),
    (None, {"loans.grade": "Z"}, "has no value 'Z'"),
])
def test_bad_conditions_are_refused_in_one_sentence(demo_model, rebalance, where, message):
    with pytest.raises(SynthbankError, match=message) as info:
        demo_model.sample(seed=0, rebalance=rebalance, where=where)
    assert "\n" not in str(info.value)


def test_a_model_of_sdvs_own_hma_refuses_conditions(demo_tables):
    tables = {n: f.head(60) if n == "users" else f for n, f in demo_tables.items()}
    users = set(tables["users"]["user_id"])
    tables["loans"] = tables["loans"][tables["loans"]["user_id"].isin(users)]
    tables["transactions"] = tables["transactions"][tables["transactions"]["loan_id"].isin(set(tables["loans"]["loan_id"]))]
    tables["complaints"] = tables["complaints"][tables["complaints"]["user_id"].isin(users)
                                                & tables["complaints"]["loan_id"].isin(set(tables["loans"]["loan_id"]))]
    from synthbank.relational.settings import RelationalSettings

    model = DatabaseSynthesizer(demo_schema(), text=False, relational=RelationalSettings(engine="sdv")).fit(tables)
    with pytest.raises(SynthbankError, match="need the fast engine"):
        model.sample(rebalance={"transactions.is_fraud": {True: 0.2}})


# --- the CLI and the evaluation ---------------------------------------------------------------------------
def synthbank(*args, cwd):
    return subprocess.run([sys.executable, "-m", "synthbank.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_cli_clone_rebalance_and_evaluate_it_beside_the_plain_clone(payments, tmp_path):
    url, *_ = payments
    plain, balanced = f"sqlite:///{tmp_path / 'plain.db'}", f"sqlite:///{tmp_path / 'balanced.db'}"
    assert synthbank("clone", url, plain, "--no-text", cwd=tmp_path).returncode == 0
    result = synthbank("clone", url, balanced, "--no-text", "--rebalance", "accounts.is_flagged=true:0.25",
                       "--where", "customers.segment=business", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Condition accounts.is_flagged = True: 25.0%" in result.stdout
    assert "Condition customers.segment = business: 100.0%" in result.stdout
    result = synthbank("evaluate", url, balanced, "--out", str(tmp_path / "report"), "--rebalance", "accounts.is_flagged=true:0.25",
                       "--where", "customers.segment=business", "--baseline", plain, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    shares = {(c["column"], str(c["value"]).lower()): c for c in report["summary"]["conditions"]}
    flagged = shares[("accounts.is_flagged", "1")] if ("accounts.is_flagged", "1") in shares else shares[("accounts.is_flagged", "true")]
    assert flagged["synthetic_share"] == pytest.approx(0.25, abs=0.01) and flagged["real_share"] < 0.1
    within = next(c for c in report["conditions"] if c["column"] == "accounts.is_flagged")["within"]
    assert set(within) >= {"(other values)"} and all(g["quality"]["score"] > 0.5 for g in within.values() if g["quality"])
    utility = next(u for u in report["utility"] if u["target"] == "accounts.is_flagged")
    assert "train_baseline" in utility and utility["positive_share_synthetic"] == pytest.approx(0.25, abs=0.01)
    assert "Conditions (rebalancing)" in (tmp_path / "report" / "report.html").read_text()


@pytest.mark.parametrize(("option", "message"), [
    (["--rebalance", "accounts.is_flagged=sometimes:0.2"], "has no value 'sometimes'"),
    (["--rebalance", "accounts.is_flagged=true:2"], "between 0 and 1"),
    (["--rebalance", "accounts.balance=1:0.2"], "only categorical and boolean"),
    (["--rebalance", "accounts.is_flagged"], "is not TABLE.COLUMN=VALUE:SHARE"),
    (["--where", "customers.full_name=Anna Berg"], "personal data"),
])
def test_cli_bad_conditions_exit_1_with_one_sentence_and_write_nothing(payments, tmp_path, option, message):
    url, *_ = payments
    target = tmp_path / "never.db"
    result = synthbank("clone", url, f"sqlite:///{target}", "--no-text", *option, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not target.exists() or reflect_schema(f"sqlite:///{target}").tables == {}


def test_evaluate_compares_within_each_condition(demo_model, bank):
    synthetic = demo_model.sample(seed=0, rebalance={"loans.grade": {"A": 0.5}})
    report = evaluate(bank, synthetic, demo_schema(), rebalance={"loans.grade": {"A": 0.5}}, targets=[])
    (entry,) = report.data["conditions"]
    (value,) = entry["values"]
    assert value["synthetic_share"] == pytest.approx(0.5, abs=0.01) and value["real_share"] < 0.2
    assert set(entry["within"]) == {"A", "(other values)"}
    assert entry["within"]["A"]["synthetic_rows"] > entry["within"]["A"]["real_rows"]
    assert report.data["utility"][0]["target"] == "loans.grade" and report.data["utility"][0]["positive_class"] == "A"



def test_a_product_that_never_names_a_loan_never_does_plain_or_rebalanced(demo_model, bank):
    # the trees draw whether a complaint points at a loan given its product (a rebalanced product's rows have
    # their earlier columns redrawn given it), so the products whose real complaints never name a loan keep
    # that in the plain clone and when rebalanced (the copula: strata by product, tests below)
    counts = bank["complaints"]["product"].value_counts()
    values = [v for v, n in counts.items() if n >= 20]
    linked = bank["complaints"].groupby("product")["loan_id"].apply(lambda keys: keys.notna().mean())
    never = [v for v in values if linked[v] == 0]
    assert len(never) >= 2 and linked.max() > 0.5
    for ask in (None, {"complaints.product": {never[0]: 0.6}}):
        complaints = demo_model.sample(scale=3, seed=4, rebalance=ask)["complaints"]
        if ask:
            assert (complaints["product"] == never[0]).mean() == pytest.approx(0.6, abs=0.005)
        for product in never:
            rows = complaints[complaints["product"] == product]
            assert len(rows) > 20 and rows["loan_id"].isna().all(), (ask, product)
        assert complaints["loan_id"].notna().mean() > 0.1  # the loan products still name theirs


def test_class_models_for_categories_keep_what_goes_with_the_value(bank):
    # real credit-card complaints never name a loan; a copula of their own (class_models="categories") keeps that
    from synthbank.relational.settings import RelationalSettings

    complaints = bank["complaints"]
    assert complaints.loc[complaints["product"] == "Credit card", "loan_id"].isna().all()
    model = DatabaseSynthesizer(demo_schema(), text=False, relational=RelationalSettings(class_models="categories", table_model="copula")).fit(bank)
    synthetic = model.sample(seed=3, rebalance={"complaints.product": {"Credit card": 0.6}})
    cards = synthetic["complaints"][synthetic["complaints"]["product"] == "Credit card"]
    assert len(cards) == pytest.approx(0.6 * len(synthetic["complaints"]), abs=1)
    assert cards["loan_id"].isna().mean() > 0.95
    assert orphans(demo_schema(), synthetic) == 0


def test_the_copula_of_a_rare_class_stores_and_writes_no_real_extreme(payments):
    from synthbank.relational.settings import RelationalSettings

    _, schema, real, _ = payments
    model = DatabaseSynthesizer(schema, text=False, relational=RelationalSettings(table_model="copula")).fit(real)
    flagged = real["accounts"][flags(real["accounts"]["is_flagged"])]
    extremes = {round(float(v), 2) for v in (flagged["balance"].min(), flagged["balance"].max())}
    everyone = {round(float(v), 2) for v in pd.to_numeric(real["accounts"]["balance"]).dropna()}
    (hma,) = [m for m in model.relational_._window_models("accounts") if m.parent == "accounts"]
    own = [copula for (column, _), copula in hma.class_copulas_.items() if column == "is_flagged"]
    assert own  # the flagged accounts have a copula of their own, whose bounds are nobody's balance
    for copula in own:
        transformer = copula.get_transformers()["balance"]
        for bound in (transformer._min_value, transformer._max_value):
            assert round(float(bound), 2) not in everyone
    synthetic = model.sample(scale=5, seed=2, rebalance={"accounts.is_flagged": {True: 0.5}})
    written = {round(float(v), 2) for v in pd.to_numeric(synthetic["accounts"]["balance"]).dropna()}
    assert not written & extremes
