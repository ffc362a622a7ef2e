"""The schema's rules (:mod:`synthbank.schemas.rules`), kept by every synthetic row by construction.

A model never sees a column a rule ties to others as it is, but as the part the rule leaves free, and
sampling puts the rule back (:class:`RuleKeeper`):

- a column with lower bounds (a later date of the row, a child's date after its parent's through a foreign
  key) is modelled as its *gap* above the highest bound, and sampled as that bound plus a gap of at least 0;
- a non-negative number with upper bounds (an outstanding balance below the loan's amount) as its *share*
  of the lowest one, in [0, 1]; a date with upper bounds as its gap below; both kinds of bounds: its place
  between them;
- a total (``sum``) is computed from its parts; NULL-together columns follow the first one's NULLs (a value
  another row of the block drew fills a cell that must be set); a decided category is set from its
  determinant (or, where a condition fixes the decided column, the determinant is redrawn among the values
  that decide it, by their real shares);
- numbers are written with their real decimal places, and on the round steps they heap on (incomes in
  thousands) in the real shares of each quarter of their range, never across a bound.

Of two numbers in order the larger is drawn first and the smaller as its share; of two dates the earlier
first and the later as a gap. A bound the marginals keep anyway — independent values would cross it in fewer
than 1% of pairs (a birth date before a 2023 update) — is not modelled: the column keeps its own values and
the few that cross are moved onto the bound (a gap would blur a marginal the copula holds well). Rows whose
bound is NULL (no parent) take the median bound instead, at fit and sample time alike. A column a rule
touches is rounded here as its SQL type will round it (an INTEGER count, a NUMERIC(10,2) amount), so that
a sum or an order still holds once written. A rule that cannot be kept this way (its foreign key is not
modelled, its columns not learned, or it closes a loop) is left out with a note. State: plain JSON,
aggregates only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from synthbank.relational.columns import from_days, to_days
from synthbank.relational.decided import Decided
from synthbank.relational.rounding import learn_steps, on_grid, round_values
from synthbank.schemas import types
from synthbank.schemas.rule_discovery import CHANCE_BREAKS, chance_breaks
from synthbank.schemas.rules import Rule
from synthbank.vocabulary import RuleKind, SdType


@dataclass
class Bound:
    """A bound of a column: another column of the row, or the ``column`` of the row ``hops`` foreign keys up."""

    column: str
    hops: list[int] = field(default_factory=list)  # foreign key indexes, from the table up
    via: list[str] = field(default_factory=list)  # the table each hop reaches (the last holds ``column``)
    #: a bound the marginals keep anyway (independent values would cross it in < 1% of pairs: a birth date
    #: before an update in 2023): the column keeps its own values and only the few that cross are moved to it
    clip: bool = False


@dataclass
class ColumnRules:
    lower: list[Bound] = field(default_factory=list)
    upper: list[Bound] = field(default_factory=list)
    share: bool = False  # modelled as a share of its upper bound (a non-negative number)
    fallback_lower: float | None = None  # the median bounds, for rows without one
    fallback_upper: float | None = None
    parts: list[str] = field(default_factory=list)  # a total: the sum of these
    floor: float | None = None  # a part of a sum: never below this (0)
    decimals: int | None = None
    steps: list[float] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)  # quarters of the values, for the step shares
    step_shares: list[list[float]] = field(default_factory=list)  # per quarter: [no step, *steps] shares


@dataclass
class TableRules:
    columns: dict[str, ColumnRules] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # the columns in the order they are computed
    nulls: list[list[str]] = field(default_factory=list)
    decided: list[Decided] = field(default_factory=list)


class RuleKeeper:
    def __init__(self, tables: dict[str, TableRules] | None = None, notes: list[str] | None = None):
        self.tables = tables or {}
        self.notes = notes or []

    # --- fitting ---------------------------------------------------------------------------------------
    @classmethod
    def learn(cls, schema, rules: list[Rule], frames: dict[str, pd.DataFrame], positions, plans) -> RuleKeeper:
        """Compile the rules that can be kept (``frames``: normalized real tables, rare values protected)."""
        keeper, space = cls(), _Space(schema, frames)
        for rule in rules:
            reason = keeper._why_not(schema, rule, plans)
            if reason:
                keeper.notes.append(f"The rule '{rule}' is not kept: {reason}.")
                continue
            keeper._add(schema, rule, frames)
        for name, table_rules in keeper.tables.items():
            keeper._settle_order(name, table_rules, schema)
            for column, spec in table_rules.columns.items():
                sql = schema.tables[name].columns[column]
                if spec.decimals is None and sql.sdtype == SdType.NUMERICAL:  # rounded here as the SQL type will
                    spec.decimals = types.fixed_scale(sql.type)  # round it, so that sums and orders still hold after
                x = space.values(name, column)
                for bound in spec.lower:
                    bound.clip = _crossings(_bounds([bound], name, space, positions, np.maximum), x) < CHANCE_BREAKS
                for bound in spec.upper:
                    bound.clip = _crossings(x, _bounds([bound], name, space, positions, np.minimum)) < CHANCE_BREAKS
                low, high = _modelled(spec.lower), _modelled(spec.upper)
                if low or high:
                    lows = _bounds(low, name, space, positions, np.maximum)
                    highs = _bounds(high, name, space, positions, np.minimum)
                    spec.fallback_lower = _fallback(_median(lows), x, lows, below=True)
                    spec.fallback_upper = _fallback(_median(highs), x, highs, below=False)
                    spec.share = bool(high) and not low and schema.tables[name].columns[column].sdtype == SdType.NUMERICAL \
                        and bool(np.nanmin(x, initial=0) >= 0)
                if spec.steps:
                    learn_steps(spec, space.values(name, column))
        return keeper

    def _why_not(self, schema, rule: Rule, plans) -> str | None:
        plan = plans.get(rule.table)
        if plan is None:
            return f"table '{rule.table}' is not synthesized"
        missing = [c for c in rule.columns if c not in plan.learned]
        if missing:
            return f"{', '.join(missing)} is not learned"
        if rule.kind == RuleKind.AFTER_PARENT:
            name = rule.table
            for fk in rule.hops(schema.tables):
                index = schema.tables[name].foreign_keys.index(fk)
                if plans.get(name) is None or index not in [plans[name].primary_fk, *plans[name].secondary_fks]:
                    return f"the foreign key {name}({', '.join(fk.columns)}) is not modelled"
                name = fk.parent
            if name not in plans or rule.parent_column not in plans[name].learned:
                return f"{rule.parent}.{rule.parent_column} is not learned"
        return None

    def _add(self, schema, rule: Rule, frames) -> None:
        table = self.tables.setdefault(rule.table, TableRules())
        spec = lambda c: table.columns.setdefault(c, ColumnRules())  # noqa: E731
        a = rule.columns[0]
        if rule.kind == RuleKind.DECIDES:
            table.decided.append(Decided.learn(frames[rule.table], a, rule.columns[1]))
        elif rule.kind == RuleKind.ORDER:
            b = rule.columns[1]
            if schema.tables[rule.table].columns[a].sdtype == SdType.DATETIME:
                spec(b).lower.append(Bound(a))  # the earlier date first, the later as a gap
                spec(a)
            else:
                spec(a).upper.append(Bound(b))  # the larger number first, the smaller as its share
                spec(b)
        elif rule.kind == RuleKind.AFTER_PARENT:
            name, hops, via = rule.table, [], []
            for fk in rule.hops(schema.tables):
                hops.append(schema.tables[name].foreign_keys.index(fk))
                name = fk.parent
                via.append(name)
            spec(a).lower.append(Bound(rule.parent_column, hops, via))
        elif rule.kind == RuleKind.NULL_TOGETHER:
            table.nulls.append(list(rule.columns))
        elif rule.kind == RuleKind.PRECISION:
            spec(a).decimals = rule.decimals
            spec(a).steps = sorted(rule.steps or [], reverse=True)
        elif rule.kind == RuleKind.SUM:
            spec(a).parts = list(rule.columns[1:])
            for part in rule.columns[1:]:
                spec(part).floor = 0.0

    def _settle_order(self, name: str, table: TableRules, schema) -> None:
        """The columns in an order where every bound and part comes first; order rules between a total and
        its parts are implied by the sum and dropped, and a rule that closes a loop is left out."""
        for column, spec in table.columns.items():
            if spec.parts:  # a total is computed; its parts are not bounded by it, it is bounded by them (where a
                for part in spec.parts:  # part is NULL the sampled total stays, and must not fall below the others)
                    bounded = table.columns[part].upper
                    if any(not b.hops and b.column == column for b in bounded):
                        table.columns[part].upper = [b for b in bounded if b.hops or b.column != column]
                        spec.lower.append(Bound(part))
        done: list[str] = []
        pending = list(table.columns)
        while pending:
            ready = [c for c in pending if all(d in done or d not in table.columns for d in _needs(table.columns[c]))]
            if not ready:  # a loop: drop the bounds of the first pending column that close it
                column = pending[0]
                self.notes.append(f"The rules on {name}.{column} form a loop with others; its order rules are not kept.")
                table.columns[column].lower = [b for b in table.columns[column].lower if b.hops]
                table.columns[column].upper = [b for b in table.columns[column].upper if b.hops]
                continue
            done.extend(ready)
            pending = [c for c in pending if c not in ready]
        table.order = done

    def to_model(self, name: str, data: dict, frames, positions, schema) -> None:
        """Replace, in ``data`` (a table's model columns, datetimes as days), each bounded column by its gap
        or share (see the module's doc)."""
        table = self.tables.get(name)
        if table is None:
            return
        space = _Space(schema, frames)
        for column in table.order:
            spec = table.columns[column]
            low, high = _modelled(spec.lower), _modelled(spec.upper)
            if not (low or high) or spec.parts:
                continue
            lower = _fill(_bounds(low, name, space, positions, np.maximum), spec.fallback_lower)
            upper = _fill(_bounds(high, name, space, positions, np.minimum), spec.fallback_upper)
            x = np.asarray(pd.to_numeric(pd.Series(data[column]), errors="coerce"), dtype=float)
            data[column] = pd.Series(_to_free(spec, x, lower, upper))

    # --- sampling --------------------------------------------------------------------------------------
    def restore(self, name: str, space: dict[str, np.ndarray], positions: dict, spaces: dict, rng,
                grids: dict[str, tuple[float, float]] | None = None, fixed: str | None = None) -> None:
        """Put the rules back into one table's sampled model-space columns (``space``: column → values,
        datetimes as days; ``spaces``: the finished tables above it; ``positions``: per table, per foreign
        key, the parent row of each row; ``grids``: per instant column, the step (and offset) in days it is
        written on — every instant is put on it here, a bounded one on the bound's side, so that writing
        it cannot cross a bound)."""
        grids = grids or {}
        for column, grid in grids.items():
            if column in space:
                space[column] = on_grid(np.asarray(space[column], dtype=float), grid, np.round)
        table = self.tables.get(name)
        if table is None:
            return
        n = len(next(iter(space.values()))) if space else 0
        for group in table.nulls:  # a column a condition holds leads its group
            _null_together(space, sorted(group, key=lambda c: c != fixed), rng)
        values = _Sampled(name, space, spaces)
        for column in table.order:
            spec = table.columns[column]
            x = np.asarray(pd.to_numeric(pd.Series(space[column]), errors="coerce"), dtype=float)
            low, high = _modelled(spec.lower), _modelled(spec.upper)
            lower = _bounds(spec.lower, name, values, positions, np.maximum, n)  # every bound; NaN: none
            upper = _bounds(spec.upper, name, values, positions, np.minimum, n)
            if spec.parts:  # where a part is NULL the rule says nothing: the sampled total stays (and a NULL one)
                parts = np.column_stack([np.asarray(pd.to_numeric(pd.Series(space[p]), errors="coerce"), dtype=float)
                                         for p in spec.parts])
                sampled = np.isnan(parts).any(axis=1) | np.isnan(x)
                # a total the parts do not give keeps its bounds (principal <= total)
                kept = _clamp(np.round(x, spec.decimals) if spec.decimals is not None else x, lower, upper)
                over = ~sampled & (np.isfinite(upper) & (parts.sum(axis=1) > upper) if upper is not None else False)
                if np.any(over):  # a total above its bound (total <= amount): its parts shrink in proportion
                    factor = upper[over] / parts[over].sum(axis=1)
                    for j, part in enumerate(spec.parts):
                        places = table.columns[part].decimals
                        shrunk = parts[over, j] * factor * (1 - 1e-12)
                        parts[over, j] = shrunk if places is None else np.floor(np.round(shrunk * 10.0**places, 6)) / 10.0**places
                        space[part] = np.where(over, parts[:, j], np.asarray(pd.to_numeric(pd.Series(space[part]), errors="coerce"), dtype=float))
                x = np.where(sampled, kept, parts.sum(axis=1))
            else:
                if low or high:
                    x = _from_free(spec, x, _fill(_bounds(low, name, values, positions, np.maximum, n), spec.fallback_lower),
                                   _fill(_bounds(high, name, values, positions, np.minimum, n), spec.fallback_upper))
                x = _clamp(x, lower, upper)  # bounds the marginals keep anyway: the few values that cross are moved
            x = _clamp(x, spec.floor)
            if spec.decimals is not None and not spec.parts:
                x = _clamp(round_values(spec, x, lower, upper, rng), spec.floor)
            if column in grids and (spec.lower or spec.upper):
                x = on_grid(x, grids[column], np.ceil if spec.lower else np.floor)
            space[column] = x

    def decide(self, name: str, frame: pd.DataFrame, rng, fixed: str | None = None) -> pd.DataFrame:
        """Set each decided category from its determinant (in place; see :class:`~synthbank.relational.decided.Decided`).
        ``fixed``: a column a condition holds to its values; where it is the decided one, the determinant is
        redrawn instead."""
        table = self.tables.get(name)
        settled: dict[str, list] = {fixed: []} if fixed else {}  # decided column -> the rules that set it
        for rule in _by_dependency(table.decided if table else []):
            if rule.column not in settled:
                rule.apply(frame, rng)
                settled[rule.column] = [rule]
                continue
            # a column already set (by a condition, or by an earlier determinant: sub_product and issue both
            # decide product) keeps its value, and this determinant is redrawn to agree with it; where no value
            # of it does, this one decides the row and the earlier determinants are redrawn instead
            stuck = rule.apply(frame, rng, keep=True)
            _upward(table.decided, rule.determinant, frame, rng, {rule.column})
            if stuck.any() and rule.column != fixed:
                rule.apply(frame, rng, rows=stuck)
                for earlier in settled[rule.column]:
                    earlier.apply(frame, rng, keep=True, rows=stuck)
                    _upward(table.decided, earlier.determinant, frame, rng, {rule.column})
            settled[rule.column].append(rule)
        for group in table.nulls if table else []:  # a decided (or held) column leads its NULL group
            leaders = [c for c in group if c in settled and c in frame]
            if leaders and all(c in frame for c in group):
                self._follow_nulls(name, frame, group, leaders, rng)
        return frame

    def _follow_nulls(self, name: str, frame: pd.DataFrame, group: list[str], leaders: list[str], rng) -> None:
        """The group NULL where its decided column is; a cell that must be set takes another row's value,
        moved onto the row's own bounds (a closing date never before the opening)."""
        before = {c: frame[c].isna().to_numpy() for c in group}
        space = {c: frame[c].to_numpy() for c in group}
        _null_together(space, sorted(group, key=lambda c: c not in leaders), rng)
        for c in group:
            frame[c] = pd.Series(space[c], index=frame.index).astype(frame[c].dtype, errors="ignore")
            filled = before[c] & frame[c].notna().to_numpy()
            spec = self.tables[name].columns.get(c)
            if not filled.any() or spec is None:
                continue
            instants = pd.api.types.is_datetime64_any_dtype(frame[c])
            values = (to_days(frame[c]) if instants else pd.to_numeric(frame[c], errors="coerce")).to_numpy(dtype=float)
            for bound in (b for b in spec.lower + spec.upper if not b.hops and b.column in frame):
                other = frame[bound.column]
                limit = (to_days(other) if instants else pd.to_numeric(other, errors="coerce")).to_numpy(dtype=float)
                cross = filled & np.isfinite(limit) & ((values < limit) if bound in spec.lower else (values > limit))
                values[cross] = limit[cross]
            frame[c] = from_days(pd.Series(values, index=frame.index)) if instants else pd.Series(values, index=frame.index)

    # --- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"tables": {n: asdict(t) for n, t in self.tables.items()}, "notes": self.notes}

    @classmethod
    def from_dict(cls, data: dict | None) -> RuleKeeper:
        if not data:
            return cls()
        tables = {}
        for name, t in data["tables"].items():
            columns = {c: ColumnRules(**{**s, "lower": [Bound(**b) for b in s["lower"]],
                                         "upper": [Bound(**b) for b in s["upper"]]}) for c, s in t["columns"].items()}
            tables[name] = TableRules(columns, t["order"], t["nulls"], [Decided(**d) for d in t["decided"]])
        return cls(tables, data.get("notes", []))


# --- helpers ---------------------------------------------------------------------------------------------
class _Space:
    """Real values in model space (datetimes as days), read from the normalized frames."""

    def __init__(self, schema, frames):
        self.schema, self.frames, self.cache = schema, frames, {}

    def values(self, table: str, column: str) -> np.ndarray:
        if (table, column) not in self.cache:
            raw = self.frames[table][column]
            days = to_days(raw) if self.schema.tables[table].columns[column].sdtype == SdType.DATETIME else raw
            self.cache[(table, column)] = pd.to_numeric(pd.Series(days), errors="coerce").to_numpy(dtype=float)
        return self.cache[(table, column)]

    def rows(self, table: str) -> int:
        return len(self.frames[table])


class _Sampled:
    """Sampled values in model space: this table's (as restored so far) and the finished tables above."""

    def __init__(self, name: str, space: dict, spaces: dict):
        self.name, self.space, self.spaces = name, space, spaces

    def values(self, table: str, column: str) -> np.ndarray:
        source = self.space if table == self.name else self.spaces[table]
        return np.asarray(pd.to_numeric(pd.Series(source[column]), errors="coerce"), dtype=float)

    def rows(self, table: str) -> int:
        source = self.space if table == self.name else self.spaces[table]
        return len(next(iter(source.values()))) if len(source) else 0


def _bounds(bounds: list[Bound], name: str, source, positions: dict, combine, n: int | None = None) -> np.ndarray | None:
    """The highest (``np.maximum``) or lowest (``np.minimum``) bound of each row; NaN where none is set."""
    n = source.rows(name) if n is None else n
    out = None
    for bound in bounds:
        if not bound.hops:
            values = source.values(name, bound.column)
        else:
            rows, table = np.arange(n), name
            for index, parent in zip(bound.hops, bound.via):
                pos = np.asarray(positions[table][index])
                rows = np.where(rows >= 0, pos[np.maximum(rows, 0)] if len(pos) else -1, -1)
                table = parent
            top = source.values(table, bound.column)
            values = np.where(rows >= 0, top[np.maximum(rows, 0)] if len(top) else np.nan, np.nan)
        out = values if out is None else np.where(np.isnan(out), values, np.where(np.isnan(values), out, combine(out, values)))
    return out


def _fill(bound: np.ndarray | None, fallback: float | None) -> np.ndarray | None:
    if bound is None:
        return None
    return np.where(np.isnan(bound), np.nan if fallback is None else fallback, bound)


def _median(values: np.ndarray | None) -> float | None:
    """The median to two significant digits: an aggregate, never one row's value (for rows without a bound)."""
    if values is None or not np.isfinite(values).any():
        return None
    return float(f"{np.nanmedian(values):.2g}")


def _fallback(median: float | None, x: np.ndarray, bounds: np.ndarray | None, *, below: bool) -> float | None:
    """The bound of rows that have none: the median bound, moved outside the range of those rows' own values
    (their 1st to 99th percentile, widened by half of it, to two significant digits) so that their values are
    not squeezed under or over the others' median (incomes without a joint income piled up at the median
    joint income)."""
    if median is None or bounds is None:
        return median
    free = np.asarray(x, dtype=float)[~np.isfinite(bounds)]
    free = free[np.isfinite(free)]
    if not len(free):
        return median
    low, high = np.quantile(free, [0.01, 0.99])
    edge = low - 0.5 * (high - low) if below else high + 0.5 * (high - low)
    edge = float(f"{edge:.2g}")
    return min(median, edge) if below else max(median, edge)


def _to_free(spec: ColumnRules, x, lower, upper) -> np.ndarray:
    if lower is not None and upper is not None:
        width = upper - lower
        return np.where(width > 0, (x - lower) / np.where(width > 0, width, 1), 0.0)
    if lower is not None:
        return x - lower
    if spec.share:
        return np.where(upper > 0, x / np.where(upper > 0, upper, 1), 0.0)
    return upper - x


def _from_free(spec: ColumnRules, free, lower, upper) -> np.ndarray:
    if lower is not None and upper is not None:
        return lower + np.maximum(upper - lower, 0) * np.clip(free, 0, 1)
    if lower is not None:
        return lower + np.maximum(free, 0)
    if spec.share:
        return upper * np.clip(free, 0, 1)
    return upper - np.maximum(free, 0)


def _upward(rules: list, column: str, frame: pd.DataFrame, rng, seen: set) -> None:
    """After ``column`` (a determinant) was redrawn: the rules that decide it redraw their determinants to
    agree, and so on up (a decides b decides c, c held by a condition)."""
    if column in seen:
        return
    seen.add(column)
    for rule in rules:
        if rule.column == column:
            rule.apply(frame, rng, keep=True)
            _upward(rules, rule.determinant, frame, rng, seen)


def _by_dependency(rules: list) -> list:
    """Decides rules with a determinant's own deciders first (a decides b before b decides c)."""
    out, pending = [], list(rules)
    while pending:
        ready = [r for r in pending if not any(o.column == r.determinant for o in pending if o is not r)]
        ready = ready or pending[:1]  # a loop (b and c decide each other): in the given order
        out += ready
        pending = [r for r in pending if all(r is not x for x in ready)]
    return out


def _clamp(x: np.ndarray, lower=None, upper=None) -> np.ndarray:
    """``x`` moved onto its bounds where it crosses one (a bound: a number, an array with NaN for none, or None)."""
    if upper is not None:
        x = np.where(np.isfinite(upper) & (x > upper), upper, x)
    if lower is not None:
        x = np.where(np.isfinite(lower) & (x < lower), lower, x)
    return x


def _modelled(bounds: list[Bound]) -> list[Bound]:
    return [b for b in bounds if not b.clip]


def _crossings(low: np.ndarray | None, high: np.ndarray | None) -> float:
    """The share of independent (low, high) pairs in which low > high (1 where there is nothing to compare)."""
    if low is None or high is None:
        return 1.0
    low, high = low[np.isfinite(low)], high[np.isfinite(high)]
    return chance_breaks(low, high) if len(low) and len(high) else 1.0


def _needs(spec: ColumnRules) -> list[str]:
    return [b.column for b in spec.lower + spec.upper if not b.hops] + list(spec.parts)


def _null_together(space: dict, group: list[str], rng) -> None:
    """Every column of ``group`` NULL where the first is; a set cell a NULL one must become takes a value
    another row of the block drew for that column (else the row's group is NULL)."""
    present = [c for c in group if c in space]
    if len(present) < 2:
        return
    lead = pd.isna(pd.Series(space[present[0]])).to_numpy()
    for column in present[1:]:
        values = pd.Series(space[column]).astype(object)
        missing = values.isna().to_numpy()
        donors = np.flatnonzero(~missing & ~lead)
        fill = ~lead & missing
        out = values.to_numpy(dtype=object).copy()
        out[lead] = None
        if fill.any():
            if len(donors):
                out[fill] = out[rng.choice(donors, int(fill.sum()))]
            else:
                lead = lead | fill
        space[column] = pd.Series(out).infer_objects().to_numpy()
    for column in present:  # rows made NULL by a column without donors
        out = pd.Series(space[column]).astype(object).to_numpy()
        out[lead] = None
        space[column] = pd.Series(out).infer_objects().to_numpy()


