"""Key values compared across tables and drivers, one way everywhere.

A foreign key matches its parent's key when their values agree as text, part by part: ``1``, ``1.0`` and
``'1'`` (an integer key read back as a float because the column has NULLs, or as a string by another
driver) are one key. Composite keys are tuples; a key with any NULL part is no key. The relational
engine (foreign keys to row positions) and the evaluation (orphans, splits, joins) both use these.
"""

from __future__ import annotations

import pandas as pd


def key_part(value) -> str:
    """One part of a key as text: whole floats without their '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_null(value) -> bool:
    """Whether one value is NULL: None, NaN, ``pd.NA`` or ``NaT`` (a string never is)."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def label_key(value) -> str:
    """A category value as text, one spelling per value (see :func:`key_part`), every NULL alike: a nullable
    integer category read back as floats still matches its integers."""
    if is_null(value):
        return "\x00null"
    return key_part(value)


def row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One hashable key per row (tuples for composite keys), as given; NaN where any part is NULL."""
    if len(columns) == 1:
        return frame[columns[0]]
    parts = frame[columns]
    keys = pd.Series(list(map(tuple, parts.astype(object).to_numpy())), index=frame.index)
    return keys.where(parts.notna().all(axis=1))


def normalized_keys(values: pd.Series) -> pd.Series:
    """The non-NULL keys of :func:`row_keys` as text (see :func:`key_part`), index kept, object dtype."""
    def one(v):
        return tuple(key_part(x) for x in v) if isinstance(v, tuple) else key_part(v)
    return values.dropna().map(one).astype(object)  # object even when empty or all NULL: keys are merged


def key_tuples(frame: pd.DataFrame, columns: list[str]) -> list[tuple | None]:
    """Per row, its key as a tuple of texts (:func:`key_part`), or None where any part is NULL."""
    present = frame[columns].notna().all(axis=1).to_numpy()
    values = frame[columns].astype(object).to_numpy()
    return [tuple(key_part(v) for v in row) if ok else None for row, ok in zip(values, present)]
