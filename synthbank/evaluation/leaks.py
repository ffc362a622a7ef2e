"""The leak scan: real values that should never appear in a synthetic database, looked for everywhere.

It is independent of the generator (it uses neither the relational engine's protection nor the text
engine's scrubber) and searches three kinds of real values:

- every value of every column the schema marks PII;
- every value of every string column that *looks like* people's names (by Faker's name lists,
  :mod:`synthbank.schemas.person_names`), whatever the schema says — a name column that detection or a
  reviewer missed;
- every categorical value held by fewer than ``rare_threshold`` real rows (a payee, a memo, a rare
  employer: such a value points at few people) — unless the real data holds it that often elsewhere (a
  state rare among complaints but common among customers, a category label many real texts mention);
- every value of every column that is not a key of the schema and *looks like identifiers* by the scan's
  own rule (:func:`identifier_like`: mostly single tokens of 6 or more characters with 5 or more digits,
  50 or more distinct values, numbers that do not fill their range), whatever the schema calls it — a
  counterparty's account number learned as a category, a birth number taken for a code.

Each is searched in every synthetic string column (equal cells) and inside every synthetic string (as a
run of two or more whole words — ``john.smith@mail.com`` inside a narrative, "Robert Miller" inside a
memo — or as one token of six or more characters with a digit, such as an account number). Values of
coarse kinds (a first name, a last name, a city, a zip code or a date of birth alone — each shared by
many people; also a national identifier of 6 digits or fewer, which is a birth date and a sex) are
counted apart as ``coarse_matches``, not as leaks. Reports show only masked examples
(``J*** M*****``), never a real value.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pandas as pd

from synthbank.schemas import person_names, types
from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import COARSE_PII_KINDS

#: PII kinds whose single values many people share: a match is reported, not counted as a leak.
#: A value is searched inside longer strings when it has at least this many words (or is one long token).
MIN_WORDS_INSIDE = 2
_WORD = re.compile(r"\w+")
MAX_EXAMPLES = 10


def _words(value) -> tuple[str, ...]:
    return tuple(_WORD.findall(str(value).lower()))


def mask(value) -> str:
    """``"Jane Miller"`` → ``"J*** M*****"``: the first character of each word, the rest starred."""
    return re.sub(r"\w+", lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 1), str(value))


def _keys(schema: DatabaseSchema, table: str) -> set[str]:
    spec = schema.tables[table]
    return set(spec.primary_key) | {c for fk in spec.foreign_keys for c in fk.columns} | {
        c for _, fk in schema.relationships() if fk.parent == table for c in fk.parent_columns}


def _string_columns(schema: DatabaseSchema, table: str, frame: pd.DataFrame, codes: set | None = None) -> list[str]:
    """Columns whose cells are searched: strings, PII and text, not keys (keys are generated); integer
    columns too when ``codes`` (see :func:`integer_codes`) names them."""
    spec = schema.tables[table]
    keys = _keys(schema, table)
    out = []
    for column in frame.columns:
        col = spec.columns.get(column)
        if col is None or column in keys or col.sdtype in ("boolean", "datetime"):
            continue
        if types.base_name(col.type) in types.STRING_TYPES or col.sdtype in ("pii", "text") or \
                (codes is not None and (table, column) in codes):
            out.append(column)
    return out


def integer_codes(schema: DatabaseSchema, real: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """Integer columns (not keys) whose real values look like identifiers: account numbers stored as numbers."""
    out = set()
    for table, frame in real.items():
        if table not in schema.tables or frame is None or frame.empty:
            continue
        keys = _keys(schema, table)
        for column, col in schema.tables[table].columns.items():
            if column in frame and column not in keys and types.base_name(col.type) in types.INTEGER_TYPES \
                    and col.sdtype not in ("boolean", "datetime") and identifier_like(frame[column], integer=True):
                out.add((table, column))
    return out


def _texts(values: pd.Series) -> pd.Series:
    """Non-null values as text; whole floats (integers read with NULLs) without their '.0'."""
    return values.dropna().map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))


#: What the scan takes for a column of identifiers (its own rule, independent of schema detection).
ID_MIN_DIGITS, ID_MIN_DISTINCT, ID_SHARE = 5, 50, 0.8
#: Widths: identifiers have one (numbers may lose two leading zeros); amounts and counts do not.
ID_MIN_WIDTH, ID_INTEGER_MIN_WIDTH, ID_WIDTH_SHARE = 6, 7, 0.9


def identifier_like(values: pd.Series, *, integer: bool = False) -> bool:
    """Mostly single tokens with at least :data:`ID_MIN_DIGITS` digits, of one width (up to two digits
    narrower), many distinct values, and numbers that leave most of their range unused (account, card or
    birth numbers; not a running reference, not amounts)."""
    strings = _texts(values).str.strip()
    strings = strings[(strings != "") & (strings.map(lambda v: len(set(v))) > 1)]  # not 0 or 99999999 ("none")
    if strings.nunique() < ID_MIN_DISTINCT:
        return False
    digits = strings.str.count(r"\d")
    if ((digits >= ID_MIN_DIGITS) & ~strings.str.contains(r"\s")).mean() < ID_SHARE:
        return False
    lengths = strings.str.len()
    width = int(lengths.mode().iloc[0])
    if width < (ID_INTEGER_MIN_WIDTH if integer else ID_MIN_WIDTH) or lengths.between(width - 2, width).mean() < ID_WIDTH_SHARE:
        return False
    numbers = pd.to_numeric(strings.str.replace(r"\D", "", regex=True).str[-15:], errors="coerce").dropna()
    return bool(len(numbers)) and numbers.nunique() / (numbers.max() - numbers.min() + 1) < 0.5


def _coarse(kind: str, key: tuple[str, ...]) -> bool:
    """A match that points at many people: a coarse kind, or a birth date coded as a 6-digit number."""
    return kind in COARSE_PII_KINDS or (kind == "national_id" and len(key) == 1 and len(key[0]) <= 6)


def searched_values(schema: DatabaseSchema, real: dict[str, pd.DataFrame], rare_threshold: int = 5,
                    codes: set | None = None) -> dict:
    """``{words: (why, kind)}`` of every real value the scan looks for (``why``: pii, identifiers, names or
    rare). ``codes``: :func:`integer_codes` of ``real``, when the caller has them already."""
    values: dict[tuple[str, ...], tuple[str, str]] = {}
    codes = integer_codes(schema, real) if codes is None else codes
    for table, spec in schema.tables.items():
        frame = real.get(table)
        if frame is None or frame.empty:
            continue
        for column in _string_columns(schema, table, frame, codes):
            col = spec.columns[column]
            present = frame[column].dropna()
            present = present[present.astype(str).str.strip() != ""]
            if present.empty or col.sdtype == "text":
                continue
            if col.sdtype == "pii":
                why, kind, chosen = "pii", col.pii or "name", present
            elif (table, column) in codes or identifier_like(present):
                why, kind, chosen = "identifiers", "identifier", present
            elif col.sdtype in ("id", "numerical"):
                continue  # regenerated codes (TX-00017 again) and numbers: not values that point at people
            elif (kind := person_names.name_kind(present)) is not None:
                why, chosen = "names", present
            else:
                # rare as the scan matches: by words, ignoring case ("Driver" and "driver" are one value)
                keys = present.astype(str).map(_words)
                counts = keys.value_counts()
                rare_keys = set(counts[counts < rare_threshold].index)
                why, kind, chosen = "rare", "category", present[keys.isin(rare_keys).to_numpy()]
            for value in _texts(chosen).unique():
                key = _words(value)
                if why == "pii" and values.get(key, ("",))[0] != "pii":
                    values.pop(key, None)  # what the schema says of a value comes first
                if key and (len(key) > 1 or len(key[0]) >= 2) and len(set("".join(key))) > 1:  # not 0000 or 99
                    values.setdefault(key, (why, kind))
    # a value rare in its own column but common elsewhere in the real data (a state rare among complaints
    # but not among users; a category label that many real narratives mention) points at nobody
    rare = {key: why for key, why in values.items() if why[0] == "rare"}
    for key, times in _occurrences(schema, real, rare).items():
        if times >= rare_threshold:
            del values[key]
    return values


def _occurrences(schema: DatabaseSchema, frames: dict[str, pd.DataFrame], wanted: dict) -> dict:
    """How many strings of ``frames`` hold each wanted value (as the whole string or inside it)."""
    lengths = sorted({len(k) for k in wanted})
    singles = {k for k in wanted if len(k) == 1 and len(k[0]) >= 6 and any(c.isdigit() for c in k[0])}
    counts: dict = defaultdict(int)
    for table, frame in frames.items():
        if table not in schema.tables or frame is None or frame.empty:
            continue
        for column in _string_columns(schema, table, frame):
            for value, times in _texts(frame[column]).value_counts().items():
                for key, _ in _find(_words(value), wanted, lengths, singles):
                    counts[key] += int(times)
    return counts


def scan(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
         rare_threshold: int = 5) -> dict:
    """Counts of real values found in synthetic cells and strings, with masked examples."""
    codes = integer_codes(schema, real)
    wanted = searched_values(schema, real, rare_threshold, codes)
    lengths = sorted({len(k) for k in wanted})
    singles = {k for k in wanted if len(k) == 1 and len(k[0]) >= 6 and any(c.isdigit() for c in k[0])}
    counts: dict[str, int] = defaultdict(int)
    by_source: dict[str, int] = defaultdict(int)
    examples: list[str] = []
    for table, frame in synthetic.items():
        if table not in schema.tables or frame is None or frame.empty:
            continue
        for column in _string_columns(schema, table, frame, codes):
            strings = _texts(frame[column])
            is_text = schema.tables[table].columns[column].sdtype == "text"
            for value, times in strings.value_counts().items():
                found = _find(_words(value), wanted, lengths, singles)
                for key, whole in found:
                    why, kind = wanted[key]
                    coarse = _coarse(kind, key)
                    where = "coarse_matches" if coarse else ("texts" if is_text else "cells" if whole else "inside_strings")
                    counts[where] += int(times)
                    if not coarse:
                        by_source[why] += int(times)
                        if len(examples) < MAX_EXAMPLES:
                            shown = mask(value) if whole else "… " + mask(" ".join(key)) + " …"
                            examples.append(f"{table}.{column}: {shown} ({why}: {kind})")
    total = counts["cells"] + counts["inside_strings"] + counts["texts"]
    return {"total": total, "cells": counts["cells"], "inside_strings": counts["inside_strings"], "texts": counts["texts"],
            "coarse_matches": counts["coarse_matches"], "by_source": dict(by_source), "examples": examples,
            "values_searched": len(wanted), "rare_threshold": rare_threshold}


def _find(words: tuple[str, ...], wanted: dict, lengths: list[int], singles: set) -> list[tuple[tuple[str, ...], bool]]:
    """The wanted values in ``words``: the whole string, a run of two or more words inside it, or a long
    single token with digits inside it (an account or card number)."""
    if words in wanted:
        return [(words, True)]
    found = [((w,), False) for w in words if (w,) in singles] if singles and len(words) > 1 else []
    for n in lengths:
        if n < MIN_WORDS_INSIDE or n >= len(words):
            continue
        for i in range(len(words) - n + 1):
            run = words[i:i + n]
            if run in wanted:
                found.append((run, False))
    return found
