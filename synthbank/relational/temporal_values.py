"""Temporal values as the engine learns them: naive UTC instants (a time of day as that time on 1970-01-01).

:func:`to_naive_utc` reads any mix of strings (ISO-8601 with ``T`` or space, ``Z`` or ``±hh:mm``), driver
objects (``datetime``, ``date``, ``time``, MySQL's ``timedelta``), naive or aware; :func:`from_coded_date`
and :func:`to_coded_date` read and write dates coded as digits (``20240131``). The patterns and resolutions
here are shared by :mod:`~synthbank.relational.source_forms` (which learns how a column was written) and
:mod:`~synthbank.relational.sql_casting` (which writes it back that way).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd

from synthbank.schemas import types
from synthbank.schemas.model import Column

EPOCH = pd.Timestamp("1970-01-01")
DAY_SECONDS = 86_400
ISO_PATTERN = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})(?:(?P<sep>[T ])(?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?:[.,](?P<frac>\d+))?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?\s*$")
TIME_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$")
#: Resolutions a temporal column may keep: every source value a multiple of it → so are the synthetic ones.
RESOLUTIONS = (("day", DAY_SECONDS), ("hour", 3_600), ("minute", 60), ("second", 1))


def temporal_kind(column: Column) -> str | None:
    """``"date"``, ``"time"`` or ``"datetime"`` for a column learned as a datetime, else ``None``."""
    base = types.base_name(column.type)
    if column.sdtype in ("pii", "text", "unsupported", "id"):
        return None
    if base in ("date", "time"):
        return base
    if base == "datetime" or column.sdtype == "datetime":
        return "datetime"
    return None


# --- parsing ---------------------------------------------------------------------------------------
def to_naive_utc(values: pd.Series, kind: str = "datetime") -> pd.Series:
    """Any mix of strings, ``datetime``/``date``/``time``/``timedelta`` objects, naive or aware → naive UTC
    ``datetime64[ns]`` (a time of day → that time on 1970-01-01). Values that do not parse become NaT."""
    if kind == "time":
        seconds = values.map(_seconds_of_day)
        return (EPOCH + pd.to_timedelta(pd.to_numeric(seconds, errors="coerce"), unit="s")).rename(values.name)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values
    else:
        present = values.dropna()
        present = present[~present.map(out_of_range)]  # e.g. 9999-01-01 "until further notice": see learn_forms
        parsed = None
        if not present.map(lambda v: isinstance(v, str)).any():
            try:  # driver objects, naive, aware or both
                parsed = pd.to_datetime(present, utc=True)
            except (ValueError, TypeError, OverflowError):
                parsed = None
        if parsed is None:
            objects = present.map(lambda v: v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v)
            strings = objects.astype(str) if len(objects) else objects
            try:  # ISO-8601 in any mix of precisions, separators and offsets
                parsed = pd.to_datetime(strings, utc=True, format="ISO8601")
            except (ValueError, TypeError, OverflowError):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pandas warns that it parses value by value
                    parsed = pd.to_datetime(strings, utc=True, format="mixed", errors="coerce")
        stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        stamps.loc[parsed.index] = parsed
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


#: Years pandas' datetime64[ns] can hold (1677-09-21 … 2262-04-11), kept whole.
_YEARS = (1678, 2261)


def _year(value) -> int | None:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.year
    if isinstance(value, str):
        match = re.match(r"\s*(-?\d{4,})-", value)
        return int(match.group(1)) if match else None
    return None


def out_of_range(value) -> bool:
    year = _year(value)
    return year is not None and not _YEARS[0] <= year <= _YEARS[1]


def _seconds_of_day(value) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, (dt.timedelta, pd.Timedelta)):  # MySQL's TIME (may exceed a day or be negative)
        return value.total_seconds() % DAY_SECONDS
    match = TIME_PATTERN.match(str(value))
    if not match:
        return None
    hours, minutes, seconds, fraction = match.group(1), match.group(2), match.group(3), match.group(4)
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0) + (float("0." + fraction) if fraction else 0.0)
    return total if total < DAY_SECONDS else None


# --- dates coded as digits -----------------------------------------------------------------------
def from_coded_date(values: pd.Series, form: str) -> pd.Series:
    """Dates coded as digits (``20240131``, ``240131``, ``240131 00:00:00``) → instants; anything else → NaT."""
    from synthbank.schemas.identifiers import DATE_FORMATS, as_strings, century_year

    stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    strings = as_strings(values)
    digits = strings.str.fullmatch(r"\d+")
    strings = strings.where(~digits, strings.str.zfill(6 if form.startswith("yymmdd") else 8))  # lost leading zeros
    if form.startswith("yymmdd"):  # the century by synthbank's pivot, not Python's (1969)
        years = pd.to_numeric(strings.str[:2], errors="coerce")
        strings = years.map(lambda y: str(century_year(int(y)))[:2] if pd.notna(y) else "") + strings
        form = "yy" + form
    stamps[strings.index] = pd.to_datetime(strings, format=DATE_FORMATS[form], errors="coerce")
    return stamps


def to_coded_date(values: pd.Series, form: str, *, integer: bool, by_day: bool = False) -> pd.Series:
    """Instants → dates coded as ``form`` (an integer, or digits for a string column); ``by_day``: at
    midnight, as every source value was."""
    from synthbank.schemas.identifiers import DATE_FORMATS

    stamps = to_naive_utc(values)
    stamps = stamps.dt.floor("D") if by_day else stamps.dt.floor("s")
    texts = stamps.dt.strftime(DATE_FORMATS[form])
    if integer:
        return pd.to_numeric(texts, errors="coerce").astype("Int64")
    return texts.astype(object).where(texts.notna(), None)
