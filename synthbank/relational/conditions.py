"""Conditions on a synthetic database: a chosen mix of a category (``rebalance``) or a fixed value (``where``).

A condition names one categorical or boolean column of one table and the share of that table's rows each
named value should have (``where`` is a share of 1). Values not named share the rest in the odds the model
learned. How the engine meets it depends on where the table sits in a window (see ``FastHMA``):

* **as a window's root** (a root table, or a mid-level table in the window of its own children): SDV's
  conditional sampling of the root's Gaussian copula draws the named values' rows, the other rows are drawn
  unconditioned and kept when they hold no named value. The rest of each row, its HMA extension columns
  included, follows the copula given the value, so the children of the extra rows follow too;
* **as a child** (HMA's per-parent child models): each parent's child copula gives every child row a
  probability of each value (:func:`category_probabilities`); the odds of the named values are raised by
  one factor per value for all parents alike (:func:`tilt`, a prior shift: parents whose children were
  likelier to hold the value in the real data get more of the extra rows, so the parents of the extra
  frauds look like the parents of real ones), rows are given values with exactly the asked counts
  (:func:`assign`), and the row's latent Gaussian is drawn given its value (:func:`truncated_normal` for
  the value's own coordinate, the others moved along the copula's correlations).

Only the conditioned tables' mixes change: the root tables keep the size ``scale`` gives them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError

#: Iterations of the odds tilt (it converges in a handful; the rest is margin).
TILT_ROUNDS = 200
#: Latent values are drawn this far (in encoded units) inside a category's interval, so that the reverse
#: transform's binning never puts them into the neighbouring one.
INSIDE = 1e-9
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class ConditionError(SynthbankError):
    """A rebalance or where condition is malformed or names something the model cannot condition on."""


@dataclass(frozen=True)
class Mix:
    """Target shares of some values of ``table.column`` (the values as the model holds them)."""

    table: str
    column: str
    shares: tuple[tuple[object, float], ...]
    fixed: bool = False  # a ``where`` condition: every row holds the one value

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def values(self) -> list:
        return [value for value, _ in self.shares]

    def counts(self, n: int) -> dict:
        """Rows of each named value among ``n`` rows (each share rounded; never more than ``n`` in all)."""
        if self.fixed:
            return {self.values[0]: int(n)}
        out, left = {}, int(n)
        for value, share in self.shares:
            out[value] = min(int(np.floor(share * n + 0.5)), left)
            left -= out[value]
        return out

    def block_counts(self, total: int, before: int, rows: int) -> dict:
        """A block's counts when ``before`` of ``total`` rows came in earlier blocks: the differences of the
        running counts, so that the blocks add up to the whole table's counts."""
        after, earlier = self.counts(before + rows), self.counts(before)
        return {value: after[value] - earlier[value] for value in after}


def parse_rebalance_option(text: str) -> tuple[str, dict[str, float]]:
    """``transactions.is_fraud=true:0.2`` (several values: ``loans.grade=A:0.3,B:0.3``) → name, shares."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise ConditionError(f"--rebalance '{text}' is not TABLE.COLUMN=VALUE:SHARE (e.g. transactions.is_fraud=true:0.2).")
    shares = {}
    for part in rest.split(","):
        value, sep, share = part.rpartition(":")
        if not sep or not value.strip():
            raise ConditionError(f"--rebalance '{text}': '{part}' is not VALUE:SHARE (e.g. true:0.2).")
        try:
            shares[value.strip()] = float(share)
        except ValueError:
            raise ConditionError(f"--rebalance '{text}': the share '{share}' is not a number.") from None
    return name.strip(), shares


def parse_where_option(text: str) -> tuple[str, str]:
    """``loans.grade=A`` → name, value."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ConditionError(f"--where '{text}' is not TABLE.COLUMN=VALUE (e.g. loans.grade=A).")
    return name.strip(), value.strip().strip('"').strip("'")


def requested(rebalance: Mapping | None, where: Mapping | None) -> list[tuple[str, str, dict, bool]]:
    """The conditions as ``(table, column, {value: share}, fixed)``, checked for form only."""
    out, seen = [], set()
    items = [(name, shares, False) for name, shares in (rebalance or {}).items()]
    items += [(name, {value: 1.0}, True) for name, value in (where or {}).items()]
    for name, shares, fixed in items:
        option = "--where" if fixed else "--rebalance"
        table, dot, column = str(name).partition(".")
        if not dot or not table or not column:
            raise ConditionError(f"{option} needs TABLE.COLUMN, got '{name}'.")
        if not isinstance(shares, Mapping) or not shares:
            raise ConditionError(f"--rebalance {name} needs at least one value and its share, e.g. {{True: 0.2}}.")
        if table in seen:
            raise ConditionError(f"Table '{table}' has more than one condition; synthbank conditions one column per table.")
        seen.add(table)
        for value, share in shares.items():
            if not fixed and (isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1):
                raise ConditionError(f"The share of {name}={value} must be a number between 0 and 1 (exclusive), got {share!r}.")
        if not fixed and sum(shares.values()) > 1 + 1e-9:
            raise ConditionError(f"The shares asked for {name} add up to {sum(shares.values()):g}, more than 1.")
        out.append((table, column, dict(shares), fixed))
    return out


def resolve_value(value, categories: list, name: str, source: str = "model"):
    """The model's own value for a value as given (``True`` or "true" for a boolean, "A" for a label);
    ``source`` names what ``categories`` come from in the error ("model" or "real data")."""
    for category in categories:
        if _is_missing(category):
            continue
        if type(category) is type(value) and category == value:
            return category
    text = str(value).strip().lower()
    for category in categories:
        if _is_missing(category):
            continue
        if isinstance(category, bool | np.bool_):
            if (text in _TRUE and bool(category)) or (text in _FALSE and not bool(category)):
                return category
        elif str(category).strip().lower() == text:
            return category
    flags = {str(c).strip().lower(): c for c in categories if not _is_missing(c)}
    if set(flags) <= {"0", "1"} and (text in _TRUE or text in _FALSE):  # a boolean as SQL stores it
        wanted = "1" if text in _TRUE else "0"
        if wanted in flags:
            return flags[wanted]
    shown = ", ".join(str(c) for c in categories if not _is_missing(c))[:200]
    learned = (" the model learned (values held by fewer than the rare threshold's customers are never learned)"
               if source == "model" else f" in the {source}")
    raise ConditionError(f"{name} has no value '{value}'{learned}; it has: {shown}.")


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def check_shares(name: str, shares: dict, categories: list, fixed: bool) -> None:
    """Named values must leave a value for the rest, unless they are every value."""
    if fixed:
        return
    others = [c for c in categories if not _is_missing(c) and c not in shares]
    total = sum(shares.values())
    if others and total >= 1 - 1e-9:
        raise ConditionError(f"The shares asked for {name} add up to {total:g}, leaving nothing for its other values; "
                             f"name them too or ask for less.")
    if not others and abs(total - 1) > 1e-9:
        raise ConditionError(f"The shares asked for {name} name every value, so they must add up to 1, not {total:g}.")


# --- the mathematics of a conditioned child table ---------------------------------------------------
def bounds(intervals: Mapping) -> tuple[list, np.ndarray, np.ndarray]:
    """A UniformEncoder's categories with their intervals; the ends open, as its reverse transform clips."""
    categories = list(intervals)
    low = np.array([float(intervals[c][0]) for c in categories])
    high = np.array([float(intervals[c][1]) for c in categories])
    low[0], high[-1] = -np.inf, np.inf
    return categories, low, high


def category_probabilities(loc: np.ndarray, scale: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row, the probability of each category under the row's ``norm(loc, scale)`` marginal (rows × K)."""
    from scipy.special import ndtr

    loc, scale = loc[:, None], scale[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(scale > 0, ndtr((high[None, :] - loc) / scale), (loc <= high[None, :]).astype(float))
        lower = np.where(scale > 0, ndtr((low[None, :] - loc) / scale), (loc <= low[None, :]).astype(float))
    return np.clip(upper - lower, 0.0, 1.0)


def tilt(probabilities: np.ndarray, targets: dict[int, int]) -> np.ndarray:
    """Each row's category probabilities with the odds of category ``k`` multiplied by one factor ``w_k`` for
    every row, the factors chosen so that the expected count of each targeted category is its target; the
    categories not targeted share one factor (their odds among themselves stay the model's)."""
    n, k = probabilities.shape
    weights = np.ones(k)
    named = np.array(sorted(targets), dtype=int)
    rest = np.setdiff1d(np.arange(k), named)
    rest_target = n - sum(targets.values())
    for _ in range(TILT_ROUNDS):
        tilted = probabilities * weights
        tilted /= np.maximum(tilted.sum(axis=1, keepdims=True), 1e-300)
        expected = tilted.sum(axis=0)
        for index in named:
            if expected[index] > 0:
                weights[index] *= targets[index] / expected[index]
        if len(rest):
            mass = expected[rest].sum()
            weights[rest] = 0.0 if rest_target <= 0 else weights[rest] * (rest_target / mass if mass > 0 else 1.0)
        weights /= weights.max() if weights.max() > 0 else 1.0
    tilted = probabilities * weights
    return tilted / np.maximum(tilted.sum(axis=1, keepdims=True), 1e-300)


def assign(probabilities: np.ndarray, targets: dict[int, int], rng: np.random.Generator) -> np.ndarray:
    """A category per row: exactly ``targets[k]`` rows for each targeted ``k`` (drawn without replacement with
    weights the rows' probabilities of ``k``, Efraimidis–Spirakis keys; rows whose model cannot give ``k``
    only when the others do not suffice, at random), the other rows drawn among the other categories by
    their probabilities."""
    n, k = probabilities.shape
    out = np.full(n, -1)
    free = np.ones(n, dtype=bool)
    for index in sorted(targets, key=lambda i: probabilities[:, i].sum()):  # the scarcest first
        weight = np.where(free, probabilities[:, index], 0.0)
        with np.errstate(divide="ignore"):
            keys = np.where(weight > 0, np.log(rng.random(n)) / weight, -np.inf)
        keys = np.where(free & (weight <= 0), -1e300 + rng.random(n), keys)  # the last resort, in random order
        wanted = min(targets[index], int(free.sum()))
        chosen = np.argsort(-keys, kind="stable")[:wanted]
        out[chosen], free[chosen] = index, False
    others = np.setdiff1d(np.arange(k), list(targets))
    rows = np.flatnonzero(free)
    if len(rows) and len(others):
        mass = probabilities[np.ix_(rows, others)]
        total = mass.sum(axis=1, keepdims=True)
        mass = np.where(total > 0, mass / np.where(total > 0, total, 1.0), 1.0 / len(others))
        picks = (rng.random(len(rows))[:, None] > np.cumsum(mass, axis=1)).sum(axis=1)
        out[rows] = others[np.minimum(picks, len(others) - 1)]
    return out


def truncated_normal(low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Standard-normal draws, each within its own ``[low, high]`` (ends may be infinite)."""
    from scipy.stats import truncnorm

    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    out = np.empty(len(low))
    if len(low):
        out[:] = truncnorm.rvs(low, high, random_state=rng)
    return out


def condition_latent(latent: np.ndarray, factors: np.ndarray, column: int, value: np.ndarray) -> np.ndarray:
    """Copula draws ``latent = A z`` moved to hold ``value`` in ``column``, the other coordinates following by
    the correlations ``A A^T`` (for a Gaussian vector, ``w + R[:, c] (t - w_c) / R_cc`` given ``w_c = t``)."""
    covariance = np.einsum("rij,rj->ri", factors, factors[:, column, :])
    variance = np.maximum(covariance[:, column], 1e-12)
    return latent + covariance * ((value - latent[:, column]) / variance)[:, None]


def achieved(frame: pd.DataFrame, mix: Mix) -> dict:
    """Rows of each named value in a finished table (values compared as the database holds them)."""
    if mix.column not in frame:
        return {value: 0 for value in mix.values}
    column = frame[mix.column]
    out = {}
    for value in mix.values:
        if isinstance(value, bool | np.bool_):
            text = column.astype(str).str.strip().str.lower()
            out[value] = int(text.isin(_TRUE if value else _FALSE).sum())
        else:
            out[value] = int((column.astype(str) == str(value)).sum())
    return out


@dataclass
class MixTally:
    """Requested and achieved shares of each condition, counted block by block as the tables are finished."""

    mixes: dict[str, Mix]
    real: dict[str, dict]  # table → value → real share (from the model's encoders)

    def __post_init__(self):
        self.rows = {table: 0 for table in self.mixes}
        self.hits = {table: {value: 0 for value in mix.values} for table, mix in self.mixes.items()}

    def add(self, tables: Mapping[str, pd.DataFrame]) -> None:
        for table, mix in self.mixes.items():
            if table in tables:
                self.rows[table] += len(tables[table])
                for value, count in achieved(tables[table], mix).items():
                    self.hits[table][value] += count

    def report(self) -> list[dict]:
        out = []
        for table, mix in self.mixes.items():
            for value, share in mix.shares:
                rows = self.rows[table]
                out.append({"column": mix.name, "value": _plain(value), "condition": "where" if mix.fixed else "rebalance",
                            "real_share": self.real.get(table, {}).get(value), "requested_share": share,
                            "achieved_share": self.hits[table][value] / rows if rows else math.nan,
                            "rows": rows, "value_rows": self.hits[table][value]})
        return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def check_column(schema, table: str, column: str, option: str = "--rebalance") -> None:
    """A condition may name a categorical or boolean column the model learns, of a synthesized table."""
    name = f"{table}.{column}"
    if table not in schema.tables:
        raise ConditionError(f"{option} {name}: the schema has no table '{table}'.")
    spec = schema.tables[table]
    if column not in spec.columns:
        raise ConditionError(f"{option} {name}: table '{table}' has no column '{column}'.")
    if not spec.is_synthesized:
        raise ConditionError(f"{option} {name}: table '{table}' is {spec.mode}, not synthesized, so it cannot be conditioned.")
    keys = {*spec.primary_key, *(c for fk in spec.foreign_keys for c in fk.columns), *(c for u in spec.unique for c in u)}
    if column in keys:
        raise ConditionError(f"{option} {name}: '{column}' is a key column; keys are generated, never learned, so they cannot be conditioned.")
    sdtype = spec.columns[column].sdtype
    if sdtype == "pii":
        raise ConditionError(f"{option} {name}: '{column}' is personal data; Faker fills it and no model learns it, so it cannot be conditioned.")
    if sdtype not in ("categorical", "boolean"):
        raise ConditionError(f"{option} {name}: '{column}' is {sdtype}; only categorical and boolean columns can be conditioned.")


def check_requested(schema, rebalance: Mapping | None, where: Mapping | None) -> list[tuple[str, str, dict, bool]]:
    """The conditions checked against a schema (before any long fit); values are checked against the model."""
    out = requested(rebalance, where)
    for table, column, _, fixed in out:
        check_column(schema, table, column, "--where" if fixed else "--rebalance")
    return out
