"""Names and encodings of the columns synthbank adds for its models.

Every learned table gets a surrogate integer key ``_sb_key`` (its row position) and each modelled foreign
key a surrogate ``_sb_fk<i>`` pointing at the parent's position, so composite and string keys, UUIDs and
keys to non-primary unique columns all look the same to the models; ``_sb_has<i>`` says whether a
nullable secondary foreign key is set. Datetimes reach the models as days since :data:`EPOCH`.

A number that one value holds in many rows (late fees: 0 in 99% of loans; mortgage accounts: 0 in 45%)
is a point mass no continuous marginal can draw: the copula would spread it over the whole range. Such a
column reaches the models as ``_sb_at_<column>`` (the row holds the value) beside the column itself, whose
rows at the value are filled with draws from its other values; sampling puts the value back where the
indicator says so (:func:`point_mass`, :func:`split_mass`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = "_sb_key"
#: Datetimes reach SDV as days since this instant (floats): SDV would turn them into numbers anyway, and
#: its per-value datetime validation and format guessing cost more than the rest of a window's fit.
EPOCH = pd.Timestamp("1970-01-01")


def fk_column(index: int) -> str:
    return f"_sb_fk{index}"


def has_column(index: int) -> str:
    return f"_sb_has{index}"


def is_has_column(name: str) -> bool:
    return name.startswith("_sb_has")


def to_days(values: pd.Series) -> pd.Series:
    return (pd.to_datetime(values) - EPOCH) / pd.Timedelta(days=1)


def from_days(values: pd.Series) -> pd.Series:
    days = pd.to_numeric(values, errors="coerce")
    return (EPOCH + pd.to_timedelta(days, unit="D")).dt.round("s")


#: A value held by at least this share of a numeric column's rows is modelled as a point mass.
POINT_MASS_SHARE = 0.2
#: ... provided at least this many rows hold other values (else the column is a constant with a few exceptions).
POINT_MASS_REST_ROWS = 10


def mass_column(column: str) -> str:
    return f"_sb_at_{column}"


def point_mass(values: pd.Series) -> float | None:
    """The value a numeric column holds in many rows (see the module's doc), or None."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    known = numbers.dropna()
    if known.empty:
        return None
    counts = known.value_counts()
    share, rest = counts.iloc[0] / len(numbers), len(known) - counts.iloc[0]
    return float(counts.index[0]) if share >= POINT_MASS_SHARE and rest >= POINT_MASS_REST_ROWS else None


def split_mass(values: pd.Series, mass: float, rng: np.random.Generator) -> tuple[pd.Series, pd.Series]:
    """The column with its rows at ``mass`` filled from its other values, and the indicator of those rows."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    at = (numbers == mass).to_numpy()
    others = numbers[~at & numbers.notna().to_numpy()].to_numpy()
    filled = numbers.to_numpy().copy()
    filled[at] = rng.choice(others, size=int(at.sum()))
    return pd.Series(filled, index=values.index), pd.Series(at, index=values.index)


def join_mass(values: pd.Series, at: pd.Series, mass: float) -> pd.Series:
    """Sampled values with ``mass`` back where the sampled indicator says so."""
    held = at.astype(object).where(at.notna(), False).astype(bool).to_numpy()
    out = pd.to_numeric(values, errors="coerce").astype(float).to_numpy().copy()
    out[held] = mass
    return pd.Series(out, index=values.index)
