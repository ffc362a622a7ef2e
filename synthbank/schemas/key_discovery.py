"""Primary and foreign keys found on the data, for sources that declare none (folders of Parquet/CSV files).

:func:`discover_keys` runs SQL over the whole data (DuckDB views named like the tables), never loading a
table into memory. The rules, in order:

**Primary keys** (only for tables that declare none): one column, of an integer, string or uuid type, with
no NULL and no repeated value on any row. Among such columns the first (in the table's column order) of
the best tier wins:

1. ``id``;
2. the table's own name with an identifier suffix: ``user_id``/``users_id``/``userid``/``user_key``… in ``users``;
3. any other identifier-like name: ``*_id``, ``*_key``, ``*_no``, ``*_nr``, ``*_code``, ``*_number``, ``*_uuid``,
   ``key``, ``code``, ``uuid``, ``guid``, or, for a string, the table's own name (``currency`` in ``currencies``);
4. a *code-like* string (every value at most 40 characters, without spaces or ``@``) that is the table's
   first column or its only unique, code-like string column (``airports.faa``, ``planes.tailnum``).

Tier 2 also takes an abbreviation of a one-word table name: ``emp_no`` in ``employees``, ``dept_no`` in
``departments`` (three letters or more, the same first letter, the others in order). No composite primary key is
guessed; a table with no candidate gets none.

The tables whose best candidate is of tier 1 or 2 are decided first. Then a lower-tier candidate that is spelled
like the primary key of *another* table (one decided first, or declared), with values all in it, is a foreign key
that happens to be unique (``dept_emp.emp_no`` → ``employees.emp_no``), not its table's key: the table takes its
next candidate, or none. A one-to-one extension named after that table (``user_profiles.user_id`` →
``users.user_id``: ``user_profiles`` begins with ``user``) keeps it.

A table left without a primary key that a child column names by a stem (``account.district_id`` → ``district``)
takes as its key its one column of a compatible type that is non-NULL and unique on every row and holds every
value of that child column (``district.A1``); when several do, none is taken and a doubt names them.

**Foreign keys** (only for tables that declare none): a column ``c`` of ``T`` references ``P``'s
single-column primary key ``k`` when the types are compatible (both integers, both strings or both uuids), every
non-NULL value of ``c`` is in ``P.k`` (an anti-join), and the name is plausible. Name evidence, strongest first:

- *stem*: ``c`` less an identifier suffix names ``P`` (``user_id`` → ``users``, ``category_id`` →
  ``categories``), or ``P`` is ``T`` and ``c`` names a self-reference (``parent_id``, ``manager_id``,
  ``reports_to``, ``parent_*``); weaker: it ends with ``P``'s name (``from_account_id`` → ``accounts``);
- *exact*: ``c`` is spelled like ``k`` and ``k`` is not a generic name (``id``, ``key``, ``code``…);
- *none*, for string keys only: ``c`` has at least two distinct values and is not ``T``'s primary key
  (``flights.origin`` → ``airports.faa``). An integer column is never taken without a name: ids 1..N lie in
  every other table's range.

A column that is its table's own primary key may reference another table only on a stem match (a
one-to-one extension, ``user_profiles.user_id`` → ``users``). The strongest evidence wins; two parents or
more with the same best evidence give no foreign key but a doubt, returned for the person to settle.

**Near misses**: a column left without a foreign key whose name names a parent key (stem or exact) or, for a
string, whose values alone would have been enough, but with some values not in that key, gets a note when at
least :data:`NEAR_MISS_SHARE` of its non-NULL rows are found there (``flights.dest`` → ``airports.faa``: 97.7%):
the data may be a sample cut short, or the key really is broken; the person decides in a schema file.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import sqlalchemy as sa

from synthbank.schemas import types
from synthbank.schemas.model import ForeignKey, Table

log = logging.getLogger(__name__)

#: Suffixes that make a name an identifier (``user_id``); stripped (with a bare ``id``) to find the table it names.
ID_SUFFIXES = ("_number", "_uuid", "_guid", "_code", "_key", "_num", "_id", "_no", "_nr")
#: Names that identify a row but say nothing of which table they belong to.
GENERIC_NAMES = {"id", "key", "code", "uuid", "guid", "pk", "name"}
#: Names of a column that points at another row of its own table.
SELF_REFERENCE = re.compile(r"^(parent|manager|supervisor|boss|mentor|referrer|predecessor|successor|replaced_by)(_id|_key|_no)?$"
                            r"|^parent_.+|^reports_to(_id)?$|^referred_by(_id)?$")
#: A string primary key found by its values alone has values at most this long, without spaces or '@'.
CODE_MAX_LENGTH = 40
#: A column left without a foreign key gets a note when at least this share of its rows' values are in a parent's key.
NEAR_MISS_SHARE = 0.9
_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman"}
_DOUBT_HINT = "name its parent in a schema file (synthbank schema SOURCE -o schema.yaml, edit it, then --schema schema.yaml)."


@dataclass
class _Stats:
    """What one aggregate query says about a column."""

    kind: str
    non_null: int
    distinct: int
    low: object = None
    high: object = None
    min_length: int | None = None
    max_length: int | None = None
    odd: int = 0  # values with whitespace or '@' (strings only)

    def code_like(self) -> bool:
        return self.kind == "uuid" or (self.kind == "string" and self.odd == 0 and (self.max_length or 0) <= CODE_MAX_LENGTH)


def discover_keys(connection: sa.Connection, tables: dict[str, Table], notes: list[str] | None = None) -> list[str]:
    """Find primary keys and foreign keys of tables that declare none, in place; return the doubts.

    ``tables`` are queried by name on ``connection`` (tables or views). A table that declares a primary key
    keeps it, one that declares foreign keys keeps them (and gets no others). Each key found is logged; a
    column that could reference several tables equally well gets no foreign key and one sentence in the
    returned list. Near misses (a foreign key that most, not all, values keep) are appended to ``notes``,
    one sentence each, and logged.
    """
    notes = [] if notes is None else notes
    rows: dict[str, int] = {}
    stats: dict[str, dict[str, _Stats]] = {}
    for table in tables.values():
        rows[table.name], stats[table.name] = _column_stats(connection, table)
    undecided = [t for t in tables.values() if not t.primary_key]
    candidates = {t.name: _key_candidates(t, rows[t.name], stats[t.name]) for t in undecided}
    for table in undecided:  # an own key (id, <table>_id) first: the others are judged against these
        if candidates[table.name] and candidates[table.name][0][0] <= 2:
            _set_primary_key(table, candidates[table.name][0][1])
    decided = {t.name: t.primary_key[0] for t in tables.values() if len(t.primary_key) == 1 and t.primary_key[0] in stats[t.name]}
    for table in [t for t in undecided if not t.primary_key]:
        chosen = next((c for _, c in candidates[table.name] if not _borrowed_key(connection, tables, stats, decided, table, c)), None)
        if chosen:
            _set_primary_key(table, chosen)
    doubts = _keys_named_by_children(connection, tables, stats, rows)
    parents = {t.name: t.primary_key[0] for t in tables.values() if len(t.primary_key) == 1 and t.primary_key[0] in stats[t.name]}
    for table in [t for t in tables.values() if not t.foreign_keys]:
        for column, column_stats in stats[table.name].items():
            if column_stats.non_null == 0:
                continue
            found = _choose_parent(connection, tables, stats, parents, table, column, notes)
            if isinstance(found, str):
                doubts.append(found)
            elif found is not None:
                table.foreign_keys.append(ForeignKey(columns=[column], parent=found[0], parent_columns=[found[1]]))
                log.info("Found foreign key %s.%s → %s.%s", table.name, column, found[0], found[1])
    return doubts


# --- names ------------------------------------------------------------------------------------------
def _snake(name: str) -> str:
    """``UserId``, ``User ID``, ``user-id`` → ``user_id``."""
    return re.sub(r"[\s.-]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).strip()).lower()


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes", "uses")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")) or not word.endswith("s"):
        return word
    return word[:-1]


def _plural(word: str) -> str:
    if word in _IRREGULAR.values():
        return next(plural for plural, singular in _IRREGULAR.items() if singular == word)
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _stems(table_name: str) -> set[str]:
    """A table's name as written, singular and plural: ``categories`` → {categories, category}."""
    word = _snake(table_name)
    singular = _singular(word)
    return {word, singular, _plural(singular)}


def _bases(column_name: str) -> set[str]:
    """A column's name with and without an identifier suffix: ``user_id`` → {user_id, user}, ``userid`` → {userid, user}."""
    name = _snake(column_name)
    bases = {name}
    for suffix in (*ID_SUFFIXES, "id"):
        if name.endswith(suffix) and len(name) > len(suffix):
            bases.add(name[: -len(suffix)])
    return bases


def _abbreviates(base: str, table_name: str) -> bool:
    """Whether ``base`` shortens a one-word table name: ``emp`` → ``employees``, ``dept`` → ``departments``."""
    word = _singular(_snake(table_name))
    if "_" in word or len(base) < 3 or len(base) >= len(word) or base[0] != word[0]:
        return False
    letters = iter(word)
    return all(letter in letters for letter in base)


def _identifier_tier(column_name: str, table_name: str, kind: str) -> int:
    """How strongly a name says 'this table's key': 1 ``id``, 2 ``<table>_id``, 3 another identifier name, 4 none.

    A string named like the table itself (``currency`` in ``currencies``) is an identifier; an integer is not
    (``flight`` in ``flights`` is a flight number, repeated across days)."""
    name = _snake(column_name)
    stems = _stems(table_name)
    if name == "id":
        return 1
    if any(base in stems or _abbreviates(base, table_name) for base in _bases(name) - {name}):
        return 2
    if name in GENERIC_NAMES - {"name"} or name.endswith(ID_SUFFIXES) or (name in stems and kind != "integer"):
        return 3
    return 4


def _name_evidence(child: Table, column: str, parent: Table, key: str) -> tuple[int, int] | None:
    """``(stem, exact)``: stem 2 the name names the parent (or a self-reference), 1 it ends with it; exact 1
    when the column is spelled like a non-generic key. None when the name says nothing."""
    bases = _bases(column)
    if parent.name == child.name:
        name = _snake(column)
        if SELF_REFERENCE.match(name):
            return (2, 0)
        return (1, 0) if any(b.endswith("_" + s) for b in bases for s in _stems(parent.name)) else None
    stems = _stems(parent.name)
    stem = 2 if bases & stems else 1 if any(b.endswith("_" + s) for b in bases for s in stems) else 0
    exact = int(_snake(column) == _snake(key) and _snake(key) not in GENERIC_NAMES)
    return (stem, exact) if stem or exact else None


# --- data -------------------------------------------------------------------------------------------
def _kind(type_string: str) -> str | None:
    """``integer``, ``string`` or ``uuid``: the types a key may have (a ``numeric(p,0)`` counts as an integer)."""
    base = types.base_name(type_string)
    if base in types.INTEGER_TYPES or (base == "numeric" and types.fixed_scale(type_string) == 0):
        return "integer"
    if base in types.STRING_TYPES:
        return "string"
    return "uuid" if base == "uuid" else None


def _column_stats(connection: sa.Connection, table: Table) -> tuple[int, dict[str, _Stats]]:
    """The table's row count and, for each column that could be a key, its counts (one query)."""
    quote = connection.dialect.identifier_preparer.quote
    kinds = {name: _kind(column.type) for name, column in table.columns.items()}
    kinds = {name: kind for name, kind in kinds.items() if kind}
    parts = ["count(*)"]
    for name, kind in kinds.items():
        q = quote(name)
        parts += [f"count({q})", f"count(DISTINCT {q})", f"min({q})", f"max({q})"]
        if kind == "string":
            parts += [f"min(length({q}))", f"max(length({q}))", rf"count(CASE WHEN regexp_matches({q}, '[\s@]') THEN 1 END)"]
    row = connection.exec_driver_sql(f"SELECT {', '.join(parts)} FROM {quote(table.name)}").fetchone()
    values = list(row[1:])
    found = {}
    for name, kind in kinds.items():
        width = 7 if kind == "string" else 4
        taken, values = values[:width], values[width:]
        found[name] = _Stats(kind, *taken)
    return row[0], found


def _key_candidates(table: Table, rows: int, stats: dict[str, _Stats]) -> list[tuple[int, str]]:
    """The columns that could be the table's primary key, ``(tier, name)``, best first (the module's docstring)."""
    if rows == 0:
        return []
    unique = [name for name, s in stats.items() if s.non_null == rows and s.distinct == rows]
    tiers = {name: _identifier_tier(name, table.name, stats[name].kind) for name in unique}
    named = sorted((tier, list(table.columns).index(name), name) for name, tier in tiers.items() if tier < 4)
    found = [(tier, name) for tier, _, name in named]
    codes = [name for name in unique if tiers[name] == 4 and stats[name].kind in ("string", "uuid") and stats[name].code_like()]
    first = next(iter(table.columns))
    code = first if first in codes else codes[0] if len(codes) == 1 else None
    return found + ([(4, code)] if code else [])


def _set_primary_key(table: Table, column: str) -> None:
    table.primary_key = [column]
    table.columns[column].unique = True
    table.columns[column].nullable = False
    log.info("Found primary key %s.%s", table.name, column)


def _borrowed_key(connection, tables, stats, decided: dict[str, str], table: Table, column: str) -> bool:
    """Whether a lower-tier candidate is spelled like another table's primary key and has all its values in it
    (a foreign key that happens to be unique), unless its table is named after that one (``user_profiles``)."""
    own = stats[table.name][column]
    for parent, key in decided.items():
        if parent == table.name or _snake(key) != _snake(column) or _snake(table.name).split("_")[0] in _stems(parent):
            continue
        if _compatible(own, stats[parent][key]) and _included(connection, table.name, column, parent, key):
            log.info("%s.%s is not %s's primary key: its values are all in %s.%s", table.name, column, table.name, parent, key)
            return True
    return False


def _keys_named_by_children(connection, tables, stats, rows) -> list[str]:
    """Give a table without a primary key, that a child column names by a stem (``district_id`` → ``district``),
    the one column that could be the key it references; return a doubt where several could."""
    doubts = []
    for parent in [t for t in tables.values() if not t.primary_key and rows[t.name]]:
        unique = [name for name, s in stats[parent.name].items() if s.non_null == rows[parent.name] == s.distinct]
        named = [(child.name, column) for child in tables.values() if not child.foreign_keys and child.name != parent.name
                 for column, s in stats[child.name].items() if s.non_null and _bases(column) & _stems(parent.name)]
        for child, column in named:
            fits = [k for k in unique if _compatible(stats[child][column], stats[parent.name][k])
                    and _included(connection, child, column, parent.name, k)]
            if len(fits) == 1:
                _set_primary_key(parent, fits[0])
            elif fits:
                doubts.append(_doubt(child, column, [(parent.name, k) for k in fits]))
            if fits:
                break
    return doubts


def _doubt(child: str, column: str, parents: list[tuple[str, str]]) -> str:
    """The sentence for a column that could reference each of ``parents`` (``(table, key)``) equally well."""
    names = [f"{p}.{k}" for p, k in parents]
    return f"{child}.{column} could reference {', '.join(names[:-1])} or {names[-1]}; {_DOUBT_HINT}"


def _compatible(child: _Stats, parent: _Stats) -> bool:
    """Types of one kind (both integers, both strings, both uuids), and values that could be included judging
    by counts, ranges and lengths alone (necessary conditions, so no true key is lost)."""
    if child.kind != parent.kind or child.distinct > parent.distinct:
        return False
    try:
        if child.low < parent.low or child.high > parent.high:
            return False
        if child.kind == "string" and (child.min_length < parent.min_length or child.max_length > parent.max_length):
            return False
    except TypeError:  # NULL bounds or values that do not compare in Python: let the database judge
        pass
    return not (child.odd and not parent.odd)


def _included(connection: sa.Connection, child: str, column: str, parent: str, key: str) -> bool:
    """Whether every non-NULL value of ``child.column`` is in ``parent.key``."""
    sql = f"SELECT 1 {_outside(connection, child, column, parent, key)} LIMIT 1"
    return connection.exec_driver_sql(sql).fetchone() is None


def _outside(connection: sa.Connection, child: str, column: str, parent: str, key: str) -> str:
    """``FROM child c WHERE`` its non-NULL ``column`` value is not in ``parent.key`` (an anti-join)."""
    quote = connection.dialect.identifier_preparer.quote
    return (f"FROM {quote(child)} c WHERE c.{quote(column)} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {quote(parent)} p WHERE p.{quote(key)} = c.{quote(column)})")


def _near_miss(connection, child: str, column: str, parent: str, key: str, non_null: int) -> str | None:
    """A note when most, not all, of the column's non-NULL rows have their value in ``parent.key`` (one query)."""
    value = f"c.{connection.dialect.identifier_preparer.quote(column)}"
    missing = f"SELECT {value} AS v, count(*) AS n {_outside(connection, child, column, parent, key)} GROUP BY {value}"
    found = connection.exec_driver_sql(f"SELECT sum(n) OVER (), count(*) OVER (), v FROM ({missing}) m ORDER BY v LIMIT 2").fetchall()
    if not found or not non_null:
        return None
    missing_rows, values = int(found[0][0]), int(found[0][1])
    share = math.floor(1000 * (1 - missing_rows / non_null)) / 10
    if share < 100 * NEAR_MISS_SHARE:
        return None
    examples = ", ".join(str(row[2]) for row in found)
    which = f"1 value, {examples}, is" if values == 1 else f"{values:,} values such as {examples} are"
    return (f"{child}.{column} → {parent}.{key}: {share:.1f}% of rows' values are in {parent}.{key} ({missing_rows:,} "
            f"row{'s' if missing_rows != 1 else ''}, {which} not), so it is not taken as a foreign key; "
            "declare it in a schema file if those rows are expected.")


def _choose_parent(connection, tables, stats, parents, table: Table, column: str, notes: list[str]) -> tuple[str, str] | str | None:
    """The ``(parent, key)`` a column references, a doubt (a sentence) when several fit equally, or None (and the
    near misses appended to ``notes``)."""
    own = stats[table.name][column]
    is_pk = table.primary_key == [column]
    candidates: dict[tuple[int, int], list[tuple[str, str]]] = {}
    missed = []  # (parent, key) whose values could not all be in it, for the near misses
    for parent_name, key in parents.items():
        parent = tables[parent_name]
        if parent_name == table.name and key == column:
            continue
        evidence = _name_evidence(table, column, parent, key)
        if evidence is None and own.kind == "string" and parent_name != table.name and not is_pk and own.distinct >= 2:
            evidence = (0, 0)  # a string code may be found by its values alone
        if evidence is None or (is_pk and (evidence[0] < 2 or parent_name == table.name)):
            continue
        if _compatible(own, stats[parent_name][key]):
            candidates.setdefault(evidence, []).append((parent_name, key))
        elif evidence != (0, 0) and own.kind == stats[parent_name][key].kind:
            missed.append((parent_name, key))  # a name that says so, values out of the key's range or counts
    for evidence in sorted(candidates, reverse=True):
        included = [(p, k) for p, k in candidates[evidence] if _included(connection, table.name, column, p, k)]
        if len(included) == 1:
            return included[0]
        if included:
            return _doubt(table.name, column, included)
        missed += candidates[evidence]
    for parent_name, key in missed:
        if note := _near_miss(connection, table.name, column, parent_name, key, own.non_null):
            notes.append(note)
            log.info("Near miss: %s", note)
    return None
