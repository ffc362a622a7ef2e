"""The copulas' default marginal: the data's own quantiles, each knot the mean of at least five rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthbank.relational.marginals import GROUP_ROWS, QuantileUnivariate, knots
from synthbank.relational.settings import RelationalSettings
from synthbank.schemas import Column, DatabaseSchema, Table
from synthbank.synthesizer import DatabaseSynthesizer


def test_every_inner_knot_is_the_mean_of_five_rows_and_no_rows_value():
    values = np.round(np.random.default_rng(0).lognormal(10, 1, 1_003), 2)
    levels, points = knots(values)
    ordered = np.sort(values)
    assert levels[0] == 0 and levels[-1] == 1 and np.all(np.diff(levels) > 0) and np.all(np.diff(points) >= 0)
    assert (points[0], points[-1]) == (ordered[0], ordered[-1])  # the ends: made draws by tame_tails upstream
    inner = points[1:-1]
    assert len(inner) == len(values) // GROUP_ROWS
    # each inner knot is the mean of a run of at least GROUP_ROWS consecutive sorted values
    edges = np.linspace(0, len(values), len(inner) + 1).round().astype(int)
    assert np.diff(edges).min() >= GROUP_ROWS
    assert np.allclose(inner, [ordered[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    assert not set(np.round(inner, 6)) & set(ordered)  # none of them is a row's value


def test_a_value_many_rows_hold_comes_back_exactly_in_its_share():
    rng = np.random.default_rng(1)
    values = np.where(rng.random(5_000) < 0.15, 0.0, rng.gamma(2, 30, 5_000).round(1) + 1)
    marginal = QuantileUnivariate(random_state=2)
    marginal.fit(values)
    drawn = marginal.sample(20_000)
    assert abs(np.mean(drawn == 0) - 0.15) < 0.01
    assert ks_2samp(values, drawn).statistic < 0.03
    middle = marginal.cdf(np.array([0.0]))[0]  # the mass maps to the middle of its levels
    assert 0.05 < middle < 0.10


def loans_table(n: int = 6_000, seed: int = 0):
    """One table of loans: counts with 12% zeros, skewed incomes, and 4% late loans whose rates and
    inquiries run higher than the others'."""
    rng = np.random.default_rng(seed)
    late = rng.random(n) < 0.04
    inquiries = np.where(rng.random(n) < 0.12, 0, rng.negative_binomial(2, 0.35, n) + 1) + late * rng.integers(0, 4, n)
    rate = np.clip(np.where(late, rng.normal(19, 3.5, n), rng.normal(12, 3, n)), 5, 31).round(2)
    frame = pd.DataFrame({"loan_id": np.arange(1, n + 1), "inquiries": inquiries.astype(int),
                          "income": rng.lognormal(11, 0.6, n).round(2), "rate": rate, "late": late})
    c = Column
    schema = DatabaseSchema({"loans": Table("loans", {
        "loan_id": c("loan_id", "integer", False, "id"), "inquiries": c("inquiries", "integer", False, "numerical"),
        "income": c("income", "numeric(12,2)", False, "numerical"), "rate": c("rate", "numeric(5,2)", False, "numerical"),
        "late": c("late", "boolean", False, "boolean")}, ["loan_id"])})
    return schema, {"loans": frame}


def _distances(schema, tables, distribution, model="copula"):
    settings = RelationalSettings(default_distribution=distribution, table_model=model)
    synthesizer = DatabaseSynthesizer(schema, text=False, relational=settings).fit(tables)
    real = tables["loans"]
    plain = synthesizer.sample(seed=0)["loans"]
    rebalanced = synthesizer.sample(seed=0, rebalance={"loans.late": {True: 0.3}})["loans"]
    late, drawn_late = real[real.late], rebalanced[rebalanced.late.astype(bool)]
    return ({c: ks_2samp(real[c], plain[c].astype(float)).statistic for c in ("inquiries", "income", "rate")},
            ks_2samp(late.rate, drawn_late.rate.astype(float)).statistic,
            float(np.mean(drawn_late.rate.astype(float) >= drawn_late.rate.astype(float).max() - 0.25)))


def test_clones_follow_skewed_columns_and_a_rare_class_without_a_pile_at_its_edge():
    schema, tables = loans_table()
    for model in ("trees", "copula"):  # the default table model, and the copula with its quantile marginals
        columns, late_rate, at_edge = _distances(schema, tables, "quantiles", model)
        assert max(columns.values()) < 0.05, (model, columns)
        # the late loans' own rates (240 rows): the copula draws them from their own copula, the trees from the
        # leaves of late loans (their tail too: the outer bins reach the means of the k most extreme rates)
        assert late_rate < 0.1, (model, late_rate)
        assert at_edge < 0.02, (model, at_edge)
    # SDV's beta on the same tables, for the record of what the copula's default replaced
    beta_columns, beta_late_rate, _ = _distances(schema, tables, "beta")
    assert max(beta_columns.values()) > 2 * max(columns.values()), (beta_columns, columns)


def test_a_mostly_null_column_keeps_its_values_spread_not_piled_on_the_mean():
    rng = np.random.default_rng(3)
    n = 3_000
    joint = np.where(rng.random(n) < 0.8, np.nan, rng.lognormal(11.5, 0.4, n).round(2))
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "joint_income": joint, "amount": rng.gamma(2, 900, n).round(2)})
    c = Column
    schema = DatabaseSchema({"loans": Table("loans", {
        "id": c("id", "integer", False, "id"), "joint_income": c("joint_income", "numeric(12,2)", True, "numerical"),
        "amount": c("amount", "numeric(12,2)", False, "numerical")}, ["id"])})
    synthetic = DatabaseSynthesizer(schema, text=False).fit({"loans": frame}).sample(seed=0)["loans"]
    drawn = synthetic.joint_income.dropna().astype(float)
    assert abs(synthetic.joint_income.isna().mean() - 0.8) < 0.03
    # RDT fills the NULLs with the mean before fitting: that pile must not reach the rows that hold a value
    assert drawn.value_counts(normalize=True).iloc[0] < 0.02
    assert ks_2samp(frame.joint_income.dropna(), drawn).statistic < 0.08
