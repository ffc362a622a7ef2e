"""Opening databases: URL handling, read-only engines and clear errors.

Every database synthbank reads is opened read-only at the driver level, so that no bug can modify a
source: SQLite through ``mode=ro`` URIs, PostgreSQL with ``default_transaction_read_only``, MariaDB/MySQL
with ``SET SESSION TRANSACTION READ ONLY``, DuckDB files with DuckDB's ``read_only`` connections. A folder
of Parquet or CSV files (:mod:`synthbank.folders`) is read through an in-memory DuckDB database holding
one view per table file.

A plain path (no ``://``) names a SQLite file, a DuckDB file (``.duckdb``, ``.ddb``) or a folder: an
existing folder, or a new path without a suffix (a Parquet folder; ``csv:PATH`` names a CSV one).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from synthbank.errors import DatabaseConnectionError
from synthbank.folders import Folder, create_views, folder_format, named_folder, table_files

log = logging.getLogger(__name__)

#: Drivers synthbank installs; a URL that names only the dialect gets these.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
#: A plain path with one of these suffixes is a DuckDB file.
_DUCKDB_SUFFIXES = {".duckdb", ".ddb"}


#: ``scheme://user:password@`` in any text; the password part is masked in every message.
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>[^\s]*)@")
#: A dialect name that starts a plain "path": a URL missing its ``://`` (``postgresql:/u:pw@h/db``).
_URL_LIKE_PATH = re.compile(r"^(postgres(ql)?|mysql|mariadb|sqlite|oracle|mssql)[\w+]*(:|/)", re.IGNORECASE)


def mask_passwords(text: str) -> str:
    """``text`` with whatever stands between ``scheme://user:`` and ``@`` replaced by ``***``.

    Works on text that is not a valid URL too (a bad port, an unescaped ``@`` in the password)."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('head')}***@", str(text))


def url_passwords(text: str) -> list[str]:
    """The passwords written in ``text`` (as ``scheme://user:password@``), to hide them wherever they appear."""
    found = [m.group("password") for m in _CREDENTIALS.finditer(str(text))]
    try:  # the password as the driver sees it (percent-decoded)
        password = make_url(str(text)).password if "://" in str(text) else None
        found.append(password or "")
    except Exception:  # noqa: BLE001 - an unparsable URL: the regex above still found it
        pass
    return [p for p in found if len(p) >= 2]


def normalize_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL from a URL, a plain path (a SQLite file, a DuckDB file, a folder of files) or a
    ``parquet:``/``csv:`` folder name; a folder becomes ``parquet:///abs/path`` or ``csv:///abs/path``."""
    text = str(url_or_path)
    folder = named_folder(text)
    if folder is not None:
        return folder.url
    if "://" not in text:
        path = Path(text).expanduser()
        if path.is_dir() or (not path.exists() and not path.suffix and not _URL_LIKE_PATH.match(text)):
            resolved = path.resolve()
            return Folder(resolved, folder_format(resolved)).url
        if path.suffix.lower() in _DUCKDB_SUFFIXES:
            return URL.create("duckdb", database=str(path.resolve())).render_as_string(hide_password=False)
        if _URL_LIKE_PATH.match(text) and not Path(text).exists():
            raise DatabaseConnectionError(f"'{mask_passwords(_mask_plain(text))}' looks like a database URL but lacks '://' "
                                          "(write dialect://user:password@host:port/database).")
        path = Path(text).expanduser().resolve()
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    shown = mask_passwords(text)
    try:
        url = make_url(text)
    except ValueError as exc:  # ArgumentError is a ValueError too; int('notaport') raises a plain one
        port = re.search(r"@[^/@\s]*:([^/?\s]*)", text)
        if not isinstance(exc, sa.exc.ArgumentError) and port:
            raise DatabaseConnectionError(f"'{shown}' is not a valid database URL: the port '{port.group(1)}' is not a number.") from None
        raise DatabaseConnectionError(f"'{shown}' is not a valid database URL "
                                      "(write dialect://user:password@host:port/database).") from None
    if url.host and "@" in url.host:
        raise DatabaseConnectionError(f"'{shown}' has more than one '@': write an '@' inside the user name or password as %40.")
    if url.drivername in _DEFAULT_DRIVERS:
        url = url.set(drivername=_DEFAULT_DRIVERS[url.drivername])
    return url.render_as_string(hide_password=False)


def _mask_plain(text: str) -> str:
    """``user:password@`` in a URL-like text without ``://``."""
    return re.sub(r"([^:/@\s]+:)[^\s]*@", r"\1***@", text)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ValueError:
        return mask_passwords(url)


def folder_of(url: str) -> Folder | None:
    """The folder a (normalized) URL names, or None for a database."""
    return named_folder(url) if "://" in str(url) else None


def file_path(url: str) -> Path | None:
    """The file of a SQLite or DuckDB URL (None for servers and in-memory databases)."""
    if folder_of(url):
        return None
    if make_url(url).get_backend_name() == "duckdb":
        database = make_url(url).database
        return None if database in (None, "", ":memory:") or database.startswith("md:") else Path(database)
    return sqlite_path(url)


def _location_path(url: str) -> Path | None:
    """Where a (normalized) URL's data lies on disk: its folder, or its SQLite or DuckDB file."""
    folder = folder_of(url)
    return folder.path if folder is not None else file_path(url)


def sqlite_path(url: str) -> Path | None:
    if folder_of(url):
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = parsed.database
    if database.startswith("file:"):  # a URI filename (``sqlite:///file:x.db?mode=ro&uri=true``)
        database = database[len("file:"):]
    return Path(database)


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


def same_database(first: str | Path, second: str | Path) -> bool:
    """Whether two URLs/paths name the same database: the same SQLite file (resolved), or the same server
    (host, port) and database name. Used to refuse writing a synthetic copy over its source."""
    first, second = normalize_url(first), normalize_url(second)
    if folder_of(first) or folder_of(second) or make_url(first).get_backend_name() == "duckdb":
        path_a, path_b = _location_path(first), _location_path(second)
        return path_a is not None and path_b is not None and path_a.resolve() == path_b.resolve()
    a, b = make_url(first), make_url(second)
    family = {"mariadb": "mysql"}
    backend_a, backend_b = a.get_backend_name(), b.get_backend_name()
    if family.get(backend_a, backend_a) != family.get(backend_b, backend_b):
        return False
    if backend_a == "sqlite":
        path_a, path_b = sqlite_path(str(a)), sqlite_path(str(b))
        if path_a is None or path_b is None:
            return False
        try:
            if path_a.exists() and path_b.exists():
                return os.path.samefile(path_a, path_b)
        except OSError:
            pass
        return path_a.resolve() == path_b.resolve()
    host_a, host_b = (a.host or "").lower(), (b.host or "").lower()
    if not (host_a == host_b or (host_a in _LOCAL_HOSTS and host_b in _LOCAL_HOSTS)):
        return False
    default = _DEFAULT_PORTS.get(family.get(backend_a, backend_a))
    return (a.port or default) == (b.port or default) and (a.database or "") == (b.database or "")


def refuse_same_database(source: str | Path, target: str | Path) -> None:
    """Raise when ``target`` is the ``source`` database itself, or lies inside (or around) the source folder."""
    if same_database(source, target):
        raise DatabaseConnectionError(f"The target '{display_url(normalize_url(target))}' is the source database itself; "
                                      "write the synthetic copy to another database.")
    source_folder, target_path = folder_of(normalize_url(source)), _location_path(normalize_url(target))
    if source_folder is not None and target_path is not None:
        inner, outer = target_path.resolve(), source_folder.path.resolve()
        if outer in inner.parents or inner in outer.parents:
            raise DatabaseConnectionError(f"The target '{target_path}' lies inside the source folder '{source_folder.path}' (or holds it); "
                                          "write the synthetic copy outside it.")


def open_engine(url_or_path: str | Path, *, read_only: bool) -> sa.Engine:
    """Create an engine and check that the database answers."""
    url = normalize_url(url_or_path)
    shown = display_url(url)
    folder = folder_of(url)
    if folder is not None:
        if not read_only:
            raise DatabaseConnectionError(f"The folder '{folder.path}' is written as files, not through a database connection.")
        return _folder_engine(folder)
    backend = make_url(url).get_backend_name()
    kwargs: dict = {}
    if backend == "duckdb":
        path = file_path(url)
        if read_only and path is not None and not path.is_file():
            raise DatabaseConnectionError(f"The DuckDB database '{path}' does not exist.")
        if not read_only and path is not None and not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the DuckDB database does not exist.")
        kwargs["connect_args"] = {"read_only": read_only}
    elif backend == "sqlite":
        path = sqlite_path(url)
        if read_only:
            if path is None or not path.is_file():
                raise DatabaseConnectionError(f"The SQLite database '{path or url}' does not exist.")
            # A URI filename, percent-encoded: an unescaped '#', '?' or '%' in the path would end the
            # filename early (and drop mode=ro), so SQLite would open or create another file read-write.
            uri = f"file:{quote(str(path), safe='/')}?mode=ro"
            kwargs["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
        elif path is not None and not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the SQLite database does not exist.")
    elif backend == "postgresql" and read_only:
        # beside the URL's own options (``?options=-csearch_path%3Dbank`` reads the schema ``bank``)
        given = make_url(url).query.get("options", "")
        given = " ".join(given) if isinstance(given, tuple) else given
        kwargs["connect_args"] = {"options": f"{given} -c default_transaction_read_only=on".strip()}
    try:
        engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise DatabaseConnectionError(f"Cannot open '{shown}': {_first_line(exc)}.") from None
    except ModuleNotFoundError as exc:
        raise DatabaseConnectionError(f"Cannot open '{shown}': its driver '{exc.name}' is not installed.") from None
    if backend == "duckdb":
        _without_duckdb_progress(engine)
    if read_only and backend in {"mysql", "mariadb"}:
        @sa.event.listens_for(engine, "connect")
        def _read_only_session(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
    return _answering(engine, f"Cannot connect to '{shown}'")


def _answering(engine: sa.Engine, failure: str) -> sa.Engine:
    """``engine`` once it has answered ``SELECT 1``; otherwise disposed, and ``failure``: the reason, raised."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise DatabaseConnectionError(f"{failure}: {mask_passwords(_first_line(exc.orig or exc))}.") from None
    return engine


def _folder_engine(folder: Folder) -> sa.Engine:
    """An in-memory DuckDB engine in which each table file of ``folder`` is a view (files are only read)."""
    table_files(folder)  # one sentence now if the folder is missing or holds no table files
    try:
        engine = sa.create_engine("duckdb:///:memory:")
    except sa.exc.NoSuchModuleError:
        raise DatabaseConnectionError(f"Reading the folder '{folder.path}' needs DuckDB: pip install duckdb duckdb-engine.") from None

    _without_duckdb_progress(engine)

    @sa.event.listens_for(engine, "connect")
    def _views(dbapi_connection, record):
        create_views(dbapi_connection, folder)
        record.info["synthbank_folder"] = str(folder.path)  # reflection lists the views and finds the keys

    return _answering(engine, f"Cannot read the folder '{folder.path}'")


def _without_duckdb_progress(engine: sa.Engine) -> None:
    """DuckDB draws its own progress bar on the terminal during a long query; synthbank shows progress its own way."""
    @sa.event.listens_for(engine, "connect")
    def _no_bar(dbapi_connection, _record):
        dbapi_connection.execute("SET enable_progress_bar = false")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text.rstrip(".")
