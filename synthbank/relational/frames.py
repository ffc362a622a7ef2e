"""Column values between the database, the models and the target: one place that knows the dtypes.

``normalize`` turns values as drivers return them (``Decimal``, ``UUID``, tz-aware datetimes, 0/1
booleans from MySQL, ``date`` objects) into pandas dtypes models can learn; ``cast_to_schema`` turns model
output back into the column's SQL type (integers rounded, decimals to their scale, dates as dates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.schemas import types
from synthbank.schemas.model import Column, Table


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
    if base in ("date", "datetime") or column.sdtype == "datetime":
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        return parsed.dt.tz_localize(None)
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


def cast_to_schema(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Model output → values of each column's SQL type, in the table's column order."""
    out = {}
    for name, column in table.columns.items():
        if name not in frame.columns:
            continue
        out[name] = _cast_column(frame[name], column)
    return pd.DataFrame(out, index=frame.index)


def _cast_column(values: pd.Series, column: Column) -> pd.Series:
    base = types.base_name(column.type)
    if values.isna().all() and values.dtype == object:
        return values
    if base in types.INTEGER_TYPES:
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if base == "numeric":
        numeric = pd.to_numeric(values, errors="coerce")
        args = column.type[column.type.find("(") + 1:-1] if "(" in column.type else ""
        scale = int(args.split(",")[1]) if "," in args else None
        return numeric.round(scale) if scale is not None else numeric
    if base == "float":
        return pd.to_numeric(values, errors="coerce")
    if base == "boolean":
        return values.map(lambda v: None if pd.isna(v) else bool(v)).astype(object)
    if base == "date":
        return pd.to_datetime(values, errors="coerce").dt.date.astype(object).where(values.notna(), None)
    if base == "datetime":
        stamps = pd.to_datetime(values, errors="coerce")
        if "tz" in column.type and stamps.dt.tz is None:
            stamps = stamps.dt.tz_localize("UTC")
        return stamps
    return values
