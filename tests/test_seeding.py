"""Random streams: one per label, derived from the user's seed; no two streams coincide."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank import seeding
from synthbank.relational.synthesizer import RelationalSynthesizer
from synthbank.schemas import Column, DatabaseSchema, Table


def test_streams_depend_on_seed_and_every_label():
    draws = {labels: seeding.rng(3, *labels).random(4).tolist()
             for labels in [("pii", "customers"), ("pii", "employees"), ("hma", 0, "users"), ("hma", 1, "users"),
                            ("text nulls", "complaints", "a"), ("text nulls", "complaints", "b")]}
    assert len({tuple(v) for v in draws.values()}) == len(draws)
    assert seeding.rng(3, "pii", "customers").random(4).tolist() == draws[("pii", "customers")]
    assert seeding.rng(4, "pii", "customers").random(4).tolist() != draws[("pii", "customers")]
    assert seeding.int_seed(3, "a") != seeding.int_seed(3, "b")
    assert seeding.int_seed(3, "a") == seeding.int_seed(3, "a")


def _people_schema() -> tuple[DatabaseSchema, dict]:
    """Two unrelated tables whose names have the same length (9 letters), each with a name column."""
    rng = np.random.default_rng(0)
    tables, data = {}, {}
    for table in ("customers", "employees"):
        tables[table] = Table(table, {"id": Column("id", "integer", False, "id"),
                                      "full_name": Column("full_name", "varchar(60)", False, "pii", "name"),
                                      "email": Column("email", "varchar(80)", True, "pii", "email"),
                                      "score": Column("score", "float", False, "numerical")}, ["id"])
        data[table] = pd.DataFrame({"id": np.arange(1, 41), "full_name": [f"Person {i}" for i in range(40)],
                                    "email": [f"p{i}@example.org" if i % 3 else None for i in range(40)],
                                    "score": rng.normal(size=40)})
    return DatabaseSchema(tables), data


def test_tables_with_names_of_equal_length_get_different_people():
    schema, data = _people_schema()
    out = RelationalSynthesizer(schema).fit(data).sample(seed=5)
    same = (out["customers"]["full_name"].to_numpy() == out["employees"]["full_name"].to_numpy()).mean()
    assert same < 0.1, f"{same:.0%} of the rows of customers and employees hold the same fake person"
    nulls_a, nulls_b = out["customers"]["email"].isna().to_numpy(), out["employees"]["email"].isna().to_numpy()
    assert not (nulls_a == nulls_b).all()
    again = RelationalSynthesizer(schema).fit(data).sample(seed=5)
    pd.testing.assert_frame_equal(out["customers"], again["customers"])
