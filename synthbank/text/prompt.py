"""The prompt format: one ``field: value`` line per context column, then the text.

    product: Credit card
    issue: Late fee
    loans.grade: C
    ###
    I was charged a late fee of ...<eos>

Training computes the loss on the text only; generation feeds everything up to ``###\\n``. Missing values
are written as ``(none)`` so that the model also learns what an empty field means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

SEPARATOR = "###\n"
_MISSING = "(none)"


def _format_value(value) -> str:
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return _MISSING
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())  # one line


def build_prompt(context: Mapping[str, object], columns: Sequence[str]) -> str:
    """The prompt for one row: ``columns`` in order, then the separator."""
    lines = [f"{column}: {_format_value(context.get(column))}\n" for column in columns]
    return "".join(lines) + SEPARATOR


def build_prompts(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """One prompt per row of ``frame`` (which must hold every context column)."""
    records = frame[list(columns)].to_dict("records") if columns else [{}] * len(frame)
    return [build_prompt(record, columns) for record in records]
