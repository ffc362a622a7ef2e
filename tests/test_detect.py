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
