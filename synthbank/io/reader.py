"""Reading tables from a source database into DataFrames: read-only, chunked, optionally a sample.

Without ``sample_rows`` every table is read whole, in chunks of :data:`CHUNK_ROWS` rows.

With ``sample_rows=N`` only the sample crosses the wire; the rest of the source is never loaded:

- A table none of whose parents (among the tables read) was sampled — a root, a lookup table, a
  ``copy``/``subset`` table, or a child whose parents were all read whole — is read whole when it has at
  most N rows. Otherwise N of its rows are drawn: its key columns (the primary key, else a NOT NULL unique
  key) are read alone, in chunks, and sorted; N positions are drawn with the seeded generator
  ``seeding.rng(seed, "sample rows", table)``; those rows are fetched by ``WHERE key IN (...)`` in chunks of
  :data:`_IN_LIST` keys (a composite key as a row value, ``(a, b) IN ((..), ..)``). The sample depends on
  the seed and the data only, not on the order the backend returns rows in. A table with no such key
  cannot fetch a chosen row back: it is scanned once in chunks, keeping the N rows with the smallest seeded
  hash of their values — memory stays bounded and the result is again independent of the row order, but
  every row of that table crosses the wire once.
- A child of a sampled table is fetched by foreign key: ``WHERE fk IN (kept parent keys)``, in chunks of
  keys, streamed. With several NOT NULL foreign keys to sampled parents the most selective one (smallest
  share of its parent kept) drives the query and the others are checked in pandas. A NOT NULL foreign key
  must point at a kept parent row or the row is left out; a nullable foreign key pointing at a row left
  out becomes NULL. Foreign keys to parents read whole never restrict anything (they would select the
  whole child).
- A child whose foreign keys to sampled parents are all nullable gets the rows linked to a kept parent
  through any of them, plus a seeded sample of its rows in which every such key is NULL, at the largest
  kept share among those parents (so at most about N·child rows/root rows of them, and the NULL rate is
  kept). Rows whose keys point only at parent rows left out are left out, like the children of those
  parents: reading them would pull the whole table in.
- Self-references and cycle-closing foreign keys (``schema.deferred_edges()``) are not followed while
  reading; once every table is read, a nullable one pointing outside the sample becomes NULL. A NOT NULL
  self-reference is left as read (the engine treats a key pointing at no row as NULL).

Values are returned as the driver gives them; :func:`synthbank.relational.frames.normalize` turns them into
model dtypes. ``on_rows(table, n, total)`` is called after each chunk of rows read; for a child of a sampled
table ``total`` is an estimate (its row count times its parent's kept share), and a last call with ``n=0``
gives the true total when it differed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthbank import seeding
from synthbank.database import display_url, open_engine
from synthbank.errors import DatabaseConnectionError
from synthbank.schemas.model import DatabaseSchema, ForeignKey, Table

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
#: Keys per ``IN (...)`` list when fetching chosen rows or the children of kept rows.
_IN_LIST = 1_000
#: Dialects that accept row values, ``(a, b) IN ((1, 2), ...)``; others get ``(a = 1 AND b = 2) OR ...``.
_ROW_VALUES = {"postgresql", "mysql", "mariadb", "sqlite", "duckdb", "cockroachdb"}

OnRows = Callable[[str, int, int], None] | None


def read_tables(
    url: str,
    schema: DatabaseSchema,
    tables: list[str] | None = None,
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    on_rows: OnRows = None,
) -> dict[str, pd.DataFrame]:
    """Read ``tables`` (default: every table whose mode is not ``exclude``) from ``url``.

    With ``sample_rows`` only a sample is read, chosen in SQL (see the module's description).
    """
    names = tables or [t.name for t in schema.tables.values() if not t.is_excluded]
    order = [name for name in schema.read_order() if name in names]
    engine = open_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            if sample_rows is None:
                frames = {}
                for name in order:
                    columns = list(schema.table(name).columns)
                    frames[name] = _read_all(connection, name, columns, _count(connection, name), on_rows)
                return frames
            return _Sample(connection, schema, sample_rows, seed, on_rows).read(order)
    except sa.exc.DBAPIError as exc:
        raise DatabaseConnectionError(f"Reading from '{display_url(url)}' failed: {str(exc.orig).splitlines()[0]}.") from None
    finally:
        engine.dispose()


class _Sample:
    """One sampled read: which tables were sampled and how large a share of each was kept."""

    def __init__(self, connection: sa.Connection, schema: DatabaseSchema, n: int, seed: int, on_rows: OnRows):
        self.connection, self.schema, self.n, self.seed, self.callback = connection, schema, n, seed, on_rows
        self.on_rows = self._count_rows if on_rows else None
        self.fetched: dict[str, tuple[int, int]] = {}  # rows read and the total last announced, per table
        self.frames: dict[str, pd.DataFrame] = {}
        self.counts: dict[str, int] = {}
        self.sampled: dict[str, bool] = {}  # False: every row of the table was read
        self.followed: dict[str, set[int]] = {}

    def read(self, order: list[str]) -> dict[str, pd.DataFrame]:
        for name in order:
            table = self.schema.table(name)
            self.counts[name] = _count(self.connection, name)
            parents = [(i, fk) for i, fk in enumerate(table.foreign_keys) if fk.parent in self.frames and fk.parent != name]
            self.followed[name] = {i for i, _ in parents}
            restricting = [fk for _, fk in parents if self.sampled[fk.parent]]
            if restricting:
                frame = self._children(table, restricting)
            else:
                frame = self._rows(table, self.n)
            if parents:
                frame = _follow_parents(frame, table, [fk for _, fk in parents], self.frames)
            self.frames[name] = frame
            self.sampled[name] = bool(restricting) or self.counts[name] > self.n
            read, announced = self.fetched.get(name, (0, 0))
            if self.callback and read != announced:  # the estimate was off: end the bar at the true total
                self.callback(name, 0, read)
        for name, frame in self.frames.items():  # self-references and cycle-closing keys, now that all is read
            table = self.schema.table(name)
            deferred = [fk for i, fk in enumerate(table.foreign_keys) if i not in self.followed[name]
                        and fk.parent in self.frames and all(table.columns[c].nullable for c in fk.columns)]
            if deferred:
                self.frames[name] = _follow_parents(frame, table, deferred, self.frames)
        return self.frames

    def _count_rows(self, table: str, n: int, total: int) -> None:
        read = self.fetched.get(table, (0, 0))[0] + n
        self.fetched[table] = (read, total)
        self.callback(table, n, total)

    def _share(self, fk: ForeignKey) -> float:
        return len(self.frames[fk.parent]) / max(self.counts[fk.parent], 1)

    def _rows(self, table: Table, k: int, where=None, total: int | None = None) -> pd.DataFrame:
        """``k`` rows of ``table`` (those matching ``where``), drawn in SQL; all of them when there are no more."""
        name, columns = table.name, list(table.columns)
        total = self.counts[name] if total is None else total
        key = _row_key(table)
        if total <= k:
            return _sort(_read_all(self.connection, name, columns, total, self.on_rows, where), key)
        if key is None:
            log.info("%s has no primary or NOT NULL unique key: scanning it once to draw %d rows", name, k)
            return _hash_sample(self.connection, name, columns, where, k, seeding.int_seed(self.seed, "sample rows", name),
                                total, self.on_rows)
        keys = _read_columns(self.connection, name, key, where)
        keys = _sort(keys.drop_duplicates(), key)
        if len(keys) > k:
            positions = np.sort(seeding.rng(self.seed, "sample rows", name).choice(len(keys), size=k, replace=False))
            keys = keys.iloc[positions]
        frame = _fetch_in(self.connection, name, columns, key, keys, self.on_rows, k)
        return _sort(frame, key)

    def _children(self, table: Table, restricting: list[ForeignKey]) -> pd.DataFrame:
        """The rows of ``table`` that hang from kept rows of its sampled parents."""
        name, columns = table.name, list(table.columns)
        count = self.counts[name]
        required = [fk for fk in restricting if not any(table.columns[c].nullable for c in fk.columns)]
        if required:
            driver = min(required, key=self._share)
            frame = _fetch_in(self.connection, name, columns, driver.columns, self._kept(driver), self.on_rows,
                              math.ceil(count * self._share(driver)))
            return _sort(frame, table.primary_key or driver.columns)
        # only nullable keys restrict: rows linked through any of them, then a share of the all-NULL rows
        parts = []
        for j, fk in enumerate(restricting):
            part = _fetch_in(self.connection, name, columns, fk.columns, self._kept(fk), self.on_rows,
                             math.ceil(count * self._share(fk)))
            for earlier in restricting[:j]:  # already fetched through an earlier key
                part = part[~_matches(part, earlier.columns, self._kept(earlier))]
            parts.append(part)
        unlinked = sa.and_(*[sa.or_(*[sa.column(c).is_(None) for c in fk.columns]) for fk in restricting])
        null_count = _count(self.connection, name, unlinked)
        share = max(self._share(fk) for fk in restricting)
        parts.append(self._rows(table, round(null_count * share), unlinked, null_count))
        frame = pd.concat([p for p in parts if len(p)] or parts[-1:], ignore_index=True)
        return _sort(frame, table.primary_key) if table.primary_key else frame

    def _kept(self, fk: ForeignKey) -> pd.DataFrame:
        """The kept parent keys a foreign key may point at, named as the child's columns."""
        parent = self.frames[fk.parent][fk.parent_columns].dropna().drop_duplicates()
        return _sort(parent.set_axis(fk.columns, axis=1), fk.columns)


def _count(connection, name: str, where=None) -> int:
    query = sa.select(sa.func.count()).select_from(sa.table(name))
    return connection.execute(query if where is None else query.where(where)).scalar_one()


def _row_key(table: Table) -> list[str] | None:
    """Columns that name one row: the primary key, else a unique key with no NULLs."""
    if table.primary_key:
        return list(table.primary_key)
    candidates = [*table.unique, *[[c.name] for c in table.columns.values() if c.unique]]
    for columns in candidates:
        if columns and not any(table.columns[c].nullable for c in columns):
            return list(columns)
    return None


def _stream(connection, query, columns: list[str], name: str | None = None, total: int = 0, on_rows: OnRows = None):
    result = connection.execution_options(stream_results=True).execute(query)
    while rows := result.fetchmany(CHUNK_ROWS):
        if on_rows and name:
            on_rows(name, len(rows), total)
        yield rows


def _frame(chunks: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(chunks, ignore_index=True)


def _select(name: str, columns: list[str], where=None):
    query = sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(name))
    return query if where is None else query.where(where)


def _read_all(connection, name: str, columns: list[str], total: int, on_rows: OnRows, where=None) -> pd.DataFrame:
    chunks = [pd.DataFrame(rows, columns=columns)
              for rows in _stream(connection, _select(name, columns, where), columns, name, total, on_rows)]
    return _frame(chunks, columns)


def _read_columns(connection, name: str, columns: list[str], where=None) -> pd.DataFrame:
    """Some columns of every row (matching ``where``), without progress: the key scan of a sampled table."""
    return _frame([pd.DataFrame(rows, columns=columns) for rows in _stream(connection, _select(name, columns, where), columns)],
                  columns)


def _fetch_in(connection, name: str, columns: list[str], key: list[str], keys: pd.DataFrame, on_rows: OnRows,
              total: int) -> pd.DataFrame:
    """The rows whose ``key`` columns take one of the values in ``keys``, ``_IN_LIST`` values per query."""
    values = [tuple(_native(v) for v in row) for row in keys[key].itertuples(index=False, name=None)]
    row_values = len(key) == 1 or connection.dialect.name in _ROW_VALUES
    step = _IN_LIST if row_values else max(_IN_LIST // (4 * len(key)), 1)
    chunks = []
    for start in range(0, len(values), step):
        batch = values[start:start + step]
        if len(key) == 1:
            condition = sa.column(key[0]).in_([v[0] for v in batch])
        elif row_values:
            condition = sa.tuple_(*[sa.column(c) for c in key]).in_(batch)
        else:
            condition = sa.or_(*[sa.and_(*[sa.column(c) == v for c, v in zip(key, row)]) for row in batch])
        chunks += [pd.DataFrame(rows, columns=columns)
                   for rows in _stream(connection, _select(name, columns, condition), columns, name, total, on_rows)]
    return _frame(chunks, columns)


def _hash_sample(connection, name: str, columns: list[str], where, k: int, seed: int, total: int,
                 on_rows: OnRows) -> pd.DataFrame:
    """The ``k`` rows with the smallest seeded hash of their values, in one streamed scan (no key to fetch by)."""
    hash_key = f"{seed:016x}"[-16:]
    best, best_hashes = None, np.zeros(0, dtype=np.uint64)
    for rows in _stream(connection, _select(name, columns, where), columns, name, total, on_rows):
        chunk = pd.DataFrame(rows, columns=columns, dtype=object)  # raw values: a row hashes alike in any chunk
        hashes = pd.util.hash_pandas_object(chunk.astype(str), index=False, hash_key=hash_key).to_numpy()
        if best is not None:
            chunk, hashes = pd.concat([best, chunk], ignore_index=True), np.concatenate([best_hashes, hashes])
        keep = np.argsort(hashes, kind="stable")[:k]
        best, best_hashes = chunk.iloc[keep].reset_index(drop=True), hashes[keep]
    if best is None or not len(best):
        return _frame([], columns)
    return pd.DataFrame(list(best.itertuples(index=False, name=None)), columns=columns)


def _native(value):
    """A value a DB-API driver accepts as a parameter (pandas and numpy scalars become Python ones)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sort(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` in the order of ``columns`` (rows the backend may return in any order get one order)."""
    if not columns or len(frame) < 2:
        return frame.reset_index(drop=True)
    try:
        return frame.sort_values(list(columns), kind="stable", ignore_index=True)
    except TypeError:  # values of mixed types that do not compare: keep the order read
        return frame.reset_index(drop=True)


def _matches(frame: pd.DataFrame, columns: list[str], keys: pd.DataFrame) -> np.ndarray:
    """Whether each row's ``columns`` take a value among ``keys`` (same column names)."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    hit = frame[columns].merge(keys[columns].drop_duplicates().assign(_hit=True), how="left", on=columns)["_hit"]
    return hit.eq(True).to_numpy()


def _follow_parents(frame: pd.DataFrame, table: Table, parents: list[ForeignKey], frames) -> pd.DataFrame:
    """Keep the rows whose NOT NULL foreign keys point at kept parent rows; NULL the nullable ones that do not."""
    keep = pd.Series(True, index=frame.index)
    for fk in parents:
        parent_keys = frames[fk.parent][fk.parent_columns].drop_duplicates()
        values = frame[fk.columns]
        present = values.notna().all(axis=1)
        matched = values.merge(parent_keys.set_axis(fk.columns, axis=1).assign(_hit=True), how="left", on=fk.columns)["_hit"]
        matched = matched.eq(True).to_numpy()
        outside = present.to_numpy() & ~matched
        nullable = all(table.columns[c].nullable for c in fk.columns)
        if nullable:
            frame.loc[outside, fk.columns] = None
        else:
            keep &= ~outside
    return frame[keep].reset_index(drop=True)
