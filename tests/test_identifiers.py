"""Real-world identifiers and shapes: account numbers never copied and written in their own format, repeating
counterparties as consistent pseudonyms, ``yyyymmdd`` integer dates, the data's locale, places of things,
BLOB columns, and a foreign key to a unique column that is not the primary key.

The core-banking sample (``tests/core_banking.py``) is learned once, saved, and sampled by a *loaded* model
(so nothing real is in memory when sampling: what is not in the model directory cannot reach the output).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from core_banking import core_banking, czech_iban

from synthbank.evaluation import evaluate_urls
from synthbank.evaluation.leaks import scan
from synthbank.relational.identifier_format import IdentifierFormat, valid
from synthbank.schemas import reflect_schema
from synthbank.schemas.detect import detect
from synthbank.schemas.identifiers import iban_valid, luhn_valid
from synthbank.schemas.person_names import locale_dictionaries
from synthbank.synthesizer import DatabaseSynthesizer

IDENTIFIER_COLUMNS = {"transactions": ["account"], "standing_orders": ["account_to"], "accounts": ["account_no", "iban"],
                      "cards": ["card_number"], "transfers": ["to_iban", "from_iban"]}


def _column(path: Path, table: str, column: str) -> list:
    with sqlite3.connect(path) as connection:
        return [r[0] for r in connection.execute(f'SELECT "{column}" FROM "{table}"')]


def _tokens(data: bytes) -> set[str]:
    """Every run of letters and digits in ``data``: a real identifier stored anywhere in it is one of them."""
    return {t.decode() for t in re.findall(rb"[0-9A-Za-z]+", data)}


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("core_banking")
    real = root / "core.db"
    core_banking(f"sqlite:///{real}", seed=0, customers=200)
    DatabaseSynthesizer.from_url(str(real), text=False).fit().save(root / "model")
    loaded = DatabaseSynthesizer.load(root / "model")
    loaded.sample_to_url(str(root / "synthetic.db"), seed=0)
    loaded.sample_to_url(str(root / "other_seed.db"), seed=1)
    loaded.sample_to_url(str(root / "same_seed.db"), seed=0)  # the same model, sampled again
    evaluate_urls(str(real), str(root / "synthetic.db")).save(root / "report")
    return root


def test_no_real_identifier_in_output_model_or_report(bank):
    model = _tokens(b"".join(p.read_bytes() for p in (bank / "model").rglob("*") if p.is_file()))
    report = _tokens((bank / "report" / "report.json").read_bytes() + (bank / "report" / "report.html").read_bytes())
    for table, columns in IDENTIFIER_COLUMNS.items():
        for column in columns:
            real = {str(v) for v in _column(bank / "core.db", table, column) if v is not None}
            fake = {str(v) for v in _column(bank / "synthetic.db", table, column) if v is not None}
            assert real and fake
            assert not real & fake, f"{table}.{column}: {len(real & fake)} real values written"
            assert not real & model, f"{table}.{column}: real values in the model directory"
            assert not real & report, f"{table}.{column}: real values in the report"


def test_fakes_keep_width_characters_and_check_digits(bank):
    def shapes(values):
        return {re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", str(v))) for v in values if v is not None}

    for table, columns in IDENTIFIER_COLUMNS.items():
        for column in columns:
            real = _column(bank / "core.db", table, column)
            fake = _column(bank / "synthetic.db", table, column)
            assert shapes(fake) <= shapes(real), f"{table}.{column}: {shapes(fake) - shapes(real)}"
    for table, column in (("accounts", "iban"), ("transfers", "to_iban"), ("transfers", "from_iban")):
        assert all(iban_valid(v) for v in _column(bank / "synthetic.db", table, column))
    assert all(luhn_valid(v) for v in _column(bank / "synthetic.db", "cards", "card_number"))
    births = _column(bank / "synthetic.db", "customers", "birth_number")
    months = [int(b[2:4]) for b in births]
    assert all(len(b) == 6 for b in births) and all(1 <= m <= 12 or 51 <= m <= 62 for m in months)
    assert 0.3 < np.mean([m > 50 for m in months]) < 0.7  # women's numbers (month + 50) in their real share


def test_a_foreign_key_to_a_unique_iban_clones_with_integrity(bank):
    ibans = set(_column(bank / "synthetic.db", "accounts", "iban"))
    referenced = _column(bank / "synthetic.db", "transfers", "from_iban")
    assert referenced and set(referenced) <= ibans
    assert len(ibans) == len(_column(bank / "synthetic.db", "accounts", "iban"))


def test_repeating_counterparties_are_consistent_pseudonyms(bank):
    # the same counterparty is the same fake in both tables, as often as in the real data
    def shared(path):
        orders = set(_column(path, "standing_orders", "account_to"))
        paid = {v for v in _column(path, "transactions", "account") if v is not None}
        return len(orders & paid) / len(paid)

    assert shared(bank / "synthetic.db") > 0.5 * shared(bank / "core.db") > 0
    # another seed: another mapping
    one = set(_column(bank / "synthetic.db", "standing_orders", "account_to"))
    two = set(_column(bank / "other_seed.db", "standing_orders", "account_to"))
    assert len(one & two) < 0.05 * len(one)


def test_the_same_seed_gives_the_same_pseudonyms_again(bank):
    for table, columns in IDENTIFIER_COLUMNS.items():
        for column in columns:
            assert _column(bank / "synthetic.db", table, column) == _column(bank / "same_seed.db", table, column)


def test_a_value_many_rows_repeat_is_not_kept_in_the_format():
    rng = np.random.default_rng(2)
    values = pd.Series([str(n) for n in rng.integers(10**7, 10**8, 200)] + ["987654321012"] * 6)
    fmt = IdentifierFormat.learn(values)
    assert set(fmt.widths) == {8}  # the one 12-character value, in six rows, is one value: not a width
    fakes = fmt.generate(1000, np.random.default_rng(0))
    assert "987654321012" not in fakes


def test_yyyymmdd_integers_come_back_as_valid_dates_in_the_same_form(bank):
    schema = reflect_schema(f"sqlite:///{bank / 'core.db'}")
    assert schema.tables["transactions"].columns["date"].format == "yyyymmdd"
    for table, column in (("transactions", "date"), ("accounts", "opened"), ("customers", "since")):
        values = _column(bank / "synthetic.db", table, column)
        real = _column(bank / "core.db", table, column)
        assert all(isinstance(v, int) for v in values)
        days = [dt.datetime.strptime(str(v), "%Y%m%d") for v in values]  # raises on a 13th month
        assert min(days) >= dt.datetime.strptime(str(min(real)), "%Y%m%d") - dt.timedelta(days=400)


def test_czech_source_gets_czech_fakes_and_branch_cities_are_data(bank):
    schema = reflect_schema(f"sqlite:///{bank / 'core.db'}")
    assert schema.locale == "cs_CZ"
    assert schema.tables["branches"].columns["city"].sdtype == "categorical"  # a branch's city is not personal
    assert schema.tables["customers"].columns["city"].pii == "city"
    assert "named 'birth_number'" in schema.tables["customers"].columns["birth_number"].reason
    first, last, _ = locale_dictionaries("cs_CZ")
    us_first, _, _ = locale_dictionaries("en_US")
    names = _column(bank / "synthetic.db", "customers", "first_name")
    assert np.mean([n.lower() in first for n in names]) > 0.95
    assert np.mean([n.lower() in us_first and n.lower() not in first for n in names]) < 0.02
    # a woman's first name goes with a woman's last name (Nováková), a man's with a man's
    with sqlite3.connect(bank / "synthetic.db") as connection:
        pairs = connection.execute("SELECT first_name, last_name FROM customers").fetchall()
    female_last = [last.endswith("á") for _, last in pairs]
    female_first = [first.endswith(("a", "e")) for first, _ in pairs]
    assert np.mean(np.array(female_last) == np.array(female_first)) > 0.85


def test_blob_column_gets_random_bytes_of_the_real_lengths(bank):
    real = [v for v in _column(bank / "core.db", "documents", "scan")]
    fake = [v for v in _column(bank / "synthetic.db", "documents", "scan")]
    assert any(v is None for v in fake) and all(isinstance(v, bytes) for v in fake if v is not None)
    real_sizes = [len(v) for v in real if v is not None]
    fake_sizes = [len(v) for v in fake if v is not None]
    assert abs(np.median(fake_sizes) - np.median(real_sizes)) < 0.2 * np.median(real_sizes)
    assert max(fake_sizes) < max(real_sizes) and min(fake_sizes) > min(real_sizes)  # no real extreme
    assert not {bytes(v) for v in real if v is not None} & {bytes(v) for v in fake if v is not None}


# --- a payments table: 300 counterparties, each paid by about 7 customers --------------------------------
def _payments(path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    counterparties = [f"{n:08d}" for n in rng.choice(np.arange(10_000_000, 99_999_999), 300, replace=False)]
    m = sa.MetaData()
    sa.Table("customers", m, sa.Column("customer_id", sa.Integer, primary_key=True), sa.Column("segment", sa.String(10)))
    sa.Table("payments", m, sa.Column("payment_id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
             sa.Column("counterparty", sa.String(10)), sa.Column("amount", sa.Numeric(10, 2)))
    customers = [{"customer_id": i, "segment": str(rng.choice(["retail", "business"]))} for i in range(1, 401)]
    payments = []
    for k, account in enumerate(counterparties):
        for customer in rng.choice(400, size=int(rng.integers(5, 10)), replace=False):
            payments.append({"payment_id": len(payments) + 1, "customer_id": int(customer) + 1, "counterparty": account,
                             "amount": round(float(rng.lognormal(5 + k % 3, 0.5)), 2)})
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        m.create_all(connection)
        connection.execute(m.tables["customers"].insert(), customers)
        connection.execute(m.tables["payments"].insert(), payments)
    engine.dispose()


def test_counterparty_account_numbers_never_copied_and_repeat_as_often(tmp_path):
    real = tmp_path / "payments.db"
    _payments(real)
    schema = reflect_schema(f"sqlite:///{real}")
    assert schema.tables["payments"].columns["counterparty"].pii == "identifier"
    DatabaseSynthesizer.from_url(str(real), text=False).fit().save(tmp_path / "model")
    DatabaseSynthesizer.load(tmp_path / "model").sample_to_url(str(tmp_path / "synthetic.db"))
    real_values = _column(real, "payments", "counterparty")
    fake_values = _column(tmp_path / "synthetic.db", "payments", "counterparty")
    assert not set(real_values) & set(fake_values)
    assert all(re.fullmatch(r"[1-9]\d{7}", v) for v in fake_values)
    assert not set(real_values) & _tokens(b"".join(p.read_bytes() for p in (tmp_path / "model").rglob("*") if p.is_file()))
    repeat_real = len(real_values) / len(set(real_values))
    repeat_fake = len(fake_values) / len(set(fake_values))
    assert abs(repeat_fake - repeat_real) < 0.25 * repeat_real, (repeat_real, repeat_fake)


def test_the_leak_scan_finds_copied_identifiers_whatever_the_schema_says(tmp_path):
    real = tmp_path / "payments.db"
    _payments(real)
    schema = reflect_schema(f"sqlite:///{real}")
    schema.tables["payments"].columns["counterparty"].sdtype = "categorical"  # a reviewer's mistake
    schema.tables["payments"].columns["counterparty"].pii = None
    with sqlite3.connect(real) as connection:
        frame = pd.read_sql('SELECT * FROM payments', connection)
        customers = pd.read_sql('SELECT * FROM customers', connection)
    copied = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # a generator that copied the column
    found = scan(schema, {"payments": frame, "customers": customers}, {"payments": copied, "customers": customers})
    assert found["by_source"].get("identifiers", 0) == len(frame)


# --- detection and formats -------------------------------------------------------------------------
def test_identifiers_found_by_their_values_with_a_reason():
    rng = np.random.default_rng(1)
    ibans = pd.Series([czech_iban("0800", int(n)) for n in rng.integers(10**7, 10**9, 80)])
    found = detect("counterparty", "varchar(34)", ibans, is_key=False)
    assert (found.sdtype, found.pii) == ("pii", "iban") and "valid check" in found.reason
    accounts = pd.Series([str(n) for n in rng.integers(10**7, 10**8, 200)] * 3)
    assert detect("account_to", "varchar(10)", accounts, is_key=False).pii == "account_number"
    assert detect("ref", "varchar(10)", accounts, is_key=False).pii == "identifier"
    assert detect("account_to", "integer", accounts.astype(int), is_key=False).pii == "account_number"
    births = pd.Series([f"{y:02d}{m + 50 * (i % 2):02d}{d:02d}" for i, (y, m, d) in
                        enumerate(zip(rng.integers(30, 99, 100), rng.integers(1, 13, 100), rng.integers(1, 29, 100)))])
    assert detect("code", "varchar(6)", births, is_key=False).pii == "national_id"
    # not identifiers: a running reference (a key), amounts, product codes, yyyymmdd dates
    assert detect("reference", "varchar(20)", pd.Series([f"TX-{i:05d}" for i in range(100)]), is_key=False).sdtype == "id"
    assert detect("amount", "integer", pd.Series(rng.integers(100, 99_999, 300)), is_key=False).sdtype == "numerical"
    assert detect("product", "varchar(8)", pd.Series(["PRD00012", "PRD00345", "PRD01234"] * 30), is_key=False).sdtype == "categorical"
    dates = pd.Series([int((dt.date(1995, 1, 1) + dt.timedelta(days=int(d))).strftime("%Y%m%d")) for d in rng.integers(0, 2000, 300)])
    assert detect("posted", "integer", dates, is_key=False) == ("datetime", None, "yyyymmdd", None)


@pytest.mark.parametrize("make, check", [
    (lambda rng: czech_iban(f"{int(rng.integers(1000, 9999)):04d}", int(rng.integers(10**8, 10**10))), "iban"),
    (lambda rng: str(int(rng.integers(10**8, 9 * 10**8)) * 11), "mod11"),
])
def test_formats_give_valid_new_values(make, check):
    rng = np.random.default_rng(3)
    real = pd.Series([make(rng) for _ in range(400)])
    fmt = IdentifierFormat.learn(real)
    assert fmt.checksum == check
    fakes = fmt.generate(500, np.random.default_rng(4))
    assert all(valid(fmt, v) for v in fakes)
    assert {len(v) for v in fakes} <= set(real.str.len())
    assert not set(fakes) & set(real)
    # the model stores no value: only characters that at least five values share at each position
    assert all(min(counts) >= 5 or len(chars) in (10, 26) for chars, counts in fmt.positions[len(real[0])])


def test_dates_coded_as_digits_are_found_and_written_back_in_their_form():
    from synthbank.relational.frames import from_coded_date, to_coded_date

    rng = np.random.default_rng(5)
    days = [dt.date(1993, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 2200, 300)]
    short = pd.Series([int(d.strftime("%y%m%d")) for d in days])  # PKDD'99: 930101
    timed = pd.Series([d.strftime("%y%m%d") + " 00:00:00" for d in days])  # PKDD'99 cards: '931107 00:00:00'
    assert detect("date", "integer", short, is_key=False).format == "yymmdd"
    assert detect("issued", "varchar(20)", timed, is_key=False).format == "yymmdd hh:mm:ss"
    stamps = from_coded_date(short, "yymmdd")
    assert stamps.min() >= pd.Timestamp("1993-01-01") and stamps.notna().all()  # 93 is 1993, not 2093
    assert to_coded_date(stamps, "yymmdd", integer=True).tolist() == short.tolist()
    assert to_coded_date(from_coded_date(timed, "yymmdd hh:mm:ss") + pd.Timedelta(hours=5), "yymmdd hh:mm:ss",
                         integer=False, by_day=True).tolist() == timed.tolist()
    # a birth number is not a date (its months run to 62), an amount is neither
    assert detect("amount", "integer", pd.Series(rng.integers(4_000, 600_000, 300)), is_key=False).sdtype == "numerical"


def test_a_placeholder_for_no_account_is_kept_and_amounts_are_no_identifiers(tmp_path):
    real = tmp_path / "payments.db"
    _payments(real)
    with sqlite3.connect(real) as connection:
        connection.execute("UPDATE payments SET counterparty = '0' WHERE payment_id % 10 = 0")  # cash: no account
        amounts = pd.read_sql("SELECT customer_id, CAST(amount * 100 AS INTEGER) AS amount FROM payments", connection)
    DatabaseSynthesizer.from_url(str(real), text=False).fit().sample_to_url(str(tmp_path / "synthetic.db"))
    fake = pd.Series(_column(tmp_path / "synthetic.db", "payments", "counterparty"))
    assert 0.05 < (fake == "0").mean() < 0.15
    assert fake[fake != "0"].str.fullmatch(r"\d{8}").all()
    schema = reflect_schema(f"sqlite:///{real}")
    schema.tables["payments"].columns["amount"].type = "integer"
    shifted = amounts.assign(amount=amounts["amount"].sample(frac=1.0, random_state=1).to_numpy())
    found = scan(schema, {"payments": amounts}, {"payments": shifted})  # real amounts in other rows: no leak
    assert found["total"] == 0
