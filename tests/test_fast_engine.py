"""The fast engine computes HMA's mathematics for all parents at once: it must sample what SDV's own
``HMASynthesizer`` samples from the same training data.

Equivalence is judged against SDV's own run-to-run spread: every statistic's distance between the fast
engine and each of three SDV runs (different seeds) must be at most 1.5× the largest distance between two
SDV runs (plus 0.03 for sampling noise on small groups). A control — the same fast output with children
moved to random parents — must fail the same check, so the check can tell a wrong model.

One difference is SDV's, not the model's: SDV rebuilds a child synthesizer per parent and seeds each with
its fixed ``FIXED_RNG_SEED`` (``sdv/single_table/base.py``, ``_sample_rows``), so the k-th child of every
parent reuses the same standard-normal draw whatever the sampling seed. The fast engine draws
independently, as HMA's model says; the data here give each parent enough children for that not to
dominate the comparison.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from synthbank.relational.fast_hma import FastHMA, _correlation_factors, enforce_total
from synthbank.relational.synthesizer import RelationalSynthesizer
from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table

FACTOR, FLOOR = 1.5, 0.03
SEGMENTS = ["retail", "premium", "business"]


def _schema_and_data(n_accounts=80, seed=3):
    rng = np.random.default_rng(seed)
    segment = rng.choice(SEGMENTS, n_accounts, p=[0.5, 0.3, 0.2])
    income = np.round(rng.lognormal(10.5, 0.4, n_accounts) * np.select([segment == "premium", segment == "business"], [2.0, 3.0], 1.0))
    accounts = pd.DataFrame({"account_id": np.arange(1, n_accounts + 1), "segment": segment, "income": income})
    rows = []
    # Many children per parent: SDV draws the k-th child of *every* parent from the same fixed normal
    # draw (see the module docstring), so with three children per parent its child columns rest on three
    # numbers whatever the seed; with dozens they approach the model's distribution.
    mean_children = {"retail": 10, "premium": 20, "business": 30}
    for account_id, seg, inc in zip(accounts.account_id, segment, income):
        for _ in range(rng.poisson(mean_children[seg])):
            channel = rng.choice(["card", "transfer", "cash"], p=[0.7, 0.2, 0.1] if seg == "retail" else [0.2, 0.6, 0.2])
            rows.append({"account_id": account_id, "amount": round(float(inc / 400 * rng.lognormal(0, 0.5)), 2),
                         "channel": channel, "flagged": bool(rng.random() < (0.05 if seg == "retail" else 0.2))})
    payments = pd.DataFrame(rows)
    payments.insert(0, "payment_id", np.arange(1, len(payments) + 1))
    c = Column
    schema = DatabaseSchema({
        "accounts": Table("accounts", {"account_id": c("account_id", "integer", False, "id"),
                                       "segment": c("segment", "varchar(10)", False, "categorical"),
                                       "income": c("income", "float", False, "numerical")}, ["account_id"]),
        "payments": Table("payments", {"payment_id": c("payment_id", "integer", False, "id"),
                                       "account_id": c("account_id", "integer", False, "id"),
                                       "amount": c("amount", "float", False, "numerical"),
                                       "channel": c("channel", "varchar(10)", False, "categorical"),
                                       "flagged": c("flagged", "boolean", False, "boolean")},
                          ["payment_id"], [ForeignKey(["account_id"], "accounts", ["account_id"])]),
    }, rare_threshold=1)
    return schema, {"accounts": accounts, "payments": payments}


def _ks(a, b) -> float:
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if not len(a) or not len(b):
        return float(len(a) != len(b))
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, "right") / len(a) - np.searchsorted(b, grid, "right") / len(b))))


def _tvd(a, b) -> float:
    pa, pb = pd.Series(a).astype(str).value_counts(normalize=True), pd.Series(b).astype(str).value_counts(normalize=True)
    return float(pa.sub(pb, fill_value=0).abs().sum() / 2)


def _statistics(out) -> dict[str, tuple[str, object]]:
    """What is compared: children per parent (overall and per parent segment) and each child column
    overall and within each parent segment. Values are samples; distances are KS (numbers) or TVD."""
    accounts, payments = out["accounts"], out["payments"]
    counts = payments["account_id"].value_counts().reindex(accounts["account_id"], fill_value=0).to_numpy()
    stats = {"children per parent": ("ks", counts)}
    segment_of = dict(zip(accounts["account_id"], accounts["segment"]))
    payments = payments.assign(segment=payments["account_id"].map(segment_of))
    for segment in SEGMENTS:
        stats[f"children per {segment} parent"] = ("ks", counts[accounts["segment"].to_numpy() == segment])
    for column, kind in (("amount", "ks"), ("channel", "tvd"), ("flagged", "tvd")):
        stats[column] = (kind, payments[column].to_numpy())
        for segment in SEGMENTS:
            stats[f"{column} | {segment}"] = (kind, payments.loc[payments["segment"] == segment, column].to_numpy())
    return stats


def _distance(kind, a, b) -> float:
    return _ks(a, b) if kind == "ks" else _tvd(a, b)


def _violations(candidate, references) -> list[str]:
    stats = [_statistics(r) for r in references]
    mine = _statistics(candidate)
    out = []
    for name, (kind, values) in mine.items():
        spread = max(_distance(kind, a[name][1], b[name][1]) for a, b in itertools.combinations(stats, 2))
        worst = max(_distance(kind, values, s[name][1]) for s in stats)
        if worst > FACTOR * spread + FLOOR:
            out.append(f"{name}: {worst:.3f} > {FACTOR} × {spread:.3f} + {FLOOR}")
    return out


@pytest.fixture(scope="module")
def runs():
    schema, data = _schema_and_data()
    # leaf_models=False: the child values come from HMA's per-parent copulas, the part being compared;
    # table_model="copula": the parents (with their children's parameters) from a copula, as in SDV's HMA
    sdv = RelationalSynthesizer(schema, engine="sdv", leaf_models=False).fit(data)
    fast = RelationalSynthesizer(schema, engine="fast", leaf_models=False, table_model="copula").fit(data)
    # twice the parents of the training data: groups of a few dozen parents per segment
    return [sdv.sample(scale=2.0, seed=s) for s in (1, 2, 3)], fast.sample(scale=2.0, seed=1)


def test_fast_engine_samples_what_sdv_hma_samples(runs):
    references, fast = runs
    assert _violations(fast, references) == []


def test_the_check_tells_a_model_that_ignores_the_parent(runs):
    references, fast = runs
    broken = {name: frame.copy() for name, frame in fast.items()}
    rng = np.random.default_rng(0)
    broken["payments"]["account_id"] = rng.choice(broken["accounts"]["account_id"].to_numpy(), len(broken["payments"]))
    assert len(_violations(broken, references)) >= 3


def test_enforce_total_matches_sdv_passes():
    counts = np.array([0, 5, 1, 3])
    # +1 per pass from the fewest up, the parent at the max skipped: [1, 5, 2, 4], then [2, 5, 2, 4]
    assert enforce_total(counts, 13, 0, 5).tolist() == [2, 5, 2, 4]
    assert enforce_total(counts, 6, 0, 5).tolist() == [0, 4, 0, 2]  # -1 from the most down, the min skipped
    assert enforce_total(np.array([5, 5]), 12, 0, 5).tolist() == [6, 6]  # everyone at the max: the bound yields


def test_correlation_factors_rebuild_the_correlation_sdv_would():
    from sdv.single_table.copulas import GaussianCopulaSynthesizer

    rng = np.random.default_rng(0)
    lower = rng.uniform(-1.4, 1.4, size=(50, 6))  # d = 4; many of these are not valid correlations
    factors = _correlation_factors(lower, 4)
    for row, factor in zip(lower, factors):
        triangle = [list(row[0:1]), list(row[1:3]), list(row[3:6])]
        expected = np.array(GaussianCopulaSynthesizer._rebuild_correlation_matrix(triangle))
        np.testing.assert_allclose(factor @ factor.T, expected, atol=1e-6)


def test_extension_statistics_are_hma_s(runs):
    """Per parent: child count, mean and population std of each encoded column (HMA's norm loc/scale)."""
    schema, data = _schema_and_data(n_accounts=30, seed=5)
    model = FastHMA("accounts", {"payments": "fk"}, {"accounts": {"income": "numerical"},
                                                     "payments": {"amount": "numerical"}}, key="k",
                    root_distribution="norm")
    frame = data["payments"].assign(fk=data["payments"]["account_id"] - 1)
    model.fit({"accounts": data["accounts"], "payments": frame})
    extension = model.copula_  # fitted; recompute the statistics the slow way for comparison
    from synthbank.relational.fast_hma import _extension

    child = model.children_[0]
    encoded = child.encoder.transform(frame[["amount"]]).to_numpy(float)
    ext = _extension(encoded, frame["fk"].to_numpy(), 30, child)
    groups = frame.groupby("fk")["amount"]
    many = groups.size()[groups.size() > 1].index
    np.testing.assert_allclose(ext.loc[many, "_sbx0_loc0"], groups.mean()[many], rtol=1e-9)
    np.testing.assert_allclose(ext.loc[many, "_sbx0_scale0"], groups.std(ddof=0)[many], rtol=1e-9)
    assert ext["_sbx0_num_rows"].sum() == len(frame) and extension is not None
