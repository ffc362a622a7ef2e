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
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zlib
from collections import Counter
from decimal import Decimal

import numpy as np
import pandas as pd

from synthbank.schemas import types
from synthbank.schemas.model import Column, Table

EPOCH = pd.Timestamp("1970-01-01")
_DAY_SECONDS = 86_400
#: Raw values looked at to learn a column's form.
FORM_SAMPLE = 5_000
_ISO = re.compile(
    r"^\s*(?P<date>\d{4}-\d{2}-\d{2})(?:(?P<sep>[T ])(?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?:[.,](?P<frac>\d+))?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?\s*$")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$")
#: Resolutions a temporal column may keep: every source value a multiple of it → so are the synthetic ones.
_RESOLUTIONS = (("day", _DAY_SECONDS), ("hour", 3_600), ("minute", 60), ("second", 1))


def grid_days(form: dict | None) -> tuple[float, float] | None:
    """The step an instant column is written on and its offset, in days (as :func:`cast_to_schema` rounds
    it), or None when it keeps fractions of a second."""
    if not form or form.get("resolution", "second") == "fraction" or form.get("kind") == "time":
        return None
    step = dict(_RESOLUTIONS).get(form.get("resolution", "second"), 1)
    return step / _DAY_SECONDS, form.get("offset_minutes", 0) / 1440


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
        present = present[~present.map(_out_of_range)]  # e.g. 9999-01-01 "until further notice": see learn_forms
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


def _out_of_range(value) -> bool:
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
        return value.total_seconds() % _DAY_SECONDS
    match = _TIME.match(str(value))
    if not match:
        return None
    hours, minutes, seconds, fraction = match.group(1), match.group(2), match.group(3), match.group(4)
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0) + (float("0." + fraction) if fraction else 0.0)
    return total if total < _DAY_SECONDS else None


# --- source form -----------------------------------------------------------------------------------
def learn_forms(frame: pd.DataFrame, table: Table) -> dict[str, dict]:
    """How each temporal and unscaled numeric column of ``frame`` (raw source values) is written.

    The result is plain JSON (it is saved with a model) and holds no value of the source: only flags
    (strings or objects, separator, offset style, fractional digits, resolution), the share of values
    that carried an offset, the most common offset in minutes, and a number of decimals.
    """
    forms: dict[str, dict] = {}
    for name, column in table.columns.items():
        if name not in frame.columns:
            continue
        if column.format:  # a date coded as digits, written back as it was read (at the day when it has no time)
            forms[name] = _coded_form(frame[name], column.format)
            continue
        kind = temporal_kind(column)
        present = frame[name].dropna()
        if len(present) > FORM_SAMPLE:
            present = present.iloc[np.linspace(0, len(present) - 1, FORM_SAMPLE).astype(int)]
        if kind is not None:
            forms[name] = _temporal_form(present, kind)
            if kind != "time":
                _learn_sentinel(forms[name], frame[name])
        elif column.sdtype == "numerical" and types.base_name(column.type) == "numeric" and "," not in column.type:
            scale = _decimals(present)
            if scale is not None:
                forms[name] = {"kind": "decimal", "scale": scale}
    return forms


def _coded_form(values: pd.Series, form: str) -> dict:
    """A coded date column's resolution, and the placeholder that stands for "no date" (``0``,
    ``99991231``) when at least :data:`SENTINEL_ROWS` rows hold it, with its share of the missing dates."""
    from synthbank.schemas.identifiers import as_strings

    strings = as_strings(values)
    stamps = from_coded_date(strings, form)
    out: dict = {"kind": "coded", "resolution": "second"}
    present = stamps.dropna()
    if not form.endswith("hh:mm:ss") or (len(present) and (present == present.dt.normalize()).all()):
        out["resolution"] = "day"
    invalid = strings[stamps.isna().to_numpy()]
    if len(invalid):
        value, count = Counter(invalid).most_common(1)[0]
        if count >= SENTINEL_ROWS:
            out["sentinel"], out["sentinel_share"] = value, count / (len(invalid) + int(values.isna().sum()))
    return out


def _temporal_form(present: pd.Series, kind: str) -> dict:
    form: dict = {"kind": kind, "strings": False, "aware_share": 0.0, "offset_minutes": 0, "zulu": False,
                  "colon": True, "sep": " ", "seconds": True, "digits": 0, "date_only": False, "resolution": "second"}
    if not len(present):
        return form
    strings = present[present.map(lambda v: isinstance(v, str))]
    form["strings"] = len(strings) > len(present) / 2
    offsets: Counter = Counter()
    if form["strings"]:
        if kind == "time":
            matches = [m for m in (_TIME.match(s) for s in strings) if m]
            fracs = Counter(len(m.group(4) or "") for m in matches)
            form["seconds"] = sum(m.group(3) is not None for m in matches) >= len(matches) / 2 if matches else True
        else:
            matches = [m for m in (_ISO.match(s) for s in strings) if m]
            fracs = Counter(len(m.group("frac") or "") for m in matches)
            seps = Counter(m.group("sep") for m in matches if m.group("sep"))
            form["sep"] = seps.most_common(1)[0][0] if seps else " "
            form["date_only"] = bool(matches) and sum(m.group("hm") is None for m in matches) > len(matches) / 2
            with_time = [m for m in matches if m.group("hm")]
            form["seconds"] = sum(m.group("sec") is not None for m in with_time) >= len(with_time) / 2 if with_time else True
            zones = [m.group("tz") for m in matches if m.group("tz")]
            form["aware_share"] = len(zones) / len(matches) if matches else 0.0
            form["zulu"] = sum(z == "Z" for z in zones) > len(zones) / 2 if zones else False
            form["colon"] = not any(z != "Z" and len(z) == 5 for z in zones)
            offsets.update(_offset_minutes(z) for z in zones)
        form["digits"] = fracs.most_common(1)[0][0] if fracs else 0
    else:
        objects = present[present.map(lambda v: isinstance(v, dt.datetime))]
        aware = [v.utcoffset() for v in objects if v.tzinfo is not None and v.utcoffset() is not None]
        form["aware_share"] = len(aware) / len(present)
        offsets.update(int(o.total_seconds() // 60) for o in aware)
        micro = [v.microsecond for v in present if isinstance(v, (dt.datetime, dt.time))]
        form["digits"] = 6 if any(micro) else 0
    if offsets:
        form["offset_minutes"] = int(offsets.most_common(1)[0][0])
    local = to_naive_utc(present, kind).dropna() + pd.Timedelta(minutes=form["offset_minutes"])
    if len(local):
        seconds = ((local - EPOCH) // pd.Timedelta(seconds=1)).to_numpy()
        exact = ((local - EPOCH) % pd.Timedelta(seconds=1) == pd.Timedelta(0)).all()
        if exact:
            form["resolution"] = next((label for label, step in _RESOLUTIONS if (seconds % step == 0).all()), "second")
        else:
            form["resolution"] = "fraction"
    if kind == "date":
        form["resolution"] = "day"
    return form


#: A date outside pandas' range ("9999-12-31: no end date") is kept when at least this many rows hold it.
SENTINEL_ROWS = 5


def _learn_sentinel(form: dict, values: pd.Series) -> None:
    """Dates outside the years models can hold are learned as missing; the most common of them, when enough
    rows share it, comes back in place of that share of the missing values."""
    present = values.dropna()
    outside = present[present.map(_out_of_range)]
    if not len(outside):
        return
    texts = outside.map(lambda v: v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else str(v))
    value, count = Counter(texts).most_common(1)[0]
    if count >= SENTINEL_ROWS:
        form["sentinel"] = value
        form["sentinel_share"] = count / (count + int(values.isna().sum()) + len(outside) - count)


def _offset_minutes(zone: str) -> int:
    if zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))


def _decimals(present: pd.Series) -> int | None:
    """The number of decimals the values are written with (``Decimal`` exponents, or the fewest that hold
    every float), at most 10."""
    if not len(present):
        return None
    if all(isinstance(v, Decimal) for v in present):
        exponents = [v.as_tuple().exponent for v in present if v.is_finite()]
        return max(0, min(10, -min(exponents))) if exponents else None
    numbers = pd.to_numeric(present, errors="coerce").dropna().to_numpy(dtype=float)
    if not len(numbers):
        return None
    for scale in range(11):
        if np.allclose(numbers, np.round(numbers, scale), rtol=0, atol=10.0 ** -(scale + 6)):
            return scale
    return None


# --- into models -----------------------------------------------------------------------------------
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


# --- back to SQL -----------------------------------------------------------------------------------
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
        step = dict(_RESOLUTIONS).get(resolution, 1)
        offset = pd.Timedelta(minutes=form.get("offset_minutes", 0))
        stamps = (stamps + offset).dt.round(f"{step}s") - offset
    if kind == "time":
        seconds = ((stamps - EPOCH) / pd.Timedelta(seconds=1)).clip(0, _DAY_SECONDS - 1e-6)
        if resolution != "fraction":
            seconds = seconds.round().clip(upper=_DAY_SECONDS - 1)
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
