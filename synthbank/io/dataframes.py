"""pandas, Arrow and Polars tables: the API takes any of them and can hand its results back as each.

The engines work on pandas DataFrames. An Arrow table or a Polars DataFrame given to ``fit``, ``evaluate``
or ``write_tables`` is turned into one at the door (Polars through Arrow, which shares its buffers; Arrow's
conversion copies only what numpy cannot view: strings, decimals, dates). Results go back out with
:func:`to_arrow` (``pyarrow.Table.from_pandas``, zero-copy for numeric columns without NULLs) and
:func:`to_polars` (from that Arrow table, zero-copy).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from synthbank.errors import SynthbankError


def to_pandas(frame, name: str = "table") -> pd.DataFrame:
    """A pandas DataFrame from a pandas, Arrow or Polars table."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    if isinstance(frame, pa.Table):
        return frame.to_pandas(date_as_object=True)
    if type(frame).__module__.startswith("polars") and hasattr(frame, "to_arrow"):
        if type(frame).__name__ == "LazyFrame":
            frame = frame.collect()
        return frame.to_arrow().to_pandas(date_as_object=True)
    raise SynthbankError(f"The table '{name}' is a {type(frame).__name__}; give a pandas DataFrame, an Arrow table or a Polars DataFrame.")


def pandas_tables(tables: Mapping) -> dict[str, pd.DataFrame]:
    """Table name → pandas DataFrame, whatever kind of table each value is."""
    return {name: to_pandas(frame, name) for name, frame in tables.items()}


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An Arrow table of a synthetic DataFrame (types as the DataFrame holds them)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def to_polars(frame: pd.DataFrame):
    """A Polars DataFrame of a synthetic DataFrame, through Arrow."""
    import polars as pl

    return pl.from_arrow(to_arrow(frame))
