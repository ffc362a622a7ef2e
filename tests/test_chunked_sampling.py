"""Sampling in blocks and chunks: the output for a seed does not depend on the chunk size, keys never
collide across blocks, and memory held while streaming does not grow with the scale."""

from __future__ import annotations

import gc
import weakref

import pandas as pd
import pytest

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.relational import synthesizer as relational
from synthbank.relational.synthesizer import RelationalSynthesizer


@pytest.fixture(scope="module")
def fitted():
    real = generate_demo_bank(users=60, seed=4)
    return RelationalSynthesizer(demo_schema()).fit(real), real


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(relational, "BLOCK_ROWS", 150)  # ~700 rows of data → several blocks


def _union(chunks):
    chunks = list(chunks)
    return {name: pd.concat([c[name] for c in chunks if name in c], ignore_index=True) for name in chunks[0]}, len(chunks)


def test_output_does_not_depend_on_chunk_size(fitted, small_blocks):
    model, _ = fitted
    assert model.block_count(1.0) > 3
    whole = model.sample(seed=3)
    for chunk_rows in (1, 300, 10**9):
        union, count = _union(model.sample_chunks(seed=3, chunk_rows=chunk_rows))
        for name in whole:
            pd.testing.assert_frame_equal(union[name], whole[name], check_dtype=False)
        assert count == (model.block_count(1.0) if chunk_rows == 1 else 1 if chunk_rows == 10**9 else count)
    assert count == 1


def test_blocks_have_disjoint_keys_and_full_integrity(fitted, small_blocks):
    model, real = fitted
    out = model.sample(seed=5)
    for name, key in (("users", "user_id"), ("loans", "loan_id"), ("transactions", "transaction_id"), ("complaints", "complaint_id")):
        assert out[name][key].is_unique, name
    assert out["loans"]["user_id"].isin(out["users"]["user_id"]).all()
    assert out["transactions"]["loan_id"].isin(out["loans"]["loan_id"]).all()
    assert out["complaints"]["user_id"].isin(out["users"]["user_id"]).all()
    loans_user = out["loans"].set_index("loan_id")["user_id"]
    linked = out["complaints"].dropna(subset=["loan_id"])
    assert (linked["loan_id"].map(loans_user) == linked["user_id"]).all()  # the diamond holds across blocks
    assert out["users"]["email"].is_unique and out["users"]["ssn"].is_unique
    assert len(out["users"]) == len(real["users"])
    assert abs(len(out["transactions"]) - len(real["transactions"])) <= 0.02 * len(real["transactions"])


def test_chunks_reference_only_rows_already_streamed(fitted, small_blocks):
    model, _ = fitted
    seen_users: set = set()
    for chunk in model.sample_chunks(seed=1, chunk_rows=500):
        seen_users |= set(chunk["users"]["user_id"])
        assert set(chunk["loans"]["user_id"]) <= seen_users


def test_streaming_holds_one_chunk_whatever_the_scale(fitted, small_blocks):
    """Memory while streaming: chunks stay the same size at any scale, and a chunk the caller has let go
    of is freed (the sampler keeps no reference to it). The benchmark measures the process's peak."""
    model, _ = fitted

    def stream(scale):
        sizes, alive = [], []
        for chunk in model.sample_chunks(scale=scale, seed=2, chunk_rows=300):
            sizes.append(sum(frame.memory_usage(deep=True).sum() for frame in chunk.values()))
            alive.append(weakref.ref(chunk["transactions"]))
            del chunk
            gc.collect()
        return max(sizes), sum(ref() is not None for ref in alive), len(sizes)

    small, held_small, count_small = stream(1.0)
    large, held_large, count_large = stream(4.0)
    assert count_large > 2 * count_small  # more chunks, not bigger ones
    assert large < 1.5 * small, (small, large)
    assert held_small == held_large == 0


def test_template_keys_never_collide_across_blocks_or_key_ranges(small_blocks):
    """String keys drawn from a template (nycflights13's airport codes) stay unique across blocks and
    across runs with disjoint key ranges; 300 two-letter codes in a 676-code space collided when each
    block drew its own."""
    import numpy as np

    from synthbank.relational.keys import KeyFormat
    from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table

    rng = np.random.default_rng(0)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes = pd.Series(sorted({"".join(rng.choice(letters, 2)) for _ in range(600)})[:300])
    c = Column
    schema = DatabaseSchema({
        "airports": Table("airports", {"code": c("code", "varchar(2)", False, "id"),
                                       "altitude": c("altitude", "float", False, "numerical")}, ["code"]),
        "flights": Table("flights", {"flight_id": c("flight_id", "integer", False, "id"),
                                     "origin": c("origin", "varchar(2)", False, "id"),
                                     "delay": c("delay", "float", False, "numerical")},
                         ["flight_id"], [ForeignKey(["origin"], "airports", ["code"])]),
    })
    real = {"airports": pd.DataFrame({"code": codes, "altitude": rng.gamma(2, 300, len(codes))}),
            "flights": pd.DataFrame({"flight_id": np.arange(1, 601), "origin": rng.choice(codes, 600),
                                     "delay": rng.normal(10, 5, 600)})}
    model = RelationalSynthesizer(schema).fit(real)
    assert model.block_count(1.0) > 3
    out = model.sample(seed=2)
    assert out["airports"]["code"].is_unique and out["airports"]["code"].str.fullmatch("[A-Z]{2}").all()
    assert out["flights"]["origin"].isin(out["airports"]["code"]).all()

    key = KeyFormat.learn(codes, "varchar")
    first, second = key.generate(400, rng, start=0), key.generate(400, rng, start=400)
    assert len(set(first) | set(second)) == 800  # the 676 codes, then codes with a counter: still distinct
    assert first.str.fullmatch("[A-Z]{2}").all() and first.is_unique
    assert key.generate(400, np.random.default_rng(9), start=0).equals(first)  # key k is the same string
