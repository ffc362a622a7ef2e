"""How a column was written in the source, learned from its raw values (:func:`learn_forms`).

For a temporal column: strings or driver objects, the separator, the offset style and the share of values
that carried one, fractional digits, the resolution (whole days, hours, minutes, seconds) and a placeholder
date outside pandas' range ("9999-12-31: no end date"); for a date coded as digits, its resolution and its
"no date" placeholder; for a numeric column whose type declares no scale, its number of decimals.
:func:`~synthbank.relational.sql_casting.cast_to_schema` writes synthetic values back in that form.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import numpy as np
import pandas as pd

from synthbank.relational.temporal_values import (
    EPOCH,
    ISO_PATTERN,
    RESOLUTIONS,
    TIME_PATTERN,
    from_coded_date,
    out_of_range,
    temporal_kind,
    to_naive_utc,
)
from synthbank.schemas import types
from synthbank.schemas.model import Table

#: Raw values looked at to learn a column's form.
FORM_SAMPLE = 5_000


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
            matches = [m for m in (TIME_PATTERN.match(s) for s in strings) if m]
            fracs = Counter(len(m.group(4) or "") for m in matches)
            form["seconds"] = sum(m.group(3) is not None for m in matches) >= len(matches) / 2 if matches else True
        else:
            matches = [m for m in (ISO_PATTERN.match(s) for s in strings) if m]
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
            form["resolution"] = next((label for label, step in RESOLUTIONS if (seconds % step == 0).all()), "second")
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
    outside = present[present.map(out_of_range)]
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
