"""The relational engine on DataFrames: depth-3 chains, diamonds, composite keys, self-references, cycles,
table modes, PII, keys, determinism and model files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import tricky_schema_and_data

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
    # each window is a parent and its children (depth 2); leaves get a window of their own
    assert [w.tables for w in demo_fitted.windows_] == [["users", "complaints", "loans"], ["loans", "transactions"],
                                                        ["complaints"], ["transactions"]]
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


def test_seed_determinism_and_scale(demo_fitted, demo_real):
    a, b, c = demo_fitted.sample(seed=5), demo_fitted.sample(seed=5), demo_fitted.sample(seed=6)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["users"]["annual_income"].equals(c["users"]["annual_income"])
    big = demo_fitted.sample(scale=2.0, seed=5)
    assert len(big["users"]) == 2 * len(a["users"])
    for name in ("loans", "transactions", "complaints"):  # children follow the scale within 10%
        assert abs(len(big[name]) - 2 * len(demo_real[name])) <= 0.2 * len(demo_real[name]), name
    shifted = demo_fitted.sample(seed=7, key_start=1_000_000)
    assert shifted["users"]["user_id"].min() > 1_000_000  # disjoint key ranges for chunks


@pytest.mark.slow  # tests/test_protection.py scans a model directory for every rare value by default
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
    original = (directory / "schema.yaml").read_text()
    (directory / "schema.yaml").write_text(original.replace("rare_threshold: 5", "rare_threshold: 6", 1))
    with pytest.raises(SynthbankError, match="does not match its schema"):
        RelationalSynthesizer.load(directory)
    # a column's sdtype changed under a rule that needs a number: refused in one sentence too
    (directory / "schema.yaml").write_text(original.replace("sdtype: numerical", "sdtype: categorical", 1))
    with pytest.raises(SynthbankError, match="does not match its schema|this kind takes numerical columns"):
        RelationalSynthesizer.load(directory)


def test_composite_keys_self_reference_cycle_and_lookup_table():
    schema, real = tricky_schema_and_data()
    assert schema.deferred_edges()  # the self-reference and the branches ⇄ employees cycle
    fitted = RelationalSynthesizer(schema).fit(real)
    out = fitted.sample(seed=4)

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

    holders = out["account_holders"]  # many-to-many link with a composite key
    assert not holders.duplicated(["customer_id", "branch_code", "account_no"]).any()
    assert holders["customer_id"].isin(out["customers"]["customer_id"]).all()
    assert all(k in keys for k in zip(holders["branch_code"], holders["account_no"]))
    assert out["transfer_fees"]["transfer_id"].isin(transfers["transfer_id"]).all()  # depth 4
    assert not set(out["customers"]["full_name"]) & set(real["customers"]["full_name"])
    assert len(schema.tables) >= 8 and max(_depth(schema, t) for t in schema.tables) >= 4
    for name in ("accounts", "transfers", "transfer_fees", "account_holders", "employees"):
        assert abs(len(out[name]) - len(real[name])) <= 0.1 * len(real[name]) + 1, name
    doubled = fitted.sample(scale=2.0, seed=4)
    for name in ("transfers", "transfer_fees", "account_holders"):
        assert abs(len(doubled[name]) - 2 * len(real[name])) <= 0.1 * 2 * len(real[name]) + 1, name


def _depth(schema, name):
    from synthbank.relational.plan import depth

    return depth(schema, name) + 1


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

    empty = {**real, "audit_log": real["audit_log"].iloc[:0]}
    schema.tables["branches"].mode = "synthesize"
    schema.tables["audit_log"].mode = "synthesize"
    fitted = RelationalSynthesizer(schema).fit(empty)  # an empty table is written empty, with a note
    assert len(fitted.sample(seed=1)["audit_log"]) == 0 and schema.tables["audit_log"].mode == "synthesize"
    assert fitted.notes_[0] == "Table 'audit_log' is empty in the source; it is written empty."
    # and the lookup whose every region is one branch's: none learned, with the advice to copy it
    assert [n for n in fitted.notes_[1:] if not n.startswith("Every value of branches.")] == []

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


def test_second_foreign_key_to_a_parent_keeps_its_children_per_parent_skew():
    """flights → airports twice: every flight arrives at one of 40 airports and leaves from one of 3 hubs.
    HMA models the first key; the second is assigned afterwards and must keep how unevenly the flights
    spread over the airports (before, it spread them evenly over all 60)."""
    rng = np.random.default_rng(0)
    airports = pd.DataFrame({"code": [f"A{i:02d}" for i in range(60)],
                             "altitude": rng.normal(300, 100, 60).round()})
    n = 900
    flights = pd.DataFrame({
        "flight_id": np.arange(1, n + 1),
        "origin": rng.choice(airports.code[:3], n, p=[0.5, 0.3, 0.2]),
        "dest": rng.choice(airports.code[3:43], n),
        "delay": rng.exponential(20, n).round(1),
    })
    schema = DatabaseSchema({
        "airports": Table("airports", {"code": Column("code", "varchar", False, "id"),
                                       "altitude": Column("altitude", "float", True, "numerical")}, ["code"]),
        "flights": Table("flights", {"flight_id": Column("flight_id", "integer", False, "id"),
                                     "origin": Column("origin", "varchar", False, "id"),
                                     "dest": Column("dest", "varchar", False, "id"),
                                     "delay": Column("delay", "float", True, "numerical")}, ["flight_id"],
                         [ForeignKey(["dest"], "airports", ["code"]), ForeignKey(["origin"], "airports", ["code"])]),
    })
    synthesizer = RelationalSynthesizer(schema).fit({"airports": airports, "flights": flights})
    assert synthesizer.plans_["flights"].secondary_fks == [1]  # origin
    out = synthesizer.sample(seed=3)
    synthetic = out["flights"]
    assert synthetic["origin"].isin(out["airports"]["code"]).all() and synthetic["dest"].isin(out["airports"]["code"]).all()
    counts = synthetic["origin"].value_counts()
    # as few airports get departures as in the real data, and the busiest about as busy
    assert len(counts) <= 5, counts
    assert abs(counts.iloc[0] / len(synthetic) - 0.5) < 0.12, counts
