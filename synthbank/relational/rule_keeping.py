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

The pieces live in :mod:`~synthbank.relational.rule_specs` (the compiled state),
:mod:`~synthbank.relational.rule_compiling` (which rules are kept, in what order),
:mod:`~synthbank.relational.rule_bounds` (bounds and the free part) and :mod:`~synthbank.relational.rule_groups`
(NULL-together groups, decided categories); this module holds :class:`RuleKeeper`, which uses them.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from synthbank.relational.columns import from_days, to_days
from synthbank.relational.decided import Decided
from synthbank.relational.rounding import learn_steps, on_grid, round_values
from synthbank.relational.rule_bounds import (
    RealSpace,
    SampledSpace,
    clamp,
    crossings,
    fallback_bound,
    fill_bounds,
    from_free,
    median_bound,
    modelled,
    row_bounds,
    to_free,
)
from synthbank.relational.rule_compiling import add_rule, settle_order, why_not
from synthbank.relational.rule_groups import by_dependency, null_together, redraw_upward
from synthbank.relational.rule_specs import Bound, ColumnRules, TableRules
from synthbank.schemas import types
from synthbank.schemas.rule_discovery import CHANCE_BREAKS
from synthbank.schemas.rules import Rule
from synthbank.vocabulary import SdType

__all__ = ["Bound", "ColumnRules", "RuleKeeper", "TableRules"]


class RuleKeeper:
    """The schema's rules compiled per table (:class:`TableRules`): learned at fit time, kept at sample time."""

    def __init__(self, tables: dict[str, TableRules] | None = None, notes: list[str] | None = None):
        self.tables = tables or {}
        self.notes = notes or []

    # --- fitting ---------------------------------------------------------------------------------------
    @classmethod
    def learn(cls, schema, rules: list[Rule], frames: dict[str, pd.DataFrame], positions, plans) -> RuleKeeper:
        """Compile the rules that can be kept (``frames``: normalized real tables, rare values protected)."""
        keeper, space = cls(), RealSpace(schema, frames)
        for rule in rules:
            reason = why_not(schema, rule, plans)
            if reason:
                keeper.notes.append(f"The rule '{rule}' is not kept: {reason}.")
                continue
            add_rule(keeper.tables, schema, rule, frames)
        for name, table_rules in keeper.tables.items():
            settle_order(name, table_rules, keeper.notes)
            for column, spec in table_rules.columns.items():
                sql = schema.tables[name].columns[column]
                if spec.decimals is None and sql.sdtype == SdType.NUMERICAL:  # rounded here as the SQL type will
                    spec.decimals = types.fixed_scale(sql.type)  # round it, so that sums and orders still hold after
                x = space.values(name, column)
                for bound in spec.lower:
                    bound.clip = crossings(row_bounds([bound], name, space, positions, np.maximum), x) < CHANCE_BREAKS
                for bound in spec.upper:
                    bound.clip = crossings(x, row_bounds([bound], name, space, positions, np.minimum)) < CHANCE_BREAKS
                low, high = modelled(spec.lower), modelled(spec.upper)
                if low or high:
                    lows = row_bounds(low, name, space, positions, np.maximum)
                    highs = row_bounds(high, name, space, positions, np.minimum)
                    spec.fallback_lower = fallback_bound(median_bound(lows), x, lows, below=True)
                    spec.fallback_upper = fallback_bound(median_bound(highs), x, highs, below=False)
                    spec.share = bool(high) and not low and schema.tables[name].columns[column].sdtype == SdType.NUMERICAL \
                        and bool(np.nanmin(x, initial=0) >= 0)
                if spec.steps:
                    learn_steps(spec, space.values(name, column))
        return keeper

    def to_model(self, name: str, data: dict, frames, positions, schema) -> None:
        """Replace, in ``data`` (a table's model columns, datetimes as days), each bounded column by its gap
        or share (see the module's doc)."""
        table = self.tables.get(name)
        if table is None:
            return
        space = RealSpace(schema, frames)
        for column in table.order:
            spec = table.columns[column]
            low, high = modelled(spec.lower), modelled(spec.upper)
            if not (low or high) or spec.parts:
                continue
            lower = fill_bounds(row_bounds(low, name, space, positions, np.maximum), spec.fallback_lower)
            upper = fill_bounds(row_bounds(high, name, space, positions, np.minimum), spec.fallback_upper)
            x = np.asarray(pd.to_numeric(pd.Series(data[column]), errors="coerce"), dtype=float)
            data[column] = pd.Series(to_free(spec, x, lower, upper))

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
            null_together(space, sorted(group, key=lambda c: c != fixed), rng)
        values = SampledSpace(name, space, spaces)
        for column in table.order:
            spec = table.columns[column]
            x = np.asarray(pd.to_numeric(pd.Series(space[column]), errors="coerce"), dtype=float)
            low, high = modelled(spec.lower), modelled(spec.upper)
            lower = row_bounds(spec.lower, name, values, positions, np.maximum, n)  # every bound; NaN: none
            upper = row_bounds(spec.upper, name, values, positions, np.minimum, n)
            if spec.parts:  # where a part is NULL the rule says nothing: the sampled total stays (and a NULL one)
                parts = np.column_stack([np.asarray(pd.to_numeric(pd.Series(space[p]), errors="coerce"), dtype=float)
                                         for p in spec.parts])
                sampled = np.isnan(parts).any(axis=1) | np.isnan(x)
                # a total the parts do not give keeps its bounds (principal <= total)
                kept = clamp(np.round(x, spec.decimals) if spec.decimals is not None else x, lower, upper)
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
                    x = from_free(spec, x, fill_bounds(row_bounds(low, name, values, positions, np.maximum, n), spec.fallback_lower),
                                  fill_bounds(row_bounds(high, name, values, positions, np.minimum, n), spec.fallback_upper))
                x = clamp(x, lower, upper)  # bounds the marginals keep anyway: the few values that cross are moved
            x = clamp(x, spec.floor)
            if spec.decimals is not None and not spec.parts:
                x = clamp(round_values(spec, x, lower, upper, rng), spec.floor)
            if column in grids and (spec.lower or spec.upper):
                x = on_grid(x, grids[column], np.ceil if spec.lower else np.floor)
            space[column] = x

    def decide(self, name: str, frame: pd.DataFrame, rng, fixed: str | None = None) -> pd.DataFrame:
        """Set each decided category from its determinant (in place; see :class:`~synthbank.relational.decided.Decided`).
        ``fixed``: a column a condition holds to its values; where it is the decided one, the determinant is
        redrawn instead."""
        table = self.tables.get(name)
        settled: dict[str, list] = {fixed: []} if fixed else {}  # decided column -> the rules that set it
        for rule in by_dependency(table.decided if table else []):
            if rule.column not in settled:
                rule.apply(frame, rng)
                settled[rule.column] = [rule]
                continue
            # a column already set (by a condition, or by an earlier determinant: sub_product and issue both
            # decide product) keeps its value, and this determinant is redrawn to agree with it; where no value
            # of it does, this one decides the row and the earlier determinants are redrawn instead
            stuck = rule.apply(frame, rng, keep=True)
            redraw_upward(table.decided, rule.determinant, frame, rng, {rule.column})
            if stuck.any() and rule.column != fixed:
                rule.apply(frame, rng, rows=stuck)
                for earlier in settled[rule.column]:
                    earlier.apply(frame, rng, keep=True, rows=stuck)
                    redraw_upward(table.decided, earlier.determinant, frame, rng, {rule.column})
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
        null_together(space, sorted(group, key=lambda c: c not in leaders), rng)
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
