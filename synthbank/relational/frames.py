"""Column values between the database, the models and the target: one place that knows the dtypes.

``normalize`` turns values as drivers return them (``Decimal``, ``UUID``, tz-aware datetimes, 0/1
booleans from MySQL, ``date``/``time`` objects, ISO-8601 strings with ``Z`` or ``±hh:mm``) into pandas
dtypes models can learn; ``cast_to_schema`` turns model output back into the column's SQL type (integers
rounded, decimals to their scale, dates as dates).

Temporal values are learned as naive UTC instants (a time of day as that time on 1970-01-01). How they
looked in the source — strings or driver objects, ``T`` or space, ``Z`` or ``+02:00``, which share carried
an offset, fractional digits, whole minutes or days — is learned by :func:`learn_forms` from the raw
values, and :func:`cast_to_schema` writes the synthetic values back in that form. ``learn_forms`` also
records the number of decimals of numeric columns whose type declares no scale.

This module holds :func:`normalize` and re-exports the rest from the modules that hold it:
:mod:`~synthbank.relational.temporal_values` (parsing instants, coded dates),
:mod:`~synthbank.relational.source_forms` (:func:`learn_forms`) and
:mod:`~synthbank.relational.sql_casting` (:func:`cast_to_schema`, :func:`grid_days`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.relational.source_forms import FORM_SAMPLE, SENTINEL_ROWS, learn_forms
from synthbank.relational.sql_casting import cast_to_schema, grid_days
from synthbank.relational.temporal_values import EPOCH, from_coded_date, temporal_kind, to_coded_date, to_naive_utc
from synthbank.schemas import types
from synthbank.schemas.model import Column, Table

__all__ = [
    "EPOCH", "FORM_SAMPLE", "SENTINEL_ROWS", "cast_to_schema", "from_coded_date", "grid_days", "learn_forms", "normalize",
    "normalize_column", "temporal_kind", "to_coded_date", "to_naive_utc",
]


def normalize(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        column = table.columns.get(name)
        out[name] = frame[name] if column is None else normalize_column(frame[name], column)
    return pd.DataFrame(out, index=frame.index)


def normalize_column(values: pd.Series, column: Column) -> pd.Series:
    base = types.base_name(column.type)
    if column.sdtype in ("pii", "text", "unsupported"):
        return values
    if column.format and column.sdtype == "datetime":
        return from_coded_date(values, column.format)
    kind = temporal_kind(column)
    if kind is not None:
        return to_naive_utc(values, kind)
    if base == "boolean" or column.sdtype == "boolean":
        mapped = values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v))
        return mapped.astype("boolean") if mapped.notna().all() else mapped.astype(object)
    if base in types.NUMERIC_TYPES:
        numeric = pd.to_numeric(values, errors="coerce")
        if base in types.INTEGER_TYPES:
            return numeric.astype("Int64") if numeric.isna().any() else numeric.astype("int64")
        return numeric.astype(float)
    if base == "uuid":
        return values.map(lambda v: None if v is None else str(v))
    return values
