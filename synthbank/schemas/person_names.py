"""Does a value look like a person's name? Judged against the first- and last-name lists Faker ships.

The dictionary is the union of Faker's person providers for the Latin-script locales listed in
:data:`LOCALES` (first names, male and female, and last names, with their titles and suffixes such as
``Dr.`` or ``Jr.``): about 9,000 first names and 13,000 last names, no hand-typed lists. Faker's other
locales are left out on purpose: their lists hold words such as "Texas", "Loan" or "Cash" as first names.

A *full name* is 2–4 words of letters (``O'Neil``, ``Smith-Jones`` allowed; titles and suffixes ignored;
``Last, First`` accepted) whose first word is a known first name and whose last word (or one part of a
hyphenated last word) a known last name.
"""

from __future__ import annotations

import functools
import importlib
import re

import pandas as pd

LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "es_ES",
           "es_MX", "it_IT", "pt_PT", "pt_BR", "nl_NL", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ",
           "tr_TR", "ro_RO", "hu_HU", "ga_IE")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?")
#: Share of values that must look like names for a column to be taken as names.
NAME_SHARE = 0.7
#: A column of single words is first (or last) names only with at least this many distinct values.
MIN_DISTINCT_SINGLE = 10


@functools.cache
def locale_dictionaries(locale: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first names, last names, titles and suffixes) of one Faker locale, lower-cased."""
    first, last, affixes = set(), set(), set()
    wanted = {"first_names": first, "first_names_male": first, "first_names_female": first, "last_names": last,
              "last_names_male": last, "last_names_female": last,
              "prefixes": affixes, "prefixes_male": affixes, "prefixes_female": affixes, "suffixes": affixes,
              "suffixes_male": affixes, "suffixes_female": affixes}
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except (ImportError, AttributeError):
        return frozenset(), frozenset(), frozenset()
    for klass in provider.__mro__:
        for attribute, target in wanted.items():
            values = klass.__dict__.get(attribute)
            if isinstance(values, (dict, list, tuple)):
                target.update(str(v).lower() for v in values)
    return frozenset(first), frozenset(last), frozenset(a.strip(".") for a in affixes)


@functools.cache
def dictionaries() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first names, last names, titles and suffixes) of every locale in :data:`LOCALES`, lower-cased."""
    parts = [locale_dictionaries(locale) for locale in LOCALES]
    return tuple(frozenset().union(*(p[i] for p in parts)) for i in range(3))


#: A locale is chosen when at least this share of the names' words are in its lists…
LOCALE_MIN_SHARE = 0.3
#: …and it beats en_US (the default) by at least this much.
LOCALE_MARGIN = 0.05


def best_locale(values: pd.Series) -> str | None:
    """The locale in :data:`LOCALES` whose name lists hold most words of ``values`` (people's names), or
    None when too few are anyone's; en_US unless another locale clearly holds more."""
    words = [w for v in values.dropna().astype(str).head(2000) for w in (name_words(v) or [])]
    if not words:
        return None
    shares = {}
    for locale in LOCALES:
        first, last, _ = locale_dictionaries(locale)
        shares[locale] = sum(w in first or w in last for w in words) / len(words)
    best = max(shares, key=lambda locale: (shares[locale], locale == "en_US"))
    if shares[best] < LOCALE_MIN_SHARE:
        return None
    return best if shares[best] - shares["en_US"] >= LOCALE_MARGIN else "en_US"


def name_words(value) -> list[str] | None:
    """The words of ``value`` without titles and suffixes, if it is 1–4 words of letters; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.count(",") == 1:  # "Smith, John"
        last, first = (part.strip() for part in text.split(","))
        text = f"{first} {last}"
    elif "," in text:
        return None
    _, _, affixes = dictionaries()
    words = [w for w in text.split() if w.lower().strip(".") not in affixes]
    if not 1 <= len(words) <= 4 or not all(_WORD.fullmatch(w) for w in words):
        return None
    return [w.strip(".").lower() for w in words]


def is_full_name(value) -> bool:
    words = name_words(value)
    if not words or len(words) < 2:
        return False
    first, last, _ = dictionaries()
    return words[0] in first and (words[-1] in last or any(part in last for part in words[-1].split("-")))


def name_kind(values: pd.Series) -> str | None:
    """``"name"``, ``"first_name"`` or ``"last_name"`` when most values are such names; else None."""
    strings = values.dropna()
    strings = strings[strings.astype(str).str.strip() != ""]
    if len(strings) < 5:
        return None
    sample = strings.astype(str).head(1000)
    if sample.map(is_full_name).mean() >= NAME_SHARE:
        return "name"
    distinct = pd.Series(sample.unique())
    if len(distinct) < MIN_DISTINCT_SINGLE:
        return None
    first, last, _ = dictionaries()
    words = distinct.map(name_words)
    single = words.map(lambda w: w[0] if w and len(w) == 1 else None)
    for kind, known in (("first_name", first), ("last_name", last)):
        if single.map(lambda w, known=known: w is not None and w in known).mean() >= NAME_SHARE:
            return kind
    return None


def person_share(values: pd.Series) -> float:
    """Share of the non-empty values that are full names."""
    strings = values.dropna().astype(str).head(1000)
    strings = strings[strings.str.strip() != ""]
    return float(strings.map(is_full_name).mean()) if len(strings) else 0.0
