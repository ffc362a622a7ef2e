"""Blocks on their way to the caller: as Arrow from a worker, and grouped into chunks or one set of tables.

A *block* (see :meth:`~synthbank.relational.sampling.BlockSampling.sample_blocks`) is the unit of
sampling: a dict of tables. A worker sends a block's rows back as Arrow tables (:func:`to_arrow`,
:func:`from_arrow`); finished blocks are concatenated into one set of tables (:func:`concat_blocks`) or into
chunks of about :data:`DEFAULT_CHUNK_ROWS` rows for the writer (:func:`group_chunks`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.errors import SynthbankError

#: Synthetic rows per chunk handed to the writer (a run of whole blocks).
DEFAULT_CHUNK_ROWS = 200_000


def to_arrow(rows: dict[str, pd.DataFrame], parent_of: dict[str, np.ndarray]) -> dict:
    """A block's rows as a worker sends them back: the typed columns (numbers, flags, instants) as one Arrow
    table per table, the object columns (labels, where a rare-value marker may stand beside numbers) as
    they are, so that no value changes type on the way; the parent positions as arrays."""
    import pyarrow as pa

    out = {}
    for name, frame in rows.items():
        objects = [c for c in frame.columns if frame[c].dtype == object]
        out[name] = {"arrow": pa.Table.from_pandas(frame.drop(columns=objects), preserve_index=False),
                     "objects": {c: frame[c].to_numpy() for c in objects}, "columns": list(frame.columns)}
    return {"rows": out, "parent_of": parent_of}


def from_arrow(payload: dict) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    rows = {}
    for name, part in payload["rows"].items():
        frame = part["arrow"].to_pandas()
        for column, values in part["objects"].items():
            frame[column] = values
        rows[name] = frame[part["columns"]]
    return rows, payload["parent_of"]


def concat_blocks(blocks: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """One table per name from blocks (tables only the first block has, such as copies, stay as they are)."""
    if len(blocks) == 1:
        return blocks[0]
    names = list(blocks[0])
    out = {}
    for name in names:
        frames = [b[name] for b in blocks if name in b]
        filled = [f for f in frames if len(f)] or frames[:1]  # empty blocks would blur the column types
        out[name] = pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0].reset_index(drop=True)
    return out


def group_chunks(blocks, chunk_rows: int):
    """Runs of whole blocks of at least ``chunk_rows`` rows (the last may be smaller), concatenated."""
    if chunk_rows is not None and chunk_rows < 1:
        raise SynthbankError(f"The chunk size must be at least 1 row, got {chunk_rows}.")
    pending, count = [], 0
    for _, tables in blocks:
        pending.append(tables)
        count += sum(len(frame) for frame in tables.values())
        if count >= chunk_rows:
            yield concat_blocks(pending)
            pending, count = [], 0
    if pending:
        yield concat_blocks(pending)
