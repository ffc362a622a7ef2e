"""The evaluation's own rule discovery: the rules every real row obeys, found on the real tables alone.

It reads nothing from the schema but tables, sdtypes and keys (never its ``rules``): see
:mod:`~synthbank.evaluation.rules` for the kinds and how rows are judged. A rule needs enough rows (20)
and must not be an accident: had its columns been independent, it would have been broken (each finder
says how it tells). Candidates are tested on a sample of rows first and confirmed on all of them, so
that a 10,000-row table of 55 numbers takes well under a second.
"""

from __future__ import annotations

import numpy as np

from synthbank.evaluation.rules import MIN_ROWS, RELATIVE, Rule, TableValues, below, off_grid, sum_breaks, sum_step, through
from synthbank.schemas.model import DatabaseSchema
from synthbank.vocabulary import RuleKind

MIN_VALUE_ROWS = 5  # rows a category value needs to take part in a "decides" rule; NULLs a null_together group needs
MAX_RULES = 2_000
MAX_DECIMALS = 6
SAMPLE_ROWS = 200  # rows a candidate is first tested on, before all rows confirm it
CHANCE_BREAKS = 0.01  # an order between independent numbers would break on this share of pairs at least
TOP_SHARE = 0.99  # the most frequent value of a decided column covers fewer rows than this
MAX_SUM_ROW_SETS, SUM_SET_ROWS, MAX_SUM_CANDIDATES = 250, 12, 20_000
ORDERED_KINDS = tuple(RuleKind)  # the order rules are listed (and capped) in


# --- helpers shared by the finders ------------------------------------------------------------------------
def decimals_of(values: np.ndarray) -> int | None:
    """The fewest decimals every set value has, or None beyond :data:`MAX_DECIMALS`."""
    values = values[~np.isnan(values)]
    return next((d for d in range(MAX_DECIMALS + 1) if not off_grid(values, d).any()), None)


def _usable(values: np.ndarray) -> bool:
    """Set in enough rows and not constant."""
    present = values[~np.isnan(values)]
    return len(present) >= MIN_ROWS and present.min() < present.max()


def _sample(rows: int, columns: np.ndarray, rng) -> np.ndarray:
    """Up to :data:`SAMPLE_ROWS` random rows, plus rows where each sparse column is set."""
    picked = [rng.choice(rows, min(rows, SAMPLE_ROWS), replace=False)]
    for j in range(columns.shape[1]):
        present = np.flatnonzero(~np.isnan(columns[:, j]))
        if np.isin(present, picked[0]).sum() < MIN_ROWS:
            picked.append(rng.choice(present, min(len(present), MIN_ROWS), replace=False))
    return np.unique(np.concatenate(picked))


def _le_candidates(low: np.ndarray, high: np.ndarray, dates: bool) -> np.ndarray:
    """[i, j]: low[:, i] <= high[:, j] in every row (of a sample) where both are set."""
    return np.array([~below(low[:, [i]], high, dates).any(axis=0) for i in range(low.shape[1])]).reshape(low.shape[1], high.shape[1])


def _ranked(values: np.ndarray) -> np.ndarray:
    return np.sort(values[~np.isnan(values)])


def _by_chance(low: np.ndarray, high: np.ndarray) -> bool:
    """Whether low <= high would hold on all but 1% of pairs of independent values (``low``, ``high``:
    sorted values of two number columns): then an order between them tells nothing."""
    if not len(low) or not len(high):
        return True
    low = low[np.linspace(0, len(low) - 1, min(len(low), 1_000)).astype(int)]  # quantiles are enough
    higher_values_below = np.searchsorted(high, low - RELATIVE * np.abs(low), side="left")
    return higher_values_below.mean() / len(high) < CHANCE_BREAKS


def _order_holds(low: np.ndarray, high: np.ndarray, dates: bool, strict: bool) -> bool:
    """low <= high in at least :data:`MIN_ROWS` rows where both are set and in every such row (and
    low < high in one, if ``strict``)."""
    both = ~np.isnan(low) & ~np.isnan(high)
    if both.sum() < MIN_ROWS or below(low[both], high[both], dates).any():
        return False
    return not strict or bool((low[both] < high[both]).any())


def _reduce(pairs: set[tuple]) -> set[tuple]:
    """Drop a <= c where a <= b and b <= c are both kept."""
    above: dict = {}
    for a, b in pairs:
        above.setdefault(a, set()).add(b)
    return {(a, c) for a, c in pairs if not any(c in above.get(b, ()) for b in above[a])}


# --- the finders --------------------------------------------------------------------------------------
def _pure_groups(a: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by ``a``: where each group of equal ``a`` starts, the largest code of each column per group
    (-1: all NULL), and whether each column holds one value (NULLs aside) in every group."""
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    high = np.maximum.reduceat(block, starts, axis=0)
    low = np.minimum.reduceat(np.where(block < 0, np.iinfo(block.dtype).max, block), starts, axis=0)
    return starts, high, ((high < 0) | (high == low)).all(axis=0)


def _decides(name: str, v: TableValues, rng) -> list[Rule]:
    """Category A decides category B: every A value held by >= 5 rows goes with one B value (rows with B
    set). A is not near-unique (distinct values <= 10% of rows) and B's top value covers < 99% of those
    rows: with groups of 5 rows or more, B's values then fall in pure groups by chance hardly ever."""
    columns = [c for c in v.codes if len(v.labels[c]) >= 2]
    if len(columns) < 2:
        return []
    codes = np.column_stack([v.codes[c] for c in columns]).astype(np.int32)
    rules = []
    for i, a_name in enumerate(columns):
        a = codes[:, i]
        counts = np.bincount(a[a >= 0], minlength=len(v.labels[a_name]))
        kept = counts >= MIN_VALUE_ROWS
        if (counts > 0).sum() > 0.1 * v.rows or kept.sum() < 2:
            continue
        rows = np.flatnonzero((a >= 0) & kept[np.maximum(a, 0)])
        rows = rows[np.argsort(a[rows], kind="stable")]
        probe = rows[np.sort(rng.choice(len(rows), min(len(rows), 4 * SAMPLE_ROWS), replace=False))]  # still sorted by A
        maybe = _pure_groups(a[probe], codes[probe])[2]
        maybe[i] = False
        candidates = np.flatnonzero(maybe)
        if not len(candidates):
            continue
        starts, high, pure = _pure_groups(a[rows], codes[rows][:, candidates])
        for k in np.flatnonzero(pure):
            j = candidates[k]
            if _decides_is_no_accident(codes[rows, j]):
                pairs = tuple((int(a[rows][s]), int(b)) for s, b in zip(starts, high[:, k]) if b >= 0)
                rules.append(Rule(RuleKind.DECIDES, name, (a_name, columns[j]), mapping=pairs))
    return rules


def _decides_is_no_accident(b: np.ndarray) -> bool:
    """Enough rows with B set, and B not nearly constant (then any A would seem to decide it)."""
    judged = b[b >= 0]
    return len(judged) >= MIN_ROWS and np.bincount(judged).max() < TOP_SHARE * len(judged)


def _orders(name: str, v: TableValues, rng) -> list[Rule]:
    """a <= b for two numbers (or two datetimes) of one row, with a < b in one row at least; numbers only
    where independent columns would break it (:func:`_by_chance`); reduced transitively."""
    rules = []
    for dates in (False, True):
        columns = [c for c, x in v.numbers.items() if (c in v.dates) == dates and _usable(x)]
        if len(columns) < 2:
            continue
        matrix = np.column_stack([v.numbers[c] for c in columns])
        sample = matrix[_sample(v.rows, matrix, rng)]
        candidates = _le_candidates(sample, sample, dates)
        np.fill_diagonal(candidates, False)
        ranked = [_ranked(matrix[:, i]) for i in range(len(columns))]
        pairs = {(columns[i], columns[j]) for i, j in zip(*np.nonzero(candidates))
                 if (dates or not _by_chance(ranked[i], ranked[j])) and _order_holds(matrix[:, i], matrix[:, j], dates, strict=True)}
        rules += [Rule(RuleKind.ORDER, name, pair, dates=dates) for pair in sorted(_reduce(pairs))]
    return rules


def _parent_pairs(child: TableValues, parent: TableValues, positions: np.ndarray, rng) -> set[tuple[str, str, bool]]:
    """(child column, parent column, dates) with child >= parent in every linked row where both are set
    (numbers only where independent columns would break it)."""
    linked = np.flatnonzero(positions >= 0)
    if len(linked) < MIN_ROWS:
        return set()
    found = set()
    for dates in (False, True):
        lower = [c for c in parent.numbers if (c in parent.dates) == dates]
        upper = [c for c, x in child.numbers.items() if (c in child.dates) == dates and _usable(x[linked])]
        if not lower or not upper:
            continue
        low = np.column_stack([parent.numbers[c] for c in lower])[positions[linked]]
        high = np.column_stack([child.numbers[c] for c in upper])[linked]
        sample = rng.choice(len(linked), min(len(linked), SAMPLE_ROWS), replace=False)
        for i, j in zip(*np.nonzero(_le_candidates(low[sample], high[sample], dates))):
            if not _usable(low[:, i]) or (not dates and _by_chance(_ranked(low[:, i]), _ranked(high[:, j]))):
                continue
            if _order_holds(low[:, i], high[:, j], dates, strict=False):
                found.add((upper[j], lower[i], dates))
    return found


def _after_parent(schema: DatabaseSchema, values: dict, links_: dict, rng) -> list[Rule]:
    """A child's number or datetime never below its parent's, one foreign key up; and two keys up where
    two one-hop rules do not imply it. Self-references are left out."""
    rules, one_hop = [], {}
    for hop in links_:
        child, parent = hop[0], schema.tables[hop[0]].foreign_keys[hop[1]].parent
        if values[child].rows < MIN_ROWS:
            continue
        one_hop[hop] = _parent_pairs(values[child], values[parent], links_[hop], rng)
        rules += [Rule(RuleKind.AFTER_PARENT, child, (c,), hops=(hop,), parent=parent, parent_column=p, dates=d)
                  for c, p, d in sorted(one_hop[hop])]
    for first in one_hop:
        middle = schema.tables[first[0]].foreign_keys[first[1]].parent
        for second in [h for h in links_ if h[0] == middle]:
            top = schema.tables[middle].foreign_keys[second[1]].parent
            if top == first[0]:
                continue
            implied = {(c, g) for c, q, _ in one_hop[first] for q2, g, _ in one_hop.get(second, ()) if q == q2}
            pairs = _parent_pairs(values[first[0]], values[top], through(links_, (first, second)), rng)
            rules += [Rule(RuleKind.AFTER_PARENT, first[0], (c,), hops=(first, second), parent=top, parent_column=p, dates=d)
                      for c, p, d in sorted(pairs) if (c, p) not in implied]
    return rules


def _null_together(name: str, v: TableValues) -> list[Rule]:
    """Columns NULL in exactly the same rows (at least 5 NULL, at least 5 set)."""
    groups: dict[bytes, list[str]] = {}
    for column, nulls in v.nulls.items():
        if MIN_VALUE_ROWS <= nulls.sum() <= v.rows - MIN_VALUE_ROWS:
            groups.setdefault(np.packbits(nulls).tobytes(), []).append(column)
    return [Rule(RuleKind.NULL_TOGETHER, name, tuple(g)) for g in groups.values() if len(g) >= 2]


def _precision(name: str, v: TableValues, decimals: dict) -> list[Rule]:
    """The decimals every real value of a number has (0: whole numbers), where at most 6."""
    return [Rule(RuleKind.PRECISION, name, (c,), decimals=d) for c, d in decimals.items()
            if d is not None and (~np.isnan(v.numbers[c])).sum() >= MIN_ROWS]


def _ranges(low: np.ndarray, high: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (wanted value, pair) with the pair's sum in the wanted value's range [low, high) of sorted sums."""
    counts = high - low
    which = np.repeat(np.arange(len(low)), counts)
    starts = np.repeat(low - np.cumsum(counts) + counts, counts)
    return which, order[starts + np.arange(counts.sum())]


def _sum_candidates(rows: np.ndarray, slack_step: float, rng) -> np.ndarray:
    """Sums that hold on a few rows (``rows``: rows × columns), as [total, part, part, part or -1] columns.

    The rows are folded into one number per column by random positive weights: a sum that holds row by
    row holds for the folded numbers, so candidates are found by sorting the sums of every two columns and
    looking up each total (total = a + b) and each total minus a column (total - a = b + c). Columns NULL
    or zero in all of these rows take no part; a set of rows with too many coincidences gives none."""
    usable = np.flatnonzero(~np.isnan(rows).any(axis=0) & (rows != 0).any(axis=0))
    if len(usable) < 3:
        return np.empty((0, 4), dtype=np.int64)
    weights = rng.uniform(0.5, 1.5, len(rows))
    folded = weights @ rows[:, usable]
    slack = weights.sum() * slack_step + 1e-7 * (weights @ np.abs(rows[:, usable])).max()
    first, second = np.triu_indices(len(usable), 1)
    order = np.argsort(folded[first] + folded[second])
    pair_sums = (folded[first] + folded[second])[order]
    found = []
    for wanted, three in ((folded, False), ((folded[:, None] - folded[None, :]).ravel(), True)):
        low = np.searchsorted(pair_sums, wanted - slack, side="left")
        high = np.searchsorted(pair_sums, wanted + slack, side="right")
        if (high - low).sum() > MAX_SUM_CANDIDATES:
            return np.empty((0, 4), dtype=np.int64)
        which, pair = _ranges(low, high, order)
        total, extra = np.divmod(which, len(usable)) if three else (which, np.full(len(which), -1))
        found.append(np.column_stack([total, first[pair], second[pair], extra]))
    found = np.concatenate(found)
    total, parts = found[:, :1], found[:, 1:]
    distinct = (parts != total).all(axis=1) & (found[:, 3] != found[:, 1]) & (found[:, 3] != found[:, 2])
    none = np.iinfo(np.int64).max  # a missing third part sorts last
    parts = np.sort(np.where(parts[distinct] >= 0, usable[np.maximum(parts[distinct], 0)], none), axis=1)
    return np.column_stack([usable[total[distinct, 0]], np.where(parts == none, -1, parts)])


def _sum_row_sets(matrix: np.ndarray, rng) -> list[np.ndarray]:
    """A few rows at a time to find candidates on: for each column (the most often NULL or zero first), rows
    where it is set and not zero (so that its sums can show), then random rows; among those, rows with
    few NULLs (a column NULL in any row of a set takes no part in it)."""
    nonzero = ~np.isnan(matrix) & (matrix != 0)
    nulls = np.isnan(matrix).sum(axis=1)
    seeds = list(np.argsort(nonzero.sum(axis=0), kind="stable")[:MAX_SUM_ROW_SETS]) + [None] * 4
    sets = []
    for seed in seeds:
        eligible = np.flatnonzero(nonzero[:, seed]) if seed is not None else np.arange(len(matrix))
        eligible = eligible[np.lexsort((rng.random(len(eligible)), nulls[eligible]))][:4 * SUM_SET_ROWS]
        if len(eligible):
            sets.append(rng.choice(eligible, min(len(eligible), SUM_SET_ROWS), replace=False))
    return sets


def _number(rows: np.ndarray, base: int) -> np.ndarray:
    """Each row of small whole numbers (< ``base``) as one number."""
    return ((rows[:, 0] * base + rows[:, 1]) * base + rows[:, 2]) * base + rows[:, 3]


def _digits(numbers: np.ndarray, base: int) -> np.ndarray:
    """The inverse of :func:`_number`."""
    return np.column_stack([numbers // base ** 3, numbers // base ** 2 % base, numbers // base % base, numbers % base])


def _screen_sums(candidates: np.ndarray, sample: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The candidates (rows of [total, part, part, part or -1]) that no row of ``sample`` breaks."""
    padded = np.column_stack([sample, np.zeros(len(sample))])  # part -1: the zero column
    kept = []
    for start in range(0, len(candidates), 4_096):
        chunk, step = candidates[start:start + 4_096], steps[start:start + 4_096]
        total, parts = padded[:, chunk[:, 0]], padded[:, chunk[:, 1:]]
        scale = np.fmax(np.abs(total), np.abs(parts).sum(axis=2))
        kept.append(chunk[~(np.abs(total - parts.sum(axis=2)) > step + RELATIVE * scale).any(axis=0)])
    return np.concatenate(kept) if kept else candidates


def _sums(name: str, v: TableValues, decimals: dict, rng) -> list[Rule]:
    """A number that is the sum of 2 or 3 others in every row where all are set (at least 20 rows), each
    part not zero in at least 5 of them; a 3-part sum that two 2-part sums imply is left out. Candidates
    come from a few rows at a time (:func:`_sum_candidates`), are screened on 200 rows, confirmed on all."""
    columns = [c for c, x in v.numbers.items() if c not in v.dates and _usable(x)]
    if len(columns) < 3:
        return []
    matrix = np.column_stack([v.numbers[c] for c in columns])
    fixed = np.array([-1 if decimals[c] is None else decimals[c] for c in columns] + [-1])
    slack_step = sum_step([int(fixed.max())])
    candidates = np.concatenate([_sum_candidates(matrix[rows], slack_step, rng) for rows in _sum_row_sets(matrix, rng)])
    base = len(columns) + 1  # each candidate as one number, to drop repeats fast
    candidates = _digits(np.unique(_number(candidates + [0, 0, 0, 1], base)), base) - [0, 0, 0, 1]
    sample = matrix[rng.choice(v.rows, min(v.rows, SAMPLE_ROWS), replace=False)]
    for rows in (sample[:SAMPLE_ROWS // 8], sample):  # a few rows drop most candidates, cheaply
        finest = fixed[candidates].max(axis=1)
        candidates = _screen_sums(candidates, rows, np.where(finest > 0, 10.0 ** -np.maximum(finest, 0).astype(float), 0.0))
    found = []
    for total, *parts in candidates.tolist():
        parts = tuple(p for p in parts if p >= 0)
        judged, broken = sum_breaks(matrix[:, total], matrix[:, list(parts)], sum_step([int(fixed[q]) for q in (total, *parts)]))
        nonzero = (matrix[judged][:, list(parts)] != 0).sum(axis=0)
        if judged.sum() >= MIN_ROWS and not broken.any() and nonzero.min() >= MIN_VALUE_ROWS:
            found.append((total, parts))
    pairs = {(t, frozenset(p)) for t, p in found if len(p) == 2}
    implied = {(t, p) for t, p in found if len(p) == 3 and any(
        (t, frozenset({x, b})) in pairs and (b, frozenset(set(p) - {x})) in pairs for x in p for b in range(len(columns)))}
    return [Rule(RuleKind.SUM, name, (columns[t], *(columns[q] for q in p)),
                 decimals=max((int(fixed[q]) for q in (t, *p) if fixed[q] >= 0), default=None))
            for t, p in found if (t, p) not in implied]


def find_rules(schema: DatabaseSchema, values: dict[str, TableValues], links_: dict, seed: int = 0) -> tuple[list[Rule], bool]:
    """Every rule the real tables obey (``values``: :func:`~synthbank.evaluation.rules.encode` of each table;
    ``links_``: :func:`~synthbank.evaluation.rules.links`), listed by kind and cut at :data:`MAX_RULES`;
    and whether it was cut."""
    rng = np.random.default_rng(seed)
    found: list[Rule] = []
    for name in schema.tables:
        v = values[name]
        if v.rows < MIN_ROWS:
            continue
        decimals = {c: decimals_of(x) for c, x in v.numbers.items() if c not in v.dates}
        found += _decides(name, v, rng) + _orders(name, v, rng) + _null_together(name, v) + _precision(name, v, decimals)
        found += _sums(name, v, decimals, rng)
    found += _after_parent(schema, values, links_, rng)
    found.sort(key=lambda r: ORDERED_KINDS.index(r.kind))
    return found[:MAX_RULES], len(found) > MAX_RULES
