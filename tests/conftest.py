"""Shared fixtures: fresh, migrated databases on SQLite and on the real PostgreSQL server.

PostgreSQL tests never skip: when the server cannot be reached they fail, loudly.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from payez.adapters.db.migrate import migrate

POSTGRES_ADMIN_URL = os.environ.get(
    "PAYEZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

DatabaseFactory = Callable[[str], str]


def _admin_connect() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the failure is the point
        pytest.fail(f"PostgreSQL is required and unreachable at {POSTGRES_ADMIN_URL}: {exc}")


@contextlib.contextmanager
def _databases(tmp_path: Path, *, migrated: bool) -> Iterator[DatabaseFactory]:
    created: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'payez-{uuid.uuid4().hex[:8]}.db'}"
        elif kind == "postgres":
            name = f"payez_test_{uuid.uuid4().hex[:12]}"
            with _admin_connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        else:
            raise ValueError(kind)
        if migrated:
            migrate(url)
        return url

    try:
        yield make
    finally:
        if created:
            with _admin_connect() as conn:
                for name in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_factory(tmp_path: Path) -> Iterator[DatabaseFactory]:
    """Makes fresh, migrated databases: ``factory("sqlite")`` or ``factory("postgres")``."""
    with _databases(tmp_path, migrated=True) as make:
        yield make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> str:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    return database_factory(request.param)


@pytest.fixture
def postgres_url(database_factory: DatabaseFactory) -> str:
    return database_factory("postgres")


@pytest.fixture
def sqlite_url(database_factory: DatabaseFactory) -> str:
    return database_factory("sqlite")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no migration applied), once on SQLite and once on PostgreSQL:
    for tests of the migrations themselves."""
    with _databases(tmp_path, migrated=False) as make:
        yield make(request.param)
