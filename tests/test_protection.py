"""Privacy by construction: no real value that few people share reaches a model file or the output,
even when a personal column is not detected; the evaluation's leak scan finds what does leak."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from synthbank.evaluation.leaks import mask, scan
from synthbank.protection import RARE_MARKER, RareGuard, robust_bounds, tame_tails
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table
from synthbank.synthesizer import DatabaseSynthesizer
from synthbank.vocabulary import TABLE_MODELS

K = 5


def payee_bank(seed: int = 1, n: int = 150):
    """Customers with a rare state and one very rich customer; payments to named payees (each payee used by
    one customer), memos that quote them, a rare category; a copied lookup table with a manager's name."""
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    states = rng.choice(["California", "New York", "Texas", "Florida"], n).astype(object)
    states[7], states[8] = "Wyoming", "Vermont"  # one customer each
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "full_name": [fake.name() for _ in range(n)],
                              "state": states, "income": np.round(rng.lognormal(11, 0.5, n), 2),
                              "segment": rng.choice(["retail", "premier"], n), "branch": rng.choice(["B1", "B2"], n)})
    customers.loc[3, "income"] = 9876543.21
    rows = []
    for customer in customers.customer_id:
        payees = [fake.name() for _ in range(int(rng.integers(1, 3)))]
        for _ in range(int(rng.integers(2, 6))):
            payee = payees[int(rng.integers(len(payees)))]
            rows.append({"customer_id": customer, "payee_name": payee,
                         "memo": f"paid rent to {payee}" if rng.random() < 0.5 else "card payment",
                         "amount": round(float(rng.gamma(2, 80)), 2),
                         "category": str(rng.choice(["rent", "groceries", "utilities", "travel"]))})
    payments = pd.DataFrame(rows)
    payments.insert(0, "payment_id", np.arange(1, len(payments) + 1))
    payments.loc[5, "category"] = "yacht club"
    branches = pd.DataFrame({"code": ["B1", "B2"], "manager": ["Ophelia Quarterman", "Bartholomew Kingsley"]})
    c = Column
    schema = DatabaseSchema({
        "branches": Table("branches", {"code": c("code", "varchar(4)", False, "id"),
                                       "manager": c("manager", "varchar(60)", False, "pii", "name")}, ["code"], mode="copy"),
        "customers": Table("customers", {
            "customer_id": c("customer_id", "integer", False, "id"),
            "full_name": c("full_name", "varchar(80)", False, "pii", "name"),
            "state": c("state", "varchar(20)", True, "categorical"), "income": c("income", "numeric(12,2)", True, "numerical"),
            "segment": c("segment", "varchar(10)", True, "categorical"), "branch": c("branch", "varchar(4)", False, "id")},
            ["customer_id"], [ForeignKey(["branch"], "branches", ["code"])]),
        # payee_name and memo as a reviewer who missed them would leave them: plain categories
        "payments": Table("payments", {
            "payment_id": c("payment_id", "integer", False, "id"), "customer_id": c("customer_id", "integer", False, "id"),
            "payee_name": c("payee_name", "varchar(80)", True, "categorical"), "memo": c("memo", "varchar(120)", True, "categorical"),
            "amount": c("amount", "numeric(10,2)", True, "numerical"), "category": c("category", "varchar(20)", True, "categorical")},
            ["payment_id"], [ForeignKey(["customer_id"], "customers", ["customer_id"])]),
    })
    return schema, {"branches": branches, "customers": customers, "payments": payments}


def _forbidden(tables) -> set[str]:
    """Every real string a model may not hold: values held by < K customers, and every person's name."""
    customers, payments = tables["customers"], tables["payments"]
    out = set(customers.full_name) | set(payments.payee_name) | set(tables["branches"].manager)
    for column in ("state", "segment"):
        held = customers.groupby(column)["customer_id"].nunique()
        out |= set(held[held < K].index)
    for column in ("payee_name", "memo", "category"):
        held = payments.groupby(column)["customer_id"].nunique()
        out |= set(held[held < K].index)
    return {v for v in out if isinstance(v, str) and len(v) >= 4}


@pytest.fixture(scope="module")
def bank():
    return payee_bank()


@pytest.fixture(scope="module", params=TABLE_MODELS)
def fitted(bank, request):
    """The bank learned by every table model (CTGAN and TVAE for a few epochs: their files are what is checked)."""
    schema, tables = bank
    return DatabaseSynthesizer(schema, text=False,
                               relational=RelationalSettings(table_model=request.param, network_epochs=3)).fit(tables)


def test_model_directory_holds_no_rare_value_name_or_extreme(bank, fitted, tmp_path):
    _, tables = bank
    fitted.save(tmp_path / "model")
    files = [p for p in (tmp_path / "model").rglob("*") if p.is_file()]
    assert any(p.suffix == ".pkl" for p in files)
    blob = b"\n".join(p.read_bytes() for p in files)
    forbidden = _forbidden(tables)
    assert len(forbidden) > 300  # every payee, every customer, the rare states, memos and category
    found = sorted(v for v in forbidden if v.encode() in blob)
    assert not found, f"{len(found)} real values in the model files, e.g. {[mask(v) for v in found[:3]]}"
    for table, column in (("customers", "income"), ("payments", "amount")):
        # not only the extremes: no real value fewer than K customers hold, e.g. the one just inside a tamed
        # tail, is stored (a number K customers hold is no one's, as a category is: a tree may draw it as itself)
        held = tables[table].groupby(column)["customer_id"].nunique()
        for value in held[held < K].index:
            packed = [struct.pack("<d", float(value)), struct.pack(">d", float(value)), repr(float(value)).encode()]
            assert not any(p in blob for p in packed), f"the exact real {column} {value} is in the model"


def test_output_holds_no_rare_value_and_keeps_the_kept_ones(bank, fitted):
    _, tables = bank
    synthetic = fitted.sample(seed=3)
    strings = {str(v) for frame in synthetic.values() for column in frame for v in frame[column].dropna()}
    assert not (_forbidden(tables) & strings)
    assert RARE_MARKER not in set(synthetic["payments"]["category"])  # drawn from the kept categories instead
    assert set(synthetic["payments"]["category"].dropna()) <= {"rent", "groceries", "utilities", "travel"}
    assert set(synthetic["customers"]["state"].dropna()) <= {"California", "New York", "Texas", "Florida"}
    # a column whose every value was rare (each payee belongs to one customer) is written as the marker
    assert set(synthetic["payments"]["payee_name"].dropna()) == {RARE_MARKER}
    assert synthetic["customers"]["income"].max() < tables["customers"]["income"].max()
    assert len(synthetic["branches"]) == 2 and not set(synthetic["branches"]["manager"]) & set(tables["branches"]["manager"])


def test_leak_scan_finds_every_kind_of_real_value_and_masks_it(bank, fitted):
    schema, tables = bank
    clean = scan(schema, tables, fitted.sample(seed=3))
    assert clean["total"] == 0 and clean["values_searched"] > 300
    leaky = {name: frame.copy() for name, frame in tables.items()}
    leaky["payments"]["memo"] = "transfer to " + leaky["payments"]["payee_name"] + " today"  # names inside strings
    report = scan(schema, tables, leaky)
    assert report["cells"] > 0 and report["inside_strings"] > 0
    assert set(report["by_source"]) >= {"pii", "names", "rare"}  # full_name; payee_name (name-like); Wyoming, yacht club
    text = str(report)
    assert not any(v in text for v in _forbidden(tables)), "the report shows a real value"
    assert mask("Jane Miller") == "J*** M*****"


def test_rare_threshold_from_the_schema_file_and_api(bank, tmp_path):
    schema, tables = bank
    path = schema.save(tmp_path / "schema.yaml")
    text = path.read_text()
    assert "rare_threshold: 5" in text
    path.write_text(text.replace("rare_threshold: 5", "rare_threshold: 1"))
    loose = DatabaseSynthesizer(DatabaseSchema.load(path), text=False).fit(tables)
    assert loose.relational_.rare_threshold_ == 1  # k = 1: protection off, every category kept
    assert "yacht club" in loose.relational_.rare_["payments"]["category"].kept
    strict = DatabaseSynthesizer(DatabaseSchema.load(path), text=False, relational=RelationalSettings(rare_threshold=40)).fit(tables)
    assert strict.relational_.rare_threshold_ == 40
    path.write_text(text.replace("rare_threshold: 5", "rare_threshold: few"))
    with pytest.raises(Exception, match="rare_threshold"):
        DatabaseSchema.load(path)


def test_rare_guard_counts_entities_not_rows():
    values = pd.Series(["a"] * 10 + ["b"] * 10 + [None])
    entities = np.array([1] * 10 + list(range(10)) + [99])  # "a": ten rows of one person; "b": ten people
    guard = RareGuard.fit(values, 5, entities)
    assert guard.kept == ["b"] and guard.replaced == 10
    assert guard.protect(values).tolist()[:11] == [RARE_MARKER] * 10 + ["b"]
    restored = guard.restore(pd.Series([RARE_MARKER, "b", None]), np.random.default_rng(0))
    assert restored.tolist() == ["b", "b", None]
    numbers = pd.Series(np.arange(1000, dtype=float))
    low, high = robust_bounds(numbers, 5)
    assert 0 < low < 10 and 989 < high < 999
    incomes = pd.Series(np.r_[np.arange(1000.0), 1e7])
    tamed = tame_tails(incomes, 5, np.random.default_rng(0))
    low, high = robust_bounds(incomes, 5)
    assert tamed.max() <= high and tamed.min() >= low and (tamed == tamed.max()).sum() == 1  # no pile at the edge
    assert not np.isin(tamed.to_numpy()[tamed.to_numpy() != incomes.to_numpy()], incomes.to_numpy()).any()
    counts = pd.Series(np.r_[np.zeros(900, dtype=int), np.arange(1, 101)])
    assert tame_tails(counts, 5, np.random.default_rng(0)).dtype == counts.dtype


def test_text_model_directory_holds_no_rare_context_value(demo_tables, tmp_path):
    """complaints train --context: a context value few rows share reaches neither the prompts' saved
    frequencies nor any file of the model directory; the copy filter holds keyed hashes only."""
    from synthbank.text.synthesizer import TextSynthesizer

    complaints = demo_tables["complaints"].head(40).copy()
    complaints.loc[complaints.index[:2], "issue"] = "Refund for Ophelia Quarterman's yacht"  # two rows: rare
    model = TextSynthesizer(training={"max_steps": 1, "batch_size": 4, "max_length": 64, "max_examples": 8},
                            generation={"max_new_tokens": 8}).fit(complaints, "narrative", ["product", "issue"])
    model.save(tmp_path / "text")
    blob = b"".join(p.read_bytes() for p in (tmp_path / "text").rglob("*") if p.is_file())
    assert b"Quarterman" not in blob
    held = complaints["issue"].value_counts()
    for value in held[held < K].index:
        assert str(value).encode() not in blob, value
    first_text = complaints["narrative"].iloc[0]
    assert " ".join(first_text.split()[:6]).encode() not in blob  # no training text, not even a piece
