"""Opening databases: URL handling, read-only engines and clear errors.

Every database synthbank reads is opened read-only at the driver level, so that no bug can modify a
source: SQLite through ``mode=ro`` URIs, PostgreSQL with ``default_transaction_read_only``, MariaDB/MySQL
with ``SET SESSION TRANSACTION READ ONLY``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from synthbank.errors import DatabaseConnectionError

log = logging.getLogger(__name__)

#: Drivers synthbank installs; a URL that names only the dialect gets these.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


def normalize_url(url_or_path: str | Path) -> str:
    """Accept a SQLAlchemy URL or a plain path to a SQLite file."""
    text = str(url_or_path)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise DatabaseConnectionError(f"'{text}' is not a valid database URL.") from None
    if url.drivername in _DEFAULT_DRIVERS:
        url = url.set(drivername=_DEFAULT_DRIVERS[url.drivername])
    return url.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_engine(url_or_path: str | Path, *, read_only: bool) -> sa.Engine:
    """Create an engine and check that the database answers."""
    url = normalize_url(url_or_path)
    shown = display_url(url)
    backend = make_url(url).get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite":
        path = sqlite_path(url)
        if read_only:
            if path is None or not path.is_file():
                raise DatabaseConnectionError(f"The SQLite database '{path or url}' does not exist.")
            url = f"sqlite:///file:{path}?mode=ro&uri=true"
        elif path is not None and not path.parent.is_dir():
            raise DatabaseConnectionError(f"The folder '{path.parent}' for the SQLite database does not exist.")
    elif backend == "postgresql" and read_only:
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    try:
        engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise DatabaseConnectionError(f"Cannot open '{shown}': {_first_line(exc)}.") from None
    except ModuleNotFoundError as exc:
        raise DatabaseConnectionError(f"Cannot open '{shown}': its driver '{exc.name}' is not installed.") from None
    if read_only and backend in {"mysql", "mariadb"}:
        @sa.event.listens_for(engine, "connect")
        def _read_only_session(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise DatabaseConnectionError(f"Cannot connect to '{shown}': {_first_line(exc.orig or exc)}.") from None
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text.rstrip(".")
