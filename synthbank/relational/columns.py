"""Names and encodings of the columns synthbank adds for its models.

Every learned table gets a surrogate integer key ``_sb_key`` (its row position) and each modelled foreign
key a surrogate ``_sb_fk<i>`` pointing at the parent's position, so composite and string keys, UUIDs and
keys to non-primary unique columns all look the same to the models; ``_sb_has<i>`` says whether a
nullable secondary foreign key is set. Datetimes reach the models as days since :data:`EPOCH`.
"""

from __future__ import annotations

import pandas as pd

KEY = "_sb_key"
#: Datetimes reach SDV as days since this instant (floats): SDV would turn them into numbers anyway, and
#: its per-value datetime validation and format guessing cost more than the rest of a window's fit.
EPOCH = pd.Timestamp("1970-01-01")


def fk_column(index: int) -> str:
    return f"_sb_fk{index}"


def has_column(index: int) -> str:
    return f"_sb_has{index}"


def to_days(values: pd.Series) -> pd.Series:
    return (pd.to_datetime(values) - EPOCH) / pd.Timedelta(days=1)


def from_days(values: pd.Series) -> pd.Series:
    days = pd.to_numeric(values, errors="coerce")
    return (EPOCH + pd.to_timedelta(days, unit="D")).dt.round("s")
