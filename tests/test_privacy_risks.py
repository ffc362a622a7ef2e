"""The re-identification risks (Anonymeter) and membership inference move the right way: an exact copy of the
training data and a copy with 10% of its cells replaced are flagged, a synthbank clone is not, and the report
says when there is no holdout or too little data."""

import numpy as np
import pytest

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.evaluation import evaluate, membership, risks, utility
from synthbank.evaluation.evaluate import model_dtypes
from synthbank.evaluation.split import split_tables
from synthbank.synthesizer import DatabaseSynthesizer

USERS = 1500


@pytest.fixture(scope="module")
def bank():
    schema = demo_schema()
    schema = schema.subset([n for n, t in schema.tables.items() if not t.is_excluded])
    train, holdout = split_tables(schema, generate_demo_bank(users=USERS, seed=3), 0.5, 0)
    return schema, train, holdout


def perturbed(schema, tables, share=0.1, seed=1):
    """A copy in which ``share`` of the learned cells of every table hold another row's value."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, frame in tables.items():
        copy = frame.copy()
        for column, spec in schema.tables[name].columns.items():
            if spec.sdtype in ("numerical", "categorical", "datetime", "boolean"):
                hit = rng.random(len(frame)) < share
                copy.loc[hit, column] = frame[column].sample(int(hit.sum()), replace=True, random_state=int(rng.integers(1 << 30))).to_numpy()
        out[name] = copy
    return out


def scores(schema, train, holdout, synthetic):
    real, control, fake = (model_dtypes(schema, t) for t in (train, holdout, synthetic))
    found = risks.gdpr_risks(schema, real, fake, control, utility.default_targets(schema), [], seed=0)
    mia = membership.membership_inference(schema, real, fake, control, seed=0)
    return found, mia


def every_attack(found):
    return {f"{part}:{name}:{key}": result for part in ("tables", "entities") for name, entry in found[part].items()
            for key, result in [*((k, entry[k]) for k in risks.ATTACKS if k in entry),
                                *((f"inference {c}", r) for c, r in entry.get("inference", {}).items())]}


def test_an_exact_copy_is_flagged_on_every_risk(bank):
    schema, train, holdout = bank
    found, mia = scores(schema, train, holdout, train)
    users = found["entities"]["users"]
    # the customer, flattened with their loans' summary: every attack succeeds
    for key in risks.ATTACKS:
        assert users[key]["verdict"] == "high", (key, users[key])
    for secret, result in users["inference"].items():
        assert result["verdict"] == "high", (secret, result)
    assert set(users["inference"]) >= {"annual_income", "credit_score"}
    for name in ("users", "loans", "transactions"):
        assert found["tables"][name]["linkability"]["verdict"] == "high" or name == "transactions"
        assert mia["tables"][name]["verdict"] == "high" and mia["tables"][name]["distance"]["auc"] > 0.95
    assert found["worst"]["verdict"] == "high" and mia["worst"]["verdict"] == "high"


def test_a_copy_with_one_cell_in_ten_replaced_is_still_flagged(bank):
    schema, train, holdout = bank
    found, mia = scores(schema, train, holdout, perturbed(schema, train))
    users = found["entities"]["users"]
    assert users["linkability"]["verdict"] == "high" and users["linkability"]["risk"] > 0.4
    assert all(r["verdict"] == "high" for r in users["inference"].values())
    assert mia["entities"]["users"]["verdict"] == "high" and mia["entities"]["users"]["distance"]["auc"] > 0.75
    assert found["worst"]["verdict"] == "high" and mia["worst"]["verdict"] == "high"


def test_a_synthbank_clone_is_not_flagged(bank):
    schema, train, holdout = bank
    synthetic = DatabaseSynthesizer(demo_schema(), text=False).fit(train).sample(seed=0)
    found, mia = scores(schema, train, holdout, dict(synthetic))
    flagged = {k: r for k, r in every_attack(found).items() if r["verdict"] in ("elevated", "high")}
    assert not flagged
    # point estimates stay small wherever the interval is narrow enough to mean something
    # (a risk whose control attack is right for nearly everyone says so in a note: its point estimate means nothing)
    assert all(r["risk"] < risks.HIGH for r in every_attack(found).values() if not r.get("note")), every_attack(found)
    assert all(r["risk"] < risks.LOW for r in every_attack(found).values() if r["ci"][1] - r["ci"][0] < 0.1), every_attack(found)
    for part in ("tables", "entities"):
        for name, entry in mia[part].items():
            if "auc" in entry:
                assert entry["verdict"] not in ("elevated", "high"), (name, entry)
                assert entry["distance"]["auc"] < 0.6, (name, entry)


def test_verdicts_read_the_interval():
    assert risks.verdict((0.35, 0.5)) == "high"
    assert risks.verdict((0.12, 0.2)) == "elevated"
    assert risks.verdict((0.0, 0.45)) == "inconclusive"  # too few rows to rule a high risk out
    assert risks.verdict((0.0, 0.12)) == "low"
    assert risks.verdict((0.56, 0.7), membership.LOW, membership.HIGH) == "elevated"


def test_without_a_holdout_the_report_says_why_and_tiny_tables_are_not_attacked(bank):
    schema, train, holdout = bank
    small = {name: frame.head(20) for name, frame in holdout.items()}
    found, mia = scores(schema, train, small, train)
    assert "too few" in found["tables"]["users"]["note"] and "auc" not in mia["tables"]["users"]
    two = schema.subset(["users", "loans"])
    report = evaluate(train, train, two, seed=0)
    privacy = report.data["privacy"]
    assert "holdout" in privacy["gdpr_risks"]["note"] and "holdout" in privacy["membership_inference"]["note"]
    assert report.summary["reidentification_risk"] is None


def test_the_same_data_and_seed_give_the_same_linkability_and_inference():
    schema = demo_schema().subset(["users", "loans"])
    train, holdout = split_tables(schema, generate_demo_bank(users=300, seed=5), 0.5, 0)
    real, control = (model_dtypes(schema, t) for t in (train, holdout))
    first, second = (risks.gdpr_risks(schema, real, real, control, ["loans.is_default"], [], seed=0) for _ in range(2))
    def scored(result: dict) -> dict:  # Anonymeter's random-guess baseline draws from an unseeded generator of its own
        return {k: v for k, v in result.items() if k != "baseline_rate"}

    for part, name in (("tables", "users"), ("tables", "loans"), ("entities", "users")):
        assert scored(first[part][name]["linkability"]) == scored(second[part][name]["linkability"])
        for column, result in first[part][name]["inference"].items():
            assert scored(result) == scored(second[part][name]["inference"][column])
