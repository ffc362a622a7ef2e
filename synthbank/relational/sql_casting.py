"""Model output back to each column's SQL type (:func:`cast_to_schema`), written in the source's form.

Integers are rounded, decimals to their declared scale (or the number of decimals the source used), dates
coded as digits written as digits, and temporal values as the source wrote them (a form from
:func:`~synthbank.relational.source_forms.learn_forms`): strings or driver objects, on its resolution, with
its offsets and its "no date" placeholder. :func:`grid_days` gives the step an instant column is written on,
so that sampling can put instants on it first.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import pandas as pd

from synthbank.relational.temporal_values import DAY_SECONDS, EPOCH, RESOLUTIONS, temporal_kind, to_coded_date, to_naive_utc
from synthbank.schemas import types
from synthbank.schemas.model import Column, Table


def grid_days(form: dict | None) -> tuple[float, float] | None:
    """The step an instant column is written on and its offset, in days (as :func:`cast_to_schema` rounds
    it), or None when it keeps fractions of a second."""
    if not form or form.get("resolution", "second") == "fraction" or form.get("kind") == "time":
        return None
    step = dict(RESOLUTIONS).get(form.get("resolution", "second"), 1)
    return step / DAY_SECONDS, form.get("offset_minutes", 0) / 1440


def cast_to_schema(frame: pd.DataFrame, table: Table, forms: dict[str, dict] | None = None) -> pd.DataFrame:
    """Model output → values of each column's SQL type, in the table's column order.

    ``forms`` (from :func:`learn_forms`) writes temporal values in the source's form and rounds numeric
    columns without a declared scale to the source's number of decimals.
    """
    forms = forms or {}
    out = {}
    for name, column in table.columns.items():
        if name not in frame.columns:
            continue
        out[name] = _cast_column(frame[name], column, forms.get(name))
    return pd.DataFrame(out, index=frame.index)


def _cast_column(values: pd.Series, column: Column, form: dict | None = None) -> pd.Series:
    base = types.base_name(column.type)
    if values.isna().all() and values.dtype == object:
        return values
    if column.format and column.sdtype in ("datetime", "pii"):  # a date coded as digits (a birth date too)
        integer = base in types.INTEGER_TYPES
        out = to_coded_date(values, column.format, integer=integer, by_day=bool(form) and form.get("resolution") == "day")
        if form and form.get("sentinel") is not None and out.isna().any():  # "no date" as the source wrote it
            draw = np.random.default_rng(zlib.crc32(column.name.encode()) + 2).random(len(out)) < form["sentinel_share"]
            chosen = out.isna().to_numpy() & (draw | (not column.nullable))
            out = out.astype(object) if not integer else out
            out[chosen] = int(form["sentinel"]) if integer else form["sentinel"]
        return out
    kind = temporal_kind(column)
    if kind is not None and (form is not None or base in types.TEMPORAL_TYPES):
        return _cast_temporal(values, column, kind, form)
    if base in types.INTEGER_TYPES:
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if base == "numeric":
        numeric = pd.to_numeric(values, errors="coerce")
        scale = types.fixed_scale(column.type)
        if scale is None and form is not None and form.get("kind") == "decimal":
            scale = form["scale"]
        return numeric.round(scale) if scale is not None else numeric
    if base == "float":
        return pd.to_numeric(values, errors="coerce")
    if base == "boolean":
        return values.map(lambda v: None if pd.isna(v) else bool(v)).astype(object)
    if base == "date":  # e.g. a date of birth Faker wrote
        return to_naive_utc(values, "date").dt.date.astype(object).where(values.notna(), None)
    return values


def _cast_temporal(values: pd.Series, column: Column, kind: str, form: dict | None) -> pd.Series:
    result = _cast_temporal_values(values, column, kind, form)
    if form and form.get("sentinel") and result.isna().any():
        missing = result.isna().to_numpy()
        draw = np.random.default_rng(zlib.crc32(column.name.encode()) + 1).random(len(result)) < form["sentinel_share"]
        chosen = missing & draw
        if chosen.any():
            sentinel = form["sentinel"]
            if not form["strings"]:
                sentinel = dt.date.fromisoformat(sentinel[:10]) if kind == "date" else dt.datetime.fromisoformat(sentinel)
            result = result.astype(object)
            result[chosen] = sentinel
    return result


def _cast_temporal_values(values: pd.Series, column: Column, kind: str, form: dict | None) -> pd.Series:
    stamps = to_naive_utc(values, "datetime" if kind != "time" or pd.api.types.is_datetime64_any_dtype(values.dtype) else "time")
    missing = stamps.isna().to_numpy()
    tz_type = "tz" in column.type
    if form is None:  # no learned form (a model saved before forms existed): the SQL type decides
        form = {"kind": kind, "strings": types.base_name(column.type) not in types.TEMPORAL_TYPES,
                "aware_share": 1.0 if tz_type else 0.0, "offset_minutes": 0, "zulu": False, "colon": True,
                "sep": " ", "seconds": True, "digits": 0, "date_only": False, "resolution": "second"}
    resolution = form.get("resolution", "second")
    if resolution != "fraction":
        step = dict(RESOLUTIONS).get(resolution, 1)
        offset = pd.Timedelta(minutes=form.get("offset_minutes", 0))
        stamps = (stamps + offset).dt.round(f"{step}s") - offset
    if kind == "time":
        seconds = ((stamps - EPOCH) / pd.Timedelta(seconds=1)).clip(0, DAY_SECONDS - 1e-6)
        if resolution != "fraction":
            seconds = seconds.round().clip(upper=DAY_SECONDS - 1)
        times = [None if miss else (dt.datetime.min + dt.timedelta(seconds=float(s))).time() for s, miss in zip(seconds, missing)]
        if form["strings"]:
            texts = [None if t is None else _format_time(t, form) for t in times]
            return pd.Series(texts, index=values.index, dtype=object)
        return pd.Series(times, index=values.index, dtype=object)
    if kind == "date":
        local = stamps + pd.Timedelta(minutes=form.get("offset_minutes", 0))
        dates = local.dt.date.astype(object)
        if form["strings"]:
            dates = dates.map(lambda d: d.isoformat() if isinstance(d, dt.date) else None)
        return dates.where(~missing, None)
    aware = _aware_rows(len(stamps), form, tz_type, column.name)
    offset = dt.timezone(dt.timedelta(minutes=form.get("offset_minutes", 0)))
    out = []
    for stamp, miss, is_aware in zip(stamps, missing, aware):
        if miss:
            out.append(None)
            continue
        value = stamp.to_pydatetime()
        if is_aware:
            value = value.replace(tzinfo=dt.UTC).astimezone(offset)
        out.append(_format_datetime(value, form) if form["strings"] else value)
    result = pd.Series(out, index=values.index, dtype=object)
    if not form["strings"] and not missing.all() and (aware.all() or not aware.any()):
        result = pd.Series(pd.to_datetime(result.where(~missing, None), utc=bool(aware.all())), index=values.index)
        if aware.all():
            result = result.dt.tz_convert(offset)
    return result


def _aware_rows(n: int, form: dict, tz_type: bool, name: str) -> np.ndarray:
    share = float(form.get("aware_share", 0.0))
    if tz_type and not form["strings"]:
        share = 1.0
    if not form["strings"]:  # driver objects in one column are all naive or all aware
        share = 1.0 if share > 0.5 else 0.0
    if share in (0.0, 1.0):
        return np.full(n, share == 1.0)
    return np.random.default_rng(zlib.crc32(name.encode())).random(n) < share


def _fraction(microsecond: int, digits: int) -> str:
    return ("." + f"{microsecond:06d}"[:digits]) if digits else ""


def _format_time(value: dt.time, form: dict) -> str:
    text = f"{value.hour:02d}:{value.minute:02d}"
    if form.get("seconds", True):
        text += f":{value.second:02d}" + _fraction(value.microsecond, min(form.get("digits", 0), 6))
    return text


def _format_datetime(value: dt.datetime, form: dict) -> str:
    text = value.date().isoformat()
    if form.get("date_only"):
        return text
    text += form.get("sep", " ") + f"{value.hour:02d}:{value.minute:02d}"
    if form.get("seconds", True):
        text += f":{value.second:02d}" + _fraction(value.microsecond, min(form.get("digits", 0), 6))
    if value.tzinfo is not None:
        minutes = int(value.utcoffset().total_seconds() // 60)
        if minutes == 0 and form.get("zulu"):
            text += "Z"
        else:
            sign = "-" if minutes < 0 else "+"
            hours, rest = divmod(abs(minutes), 60)
            text += f"{sign}{hours:02d}:{rest:02d}" if form.get("colon", True) else f"{sign}{hours:02d}{rest:02d}"
    return text
