"""Find the rules every real row obeys (:mod:`synthbank.schemas.rules`), with enough support to be structure.

:func:`discover_rules` reads the tables as the engine holds them (numbers numeric, instants as datetimes,
flags as booleans: :func:`synthbank.relational.frames.normalize`) and returns, per table:

- ``decides``: a category whose every frequent value goes with one value of another category
  (``sub_product`` → ``product``, ``status`` → ``is_default``). A value held by fewer than ``k`` rows is no
  evidence, and a column with nearly as many values as rows decides nothing.
- ``order``: two numbers or two instants of a row, the first never above the second. Numbers must also
  be a real order, not ranges that barely overlap: were the columns independent, at least
  :data:`CHANCE_BREAKS` of row pairs would break it (``loan_amount >= term`` is no rule).
- ``after_parent``: an instant (or number) never before its parent's through a foreign key; two hops up
  when the hop between does not imply it.
- ``null_together``: columns NULL in exactly the same rows.
- ``precision``: a number's decimal places (money: 2) and the round steps its values heap on (incomes in
  thousands), where many more values sit on the step than a smooth distribution would put there.
- ``sum``: a number that is the sum of two or three others, to the cent (``paid_total = principal +
  interest + fees``; a difference ``a = b - c`` is the sum ``b = a + c``).

Order and decides rules implied by others (``a <= b <= c`` makes ``a <= c``) are left out. Big tables are
searched on a sample of :data:`SEARCH_ROWS` rows and every rule confirmed on all rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.schemas import types
from synthbank.schemas.model import DatabaseSchema, Table
from synthbank.schemas.rules import Rule
from synthbank.vocabulary import RuleKind, SdType

#: Rows a rule must hold on to be kept (and the least rows a table needs to have rules at all).
MIN_ROWS = 20
#: For an order between numbers: the least share of independent row pairs that would break it.
CHANCE_BREAKS = 0.01
#: Rows searched for candidates (every candidate is confirmed on all rows); order rules are sought on fewer.
SEARCH_ROWS = 20_000
ORDER_SEARCH_ROWS = 5_000
#: Round steps a number may heap on, and the least share of values on a step (and times chance) to count.
STEPS = (0.05, 0.1, 0.25, 0.5, 1, 5, 10, 25, 50, 100, 500, 1000, 5000, 10_000, 100_000)
HEAP_SHARE, HEAP_LIFT = 0.05, 3.0
#: A step at least this share of values are on is the column's grain (loan amounts in multiples of 25).
GRAIN_SHARE = 0.999
#: Most decimal places a precision rule keeps (more: a continuous number, no rule).
MAX_DECIMALS = 6
#: Categories with more values than this are not searched for decides rules.
MAX_CATEGORIES = 1000


def discover_rules(schema: DatabaseSchema, frames: dict[str, pd.DataFrame], k: int | None = None) -> list[Rule]:
    """Every rule the tables' rows obey (see the module's doc); ``k``: the rare threshold (default the schema's)."""
    k = schema.rare_threshold if k is None else k
    rules: list[Rule] = []
    for name, table in schema.tables.items():
        if not table.is_synthesized or name not in frames or len(frames[name]) < MIN_ROWS:
            continue
        frame = frames[name]
        search = frame.sample(SEARCH_ROWS, random_state=0) if len(frame) > SEARCH_ROWS else frame
        numbers, instants = _columns(table, frame, SdType.NUMERICAL), _columns(table, frame, SdType.DATETIME)
        categories = _columns(table, frame, SdType.CATEGORICAL) + _columns(table, frame, SdType.BOOLEAN)
        rules += _decides(name, frame, search, categories, k)
        rules += _orders(name, frame, search, numbers, chance=True) + _orders(name, frame, search, instants, chance=False)
        rules += _null_together(name, frame, numbers + instants + categories)
        rules += _precision(name, table, frame, numbers)
        rules += _sums(name, frame, search, numbers)
    rules += _after_parents(schema, frames)
    return rules


def _columns(table: Table, frame: pd.DataFrame, sdtype: str) -> list[str]:
    return [c for c, spec in table.columns.items() if spec.sdtype == sdtype and c in frame and frame[c].notna().any()]


def as_numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.astype("datetime64[ns]").to_numpy().astype("int64").astype(float) / 86_400e9
        out[values.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


# --- decides ------------------------------------------------------------------------------------------
def _decides(name: str, frame: pd.DataFrame, search: pd.DataFrame, columns: list[str], k: int) -> list[Rule]:
    codes = {c: pd.factorize(search[c].astype(object), use_na_sentinel=False)[0] for c in columns}
    sizes = {c: int(codes[c].max()) + 1 if len(codes[c]) else 0 for c in columns}
    found = []
    for a in columns:
        present = search[a].notna().to_numpy()
        counts = np.bincount(codes[a][present], minlength=sizes[a])
        frequent = counts >= k
        if sizes[a] > MAX_CATEGORIES or frequent.sum() < 2 or sizes[a] > len(search) / k:
            continue
        for b in columns:
            if b == a or sizes[b] < 2:
                continue
            pairs = np.unique(codes[a][present] * sizes[b] + codes[b][present])
            if len(pairs) != len(np.unique(codes[a][present])):
                continue
            decided = codes[b][present][frequent[codes[a][present]]]
            if len(np.unique(decided)) < 2:  # b is constant where a is frequent: no rule, a constant
                continue
            found.append((a, b))
    found = [(a, b) for a, b in found if _holds_decides(frame, a, b)]
    return [Rule(RuleKind.DECIDES.value, name, [a, b], support=int(frame[a].notna().sum()))
            for a, b in _reduce(found)]


def _holds_decides(frame: pd.DataFrame, a: str, b: str) -> bool:
    rows = frame[[a, b]][frame[a].notna()].astype(object)
    rows[b] = rows[b].where(rows[b].notna(), "\x00null")
    return bool((rows.groupby(a, sort=False)[b].nunique() <= 1).all())


def _reduce(edges: list[tuple]) -> list[tuple]:
    """Drop an edge a → c while another path a → … → c remains (one at a time, so loops keep one way)."""
    kept = list(edges)
    for edge in sorted(edges, key=str, reverse=True):
        rest = [e for e in kept if e != edge]
        if _reaches(rest, edge[0], edge[1]):
            kept = rest
    return kept


def _reaches(edges: list[tuple], start, goal) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                if b == goal:
                    return True
                seen.add(b)
                todo.append(b)
    return False


# --- order -------------------------------------------------------------------------------------------
def _orders(name: str, frame: pd.DataFrame, search: pd.DataFrame, columns: list[str], chance: bool) -> list[Rule]:
    if len(columns) < 2:
        return []
    found = []
    values = np.column_stack([as_numbers(search[c]) for c in columns])[:ORDER_SEARCH_ROWS]  # candidates; all rows confirm
    present = ~np.isnan(values)
    ceiling = np.where(present, values + _tolerance(values), np.inf)  # NaN compares as no break
    floor = np.where(present, values, -np.inf)
    for i, a in enumerate(columns):
        both = present[:, [i]] & present
        below = (floor[:, [i]] <= ceiling).all(axis=0)
        strictly = ((values[:, [i]] < values) & both).any(axis=0)
        for j in np.flatnonzero(below & (both.sum(axis=0) >= MIN_ROWS) & strictly):
            if j != i:
                found.append((a, columns[j]))
    confirmed = []
    for a, b in found:
        low, high = as_numbers(frame[a]), as_numbers(frame[b])
        both = ~np.isnan(low) & ~np.isnan(high)
        if not (low[both] <= high[both] + _tolerance(high[both])).all():
            continue
        if chance and chance_breaks(low[both], high[both]) < CHANCE_BREAKS:
            continue
        confirmed.append((a, b, int(both.sum())))
    support = {(a, b): n for a, b, n in confirmed}
    return [Rule(RuleKind.ORDER.value, name, [a, b], support=support[(a, b)])
            for a, b in _reduce([(a, b) for a, b, _ in confirmed])]


def _tolerance(values: np.ndarray) -> np.ndarray:
    return 1e-9 * np.abs(np.where(np.isnan(values), 0, values))


def chance_breaks(low: np.ndarray, high: np.ndarray, most: int = 5000) -> float:
    """The share of (low, high) pairs drawn independently in which low > high."""
    rng = np.random.default_rng(0)
    low = rng.choice(low, most, replace=False) if len(low) > most else low
    high = np.sort(rng.choice(high, most, replace=False) if len(high) > most else high)
    return float(np.searchsorted(high, low, side="left").sum() / (len(low) * len(high))) if len(low) else 0.0


# --- after_parent ------------------------------------------------------------------------------------
def _after_parents(schema: DatabaseSchema, frames: dict[str, pd.DataFrame]) -> list[Rule]:
    one_hop: list[Rule] = []
    for name, table in schema.tables.items():
        for fk in table.foreign_keys:
            if fk.parent != name:
                one_hop += _after_parent(schema, frames, name, [fk])
    found = list(one_hop)
    implied = {(r.table, r.columns[0], r.parent, r.parent_column) for r in one_hop}
    for name, table in schema.tables.items():
        for fk in table.foreign_keys:
            if fk.parent == name:
                continue
            for up in schema.tables[fk.parent].foreign_keys:
                if up.parent in (fk.parent, name):
                    continue
                for rule in _after_parent(schema, frames, name, [fk, up]):
                    via = {(p, pc) for t, c, p, pc in implied if t == name and c == rule.columns[0] and p == fk.parent}
                    if any((fk.parent, pc, up.parent, rule.parent_column) in implied for _, pc in via):
                        continue
                    found.append(rule)
    return found


def _after_parent(schema: DatabaseSchema, frames: dict[str, pd.DataFrame], name: str, hops: list) -> list[Rule]:
    """Rules ``name.x >= top.y`` through the foreign keys ``hops``."""
    tables = [name] + [fk.parent for fk in hops]
    if any(t not in frames or not schema.tables[t].is_synthesized for t in tables) or len(frames[name]) < MIN_ROWS:
        return []
    rows = np.arange(len(frames[name]))
    current = name
    for fk in hops:  # each child row's row in the next table up (-1: none)
        parent = frames[fk.parent]
        lookup = pd.Series(np.arange(len(parent)), index=pd.MultiIndex.from_frame(parent[fk.parent_columns].astype(object))
                           if len(fk.parent_columns) > 1 else parent[fk.parent_columns[0]].astype(object))
        lookup = lookup[~lookup.index.duplicated()]
        child = frames[current]
        keys = (pd.MultiIndex.from_frame(child[fk.columns].astype(object)) if len(fk.columns) > 1
                else child[fk.columns[0]].astype(object))
        step = pd.Series(lookup.reindex(keys).to_numpy()).fillna(-1).to_numpy(dtype=int)
        rows = np.where(rows >= 0, step[np.maximum(rows, 0)], -1)
        current = fk.parent
    linked = rows >= 0
    if linked.sum() < MIN_ROWS:
        return []
    out = []
    child_table, top_table = schema.tables[name], schema.tables[current]
    for sdtype in (SdType.NUMERICAL, SdType.DATETIME):
        for x in _columns(child_table, frames[name], sdtype):
            mine = as_numbers(frames[name][x])[linked]
            for y in _columns(top_table, frames[current], sdtype):
                theirs = as_numbers(frames[current][y])[rows[linked]]
                both = ~np.isnan(mine) & ~np.isnan(theirs)
                if both.sum() < MIN_ROWS or not (theirs[both] <= mine[both] + _tolerance(mine[both])).all():
                    continue
                if not (theirs[both] < mine[both]).any():
                    continue
                if sdtype == SdType.NUMERICAL and chance_breaks(theirs[both], mine[both]) < CHANCE_BREAKS:
                    continue
                out.append(Rule(RuleKind.AFTER_PARENT.value, name, [x], support=int(both.sum()), parent=current,
                                parent_column=y, path=[",".join(fk.columns) for fk in hops]))
    return out


# --- null_together --------------------------------------------------------------------------------------
def _null_together(name: str, frame: pd.DataFrame, columns: list[str]) -> list[Rule]:
    groups: dict[bytes, list[str]] = {}
    for column in columns:
        missing = frame[column].isna().to_numpy()
        if MIN_ROWS // 4 <= missing.sum() <= len(frame) - MIN_ROWS // 4:
            groups.setdefault(np.packbits(missing).tobytes(), []).append(column)
    return [Rule(RuleKind.NULL_TOGETHER.value, name, group, support=len(frame)) for group in groups.values() if len(group) > 1]


# --- precision ---------------------------------------------------------------------------------------
def decimals_of(values: np.ndarray) -> int | None:
    """The fewest decimal places that write every value (None: more than :data:`MAX_DECIMALS`)."""
    for places in range(MAX_DECIMALS + 1):
        if np.allclose(values, np.round(values, places), rtol=0, atol=10.0 ** -(places + 6) * np.maximum(1, np.abs(values))):
            return places
    return None


def on_step(values: np.ndarray, step: float) -> np.ndarray:
    """Whether each value is a whole multiple of ``step``."""
    ratio = values / step
    return np.abs(ratio - np.round(ratio)) * step <= 1e-6 * np.maximum(1, np.abs(np.nan_to_num(values)))


def _precision(name: str, table: Table, frame: pd.DataFrame, columns: list[str]) -> list[Rule]:
    out = []
    for column in columns:
        values = as_numbers(frame[column])
        values = values[~np.isnan(values)]
        if len(values) < MIN_ROWS or len(np.unique(values)) < MIN_ROWS // 2:
            continue
        places = decimals_of(values)
        if places is None:
            continue
        nonzero = values[values != 0]  # 0 is on every step: heaping is judged on the other values
        steps, above = [], 0.0  # from the largest step down, each kept step holds HEAP_SHARE more values;
        for step in sorted(STEPS, reverse=True):  # one that (nearly) every value is on is the column's grain
            if step <= 10.0 ** -places or step >= np.median(np.abs(values)) * 2:
                continue
            share = on_step(nonzero, step).mean() if len(nonzero) else 0.0
            chance = min(1.0, 10.0 ** -places / step)
            grain = share >= GRAIN_SHARE and share > above
            if grain or (share - above >= HEAP_SHARE and share >= HEAP_LIFT * chance):
                steps.append(step)
                above = share
            if grain:
                break
        if not steps and places == types.fixed_scale(table.columns[column].type):
            continue  # the SQL type already writes the number so (an INTEGER, a NUMERIC(10,2) of cents)
        out.append(Rule(RuleKind.PRECISION.value, name, [column], support=len(values), decimals=places,
                        steps=[float(s) if s != int(s) else int(s) for s in sorted(steps)] or None))
    return out


# --- sum ---------------------------------------------------------------------------------------------
def _sums(name: str, frame: pd.DataFrame, search: pd.DataFrame, columns: list[str], probe: int = 24) -> list[Rule]:
    """Totals of two or three other columns, found by a linear hash of a few rows (in cents, so the hash of a
    sum is the sum of the hashes) and confirmed on every row."""
    usable = {}
    for column in columns:
        values = as_numbers(search[column])
        known = values[~np.isnan(values)]
        if len(known) >= MIN_ROWS and (known >= 0).all() and known.any():
            usable[column] = values
    if len(usable) < 3:
        return []
    names = list(usable)
    matrix = np.column_stack([usable[c] for c in names])
    known = [decimals_of(matrix[:, j][~np.isnan(matrix[:, j])]) for j in range(len(names))]
    places = max([d for d in known if d is not None], default=2)  # a total of cents may carry float dust
    score = (~np.isnan(matrix)).sum(axis=1) * 2 + (np.nan_to_num(matrix) != 0).sum(axis=1)
    rows = np.argsort(-score, kind="stable")[:probe]
    rows = rows[~np.isnan(matrix[rows]).any(axis=1)] if len(rows) else rows
    if len(rows) < 4:
        return []
    cents = np.round(matrix[rows] * 10**places).astype(np.int64)
    weights = np.random.default_rng(7).integers(1, 2**31, len(rows), dtype=np.int64)
    hashes = (cents * weights[:, None]).sum(axis=0)  # wraps around like any hash; linear in the columns
    where = {}
    for j, h in enumerate(hashes):
        where.setdefault(int(h), []).append(j)
    found, taken = [], set()
    for t in np.argsort(-np.nanmax(matrix, axis=0)):
        for size in (2, 3):
            parts = _parts(t, hashes, where, size, cents)
            if parts is not None and _holds_sum(frame, names[t], [names[p] for p in parts], places):
                key = frozenset([t, *parts])
                if key not in taken:
                    taken.add(key)
                    found.append(Rule(RuleKind.SUM.value, name, [names[t], *[names[p] for p in parts]],
                                      support=int(frame[[names[t], *[names[p] for p in parts]]].notna().all(axis=1).sum())))
                break
    return found


def _parts(t: int, hashes: np.ndarray, where: dict, size: int, cents: np.ndarray) -> list[int] | None:
    nonzero = [j for j in range(len(hashes)) if j != t and cents[:, j].any()]
    if size == 2:
        for i in nonzero:
            for j in where.get(int(hashes[t] - hashes[i]), []):
                if j > i and j != t and cents[:, j].any():
                    return [i, j]
        return None
    idx = np.asarray(nonzero)
    if len(idx) < 3:
        return None
    rest = hashes[t] - hashes[idx][:, None] - hashes[idx][None, :]  # what a third part would have to hash to
    for a, b in zip(*np.nonzero(np.isin(rest, hashes[idx]))):
        i, j = int(idx[a]), int(idx[b])
        if i < j:
            for m in where.get(int(rest[a, b]), []):
                if m > j and m != t and cents[:, m].any():
                    return [i, j, m]
    return None


def _holds_sum(frame: pd.DataFrame, total: str, parts: list[str], places: int) -> bool:
    values = np.column_stack([as_numbers(frame[c]) for c in [total, *parts]])
    values = values[~np.isnan(values).any(axis=1)]
    if len(values) < MIN_ROWS:
        return False
    gap = np.abs(values[:, 0] - values[:, 1:].sum(axis=1))
    return bool((gap <= 0.5 * 10.0 ** -places * len(parts) + 1e-9 * np.abs(values[:, 0])).all())
