"""Table models inside HMA's hierarchy: each one clones a two-table bank with integrity and its rules, gives the
same rows per seed in this process and in worker processes, and the default keeps a relation the copula cannot
(a category that flips the sign of a numeric relation, in the table and from the parent row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthbank import DatabaseSynthesizer
from synthbank.errors import SchemaError
from synthbank.executors import LocalProcesses
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table
from synthbank.schemas.rule_check import breaking_share
from synthbank.vocabulary import TABLE_MODELS

#: CTGAN and TVAE train for a few epochs here: what is tested is the plumbing, not their quality.
EPOCHS = 3


def two_tables(customers: int = 400, seed: int = 0) -> tuple[DatabaseSchema, dict[str, pd.DataFrame]]:
    """customers → accounts. A customer's segment flips the sign of the relation between income and score
    (in the table) and between an account's balance and rate (in the child, from the parent row); an account
    is opened after its customer joined."""
    rng = np.random.default_rng(seed)
    c = Column
    schema = DatabaseSchema({
        "customers": Table("customers", {"customer_id": c("customer_id", "integer", False, "id"),
                                         "segment": c("segment", "varchar(10)", False, "categorical"),
                                         "income": c("income", "float", False, "numerical"),
                                         "score": c("score", "float", False, "numerical"),
                                         "joined": c("joined", "date", False, "datetime")}, ["customer_id"]),
        "accounts": Table("accounts", {"account_id": c("account_id", "integer", False, "id"),
                                       "customer_id": c("customer_id", "integer", False, "id"),
                                       "kind": c("kind", "varchar(10)", False, "categorical"),
                                       "balance": c("balance", "float", False, "numerical"),
                                       "rate": c("rate", "float", False, "numerical"),
                                       "opened": c("opened", "date", False, "datetime")},
                          ["account_id"], [ForeignKey(["customer_id"], "customers", ["customer_id"])]),
    })
    segment = rng.choice(["retail", "private"], customers)
    sign = np.where(segment == "retail", 1.0, -1.0)
    x = rng.normal(size=customers)
    joined = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, customers), unit="D")
    users = pd.DataFrame({"customer_id": np.arange(1, customers + 1), "segment": segment,
                          "income": np.round(50_000 + 15_000 * x, 2),
                          "score": np.round(600 + sign * 80 * x + rng.normal(0, 15, customers), 2), "joined": joined})
    owners = np.repeat(np.arange(customers), rng.integers(1, 4, customers))
    b = rng.normal(size=len(owners))
    accounts = pd.DataFrame({"account_id": np.arange(1, len(owners) + 1), "customer_id": owners + 1,
                             "kind": rng.choice(["current", "savings"], len(owners)),
                             "balance": np.round(5_000 + 2_000 * b, 2),
                             "rate": np.round(3 + sign[owners] * 1.5 * b + rng.normal(0, 0.3, len(owners)), 3),
                             "opened": joined[owners] + pd.to_timedelta(rng.integers(0, 900, len(owners)), unit="D")})
    return schema, {"customers": users, "accounts": accounts}


def _fit(model: str, schema, tables) -> DatabaseSynthesizer:
    settings = RelationalSettings(table_model=model, network_epochs=EPOCHS)
    return DatabaseSynthesizer(schema, relational=settings, text=False).fit(tables)


@pytest.fixture(scope="module")
def bank():
    return two_tables()


@pytest.fixture(scope="module", params=TABLE_MODELS)
def fitted(request, bank):
    schema, tables = bank
    return request.param, _fit(request.param, schema, tables)


def test_each_table_model_clones_with_integrity_and_keeps_the_rules(bank, fitted):
    schema, tables = bank
    model, synthesizer = fitted
    out = synthesizer.sample(seed=1)
    assert synthesizer.relational_.table_model("accounts") == model
    assert len(out["customers"]) == len(tables["customers"])
    assert 0.8 < len(out["accounts"]) / len(tables["accounts"]) < 1.2
    assert out["accounts"]["customer_id"].isin(out["customers"]["customer_id"]).all()
    assert out["customers"]["customer_id"].is_unique and out["accounts"]["account_id"].is_unique
    assert set(out["customers"]["segment"]) <= set(tables["customers"]["segment"])
    rules = synthesizer.rules
    assert any(r.kind == "after_parent" for r in rules)  # accounts.opened after customers.joined
    assert max(breaking_share(synthesizer.relational_.schema_, rules, out).values()) == 0, model


def test_each_table_model_gives_the_same_rows_in_process_and_in_workers(fitted):
    model, synthesizer = fitted
    expected = synthesizer.sample(seed=5, block_rows=300)
    assert synthesizer.relational_.block_count(1.0, 300) >= 3
    with LocalProcesses(2, start_method="spawn" if model in ("ctgan", "tvae") else None) as executor:
        again = synthesizer.sample(seed=5, block_rows=300, executor=executor)
    for name in expected:
        pd.testing.assert_frame_equal(expected[name].reset_index(drop=True), again[name].reset_index(drop=True),
                                      check_dtype=False)
    assert not synthesizer.sample(seed=6)["customers"].equals(expected["customers"])


def _flip(frame: pd.DataFrame, by: pd.Series, x: str, y: str) -> dict:
    return {value: float(np.corrcoef(frame.loc[by == value, x], frame.loc[by == value, y])[0, 1])
            for value in ("retail", "private")}


def test_the_default_keeps_a_sign_flipping_category_the_copula_loses(bank):
    schema, tables = bank
    assert RelationalSettings().table_model == "trees"
    real = _flip(tables["customers"], tables["customers"]["segment"], "income", "score")
    assert real["retail"] > 0.9 and real["private"] < -0.9
    errors = {}
    for model in ("trees", "copula"):
        out = _fit(model, schema, tables).sample(seed=2)
        users, accounts = out["customers"], out["accounts"]
        own = _flip(users, users["segment"], "income", "score")
        segment = accounts["customer_id"].map(users.set_index("customer_id")["segment"])
        child = _flip(accounts, segment, "balance", "rate")
        errors[model] = (max(abs(own[v] - real[v]) for v in real),
                         max(abs(child[v] - c) for v, c in _flip(tables["accounts"], tables["accounts"]["customer_id"].map(
                             tables["customers"].set_index("customer_id")["segment"]), "balance", "rate").items()))
    # trees: each segment's correlation within 0.15 of the real one, in the table and from the parent row
    assert errors["trees"][0] < 0.15 and errors["trees"][1] < 0.25, errors
    # the copula averages the two signs away (a correlation near 0 in both segments)
    assert errors["copula"][0] > 0.6 and errors["copula"][1] > 0.6, errors


def test_a_schema_file_names_a_table_model_per_table(bank, tmp_path):
    schema, tables = bank
    data = schema.to_dict()
    data["tables"]["accounts"]["table_model"] = "copula"
    mixed = DatabaseSchema.from_dict(data)
    assert mixed.tables["accounts"].table_model == "copula"
    assert DatabaseSchema.from_dict(mixed.to_dict()).tables["accounts"].table_model == "copula"
    synthesizer = DatabaseSynthesizer(mixed, text=False).fit(tables)
    assert synthesizer.relational_.table_model("accounts") == "copula"
    assert synthesizer.relational_.table_model("customers") == "trees"
    out = synthesizer.sample(seed=0)
    assert out["accounts"]["customer_id"].isin(out["customers"]["customer_id"]).all()
    data["tables"]["accounts"]["table_model"] = "forest"
    with pytest.raises(SchemaError, match="table_model 'forest'; use one of trees|copula"):
        DatabaseSchema.from_dict(data)


def test_trees_fit_a_sample_of_a_large_child_table_with_its_parent_rows(bank, monkeypatch):
    from synthbank.relational import outcomes

    schema, tables = bank
    monkeypatch.setattr(outcomes, "FIT_ROWS", 300)  # the accounts (about 800) are fitted on a sample, context and all
    assert len(tables["accounts"]) > 300
    out = _fit("trees", schema, tables).sample(seed=0)
    assert out["accounts"]["customer_id"].isin(out["customers"]["customer_id"]).all()
