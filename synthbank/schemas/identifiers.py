"""Identifiers and coded dates found by their values, whatever the column is called.

Account numbers, IBANs, card numbers and national identifiers point at people: a column of them is
personal data even when it is called ``account``, ``account_to`` or ``ref``. Legacy systems also store
dates as ``yyyymmdd`` integers. This module recognises both from a sample of values:

- **IBAN**: at least 90% of the values are IBANs whose ISO 7064 mod-97 check holds;
- **card number**: at least 90% are 13–19 digits whose Luhn check holds (a random number passes 1 in 10);
- **national identifier**: at least 95% are 6, 9 or 10 digits (a ``/`` after the sixth allowed) that begin
  with a birth date ``YYMMDD`` and at least 5% of them add 50 to the month (the Czech and Slovak birth
  number's mark for women), or the column is named for one (``birth_number``, ``national_id``, ``pesel``…);
- **other codes** (``account_number`` when the name says account, else ``identifier``): at least 90% of the
  values have one width of 6 or more characters (9 or more for an integer column whose name says nothing;
  numbers may have lost up to two leading zeros; placeholders such as ``0`` are left out of the count),
  no spaces, at least half of the characters digits, 50 or more distinct values, and their numbers are
  *sparse* (fewer than half of the numbers between the smallest and the largest are used): account numbers
  are drawn from a large space, while a running reference such as ``TX-00017`` fills its range and is
  treated as a key (regenerated in its format);
- **dates coded as digits**: at least 99% of the values are ``yyyymmdd`` or ``yymmdd`` digits (strings
  may add `` hh:mm:ss``) that are a valid date in the years 1800–2199 (a two-digit year is in the last
  hundred years up to next year).

Each finding comes with a one-line reason, written in the schema file for the reviewer.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from synthbank.schemas import types

#: Shares of the sampled values that must match.
PATTERN_SHARE, NATIONAL_SHARE, WIDTH_SHARE, DATE_SHARE = 0.9, 0.95, 0.9, 0.99
#: A code column needs at least this many distinct values to be taken for people's identifiers.
MIN_DISTINCT = 50
#: Its numbers must fill less than this share of their range (running numbers fill all of it).
MAX_DENSITY = 0.5
_ACCOUNT_NAME = re.compile(r"(^|_)(account|acct|konto|ucet|compte|cuenta|conto|rekening)(_|$)|(^|_)(account|acct)_?(to|from|no|nr)?$")
_HINT_NAME = re.compile(r"(^|_)(account|acct|number|no|num|nr|code|iban|card|birth|ref|reference|konto|ucet)(_|$)")
#: An IBAN as written without spaces: country, check digits, 11–30 letters and digits.
IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_CARD = re.compile(r"^\d(?:[ -]?\d){12,18}$")
_NATIONAL = re.compile(r"^(\d{2})(\d{2})(\d{2})/?(\d{3,4})?$")


def as_strings(values: pd.Series) -> pd.Series:
    """Non-empty values as text; whole floats (an integer column read with NULLs) without their '.0'."""
    present = values.dropna()
    strings = present.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).str.strip()
    return strings[strings != ""]


def account_named(name: str) -> bool:
    """Whether a column's name says it holds account numbers (``account_to``, ``konto``, ``compte_…``)."""
    return bool(_ACCOUNT_NAME.search(re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()))


def is_placeholder(value: str) -> bool:
    """A value that stands for "none" rather than for someone: one repeated character (``0``,
    ``00000000``, ``99999999``, ``-``) or at most two characters."""
    return len(value) <= 2 or len(set(value)) == 1


def iban_valid(value: str) -> bool:
    text = value.replace(" ", "").upper()
    if not IBAN_SHAPE.match(text):
        return False
    moved = text[4:] + text[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def luhn_valid(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def birth_date_code(value: str) -> tuple[int, int, int, bool] | None:
    """``(yy, month, day, marked)`` of a birth-number-like value, or None (``marked``: the month + 50)."""
    match = _NATIONAL.match(value)
    if not match or len(value.replace("/", "")) not in (6, 9, 10):
        return None
    yy, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    marked = month > 50
    month = month - 50 if marked else month
    month = month - 20 if month > 20 else month  # Czech numbers after 2004 may add 20
    try:
        dt.date(2000 + yy, month, day)
    except ValueError:
        return None
    return yy, month, day, marked


#: Dates coded as digits, as ``format:`` names them, and how Python reads them.
DATE_FORMATS = {"yyyymmdd": "%Y%m%d", "yymmdd": "%y%m%d", "yyyymmdd hh:mm:ss": "%Y%m%d %H:%M:%S",
                "yymmdd hh:mm:ss": "%y%m%d %H:%M:%S"}
_CODED_DATE = re.compile(r"^(\d{6}|\d{8})( \d{2}:\d{2}:\d{2})?$")


def century_year(yy: int) -> int:
    """A two-digit year's century: the latest year not after the next one (26 → 2026, 93 → 1993)."""
    pivot = (dt.date.today().year + 1) % 100
    return 2000 + yy if yy <= pivot else 1900 + yy


def coded_date_valid(value: str) -> bool:
    match = _CODED_DATE.match(value)
    if not match:
        return False
    digits = match.group(1)
    year = int(digits[:4]) if len(digits) == 8 else century_year(int(digits[:2]))
    month, day = int(digits[-4:-2]), int(digits[-2:])
    if not 1800 <= year <= 2199:
        return False
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def coded_date_format(base: str, values: pd.Series) -> str | None:
    """``yyyymmdd``, ``yymmdd`` (each with `` hh:mm:ss`` for strings that carry a time) when at least 99% of
    the integers or strings are dates written so; else None."""
    if base not in types.INTEGER_TYPES | types.STRING_TYPES:
        return None
    strings = as_strings(values).head(2000)
    if base in types.INTEGER_TYPES and len(strings):  # 50131 is 050131: an integer loses its leading zero
        strings = strings.str.zfill(6 if strings.str.len().max() <= 6 else 8)
    if len(strings) < 5 or strings.nunique() < 2 or strings.map(coded_date_valid).mean() < DATE_SHARE:
        return None
    digits = strings.str.split(" ").str[0].str.len().mode().iloc[0]
    timed = strings.str.contains(" ").mean() > 0.5
    return ("yyyymmdd" if digits == 8 else "yymmdd") + (" hh:mm:ss" if timed else "")


def identifier_kind(name: str, base: str, values: pd.Series, *, named: str | None = None) -> tuple[str, str] | None:
    """``(pii kind, reason)`` when the values are people's identifiers (see the module's doc), else None.
    ``named``: the kind the column's name suggests, if any."""
    integer = base in types.INTEGER_TYPES
    if not (integer or base in types.STRING_TYPES):
        return None
    strings = as_strings(values).head(2000)
    if len(strings) < 20:
        return None
    if not integer:
        share = strings.map(iban_valid).mean()
        if share >= PATTERN_SHARE:
            return "iban", f"{share:.0%} of the values are IBANs with a valid check"
        share = strings.map(lambda s: bool(_CARD.match(s)) and luhn_valid(s)).mean()
        if share >= PATTERN_SHARE:
            return "card_number", f"{share:.0%} of the values are card numbers with a valid Luhn check"
    codes = strings.map(birth_date_code)
    coded = codes.notna().mean()
    marked = codes.dropna().map(lambda c: c[3]).mean() if codes.notna().any() else 0.0
    if coded >= NATIONAL_SHARE and (marked >= 0.05 or named == "national_id"):
        return "national_id", f"{coded:.0%} of the values begin with a birth date (YYMMDD{', month + 50 for women' if marked >= 0.05 else ''})"
    return _code_kind(name, integer, strings)


def _code_kind(name: str, integer: bool, strings: pd.Series) -> tuple[str, str] | None:
    strings = strings[~strings.map(is_placeholder)]  # a 0 or 99999999 meaning "no account" says nothing
    if len(strings) < 20:
        return None
    lengths = strings.str.len()
    width = int(lengths.mode().iloc[0])
    # numbers stored without their leading zeros: an 8-digit account may be written with 7 or 6 digits
    narrower = strings.str.fullmatch(r"\d+") & lengths.between(width - 2, width)
    share = float(((lengths == width) | narrower).mean())
    snake = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()
    hinted = bool(_HINT_NAME.search(snake))
    if share < WIDTH_SHARE or width < (6 if not integer or hinted else 9):
        return None
    if strings.str.contains(r"\s").any():
        return None
    digits = strings.str.count(r"\d").sum() / max(1, lengths.sum())
    distinct = strings.nunique()
    if digits < 0.5 or distinct < MIN_DISTINCT:
        return None
    numbers = pd.to_numeric(strings.str.replace(r"\D", "", regex=True).str[-18:], errors="coerce").dropna()
    if len(numbers) and numbers.nunique() / max(1.0, float(numbers.max() - numbers.min() + 1)) >= MAX_DENSITY:
        return None  # a running number: a key, regenerated as one
    kind = "account_number" if account_named(name) else "identifier"
    return kind, f"{distinct} distinct {width}-character codes, mostly digits, drawn from a large range (like account numbers)"
