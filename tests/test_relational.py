"""The relational engine on DataFrames: depth-3 chains, diamonds, composite keys, self-references, cycles,
table modes, PII, keys, determinism and model files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.errors import SchemaError, SynthbankError
from synthbank.relational.synthesizer import RelationalSynthesizer
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table


@pytest.fixture(scope="module")
def demo_real():
    return generate_demo_bank(users=60, seed=11)


@pytest.fixture(scope="module")
def demo_fitted(demo_real):
    return RelationalSynthesizer(demo_schema()).fit(demo_real)


def test_depth_three_chain_and_diamond_have_full_integrity(demo_fitted, demo_real):
    out = demo_fitted.sample(seed=1)
    users, loans, tx, complaints = (out[n] for n in ("users", "loans", "transactions", "complaints"))
    # the chain users → loans → transactions is depth 3: SDV's HMA alone refuses it
    assert [w.parent for w in demo_fitted.windows_] == ["users", "loans"]
    for frame, key in ((users, "user_id"), (loans, "loan_id"), (tx, "transaction_id"), (complaints, "complaint_id")):
        assert frame[key].is_unique and frame[key].notna().all()
    assert loans["user_id"].isin(users["user_id"]).all()
    assert tx["loan_id"].isin(loans["loan_id"]).all()
    assert complaints["user_id"].isin(users["user_id"]).all()
    linked = complaints.dropna(subset=["loan_id"])
    assert len(linked) > 0 and linked["loan_id"].isin(loans["loan_id"]).all()
    owner = loans.set_index("loan_id")["user_id"]
    assert (linked["loan_id"].map(owner) == linked["user_id"]).all()  # a complaint's loan is its user's
    # sizes follow the source
    for name, frame in out.items():
        assert 0.6 * len(demo_real[name]) <= len(frame) <= 1.6 * len(demo_real[name]), name
    # free text is left for the text engine
    assert complaints["narrative"].isna().all()
    assert demo_fitted.text_columns == {"complaints": ["narrative"]}


def test_pii_is_faked_never_copied_and_unique(demo_fitted, demo_real):
    users = demo_fitted.sample(seed=2)["users"]
    real = demo_real["users"]
    for column in ("full_name", "email", "phone", "ssn", "street_address"):
        assert not set(users[column]) & set(real[column]), column
    assert not set(users["full_name"]) & set(real["full_name"])
    assert users["email"].is_unique and users["ssn"].is_unique
    assert users["phone"].str.fullmatch(r"\(\d{3}\) \d{3}-\d{4}").all()  # the source's format
    assert users["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
    first_names = users["full_name"].str.split().str[0].str.lower()
    assert all(f in e for f, e in zip(first_names, users["email"]))  # email goes with the name


def test_seed_determinism_and_scale(demo_fitted):
    a, b, c = demo_fitted.sample(seed=5), demo_fitted.sample(seed=5), demo_fitted.sample(seed=6)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["users"]["annual_income"].equals(c["users"]["annual_income"])
    big = demo_fitted.sample(scale=2.0, seed=5)
    assert len(big["users"]) == 2 * len(a["users"])
    assert len(big["transactions"]) > 1.5 * len(a["transactions"])
    shifted = demo_fitted.sample(seed=7, key_start=1_000_000)
    assert shifted["users"]["user_id"].min() > 1_000_000  # disjoint key ranges for chunks


def test_saved_model_holds_no_training_rows_or_pii(demo_fitted, demo_real, tmp_path):
    directory = demo_fitted.save(tmp_path / "model")
    blob = b"".join(p.read_bytes() for p in Path(directory).rglob("*") if p.is_file())
    for column in ("full_name", "email", "ssn", "phone", "street_address"):
        leaked = [v for v in demo_real["users"][column] if str(v).encode() in blob]
        assert not leaked, (column, leaked[:3])
    # no DataFrame of training rows inside the pickled HMA windows (square ones are correlation matrices)
    for path in Path(directory).rglob("window_*.pkl"):
        frames = [f for f in _frames_inside(pickle.loads(path.read_bytes())) if f.shape[0] != f.shape[1]]
        assert all(len(f) < 30 for f in frames), [f.shape for f in frames]
    loaded = RelationalSynthesizer.load(directory)
    for name, frame in demo_fitted.sample(seed=3).items():
        # PII may differ where a fake value happened to equal a real one: only the fitting process
        # knows the real values and redraws those
        learned = [c for c, col in demo_schema().tables[name].columns.items() if not col.is_pii]
        pd.testing.assert_frame_equal(frame[learned], loaded.sample(seed=3)[name][learned])


def _frames_inside(obj, seen=None, depth=0):
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12:
        return []
    seen.add(id(obj))
    if isinstance(obj, pd.DataFrame):
        return [obj]
    children = []
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    return [f for child in children for f in _frames_inside(child, seen, depth + 1)]


def test_model_directory_errors(tmp_path, demo_fitted):
    with pytest.raises(SynthbankError, match="not a synthbank model directory"):
        RelationalSynthesizer.load(tmp_path)
    directory = demo_fitted.save(tmp_path / "m")
    (directory / "schema.yaml").write_text((directory / "schema.yaml").read_text().replace("sdtype: numerical", "sdtype: categorical", 1))
    with pytest.raises(SynthbankError, match="does not match its schema"):
        RelationalSynthesizer.load(directory)


# --- a schema HMA cannot take as it is ------------------------------------------------------------
def tricky_schema_and_data(n_accounts: int = 60, seed: int = 0):
    """Composite keys, two composite FKs to one parent, a self-reference, a nullable cycle, no-PK table,
    two FKs to one parent, string keys, a lookup table to copy."""
    rng = np.random.default_rng(seed)
    c = Column
    schema = DatabaseSchema({
        "currencies": Table("currencies", {"code": c("code", "varchar(3)", False, "id"), "name": c("name", "varchar(20)", False, "categorical")},
                            ["code"], mode="copy"),
        "branches": Table("branches", {"branch_code": c("branch_code", "varchar(8)", False, "id"),
                                       "region": c("region", "varchar(10)", False, "categorical"),
                                       "head_employee_id": c("head_employee_id", "integer", True, "id")},
                          ["branch_code"], [ForeignKey(["head_employee_id"], "employees", ["employee_id"])]),
        "employees": Table("employees", {"employee_id": c("employee_id", "integer", False, "id"),
                                         "branch_code": c("branch_code", "varchar(8)", False, "id"),
                                         "manager_id": c("manager_id", "integer", True, "id"),
                                         "salary": c("salary", "float", False, "numerical")},
                           ["employee_id"], [ForeignKey(["branch_code"], "branches", ["branch_code"]),
                                             ForeignKey(["manager_id"], "employees", ["employee_id"])]),
        "accounts": Table("accounts", {"branch_code": c("branch_code", "varchar(8)", False, "id"),
                                       "account_no": c("account_no", "integer", False, "id"),
                                       "currency": c("currency", "varchar(3)", False, "id"),
                                       "balance": c("balance", "float", False, "numerical"),
                                       "kind": c("kind", "varchar(10)", False, "categorical")},
                          ["branch_code", "account_no"], [ForeignKey(["branch_code"], "branches", ["branch_code"]),
                                                          ForeignKey(["currency"], "currencies", ["code"])]),
        "transfers": Table("transfers", {"transfer_id": c("transfer_id", "varchar(12)", False, "id"),
                                         "from_branch": c("from_branch", "varchar(8)", False, "id"),
                                         "from_account": c("from_account", "integer", False, "id"),
                                         "to_branch": c("to_branch", "varchar(8)", False, "id"),
                                         "to_account": c("to_account", "integer", False, "id"),
                                         "amount": c("amount", "float", False, "numerical")},
                           ["transfer_id"], [ForeignKey(["from_branch", "from_account"], "accounts", ["branch_code", "account_no"]),
                                             ForeignKey(["to_branch", "to_account"], "accounts", ["branch_code", "account_no"])]),
        "audit_log": Table("audit_log", {"message": c("message", "varchar(40)", True, "categorical"),
                                         "level": c("level", "varchar(8)", True, "categorical")}),
    })
    currencies = pd.DataFrame({"code": ["USD", "EUR", "GBP"], "name": ["dollar", "euro", "pound"]})
    branches = pd.DataFrame({"branch_code": [f"BR{i:03d}" for i in range(6)], "region": rng.choice(["east", "west"], 6)})
    employees = pd.DataFrame({"employee_id": np.arange(1, 31), "branch_code": rng.choice(branches["branch_code"], 30),
                              "salary": rng.normal(60_000, 9_000, 30)})
    employees["manager_id"] = [None if i < 3 else int(rng.integers(1, i)) for i in range(1, 31)]
    branches["head_employee_id"] = [int(x) if rng.random() < 0.7 else None for x in rng.choice(employees["employee_id"], 6)]
    accounts = pd.DataFrame({"branch_code": rng.choice(branches["branch_code"], n_accounts)})
    accounts["account_no"] = accounts.groupby("branch_code").cumcount() + 1
    accounts["currency"] = rng.choice(["USD", "EUR", "GBP"], n_accounts, p=[0.7, 0.2, 0.1])
    accounts["kind"] = rng.choice(["checking", "savings"], n_accounts)
    accounts["balance"] = np.where(accounts["kind"] == "savings", 5000.0, 800.0) * rng.lognormal(0, 0.5, n_accounts)
    pick = rng.integers(0, n_accounts, (3 * n_accounts, 2))
    transfers = pd.DataFrame({
        "transfer_id": [f"TR-{i:06d}" for i in range(3 * n_accounts)],
        "from_branch": accounts["branch_code"].to_numpy()[pick[:, 0]], "from_account": accounts["account_no"].to_numpy()[pick[:, 0]],
        "to_branch": accounts["branch_code"].to_numpy()[pick[:, 1]], "to_account": accounts["account_no"].to_numpy()[pick[:, 1]],
        "amount": rng.lognormal(4, 1, 3 * n_accounts)})
    audit = pd.DataFrame({"message": rng.choice(["login", "logout", "export"], 40), "level": rng.choice(["info", "warn"], 40)})
    data = {"currencies": currencies, "branches": branches, "employees": employees, "accounts": accounts,
            "transfers": transfers, "audit_log": audit}
    return schema, data


def test_composite_keys_self_reference_cycle_and_lookup_table():
    schema, real = tricky_schema_and_data()
    assert schema.deferred_edges()  # the self-reference and the branches ⇄ employees cycle
    out = RelationalSynthesizer(schema).fit(real).sample(seed=4)

    pd.testing.assert_frame_equal(out["currencies"], real["currencies"].astype(object), check_dtype=False)  # copied
    accounts = out["accounts"]
    assert not accounts.duplicated(["branch_code", "account_no"]).any()
    assert accounts["branch_code"].isin(out["branches"]["branch_code"]).all()
    assert accounts["currency"].isin(real["currencies"]["code"]).all()
    keys = set(zip(accounts["branch_code"], accounts["account_no"]))
    transfers = out["transfers"]
    assert all((b, a) in keys for b, a in zip(transfers["from_branch"], transfers["from_account"]))
    assert all((b, a) in keys for b, a in zip(transfers["to_branch"], transfers["to_account"]))
    assert transfers["transfer_id"].str.fullmatch(r"TR-\d{6}").all() and transfers["transfer_id"].is_unique

    employees = out["employees"].set_index("employee_id")
    managers = employees["manager_id"].dropna()
    assert managers.isin(employees.index).all()
    assert 0 < employees["manager_id"].isna().mean() < 0.5
    for start in employees.index:  # following managers never loops
        seen, node = set(), start
        while node is not None and not pd.isna(node):
            assert node not in seen
            seen.add(node)
            node = employees.at[node, "manager_id"]
    heads = out["branches"]["head_employee_id"].dropna()
    assert heads.isin(employees.index).all()
    assert len(out["audit_log"]) == 40  # a table with no primary key is still cloned


def test_table_modes_and_schema_errors():
    schema, real = tricky_schema_and_data()
    schema.tables["audit_log"].mode = "exclude"
    schema.tables["currencies"].mode = "subset"
    schema.tables["currencies"].subset_fraction = 0.5
    out = RelationalSynthesizer(schema).fit({k: v for k, v in real.items() if k != "audit_log"}).sample(seed=1)
    assert "audit_log" not in out
    assert len(out["currencies"]) == 2
    assert out["accounts"]["currency"].isin(out["currencies"]["code"]).all()

    schema.tables["branches"].mode = "exclude"
    with pytest.raises(SchemaError, match="'branches' is excluded, but"):
        RelationalSynthesizer(schema).fit(real)

    with pytest.raises(SchemaError, match="lacks the column"):
        RelationalSynthesizer(demo_schema()).fit({**generate_demo_bank(10), "users": generate_demo_bank(10)["users"].drop(columns="email")})

    cyclic = DatabaseSchema({
        "a": Table("a", {"id": Column("id", "integer", False, "id"), "b_id": Column("b_id", "integer", False, "id")}, ["id"],
                   [ForeignKey(["b_id"], "b", ["id"])]),
        "b": Table("b", {"id": Column("id", "integer", False, "id"), "a_id": Column("a_id", "integer", False, "id")}, ["id"],
                   [ForeignKey(["a_id"], "a", ["id"])]),
    })
    with pytest.raises(SchemaError, match="cycle with no nullable column.*a → b → a"):
        cyclic.deferred_edges()
