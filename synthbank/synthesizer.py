"""``DatabaseSynthesizer``: the common job in one object — read a database, learn it, write a synthetic one.

    DatabaseSynthesizer.from_url("sqlite:///bank.db").fit().sample(scale=2.0).to_url("sqlite:///synth.db")

or, without any database, DataFrames in and out:

    DatabaseSynthesizer(schema).fit(tables).sample(seed=1)   # -> dict-like of DataFrames
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from synthbank import seeding
from synthbank.errors import SchemaError, SynthbankError
from synthbank.files import staged_directory, verify_model_directory
from synthbank.relational.reader import read_tables
from synthbank.relational.synthesizer import (DEFAULT_CHUNK_ROWS, DEFAULT_ENGINE, RelationalSynthesizer, concat_blocks,
                                              group_chunks)
from synthbank.relational.writer import DEFAULT_BATCH_SIZE, WriteReport, write_tables
from synthbank.schemas.model import DatabaseSchema
from synthbank.schemas.reflect import reflect_schema

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


class SyntheticDatabase(dict):
    """Synthetic tables (name → DataFrame) with the schema they follow."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], schema: DatabaseSchema, source_url: str | None = None):
        super().__init__(tables)
        self.schema = schema
        self.source_url = source_url  # the database learned, if known: never written over

    def to_url(self, url: str, *, replace: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
               on_rows: Callable[[str, int, int], None] | None = None) -> WriteReport:
        """Create the schema's tables in ``url`` and write the rows (one transaction, FK order).

        Refuses the source database itself, and raises (writing nothing) when the final integrity check fails."""
        return write_tables(url, self.schema, self, replace=replace, batch_size=batch_size, on_rows=on_rows,
                            source_url=self.source_url)


def resolve_schema(reflected: DatabaseSchema, given: DatabaseSchema | str | Path | None, *, strict: bool = False) -> DatabaseSchema:
    """Combine a reviewed schema file with what the database really has.

    The file is authoritative for every table and column it lists. Tables or columns the file does not
    classify are taken as detected (with a warning), or refused with ``strict``. A table or column the
    file lists but the database lacks is an error.
    """
    if given is None:
        if strict:
            raise SchemaError("--strict needs a reviewed schema file (--schema) that classifies every column.")
        return reflected
    schema = given if isinstance(given, DatabaseSchema) else DatabaseSchema.load(given)
    tables = {}
    for name, table in schema.tables.items():
        if name not in reflected.tables:
            raise SchemaError(f"The schema file lists table '{name}', which the database does not have.")
        actual = reflected.tables[name]
        extra = [c for c in table.columns if c not in actual.columns]
        if extra:
            raise SchemaError(f"The schema file lists column(s) {', '.join(f'{name}.{c}' for c in extra)}, which the database does not have.")
        unclassified = [c for c in actual.columns if c not in table.columns]
        if unclassified and strict:
            raise SchemaError(f"--strict: the schema file does not classify {', '.join(f'{name}.{c}' for c in unclassified)}.")
        for column in unclassified:
            log.warning("%s.%s is not in the schema file; using the detected sdtype %r", name, column, actual.columns[column].sdtype)
            table.columns[column] = actual.columns[column]
        table.columns = {c: table.columns[c] for c in actual.columns}  # the database's column order
        tables[name] = table
    for name, table in reflected.tables.items():
        if name not in tables:
            if strict:
                raise SchemaError(f"--strict: the schema file does not classify table '{name}'.")
            log.warning("table %s is not in the schema file; using the detected schema", name)
            tables[name] = table
    return DatabaseSchema(tables, rare_threshold=schema.rare_threshold)


class DatabaseSynthesizer:
    """Learn a whole database and sample synthetic copies of it.

    Parameters: ``schema`` (a :class:`DatabaseSchema`, or None to take it from ``from_url`` or ``fit``),
    ``source_url`` (read by :meth:`fit` when no DataFrames are given), ``sample_rows`` (train on at most
    this many rows per root table, children followed by foreign key), ``default_distribution`` (of
    HMA's Gaussian copulas), ``text`` (write free-text columns with the LoRA-tuned text engine; False
    leaves them NULL), ``text_options`` (arguments of :class:`~synthbank.text.TextSynthesizer`:
    ``base_model``, ``training``, ``generation``, ``lora``, ``device``), ``rare_threshold`` (a categorical
    value held by fewer entities never reaches a model, tables and text context alike; default: the
    schema's ``rare_threshold``, 5), ``engine`` (``"fast"``: HMA's mathematics vectorised over all
    parents, the default; ``"sdv"``: SDV's own ``HMASynthesizer``, the slow reference). Nothing is read
    until :meth:`fit`.
    """

    def __init__(self, schema: DatabaseSchema | None = None, *, source_url: str | None = None,
                 sample_rows: int | None = None, default_distribution: str = "beta", text: bool = True,
                 text_options: Mapping | None = None, rare_threshold: int | None = None, engine: str = DEFAULT_ENGINE):
        self.schema = schema
        self.engine = engine
        self.rare_threshold = rare_threshold
        self.source_url = source_url
        self.sample_rows = sample_rows
        self.default_distribution = default_distribution
        self.text = text
        self.text_options = dict(text_options or {})

    @classmethod
    def from_url(cls, url: str, *, schema: DatabaseSchema | str | Path | None = None, strict: bool = False,
                 tables: list[str] | None = None, sample_rows: int | None = None, **kwargs) -> DatabaseSynthesizer:
        """Reflect ``url`` (read-only), merge a reviewed schema file if given, and remember the source."""
        if sample_rows is not None and sample_rows < 1:
            raise SynthbankError(f"--sample-rows must be at least 1, got {sample_rows}.")
        reflected = reflect_schema(url, tables)
        return cls(resolve_schema(reflected, schema, strict=strict), source_url=url, sample_rows=sample_rows, **kwargs)

    def fit(self, tables: Mapping[str, pd.DataFrame] | None = None, schema: DatabaseSchema | None = None, *,
            progress: Progress | None = None) -> DatabaseSynthesizer:
        """Learn the tables: given as DataFrames, or read from the source URL."""
        if schema is not None:
            self.schema = schema
        if self.schema is None:
            raise SchemaError("No schema: use DatabaseSynthesizer.from_url(url), or pass schema= to fit().")
        if tables is None:
            if self.source_url is None:
                raise SynthbankError("No data: pass tables to fit(), or create the synthesizer with from_url().")
            read: dict[str, int] = {}

            def on_rows(table: str, n: int, total: int) -> None:
                read[table] = read.get(table, 0) + n
                progress(f"reading {table}", read[table], total)

            tables = read_tables(self.source_url, self.schema, sample_rows=self.sample_rows,
                                 on_rows=on_rows if progress else None)
        rare = self.rare_threshold if self.rare_threshold is not None else self.schema.rare_threshold
        self.relational_ = RelationalSynthesizer(self.schema, engine=self.engine, rare_threshold=rare,
                                                 default_distribution=self.default_distribution)
        self.relational_.fit(dict(tables), progress=progress)
        self.texts_ = None
        if self.text and any(self.relational_.text_columns.values()):
            from synthbank.text.tables import DatabaseTexts

            self.texts_ = DatabaseTexts(self.schema, **{"rare_threshold": rare, **self.text_options}).fit(tables, progress=progress)
        return self

    def sample(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
               progress: Progress | None = None) -> SyntheticDatabase:
        """A synthetic database ``scale`` times the size of the training data, deterministic for ``seed``."""
        tables = concat_blocks([tables for _, tables in self._blocks(scale, seed, key_start, progress)])
        return SyntheticDatabase(tables, self.schema, source_url=getattr(self, "source_url", None))

    def sample_chunks(self, scale: float = 1.0, seed: int = 0, *, key_start: int = 0,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None):
        """The tables of :meth:`sample` as a stream of chunks (dicts of DataFrames) of about ``chunk_rows``
        rows; the output for a seed does not depend on ``chunk_rows``, memory does."""
        return group_chunks(self._blocks(scale, seed, key_start, progress), chunk_rows)

    def sample_to_url(self, url: str, *, scale: float = 1.0, seed: int = 0, replace: bool = False,
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, batch_size: int = DEFAULT_BATCH_SIZE,
                      on_rows: Callable[[str, int, int | None], None] | None = None,
                      progress: Progress | None = None) -> WriteReport:
        """Sample and write chunk by chunk into ``url``, all in one transaction: peak memory does not grow
        with ``scale``. Refuses the source database; nothing is written when anything fails."""
        self._check_fitted()
        return write_tables(url, self.schema, self.sample_chunks(scale, seed, chunk_rows=chunk_rows, progress=progress),
                            replace=replace, batch_size=batch_size, on_rows=on_rows,
                            source_url=getattr(self, "source_url", None))

    def _blocks(self, scale, seed, key_start, progress):
        """``(block, tables)`` from the relational engine, with their free text written."""
        self._check_fitted()
        fixed: dict[str, pd.DataFrame] = {}
        for block, tables in self.relational_.sample_blocks(scale, seed, key_start=key_start, progress=progress):
            if self.texts_ is not None:
                if block == 0:  # copy/subset tables come with the first block; later blocks' texts refer to them
                    fixed = {n: f for n, f in tables.items() if self.schema.tables[n].mode in ("copy", "subset")}
                self.texts_.fill({**fixed, **tables}, seed=seeding.int_seed(seed, "text", block), progress=progress)
            yield block, tables

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
            self = cls(relational.schema, default_distribution=relational.default_distribution, engine=relational.engine)
            self.relational_ = relational
            self.texts_ = None
            if (directory / "text" / "texts.json").is_file():
                from synthbank.text.tables import DatabaseTexts

                self.texts_ = DatabaseTexts.load(directory / "text", relational.schema, device=device)
        except SynthbankError:
            raise
        except Exception as exc:  # a damaged pickle or JSON file, or one from an incompatible version
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise SynthbankError(f"The model in '{directory}' cannot be loaded ({exc.__class__.__name__}"
                                 f"{': ' + detail if detail else ''}); it is damaged or from an incompatible version.") from None
        self.text = self.texts_ is not None
        return self

    def _check_fitted(self):
        if not hasattr(self, "relational_"):
            raise SynthbankError("This synthesizer is not fitted yet: call fit() first (or load a model).")


__all__ = ["DatabaseSynthesizer", "SyntheticDatabase", "resolve_schema"]
