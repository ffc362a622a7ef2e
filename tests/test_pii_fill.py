"""PiiFiller.fill: batched fake PII — speed, formats, uniqueness across chunks, no real value, determinism."""

from __future__ import annotations

import datetime
import ipaddress
import re
import time

import numpy as np
import pandas as pd
import pytest

from synthbank.demo_bank import demo_schema, generate_demo_bank
from synthbank.relational.pii import PiiColumn, PiiFiller
from synthbank.relational.synthesizer import _real_strings
from synthbank.vocabulary import COARSE_PII_KINDS

#: Rows per second the filler must reach on the demo users' PII columns (the clone target of 4,000 rows/s
#: over every table leaves PII a small share of the time only at this rate).
TARGET_ROWS_PER_SECOND = 50_000
ALL_KINDS = ["name", "first_name", "last_name", "email", "username", "phone", "ssn", "address", "street_address",
             "city", "zipcode", "date_of_birth", "account_number", "card_number", "iban", "ip_address"]


@pytest.fixture(scope="module")
def demo():
    real = generate_demo_bank(users=600, seed=0)
    table = demo_schema().tables["users"]
    filler = PiiFiller.learn(table, real["users"], _real_strings(real))
    return real, table, filler


def _frame(real, table, rows: int) -> pd.DataFrame:
    """A demo-like synthetic users table without its PII columns (what the sampler hands the filler)."""
    learned = real["users"].drop(columns=table.columns_of("pii"))
    return learned.sample(rows, replace=True, random_state=0).reset_index(drop=True)


def _luhn(number: str) -> bool:
    digits = [int(c) for c in number][::-1]
    return (sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])) % 10 == 0


def _iban(value: str) -> bool:
    moved = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _all_kinds(**overrides) -> PiiFiller:
    unique = {"email", "username", "ssn", "card_number", "iban", "account_number", "ip_address"}
    columns = {kind: PiiColumn(kind=kind, unique=kind in unique, min_age=25, max_age=40) for kind in ALL_KINDS}
    columns["phone"].template = "(###) ###-####"
    columns["ssn"].template = "###-##-####"
    columns["account_number"].template = "ACC-##########"
    for name, spec in overrides.items():
        columns[name] = spec
    return PiiFiller(columns=columns)


def test_fill_speed_on_demo_users(demo):
    """CPU seconds of this process (best of three), so that other processes on the machine do not count."""
    real, table, filler = demo
    frame = _frame(real, table, 20_000)
    filler.fill(frame.head(100), seed=0)  # the locale's Faker lists are read once per process
    best = float("inf")
    for seed in range(3):
        began = time.process_time()
        out = filler.fill(frame, seed=seed)
        best = min(best, time.process_time() - began)
    assert out[table.columns_of("pii")].notna().all().all()
    rate = len(frame) / best
    assert rate >= TARGET_ROWS_PER_SECOND, f"{rate:,.0f} rows/s"


def test_every_kind_has_its_format():
    filler = _all_kinds()
    out = filler.fill(pd.DataFrame(index=range(3000)), seed=3, start=100)
    name = r"[A-Z][A-Za-z'\-]+"
    patterns = {
        "name": rf"{name} {name}", "first_name": name, "last_name": name,
        "email": r"[a-z.]+\d+@[a-z]+\.[a-z]+", "username": r"[a-z]+\d+",
        "phone": r"\(\d{3}\) \d{3}-\d{4}", "ssn": r"\d{3}-\d{2}-\d{4}", "account_number": r"ACC-\d{10}",
        "address": r"\S.*, ([AF]PO |DPO )?[A-Z]{2} \d{5}", "street_address": r"\d+ \S.*",
        "city": r"[A-Z][A-Za-z ]+", "zipcode": r"\d{5}", "date_of_birth": r"\d{4}-\d{2}-\d{2}",
        "card_number": r"\d{12,19}", "iban": r"GB\d{2}[A-Z]{4}\d{14}", "ip_address": r"\d{1,3}(\.\d{1,3}){3}",
    }
    for kind, pattern in patterns.items():
        bad = [v for v in out[kind] if not re.fullmatch(pattern, v)]
        assert not bad, (kind, bad[:3])
    for kind in ALL_KINDS:
        assert out[kind].nunique() > (10 if kind in ("city", "first_name", "last_name") else 1000), kind
    assert out["email"].head(2).str.extract(r"(\d+)@")[0].tolist() == ["101", "102"]  # start=100
    assert all(_luhn(v) for v in out["card_number"])
    assert all(_iban(v) for v in out["iban"])
    assert all(ipaddress.IPv4Address(v).is_global for v in out["ip_address"])
    today = datetime.date.today()
    ages = np.array([(today - datetime.date.fromisoformat(v)).days / 365.2425 for v in out["date_of_birth"]])
    assert 25 <= ages.min() < 26 and 40 < ages.max() < 41  # Faker's date_of_birth: ages 25 … 40
    emails_match = [f.lower() in e for f, e in zip(out["first_name"], out["email"])]
    assert all(emails_match)  # emails and usernames go with the row's person
    assert all(u.startswith(f[0].lower()) for f, u in zip(out["first_name"], out["username"]))
    assert (out["name"] == out["first_name"] + " " + out["last_name"]).all()


def test_formats_without_template_dates_and_state_zip_codes():
    columns = {"phone": PiiColumn(kind="phone"), "ssn": PiiColumn(kind="ssn"), "zip": PiiColumn(kind="zipcode"),
               "account": PiiColumn(kind="account_number"), "born": PiiColumn(kind="date_of_birth", date_type=True)}
    filler = PiiFiller(columns=columns, state_column="state")
    states = np.array(["CA", "TX", "NY", "DC", "ZZ"])[np.arange(2000) % 5]
    out = filler.fill(pd.DataFrame({"state": states}), seed=1)
    assert out["phone"].str.count(r"\d").ge(10).all()
    assert out["ssn"].str.fullmatch(r"\d{3}-\d{2}-\d{4}").all()
    assert out["account"].str.fullmatch(r"[A-Z]{4}\d{14}").all()  # Faker's BBAN, fresh digits
    assert all(isinstance(v, datetime.date) for v in out["born"])  # a DATE column gets dates
    zips = out["zip"].astype(str)
    assert zips.str.fullmatch(r"\d{5}(-\d{4})?").all()
    first_digit = {"CA": "9", "TX": "7", "NY": "1"}  # within Faker's range of the state
    for state, digit in first_digit.items():
        assert zips[out["state"] == state].str[0].isin({digit, "0" if state == "NY" else digit}).all(), state


def test_unique_within_and_across_chunks():
    filler = _all_kinds(account_number=PiiColumn(kind="account_number", unique=True, template="###"))
    seen: dict[str, set] = {}
    a = filler.fill(pd.DataFrame(index=range(400)), seed=5, start=0, seen=seen)
    b = filler.fill(pd.DataFrame(index=range(400)), seed=5, start=400, seen=seen)  # same seed: worst case
    both = pd.concat([a, b], ignore_index=True)
    for name, spec in filler.columns.items():
        if spec.unique:
            assert both[name].is_unique, name  # account_number: 800 of the 1,000 values "###" allows
    assert set(seen["account_number"]) == set(both["account_number"])
    # emails and usernames are apart across chunks by their numbers alone (i + 1 counts from start)
    c = filler.fill(pd.DataFrame(index=range(400)), seed=5, start=400)
    assert not set(a["email"]) & set(c["email"]) and not set(a["username"]) & set(c["username"])


def test_no_generated_value_equals_a_real_one(demo):
    real, table, filler = demo
    out = filler.fill(_frame(real, table, 20_000), seed=11)
    everything = _real_strings(real)
    for name, spec in filler.columns.items():
        if spec.kind in COARSE_PII_KINDS:
            continue
        generated = set(out[name].dropna().astype(str))
        assert not generated & everything, name  # every real string of the database, not one value
        assert not generated & set(real["users"][name].dropna().astype(str)), name
    full = set(out["full_name"])
    assert not full & set(real["users"]["full_name"])


def test_redraws_when_every_first_draw_is_real():
    """The real data are the filler's own output for the seed: every first draw collides and is redrawn."""
    filler = _all_kinds()
    rows = pd.DataFrame(index=range(5000))
    first = filler.fill(rows, seed=8)
    table_real = {"people": first}
    schema_like = PiiFiller(columns=filler.columns)
    schema_like.real_values = {name: set(first[name].astype(str)) for name in filler.columns}
    everything = _real_strings(table_real)
    schema_like.real_values["__everything__"] = everything
    schema_like.real_values["__full_names__"] = set(first["name"]) | everything
    again = schema_like.fill(rows, seed=8)
    for name, spec in filler.columns.items():
        if spec.kind in COARSE_PII_KINDS:
            continue
        assert not set(again[name].astype(str)) & everything, name
        if spec.unique:
            assert again[name].is_unique, name
    assert not set(again["first_name"] + " " + again["last_name"]) & everything


def test_deterministic_for_seed_and_start(demo):
    real, table, filler = demo
    frame = _frame(real, table, 3000)
    a, b = filler.fill(frame, seed=5), filler.fill(frame, seed=5)
    pd.testing.assert_frame_equal(a, b)
    pii = table.columns_of("pii")
    for other in (filler.fill(frame, seed=6), filler.fill(frame, seed=5, start=3000)):
        for column in ("full_name", "email", "phone", "ssn", "street_address"):
            assert (a[column] != other[column]).mean() > 0.9, column
    pd.testing.assert_frame_equal(a.drop(columns=pii), frame)  # the learned columns are left alone


def test_null_share_within_two_points():
    shares = {"email": 0.1, "phone": 0.3, "street_address": 0.5, "date_of_birth": 0.05, "iban": 0.7}
    filler = _all_kinds()
    for name, share in shares.items():
        filler.columns[name].null_share = share
    out = filler.fill(pd.DataFrame(index=range(20_000)), seed=2)
    for name, share in shares.items():
        assert abs(out[name].isna().mean() - share) <= 0.02, name
    assert out["name"].notna().all()


def test_locale_without_standard_lists_falls_back_to_faker_rows():
    filler = PiiFiller(locale="ja_JP", columns={"name": PiiColumn(kind="name"),
                                                "mail": PiiColumn(kind="email", unique=True)})
    out = filler.fill(pd.DataFrame(index=range(50)), seed=1)
    assert out["name"].str.contains(" ").all() and out["mail"].is_unique
    pd.testing.assert_frame_equal(out, filler.fill(pd.DataFrame(index=range(50)), seed=1))


def test_saved_form_unchanged_and_without_real_values(demo):
    real, table, filler = demo
    data = filler.to_dict()
    assert set(data) == {"locale", "state_column", "columns"}
    assert set(data["columns"]["ssn"]) == {"kind", "null_share", "unique", "template", "max_length", "min_age",
                                           "max_age", "date_type", "format"}
    assert data["columns"]["ssn"]["format"] is None  # only identifiers keep a format (tests/test_identifiers.py)
    text = repr(data)
    assert not [v for v in real["users"]["email"] if v in text]
    loaded = PiiFiller.from_dict(data)
    assert loaded.to_dict() == data and not loaded.real_values
    out = loaded.fill(_frame(real, table, 500), seed=1)
    assert out["ssn"].is_unique and out["email"].is_unique
