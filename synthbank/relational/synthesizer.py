"""``RelationalSynthesizer``: linked tables of any depth and width with HMA's mathematics, one window at a time.

The class is assembled from one module per responsibility:

* fitting the tables (:mod:`~synthbank.relational.table_fitting`): check the input, cut the schema into
  tables and windows, protect rare values, learn the shapes of keys, PII, links and binary columns, build
  each table's model frame;
* fitting each window's model (:mod:`~synthbank.relational.window_fitting`): the fast engine
  (:mod:`~synthbank.relational.fast_hma`) or SDV's HMA (:mod:`~synthbank.relational.sdv_adapter`);
* sampling (:mod:`~synthbank.relational.sampling`): per block, walk the windows top-down, linking child
  windows to the parents already sampled (``match_rows``), then finish the tables
  (:class:`~synthbank.relational.assembly.Assembly`: keys, links, rare values, category combinations, PII,
  SQL types); conditions (``rebalance``, ``where``) too;
* blocks and chunks (:mod:`~synthbank.relational.blocks`): Arrow from workers, blocks grouped into chunks;
* this module: the settings, the number of blocks, what the model says about itself, and persistence
  (:mod:`~synthbank.relational.persistence`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthbank.errors import SynthbankError
from synthbank.relational import dp_fit, persistence
from synthbank.relational.blocks import DEFAULT_CHUNK_ROWS, concat_blocks, from_arrow, group_chunks, to_arrow
from synthbank.relational.sampling import BlockSampling
from synthbank.relational.settings import RelationalSettings
from synthbank.relational.table_fitting import DIAMOND_CONSISTENCY, TableFitting, real_strings
from synthbank.relational.window_fitting import CLASS_MAX_VALUES, WindowFitting, describe_window
from synthbank.schemas.model import DatabaseSchema

__all__ = ["BLOCK_ROWS", "CLASS_MAX_VALUES", "DEFAULT_CHUNK_ROWS", "DIAMOND_CONSISTENCY", "RelationalSynthesizer", "concat_blocks",
           "from_arrow", "group_chunks", "real_strings", "to_arrow"]

#: Synthetic rows per block, the unit of sampling (see ``RelationalSynthesizer.sample_blocks``); read at
#: each call of :meth:`RelationalSynthesizer.block_count`, so it can be changed here.
BLOCK_ROWS = 50_000

# the name this helper had here before the split (tests use it)
_real_strings = real_strings


class RelationalSynthesizer(TableFitting, WindowFitting, BlockSampling):
    """Learn linked tables and sample synthetic ones with the same schema and full referential integrity.

    Parameters are only stored here; :meth:`fit` learns (the schema it learned, with empty tables turned
    into copies, is ``schema_``). ``settings`` is a :class:`~synthbank.relational.settings.RelationalSettings`
    (engine, root distribution, category ordering, leaf models, rare-value threshold), or give its fields
    as keywords: ``RelationalSynthesizer(schema, engine="sdv")``.
    """

    def __init__(self, schema: DatabaseSchema, settings: RelationalSettings | None = None, **fields):
        if settings is not None and fields:
            raise SynthbankError("Pass RelationalSettings or its fields as keywords, not both.")
        self.schema = schema
        self.settings = settings if settings is not None else RelationalSettings(**fields)

    def block_count(self, scale: float, block_rows: int | None = None) -> int:
        """Blocks of about ``block_rows`` (default :data:`BLOCK_ROWS`) synthetic rows, at most as many as the
        smallest root table has synthetic rows (every block needs at least one row of each root)."""
        block_rows = block_rows or BLOCK_ROWS
        if isinstance(block_rows, bool) or not isinstance(block_rows, int) or block_rows < 1:
            raise SynthbankError(f"block_rows must be a whole number of at least 1, got {block_rows!r}.")
        total = sum(self.row_counts_[name] for name in self.plans_) * scale
        roots = [self._root_total(name, scale) for name, plan in self.plans_.items()
                 if plan.primary_fk is None and self.row_counts_[name]]
        return int(max(1, min([int(np.ceil(total / block_rows)), *roots])))

    # --- introspection -----------------------------------------------------------------------------
    @property
    def text_columns(self) -> dict[str, list[str]]:
        """Free-text columns per table, left for the text engine."""
        return {n: t.columns_of("text") for n, t in self.schema_.tables.items() if t.columns_of("text") and not t.is_excluded}

    @property
    def unsupported_columns(self) -> dict[str, list[str]]:
        """Columns written as NULL or a constant (binary columns of learned tables get random bytes instead)."""
        binary = getattr(self, "binary_", {})
        out = {n: [c for c in t.columns_of("unsupported") if c not in binary.get(n, {})]
               for n, t in self.schema_.tables.items() if not t.is_excluded}
        return {n: cols for n, cols in out.items() if cols}

    @property
    def binary_columns(self) -> list[str]:
        """Binary columns written as random bytes of the real lengths, as ``table.column``."""
        return [f"{t}.{c}" for t, cols in getattr(self, "binary_", {}).items() for c in cols]

    def describe_windows(self) -> list[str]:
        self._check_fitted()
        if getattr(self, "dp_", None) is not None:
            return [dp_fit.describe(self)]
        return [describe_window(w) for w in self.windows_]

    def _check_fitted(self):
        if not hasattr(self, "hmas_"):
            raise SynthbankError("This synthesizer is not fitted yet: call fit() first (or load a fitted model).")

    # --- persistence -------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model (see :mod:`synthbank.relational.persistence`): window models, schema, and a JSON
        state with shapes and aggregate statistics only — no training rows, no PII values."""
        self._check_fitted()
        return persistence.save_model(self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> RelationalSynthesizer:
        """Load a model directory. It contains pickles, which run code when loaded: only load trusted ones."""
        return persistence.load_model(cls, directory)
