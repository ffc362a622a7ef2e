"""The bounds of a ruled column, row by row, and the free part a model learns in their place.

:class:`RealSpace` reads the real values (normalized frames) and :class:`SampledSpace` the sampled ones, in
model space (datetimes as days); :func:`row_bounds` follows a bound up its foreign keys to each row's value.
:func:`to_free` turns a column into its gap above a lower bound, its share of an upper one or its place
between both, and :func:`from_free` puts it back; :func:`fallback_bound` is the bound of rows without one, and
:func:`crossings` tells a bound the marginals keep anyway (:func:`modelled` leaves those out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.relational.columns import to_days
from synthbank.relational.rule_specs import Bound, ColumnRules
from synthbank.schemas.rule_discovery import chance_breaks
from synthbank.vocabulary import SdType


class RealSpace:
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


class SampledSpace:
    """Sampled values in model space: this table's (as restored so far) and the finished tables above."""

    def __init__(self, name: str, space: dict, spaces: dict):
        self.name, self.space, self.spaces = name, space, spaces

    def values(self, table: str, column: str) -> np.ndarray:
        source = self.space if table == self.name else self.spaces[table]
        return np.asarray(pd.to_numeric(pd.Series(source[column]), errors="coerce"), dtype=float)

    def rows(self, table: str) -> int:
        source = self.space if table == self.name else self.spaces[table]
        return len(next(iter(source.values()))) if len(source) else 0


def row_bounds(bounds: list[Bound], name: str, source, positions: dict, combine, n: int | None = None) -> np.ndarray | None:
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


def fill_bounds(bound: np.ndarray | None, fallback: float | None) -> np.ndarray | None:
    if bound is None:
        return None
    return np.where(np.isnan(bound), np.nan if fallback is None else fallback, bound)


def median_bound(values: np.ndarray | None) -> float | None:
    """The median to two significant digits: an aggregate, never one row's value (for rows without a bound)."""
    if values is None or not np.isfinite(values).any():
        return None
    return float(f"{np.nanmedian(values):.2g}")


def fallback_bound(median: float | None, x: np.ndarray, bounds: np.ndarray | None, *, below: bool) -> float | None:
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


def to_free(spec: ColumnRules, x, lower, upper) -> np.ndarray:
    if lower is not None and upper is not None:
        width = upper - lower
        return np.where(width > 0, (x - lower) / np.where(width > 0, width, 1), 0.0)
    if lower is not None:
        return x - lower
    if spec.share:
        return np.where(upper > 0, x / np.where(upper > 0, upper, 1), 0.0)
    return upper - x


def from_free(spec: ColumnRules, free, lower, upper) -> np.ndarray:
    if lower is not None and upper is not None:
        return lower + np.maximum(upper - lower, 0) * np.clip(free, 0, 1)
    if lower is not None:
        return lower + np.maximum(free, 0)
    if spec.share:
        return upper * np.clip(free, 0, 1)
    return upper - np.maximum(free, 0)


def clamp(x: np.ndarray, lower=None, upper=None) -> np.ndarray:
    """``x`` moved onto its bounds where it crosses one (a bound: a number, an array with NaN for none, or None)."""
    if upper is not None:
        x = np.where(np.isfinite(upper) & (x > upper), upper, x)
    if lower is not None:
        x = np.where(np.isfinite(lower) & (x < lower), lower, x)
    return x


def modelled(bounds: list[Bound]) -> list[Bound]:
    return [b for b in bounds if not b.clip]


def crossings(low: np.ndarray | None, high: np.ndarray | None) -> float:
    """The share of independent (low, high) pairs in which low > high (1 where there is nothing to compare)."""
    if low is None or high is None:
        return 1.0
    low, high = low[np.isfinite(low)], high[np.isfinite(high)]
    return chance_breaks(low, high) if len(low) and len(high) else 1.0
