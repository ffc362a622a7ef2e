"""``DatabaseSynthesizer``: the common job in one object — read a database, learn it, write a synthetic one.

    DatabaseSynthesizer.from_url("sqlite:///bank.db").fit().sample(scale=2.0).to_url("sqlite:///synth.db")

or, without any database, DataFrames in and out:

    DatabaseSynthesizer(schema).fit(tables).sample(seed=1)   # -> dict-like of DataFrames
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from synthbank import seeding
from synthbank.errors import SchemaError, SynthbankError
from synthbank.executors import Executor
from synthbank.files import staged_directory, verify_model_directory
from synthbank.io.dataframes import pandas_tables, to_arrow, to_polars
from synthbank.io.reader import read_tables
from synthbank.io.writer import DEFAULT_BATCH_SIZE, WriteReport, check_target, write_tables
from synthbank.progress import Progress, RowCounter
from synthbank.relational.settings import RelationalSettings
from synthbank.relational.synthesizer import DEFAULT_CHUNK_ROWS, RelationalSynthesizer, concat_blocks, group_chunks
from synthbank.schemas.model import DatabaseSchema
from synthbank.schemas.reflect import reflect_schema
from synthbank.schemas.resolve import resolve_schema
from synthbank.text.settings import TextSettings

log = logging.getLogger(__name__)

class SyntheticDatabase(dict):
    """Synthetic tables (name → DataFrame) with the schema they follow."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], schema: DatabaseSchema, source_url: str | None = None):
        super().__init__(tables)
        self.schema = schema
        self.source_url = source_url  # the database learned, if known: never written over

    def to_url(self, url: str, *, replace: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
               progress: Progress | None = None) -> WriteReport:
        """Create the schema's tables in ``url`` and write the rows (one transaction, FK order); ``progress``
        gets a ``writing`` event per batch of rows.

        Refuses the source database itself, and raises (writing nothing) when the final integrity check fails."""
        return write_tables(url, self.schema, self, replace=replace, batch_size=batch_size,
                            on_rows=RowCounter(progress, "writing").add if progress else None, source_url=self.source_url)

    def to_arrow(self) -> dict[str, pa.Table]:
        """The tables as Arrow tables (zero-copy where numpy allows). Write to a folder or DuckDB file
        (:meth:`to_url`) for the schema's own types (decimals, dates, time zones)."""
        return {name: to_arrow(frame) for name, frame in self.items()}

    def to_polars(self) -> dict:
        """The tables as Polars DataFrames (through Arrow)."""
        return {name: to_polars(frame) for name, frame in self.items()}


#: Root rows (children followed by foreign key) read to find the rules :func:`discover_schema_rules` shows.
RULE_SAMPLE_ROWS = 50_000


def discover_schema_rules(url: str, schema: DatabaseSchema, *, sample_rows: int | None = RULE_SAMPLE_ROWS) -> DatabaseSchema:
    """``schema`` (a copy) with the rules the rows of ``url`` obey (:mod:`synthbank.schemas.rule_discovery`),
    found on at most ``sample_rows`` rows of each root table and their children (None: every row). The
    database is opened read-only. Fitting keeps the rules a schema holds and checks none of them again."""
    import copy

    from synthbank.relational.frames import normalize
    from synthbank.schemas.rule_discovery import discover_rules

    tables = read_tables(url, schema, sample_rows=sample_rows)
    frames = {name: normalize(tables[name][list(t.columns)], t) for name, t in schema.tables.items() if name in tables}
    found = copy.copy(schema)
    found.rules = discover_rules(schema, frames)
    return found


class DatabaseSynthesizer:
    """Learn a whole database and sample synthetic copies of it.

    Parameters (only stored; :meth:`fit` learns): ``schema`` (a :class:`DatabaseSchema`, or None to take it
    from ``from_url``), ``relational`` (a :class:`~synthbank.relational.settings.RelationalSettings`:
    engine, distributions, leaf models, rare-value threshold — a categorical value held by fewer entities
    never reaches a model, tables and text context alike; default: the schema's ``rare_threshold``, 5),
    ``text`` (a :class:`~synthbank.text.settings.TextSettings` for the LoRA-tuned text engine that writes
    free-text columns; True: its defaults; None or False: free-text columns stay NULL), ``source_url``
    (read by :meth:`fit` when no DataFrames are given) and ``sample_rows`` (train on at most this many
    rows per root table, children followed by foreign key). Nothing is read until :meth:`fit`.
    """

    def __init__(self, schema: DatabaseSchema | None = None, *, relational: RelationalSettings | None = None,
                 text: TextSettings | bool | None = True, source_url: str | None = None, sample_rows: int | None = None):
        if sample_rows is not None and (isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1):
            raise SynthbankError(f"sample_rows must be a whole number of at least 1, got {sample_rows!r}.")
        self.schema = schema
        self.relational = relational if relational is not None else RelationalSettings()
        self.text = text
        self.source_url = source_url
        self.sample_rows = sample_rows

    def _text_settings(self) -> TextSettings | None:
        if self.text is True:
            return TextSettings()
        return self.text or None

    @classmethod
    def from_url(cls, url: str, *, schema: DatabaseSchema | str | Path | None = None, strict: bool = False,
                 tables: list[str] | None = None, sample_rows: int | None = None, **kwargs) -> DatabaseSynthesizer:
        """Reflect ``url`` (read-only), merge a reviewed schema file if given, and remember the source."""
        cls(sample_rows=sample_rows)  # a bad argument is refused before the database is opened
        reflected = reflect_schema(url, tables)
        return cls(resolve_schema(reflected, schema, strict=strict), source_url=url, sample_rows=sample_rows, **kwargs)

    def fit(self, tables: Mapping[str, pd.DataFrame] | None = None, *,
            progress: Progress | None = None, executor: Executor | None = None) -> DatabaseSynthesizer:
        """Learn the tables: given as DataFrames (pandas, Arrow or Polars), or read from the source URL.
        ``executor`` fits the HMA windows (independent of each other) in worker processes or as Ray tasks;
        the model is the same."""
        if self.schema is None:
            raise SchemaError("No schema: use DatabaseSynthesizer.from_url(url), or DatabaseSynthesizer(schema).")
        if tables is None:
            if self.source_url is None:
                raise SynthbankError("No data: pass tables to fit(), or create the synthesizer with from_url().")
            tables = read_tables(self.source_url, self.schema, sample_rows=self.sample_rows,
                                 on_rows=RowCounter(progress, "reading").add if progress else None)
        tables = pandas_tables(tables)
        text = self._text_settings()
        if (self.relational.dp_epsilon is not None and text is not None and text.training.dp_epsilon is None
                and any(t.columns_of("text") for t in self.schema.tables.values() if not t.is_excluded)):
            raise SynthbankError("With differential privacy for the tables the texts must be trained with it too: "
                                 "add --text-dp-epsilon E (text=TextSettings with training.dp_epsilon), or --no-text.")
        rare = self.relational.rare_threshold if self.relational.rare_threshold is not None else self.schema.rare_threshold
        self.relational_ = RelationalSynthesizer(self.schema, self.relational.replace(rare_threshold=rare))
        self.relational_.fit(dict(tables), progress=progress, executor=executor)
        self.texts_ = None
        if text is not None and any(self.relational_.text_columns.values()):
            from synthbank.text.tables import DatabaseTexts

            self.texts_ = DatabaseTexts(self.schema, text, rare_threshold=rare).fit(tables, progress=progress)
        return self

    def sample(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
               progress: Progress | None = None, executor: Executor | None = None,
               block_rows: int | None = None, rebalance: Mapping | None = None,
               where: Mapping | None = None) -> SyntheticDatabase:
        """A synthetic database ``scale`` times the size of the training data, deterministic for ``seed``;
        ``executor`` (:mod:`synthbank.executors`) spreads the blocks and the texts over worker processes or
        a Ray cluster without changing the output; ``block_rows`` sets the synthetic rows per block (default
        50,000; smaller blocks give more workers something to do, and change the output like a seed).

        ``rebalance={"transactions.is_fraud": {True: 0.2}}`` asks for a share of a table's rows to hold a
        value (categorical or boolean columns of any table; the other values share the rest in the learned
        odds), ``where={"loans.grade": "A"}`` for every row; the rest of each row, its parents and its
        children follow what the model learned given the value, and the root tables keep the size ``scale``
        gives them. The requested, achieved and real shares are in the result's ``conditions``."""
        tally = self._tally(rebalance, where)
        tables = concat_blocks([tables for _, tables in self._blocks(scale, seed, key_start, progress, executor, block_rows,
                                                                     tally)])
        synthetic = SyntheticDatabase(tables, self.schema, source_url=getattr(self, "source_url", None))
        synthetic.conditions = tally.report() if tally else []
        return synthetic

    def sample_chunks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None,
                      executor: Executor | None = None, block_rows: int | None = None,
                      rebalance: Mapping | None = None, where: Mapping | None = None):
        """The tables of :meth:`sample` as a stream of chunks (dicts of DataFrames) of about ``chunk_rows``
        rows; the output for a seed does not depend on ``chunk_rows`` or ``executor``, memory does."""
        return group_chunks(self._blocks(scale, seed, key_start, progress, executor, block_rows,
                                         self._tally(rebalance, where)), chunk_rows)

    def sample_to_url(self, url: str, *, scale: float = 1.0, seed: int = 0, replace: bool = False,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, batch_size: int = DEFAULT_BATCH_SIZE,
                      progress: Progress | None = None, executor: Executor | None = None,
                      block_rows: int | None = None, rebalance: Mapping | None = None,
                      where: Mapping | None = None) -> WriteReport:
        """Sample and write chunk by chunk into ``url``, all in one transaction: peak memory does not grow
        with ``scale``. Refuses the source database; nothing is written when anything fails (a bad condition
        among them: conditions are checked before anything is sampled). The report's ``conditions`` hold the
        requested, achieved and real shares of ``rebalance``/``where`` (see :meth:`sample`)."""
        self._check_fitted()
        tally = self._tally(rebalance, where)
        chunks = group_chunks(self._blocks(scale, seed, key_start=0, progress=progress, executor=executor,
                                           block_rows=block_rows, tally=tally), chunk_rows)
        report = write_tables(url, self.schema, chunks, replace=replace, batch_size=batch_size,
                              on_rows=RowCounter(progress, "writing").add if progress else None,
                              source_url=getattr(self, "source_url", None))
        report.conditions = tally.report() if tally else []
        return report

    def _tally(self, rebalance, where):
        """A counter of the conditions' shares (None without conditions); a bad condition is refused here."""
        self._check_fitted()
        return self.relational_.tally(rebalance, where) if rebalance or where else None

    def check_conditions(self, rebalance: Mapping | None = None, where: Mapping | None = None) -> None:
        """Refuse, before a long fit, conditions that name no synthesized categorical or boolean column of the
        schema (values are checked against the fitted model when sampling)."""
        from synthbank.relational.conditions import check_requested

        if self.schema is None:
            raise SchemaError("No schema: use DatabaseSynthesizer.from_url(url), or DatabaseSynthesizer(schema).")
        check_requested(self.schema, rebalance, where)

    def _blocks(self, scale, seed, key_start, progress, executor=None, block_rows=None, tally=None):
        """``(block, tables)`` from the relational engine, with their free text written."""
        self._check_fitted()
        fixed: dict[str, pd.DataFrame] = {}
        for block, tables in self.relational_.sample_blocks(scale, seed, key_start=key_start, progress=progress,
                                                                 executor=executor, block_rows=block_rows, tally=tally):
            if self.texts_ is not None:
                if block == 0:  # copy/subset tables come with the first block; later blocks' texts refer to them
                    fixed = {n: f for n, f in tables.items() if self.schema.tables[n].is_fixed}
                self.texts_.fill({**fixed, **tables}, seed=seeding.int_seed(seed, "text", block), progress=progress,
                                 executor=executor)
            yield block, tables

    def check_target(self, url: str, *, replace: bool = False) -> None:
        """Fail early, before any long work, if ``url`` cannot take this model's tables: unreachable, the
        source database itself, or already holding any of them (unless ``replace``)."""
        check_target(url, self.schema.written_tables(), replace=replace, source_url=self.source_url)

    def describe(self) -> dict:
        """What the fitted model holds: its HMA windows, the text model of each generated text column, the
        text columns it leaves empty and the columns it cannot learn (all as ``table.column``)."""
        self._check_fitted()
        generated = self.generated_text_columns
        return {"windows": self.relational_.describe_windows(),
                "text_models": {column: self.texts_.base_model for column in generated},
                "text_training": self.texts_.training_summary() if self.texts_ is not None else {},
                "empty_text_columns": [f"{t}.{c}" for t, cols in self.text_columns.items() for c in cols
                                       if f"{t}.{c}" not in generated],
                "unsupported_columns": [f"{t}.{c}" for t, cols in self.relational_.unsupported_columns.items() for c in cols],
                "binary_columns": self.relational_.binary_columns,
                "rules": [str(rule) for rule in self.relational_.schema_.rules or []],
                "notes": list(getattr(self.relational_, "notes_", [])),
                "differential_privacy": self.differential_privacy}

    @property
    def differential_privacy(self) -> dict | None:
        """ε and δ spent, per part and in total, when the tables were learned with DP (the texts' DP-SGD joins
        the total); None otherwise."""
        from synthbank.dp.accounting import with_texts

        self._check_fitted()
        if getattr(self.relational_, "dp_", None) is None:
            return None
        return with_texts(self.relational_.dp_.statement(), self.texts_.training_summary() if self.texts_ is not None else {})

    @property
    def rules(self) -> list:
        """The rules every synthetic row keeps (:class:`~synthbank.schemas.Rule`): the schema's, or those found
        on the real rows when fitting (see ``RelationalSettings.rules``)."""
        self._check_fitted()
        return list(self.relational_.schema_.rules or [])

    @property
    def text_columns(self) -> dict[str, list[str]]:
        """Free-text columns per table (written by the text engine, or left NULL with ``text=False``)."""
        self._check_fitted()
        return self.relational_.text_columns

    @property
    def generated_text_columns(self) -> list[str]:
        """``table.column`` of the text columns the text engine writes."""
        self._check_fitted()
        return self.texts_.columns if self.texts_ is not None else []

    def save(self, directory: str | Path) -> Path:
        """Write the fitted model to ``directory`` (created; replaced only once the new one is complete).

        An existing ``directory`` is replaced only if it is empty or holds a synthbank model."""
        self._check_fitted()
        with staged_directory(directory, kind="database") as staging:
            self.relational_.save(staging / "relational")
            if self.texts_ is not None:
                self.texts_.save(staging / "text")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None) -> DatabaseSynthesizer:
        """Load a model written by :meth:`save`. Model directories hold pickles: load only trusted ones."""
        directory = verify_model_directory(directory, "database")
        try:
            relational = RelationalSynthesizer.load(directory / "relational")
            self = cls(relational.schema_, relational=relational.settings, text=None)
            self.relational_ = relational
            self.texts_ = None
            if (directory / "text" / "texts.json").is_file():
                from synthbank.text.tables import DatabaseTexts

                self.texts_ = DatabaseTexts.load(directory / "text", relational.schema_, device=device)
        except SynthbankError:
            raise
        except Exception as exc:  # a damaged pickle or JSON file, or one from an incompatible version
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise SynthbankError(f"The model in '{directory}' cannot be loaded ({exc.__class__.__name__}"
                                 f"{': ' + detail if detail else ''}); it is damaged or from an incompatible version.") from None
        self.text = self.texts_.settings if self.texts_ is not None else None
        return self

    def _check_fitted(self):
        if not hasattr(self, "relational_"):
            raise SynthbankError("This synthesizer is not fitted yet: call fit() first (or load a model).")


__all__ = ["DatabaseSynthesizer", "SyntheticDatabase"]
