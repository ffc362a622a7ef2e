"""Rules that decide how each column is treated: id, PII kind, free text, categorical, numerical…

Detection looks at the column's name, its SQL type and a sample of its values. It is a first guess for a
person to review: ``synthbank schema URL --out schema.yaml`` writes it to a file that can be edited
(e.g. mark a column as PII) and passed back with ``--schema``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import pandas as pd

from synthbank.schemas import identifiers, person_names, types
from synthbank.vocabulary import LOCATION_PII_KINDS

# --- PII by column name ---------------------------------------------------------------------------
# Checked in order; the first pattern that matches the lower-cased, snake-cased column name wins. The
# PII word must end the name (an optional number after it): ``email_verified``, ``phone_calls`` or
# ``ip_count`` describe something else.
_END = r"(_?\d+)?$"
_NAME_RULES: list[tuple[str, str]] = [
    (r"(^|_)e_?mail(_?address)?" + _END, "email"),
    (r"(^|_)mail_?address" + _END, "email"),
    (r"(^|_)(ssn|social_security(_number)?|sin|tax_id|tin)" + _END, "ssn"),
    (r"(^|_)(phone|mobile|cell|telephone|tel|fax)(_?(number|no|num))?" + _END, "phone"),
    (r"(^|_)(dob|date_of_birth|birth_?date|birthday)$", "date_of_birth"),
    (r"(^|_)iban$", "iban"),
    (r"(^|_)(birth_?number|national_?id|national_?insurance(_?number)?|personal_?(id|number|code)|passport(_?(number|no|num))?|"
     r"id_?card_?(number|no)|pesel|rodne_?cislo|steuer_?id|nino?|bsn|cnp|nif|dni)$", "national_id"),
    (r"(^|_)(card_?(number|no|num)|credit_card(_?(number|no|num))?|pan)$", "card_number"),
    (r"(^|_)(account_?(number|no|num)|acct_?(number|no|num)|routing_number)$", "account_number"),
    (r"(^|_)(ip|ip_?address|ipv4|ipv6)$", "ip_address"),
    (r"(^|_)(first_?name|given_?name|forename)$", "first_name"),
    (r"(^|_)(last_?name|surname|family_?name)$", "last_name"),
    (r"^(name|full_?name|customer_?name|client_?name|person_?name|holder_?name|account_?holder|contact_?name)$", "name"),
    # a person's role followed by "name": payee_name, beneficiary_name, owner_name, cardholder…
    (r"(^|_)(payee|payer|beneficiary|owner|cardholder|card_?holder|recipient|sender|remitter|guarantor|"
     r"borrower|applicant|spouse|signer|employee|member|patient|tenant|landlord)(_?(full_?)?name)?$", "name"),
    (r"(^|_)(street|street_?address|address(_?line)?_?\d?|addr)$", "street_address"),
    (r"^(home_?|postal_?|mailing_?|billing_?|shipping_?)?address$", "address"),
    (r"^(city|town)$", "city"),
    (r"(^|_)(zip|zip_?code|postcode|postal_?code)$", "zipcode"),
    (r"^(user_?name|login|handle)$", "username"),
]
#: Qualifiers that make an "address" something other than a postal address (``mac_address``, ``ip_addr``).
_NOT_POSTAL = re.compile(r"(^|_)(mac|ip|ipv4|ipv6|e?mail|web|url|wallet|host|server|memory|network|hardware|"
                         r"bitcoin|btc|eth|crypto|contract|node|device|bluetooth|hex|base)(_|$)")
#: Person-role rules name people only in a string column: ``owner`` alone could be a flag or a key.
_ROLE_ONLY = re.compile(r"^(payee|payer|beneficiary|owner|cardholder|card_?holder|recipient|sender|remitter|"
                        r"guarantor|borrower|applicant|spouse|signer|employee|member|patient|tenant|landlord)$")

# --- PII by value pattern -------------------------------------------------------------------------
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_PHONE = re.compile(r"^(\+?\d{1,3}[\s.-]?)?(\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(\s*(x|ext\.?)\s*\d+)?$")
_IPV4 = re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")
_DIGITS = re.compile(r"^[\d -]{13,23}$")
_STREET = re.compile(r"^\d{1,6}\s+\w+(\s+\w+)*\s+(St|Street|Ave|Avenue|Rd|Road|Blvd|Lane|Ln|Dr|Drive|Court|Ct|Way|Pl|Place)\b", re.IGNORECASE)

#: Share of sampled non-null values that must match a value pattern.
PATTERN_SHARE = 0.9


def pii_from_name(column_name: str) -> str | None:
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", column_name).lower()
    for pattern, kind in _NAME_RULES:
        if re.search(pattern, name):
            if kind in ("street_address", "address") and _NOT_POSTAL.search(name):
                return None
            return kind
    return None


def pii_from_values(values: pd.Series) -> str | None:
    strings = values.dropna().astype(str).str.strip()
    strings = strings[strings != ""]
    if len(strings) < 5:
        return None

    def share(predicate) -> float:
        return float(strings.map(predicate).mean())

    checks = [
        ("email", lambda s: bool(_EMAIL.match(s))),
        ("ssn", lambda s: bool(_SSN.match(s))),
        ("iban", lambda s: bool(identifiers.IBAN_SHAPE.match(s.replace(" ", "")))),
        ("card_number", lambda s: bool(_DIGITS.match(s)) and identifiers.luhn_valid(s)),
        ("ip_address", lambda s: bool(_IPV4.match(s)) and all(int(p) < 256 for p in s.split("."))),
        ("phone", lambda s: bool(_PHONE.match(s))),
        ("street_address", lambda s: bool(_STREET.match(s))),
    ]
    for kind, predicate in checks:
        if share(predicate) >= PATTERN_SHARE:
            return kind
    return None


# --- free text ------------------------------------------------------------------------------------
#: A string column is free text when its values average at least this many words…
TEXT_MIN_WORDS = 6
#: …and at least this share of them are distinct.
TEXT_MIN_UNIQUE = 0.5


def looks_like_free_text(values: pd.Series) -> bool:
    strings = values.dropna().astype(str)
    if len(strings) == 0:
        return False
    words = strings.str.split().str.len()
    return bool(words.mean() >= TEXT_MIN_WORDS and strings.nunique() / len(strings) >= TEXT_MIN_UNIQUE)


# --- the whole decision ---------------------------------------------------------------------------
#: Integer columns with at most this many distinct values are treated as categorical (term 36/60, flags).
MAX_INTEGER_CATEGORIES = 10
#: String columns whose distinct share is at most this are categorical; above, identifiers.
MAX_CATEGORICAL_UNIQUE_SHARE = 0.5


class Detected(NamedTuple):
    """What detection decided for one column, and why (for a personal one)."""

    sdtype: str
    pii: str | None = None
    format: str | None = None
    reason: str | None = None


def detect_column(name: str, type_string: str, values: pd.Series, *, is_key: bool) -> tuple[str, str | None]:
    """Return ``(sdtype, pii_kind)`` for one column (:func:`detect` tells the format and the reason too)."""
    found = detect(name, type_string, values, is_key=is_key)
    return found.sdtype, found.pii


def detect(name: str, type_string: str, values: pd.Series, *, is_key: bool) -> Detected:
    """How to treat one column: sdtype, PII kind, value format and the reason it is personal."""
    base = types.base_name(type_string)
    if is_key:
        return Detected("id")

    named = pii_from_name(name)
    kind, reason = (named, f"named '{name}'") if named is not None and _fits(named, name, base, values) else (None, None)
    if named == "date_of_birth" and kind is None and (coded := identifiers.coded_date_format(base, values)):
        return Detected("pii", "date_of_birth", format=coded, reason=f"named '{name}'; dates written {coded}")
    coded = identifiers.coded_date_format(base, values) if kind is None else None
    if coded is not None:
        return Detected("datetime", format=coded)
    if kind is None and base in types.STRING_TYPES:
        kind = pii_from_values(values)
        reason = f"most values look like {kind.replace('_', ' ')}s" if kind else None
        if kind == "phone" and identifiers.account_named(name):  # 11 digits named for an account: an account
            kind = reason = None
    if kind is None and base in types.STRING_TYPES and len(values.dropna()) and _parses_as_dates(values.dropna()):
        return Detected("datetime")  # ISO instants written as strings (2013-01-01T06:00:00Z) are times, not codes
    if kind in ("account_number", "national_id", "identifier", "iban", "card_number") or kind is None:
        # a code by its values, whatever its name; where a name (or a pattern) says account or birth number,
        # the values may say more precisely what (an IBAN with its check, a birth number)
        found = identifiers.identifier_kind(name, base, values, named=named)
        if found is not None and (kind is None or found[0] in ("iban", "card_number", "national_id")):
            kind, reason = found[0], found[1] + (f"; named '{name}'" if named else "")
    if kind is None and base in types.STRING_TYPES and (kind := person_names.name_kind(values)) is not None:
        reason = f"most values are people's {'names' if kind == 'name' else kind.replace('_', ' ') + 's'} (Faker's name lists)"
    if kind is not None:
        return Detected("pii", kind, reason=reason)
    return Detected(_plain_sdtype(name, base, values))


def _plain_sdtype(name: str, base: str, values: pd.Series) -> str:
    """The sdtype of a column that is not personal."""
    if base in types.UNLEARNABLE_TYPES:
        return "unsupported"
    if base == "boolean":
        return "boolean"
    if base in types.TEMPORAL_TYPES:
        return "datetime"
    non_null = values.dropna()
    if base in types.INTEGER_TYPES and _looks_like_identifier(name, non_null):
        return "id"
    if base in types.NUMERIC_TYPES:
        if base in types.INTEGER_TYPES and 0 < non_null.nunique() <= MAX_INTEGER_CATEGORIES:
            return "categorical"
        return "numerical"
    if base == "uuid":
        return "id"
    if base == "enum":
        return "categorical"
    # strings
    if looks_like_free_text(values):
        return "text"
    if len(non_null) and _parses_as_dates(non_null):
        return "datetime"
    if len(non_null) >= 20 and non_null.nunique() / len(non_null) > MAX_CATEGORICAL_UNIQUE_SHARE and not _has_spaces(non_null):
        return "id"
    return "categorical"


#: PII kinds that are digits and may be stored in a number column (a zip code as an integer).
_DIGIT_KINDS = {"phone", "ssn", "account_number", "card_number", "zipcode", "national_id", "identifier"}
#: What most values of a column named for a PII kind must look like, or the name was misleading
#: (a ``phone`` column of "home"/"mobile" labels, a ``name`` column of product names).
_VALUE_CHECKS = {
    "email": lambda s: "@" in s,
    "phone": lambda s: sum(c.isdigit() for c in s) >= 7,
    "ssn": lambda s: sum(c.isdigit() for c in s) >= 4,
    "card_number": lambda s: sum(c.isdigit() for c in s) >= 4,
    "account_number": lambda s: sum(c.isdigit() for c in s) >= 4,
    "national_id": lambda s: sum(c.isdigit() for c in s) >= 4,
    "iban": lambda s: len(re.sub(r"\W", "", s)) >= 15,
    "ip_address": lambda s: bool(re.fullmatch(r"[\d.]{7,15}|[0-9a-fA-F:]{3,39}", s.strip())),
    "zipcode": lambda s: any(c.isdigit() for c in s),
    "street_address": lambda s: len(s.split()) >= 2,
    "address": lambda s: len(s.split()) >= 2,
}


def _fits(kind: str, name: str, base: str, values: pd.Series) -> bool:
    """Whether a column named for a PII kind really holds it: by its SQL type, then by its values."""
    if kind == "date_of_birth":
        return base in types.TEMPORAL_TYPES | types.STRING_TYPES
    if base not in types.STRING_TYPES and not (kind in _DIGIT_KINDS and base in types.NUMERIC_TYPES):
        return False  # a boolean email_verified, an integer ip…
    strings = values.dropna().astype(str).head(1000)
    strings = strings[strings.str.strip() != ""]
    if len(strings) < 5:
        return True  # nothing to contradict the name
    check = _VALUE_CHECKS.get(kind)
    if check is not None:
        return strings.map(check).mean() >= 0.5
    if kind == "name":
        snake = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()
        # a bare "name" or a bare role ("owner") names people only if some values are people's names
        if snake == "name" or _ROLE_ONLY.match(snake):
            return person_names.person_share(strings) >= (0.2 if snake == "name" else 0.5)
    return True


def _looks_like_identifier(name: str, values: pd.Series) -> bool:
    """Distinct integers named like an id (``id``, ``*_id``, ``rownames``), or a gap-free running number."""
    if len(values) < 20 or not values.is_unique:
        return False
    if re.search(r"(^|_)(id|key|no|number|rownames?)$", name.lower()):
        return True
    ordered = values.sort_values().to_numpy()
    return bool((ordered[1:] - ordered[:-1] == 1).all())


def _has_spaces(values: pd.Series) -> bool:
    return bool(values.astype(str).str.contains(" ").mean() > 0.5)


def _parses_as_dates(values: pd.Series) -> bool:
    strings = values.astype(str).head(200)
    if not strings.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    parsed = pd.to_datetime(strings, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().all())


# --- across tables --------------------------------------------------------------------------------
#: Table names that say the rows are people.
_PEOPLE_TABLES = re.compile(r"(^|_)(customers?|clients?|users?|persons?|people|employees?|members?|patients?|contacts?|"
                            r"borrowers?|applicants?|owners?|holders?|account_?holders?|students?|tenants?|guarantors?|"
                            r"addresses|residents?|cardholders?|beneficiar(y|ies)|payees?|staff)$")


def places_of_things(tables: dict, samples: dict[str, pd.DataFrame]) -> None:
    """A city, street, address or zip code is personal only in a table about people: one with other personal
    columns, named for people (``customers``), or pointing at such a table (a customer's ``addresses``).
    Elsewhere (bank branches, merchants, airports) it is data: learned, not faked."""
    def personal(table) -> bool:
        kinds = {c.pii for c in table.columns.values() if c.sdtype == "pii"}
        return bool(kinds - LOCATION_PII_KINDS) or bool(_PEOPLE_TABLES.search(table.name.lower()))

    people = {name for name, table in tables.items() if personal(table)}
    for name, table in tables.items():
        if name in people or any(fk.parent in people for fk in table.foreign_keys):
            continue
        for column in table.columns.values():
            if column.sdtype == "pii" and column.pii in LOCATION_PII_KINDS:
                column.sdtype = _plain_sdtype(column.name, types.base_name(column.type), samples[name][column.name])
                column.pii, column.reason = None, None


def name_locale(tables: dict, samples: dict[str, pd.DataFrame]) -> str | None:
    """The Faker locale whose name lists hold most of the people's names in the data (None: no names)."""
    values = [samples[name][column.name] for name, table in tables.items() for column in table.columns.values()
              if column.sdtype == "pii" and column.pii in ("name", "first_name", "last_name") and column.name in samples[name]]
    return person_names.best_locale(pd.concat(values)) if values else None
