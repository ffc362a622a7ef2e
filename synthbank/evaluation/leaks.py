"""The leak scan: real values that should never appear in a synthetic database, looked for everywhere.

It is independent of the generator (it uses neither the relational engine's protection nor the text
engine's scrubber) and searches three kinds of real values:

- every value of every column the schema marks PII;
- every value of every string column that *looks like* people's names (by Faker's name lists,
  :mod:`synthbank.schemas.person_names`), whatever the schema says — a name column that detection or a
  reviewer missed;
- every categorical value held by fewer than ``rare_threshold`` real rows (a payee, a memo, a rare
  employer: such a value points at few people) — unless the real data holds it that often elsewhere (a
  state rare among complaints but common among customers, a category label many real texts mention).

Each is searched in every synthetic string column (equal cells) and inside every synthetic string (as a
run of two or more whole words — ``john.smith@mail.com`` inside a narrative, "Robert Miller" inside a
memo — or as one token of six or more characters with a digit, such as an account number). Values of
coarse kinds (a first name, a last name, a city, a zip code or a date of birth alone — each shared by
many people) are counted apart as ``coarse_matches``, not as leaks. Reports show only masked examples
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


def _string_columns(schema: DatabaseSchema, table: str, frame: pd.DataFrame) -> list[str]:
    spec = schema.tables[table]
    out = []
    for column in frame.columns:
        col = spec.columns.get(column)
        if col is None or col.sdtype in ("numerical", "boolean", "datetime", "id"):  # keys are generated
            continue
        if types.base_name(col.type) in types.STRING_TYPES or col.sdtype in ("pii", "text"):
            out.append(column)
    return out


def searched_values(schema: DatabaseSchema, real: dict[str, pd.DataFrame], rare_threshold: int = 5) -> dict:
    """``{words: (why, kind)}`` of every real value the scan looks for (``why``: pii, names or rare)."""
    values: dict[tuple[str, ...], tuple[str, str]] = {}
    for table, spec in schema.tables.items():
        frame = real.get(table)
        if frame is None or frame.empty:
            continue
        for column in _string_columns(schema, table, frame):
            col = spec.columns[column]
            present = frame[column].dropna()
            present = present[present.astype(str).str.strip() != ""]
            if present.empty or col.sdtype == "text":
                continue
            if col.sdtype == "pii":
                why, kind, chosen = "pii", col.pii or "name", present
            elif (kind := person_names.name_kind(present)) is not None:
                why, chosen = "names", present
            else:
                # rare as the scan matches: by words, ignoring case ("Driver" and "driver" are one value)
                keys = present.astype(str).map(_words)
                counts = keys.value_counts()
                rare_keys = set(counts[counts < rare_threshold].index)
                why, kind, chosen = "rare", "category", present[keys.isin(rare_keys).to_numpy()]
            for value in chosen.astype(str).unique():
                key = _words(value)
                if key and (len(key) > 1 or len(key[0]) >= 2):
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
            for value, times in frame[column].dropna().astype(str).value_counts().items():
                for key, _ in _find(_words(value), wanted, lengths, singles):
                    counts[key] += int(times)
    return counts


def scan(schema: DatabaseSchema, real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
         rare_threshold: int = 5) -> dict:
    """Counts of real values found in synthetic cells and strings, with masked examples."""
    wanted = searched_values(schema, real, rare_threshold)
    lengths = sorted({len(k) for k in wanted})
    singles = {k for k in wanted if len(k) == 1 and len(k[0]) >= 6 and any(c.isdigit() for c in k[0])}
    counts: dict[str, int] = defaultdict(int)
    by_source: dict[str, int] = defaultdict(int)
    examples: list[str] = []
    for table, frame in synthetic.items():
        if table not in schema.tables or frame is None or frame.empty:
            continue
        for column in _string_columns(schema, table, frame):
            strings = frame[column].dropna().astype(str)
            is_text = schema.tables[table].columns[column].sdtype == "text"
            for value, times in strings.value_counts().items():
                found = _find(_words(value), wanted, lengths, singles)
                for key, whole in found:
                    why, kind = wanted[key]
                    coarse = kind in COARSE_PII_KINDS
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
