"""Shared fixtures: a fresh, empty database on each backend the machine has.

PostgreSQL and MariaDB tests run against the real servers (127.0.0.1, see README); each test gets its own
throw-away database. Where a server is not reachable those tests are skipped with the reason.
Override the admin URLs with SYNTHBANK_TEST_POSTGRES_URL / SYNTHBANK_TEST_MARIADB_URL.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POSTGRES_ADMIN = os.environ.get("SYNTHBANK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN = os.environ.get("SYNTHBANK_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ["sqlite", "postgresql", "mariadb"]


def _server_engine(admin_url: str) -> sa.Engine:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to reach the server means: skip, with the reason
        engine.dispose()
        pytest.skip(f"{admin_url.split('://')[0]} server not reachable at {admin_url}: {str(exc).splitlines()[0]}")
    return engine


def _fresh_database(backend: str, tmp_path):
    """Yield the URL of a new empty database on ``backend``; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'db_{uuid.uuid4().hex[:8]}.db'}"
        return
    admin_url = POSTGRES_ADMIN if backend == "postgresql" else MARIADB_ADMIN
    engine = _server_engine(admin_url)
    name = f"synthbank_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A fresh empty database, once per backend."""
    yield from _fresh_database(request.param, tmp_path)


@pytest.fixture
def second_database_url(database_url, tmp_path):
    """Another fresh empty database on the same backend as ``database_url``."""
    backend = sa.engine.make_url(database_url).get_backend_name()
    yield from _fresh_database("mariadb" if backend == "mysql" else backend, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bank.db'}"


@pytest.fixture(scope="session")
def demo_tables():
    """The demo bank at a small size, generated once per test session."""
    from synthbank.demo_bank import generate_demo_bank

    return generate_demo_bank(users=300, seed=7)
