"""Rules every real row obeys: how tables are read and how a row is judged (the report's ``rules`` section is
built in :mod:`~synthbank.evaluation.rule_report`): do the synthetic rows make sense?

:func:`~synthbank.evaluation.rule_report.rule_check` finds on the real tables the rules every real row obeys with the evaluation's own
discovery (:mod:`~synthbank.evaluation.rule_discovery`; it never reads a schema's rules, which the engines
keep: a bug in one cannot hide in the other, they share only the words of
:class:`~synthbank.vocabulary.RuleKind`), then judges every real and synthetic row by them: per rule the
share of the rows it applies to that obey it, per table and over the database the share of rows that
break any rule. The real rows break none by construction; their share is reported all the same, as a
check of the check. Beside the rules, the "round values" statistic: how often a number is a multiple of
1000, 100 or 25 in the real and in the synthetic rows (people pick round amounts; a model that smooths
them away shows here). The kinds, per table (keys, PII, texts left out):

``decides``        each value of columns[0] held by at least 5 rows goes with one value of columns[1]
``order``          columns[0] <= columns[1] wherever both are set (two numbers or two datetimes)
``after_parent``   columns[0] >= ``parent_column`` of the row reached through the foreign keys of ``hops``
``null_together``  the columns are NULL in the same rows
``precision``      every value of columns[0] has at most ``decimals`` decimals
``sum``            columns[0] = the sum of the other columns (2 or 3), within one step of their decimals

Tables are read as :class:`TableValues`: numbers and datetimes as floats (datetimes as seconds since
1970), categories as codes of the real values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthbank.key_values import normalized_keys, row_keys
from synthbank.schemas.model import DatabaseSchema, Table
from synthbank.vocabulary import LEARNED_SDTYPES, RuleKind, SdType

MIN_ROWS = 20  # rows a table, a rule and a round-values share need
RELATIVE = 1e-9  # tolerance of float comparisons



@dataclass(frozen=True)
class Rule:
    """One discovered rule; ``columns`` are of ``table`` (see the module docstring per kind)."""

    kind: RuleKind
    table: str
    columns: tuple[str, ...]
    mapping: tuple[tuple[int, int], ...] = ()  # decides: (code of columns[0], code of columns[1]) pairs
    decimals: int | None = None  # precision: its decimals; sum: the finest decimals of its columns (None: any)
    hops: tuple[tuple[str, int], ...] = ()  # after_parent: (table, index of its foreign key), from the rule's table up
    parent: str | None = None  # after_parent: the table ``hops`` reach
    parent_column: str | None = None
    dates: bool = False  # order, after_parent: the columns are datetimes (compared exactly)

    def describe(self, schema: DatabaseSchema) -> dict:
        """The rule as report.json lists it."""
        entry: dict = {"kind": self.kind.value, "table": self.table, "columns": list(self.columns)}
        if self.kind == RuleKind.DECIDES:
            entry["values"] = len(self.mapping)
        if self.kind in (RuleKind.PRECISION, RuleKind.SUM):
            entry["decimals"] = self.decimals
        if self.kind == RuleKind.AFTER_PARENT:
            entry["parent"], entry["parent_column"] = self.parent, self.parent_column
            entry["path"] = [list(schema.tables[t].foreign_keys[i].columns) for t, i in self.hops]
            if len(self.hops) > 1:
                entry["via"] = [schema.tables[t].foreign_keys[i].parent for t, i in self.hops[:-1]]
        return entry


@dataclass
class TableValues:
    """The rule columns of one table as arrays (row order kept)."""

    rows: int
    numbers: dict[str, np.ndarray] = field(default_factory=dict)  # numbers and datetimes as floats, NaN = NULL
    dates: set[str] = field(default_factory=set)  # which of ``numbers`` are datetimes (seconds since 1970)
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # categories and flags: code of the real value, -1 = NULL/unseen
    labels: dict[str, pd.Index] = field(default_factory=dict)  # the real values of ``codes``
    nulls: dict[str, np.ndarray] = field(default_factory=dict)  # every rule column: True where NULL


def rule_columns(table: Table) -> list[str]:
    """The columns rules may name: learned sdtypes, keys left out."""
    keys = set(table.primary_key) | {c for fk in table.foreign_keys for c in fk.columns}
    return [name for name, column in table.columns.items() if column.sdtype in LEARNED_SDTYPES and name not in keys]


def _seconds(series: pd.Series) -> np.ndarray:
    """Datetimes as seconds since 1970 (naive UTC), NaN where NULL."""
    stamps = series if pd.api.types.is_datetime64_any_dtype(series.dtype) else pd.to_datetime(series, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    raw = stamps.to_numpy(dtype="datetime64[ns]")
    out = raw.astype("int64") / 1e9
    out[np.isnat(raw)] = np.nan
    return out


def encode(frame: pd.DataFrame, table: Table, reference: TableValues | None = None) -> TableValues:
    """``frame``'s rule columns as arrays; categories coded by ``reference``'s (the real table's) values."""
    values = TableValues(len(frame))
    for name in rule_columns(table):
        series, sdtype = frame[name], table.columns[name].sdtype
        values.nulls[name] = series.isna().to_numpy(dtype=bool)
        if sdtype == SdType.DATETIME:
            values.numbers[name] = _seconds(series)
            values.dates.add(name)
        elif sdtype == SdType.NUMERICAL:
            values.numbers[name] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        elif reference is None:
            codes, labels = pd.factorize(series.astype(object))
            values.codes[name], values.labels[name] = codes, pd.Index(labels, dtype=object)
        else:
            values.labels[name] = reference.labels[name]
            values.codes[name] = reference.labels[name].get_indexer(series.astype(object))
    return values


def _key_text(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    keys = normalized_keys(row_keys(frame.reset_index(drop=True), columns))
    return keys.map("\x1f".join) if len(columns) > 1 else keys


def parent_positions(child: pd.DataFrame, columns: list[str], parent: pd.DataFrame, parent_columns: list[str]) -> np.ndarray:
    """Per child row, the position of its parent row (the first with that key); -1 where it has none."""
    parents = _key_text(parent, parent_columns)
    parents = parents[~parents.duplicated()]
    children = _key_text(child, columns)
    out = np.full(len(child), -1, dtype=np.int64)
    found = pd.Index(parents.to_numpy(), dtype=object).get_indexer(children.to_numpy())
    out[children.index.to_numpy()] = np.where(found >= 0, parents.index.to_numpy()[np.maximum(found, 0)], -1)
    return out


def links(schema: DatabaseSchema, frames: dict[str, pd.DataFrame]) -> dict[tuple[str, int], np.ndarray]:
    """:func:`parent_positions` of every foreign key but self-references, by (child table, index of its key)."""
    return {(name, i): parent_positions(frames[name], fk.columns, frames[fk.parent], fk.parent_columns)
            for name, table in schema.tables.items() for i, fk in enumerate(table.foreign_keys) if fk.parent != name}


def through(links_: dict, hops) -> np.ndarray:
    """Per row of the first hop's table, the position of the row the ``hops`` reach; -1 where none."""
    positions = links_[hops[0]]
    for hop in hops[1:]:
        step = links_[hop]
        positions = np.where(positions >= 0, step[np.maximum(positions, 0)] if len(step) else -1, -1)
    return positions


# --- judging ---------------------------------------------------------------------------------------------
def off_grid(values: np.ndarray, decimals: int) -> np.ndarray:
    """True where a value has more than ``decimals`` decimals (1e-6 of a step tolerated); NaN is not."""
    scaled = values * 10.0 ** decimals
    return np.abs(scaled - np.round(scaled)) > 1e-6 + 4 * np.finfo(float).eps * np.abs(scaled)


def below(low: np.ndarray, high: np.ndarray, dates: bool) -> np.ndarray:
    """low > high beyond the tolerance (False where either is NaN)."""
    tolerance = 0.0 if dates else RELATIVE * np.fmax(np.abs(low), np.abs(high))
    return low > high + tolerance


def sum_step(decimals: list[int | None]) -> float:
    """What a sum of columns with these decimals (None or -1: not fixed) may be off by: one step of the
    finest fixed decimals (0.01 for money); 0 (only the relative float tolerance) where all are whole
    numbers or none is fixed."""
    known = [d for d in decimals if d is not None and d >= 0]
    return 10.0 ** -max(known) if known and max(known) > 0 else 0.0


def sum_breaks(total: np.ndarray, parts: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows where the total and every part are set, rows among them where the total is not the sum)."""
    judged = ~np.isnan(total) & ~np.isnan(parts).any(axis=1)
    scale = np.fmax(np.abs(total), np.abs(parts).sum(axis=1))
    return judged, judged & (np.abs(total - parts.sum(axis=1)) > step + RELATIVE * scale)


def judge(rule: Rule, values: dict[str, TableValues], links_: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``rule.table`` in ``values``: (the rule applies to it, it breaks the rule)."""
    v = values[rule.table]
    if rule.kind == RuleKind.DECIDES:
        a, b = v.codes[rule.columns[0]], v.codes[rule.columns[1]]
        decided = np.full(len(v.labels[rule.columns[0]]) + 1, -1)  # the last: values the real rows never hold
        for a_code, b_code in rule.mapping:
            decided[a_code] = b_code
        expected = decided[np.where(a >= 0, a, len(decided) - 1)]
        judged = (expected >= 0) & ~v.nulls[rule.columns[1]]
        return judged, judged & (b != expected)
    if rule.kind == RuleKind.ORDER:
        low, high = v.numbers[rule.columns[0]], v.numbers[rule.columns[1]]
        return ~np.isnan(low) & ~np.isnan(high), below(low, high, rule.dates)
    if rule.kind == RuleKind.AFTER_PARENT:
        positions = through(links_, rule.hops)
        parent = values[rule.parent].numbers[rule.parent_column]
        low = parent[np.maximum(positions, 0)] if len(parent) else np.full(len(positions), np.nan)
        low = np.where(positions >= 0, low, np.nan)
        high = v.numbers[rule.columns[0]]
        return ~np.isnan(low) & ~np.isnan(high), below(low, high, rule.dates)
    if rule.kind == RuleKind.NULL_TOGETHER:
        nulls = sum(v.nulls[c].astype(int) for c in rule.columns)
        return np.ones(v.rows, dtype=bool), (nulls > 0) & (nulls < len(rule.columns))
    if rule.kind == RuleKind.PRECISION:
        x = v.numbers[rule.columns[0]]
        return ~np.isnan(x), off_grid(x, rule.decimals)
    parts = np.column_stack([v.numbers[c] for c in rule.columns[1:]])
    return sum_breaks(v.numbers[rule.columns[0]], parts, sum_step([rule.decimals]))
