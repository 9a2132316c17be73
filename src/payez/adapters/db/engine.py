"""Engines for the two databases Payez runs on, from plain URLs.

Users write ``sqlite:///path/to/file.db`` or ``postgresql://user@host:port/dbname``; the project
picks its own drivers (the standard library's sqlite3, psycopg 3).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from payez.domain.errors import InvalidInput

log = logging.getLogger("payez.db")


class DatabaseUrlInvalid(InvalidInput):
    code = "database_url_invalid"
    message_fr = (
        "Adresse de base de données invalide : sqlite:///chemin.db ou postgresql://user@hôte/base."
    )
    message_en = "Invalid database URL: use sqlite:///path.db or postgresql://user@host/dbname."


def driver_url(url: str) -> str:
    """The SQLAlchemy URL with our driver for a plain ``sqlite:`` or ``postgresql:`` URL."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with no stable subclass.
        raise DatabaseUrlInvalid(url) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise DatabaseUrlInvalid(url)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


SQLITE_BUSY_SECONDS = 30  # how long a connection waits for another process's write


def _use_wal(cursor: Any) -> None:
    """Switch a file to WAL, waiting for other processes as every statement does.

    SQLite answers "database is locked" at once, without its busy wait, when the switch meets
    another connection's write: processes started together on a new file (``payez serve`` and
    its workers) would otherwise die there. A file in WAL already needs no wait."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        # WAL with full sync: a committed payment survives a power cut.
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers never deadlock upgrading
        # from a read lock, and a balance read inside the transaction stays true until commit.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for ``url`` (plain or with a driver), configured for money."""
    full = driver_url(url)
    if full.startswith("sqlite"):
        # Connections are kept (SQLAlchemy's default pool): opening one costs the PRAGMAs, and
        # closing the last one checkpoints the whole WAL, ten milliseconds a transaction.
        engine = create_engine(full, echo=echo)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        full,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="READ COMMITTED",
        # A server that stopped answering (not one that refuses) fails a connection in seconds,
        # not after the system's two-minute TCP timeout.
        connect_args={"connect_timeout": 10},
    )
    _ping_connections_that_rested(engine)
    return engine


# A pooled connection back in use within this long of its last use is not pinged first.
PING_AFTER_REST_SECONDS = 1.0
_RESTING_SINCE = "payez_resting_since"


def _ping_connections_that_rested(engine: Engine) -> None:
    """Ping a pooled connection before use only if it sat unused for a while.

    A connection can die while it rests in the pool (the server restarted, a proxy dropped it),
    so one is pinged before it is handed out, and a dead one is replaced, with every connection
    opened before it. SQLAlchemy's ``pool_pre_ping`` pings on every check-out: a round trip more
    for every request and every batch, a sixth of the sandbox's round trips at the e2e
    benchmark's rates. A connection checked in a moment ago was working a moment ago; if the
    server went away since, its statement fails, and that failure invalidates the pool just as
    a failed ping does.
    """

    @event.listens_for(engine, "checkin")
    def _resting_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RESTING_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_it_rested(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_RESTING_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_REST_SECONDS:
            return  # new (it just connected), or working a moment ago
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool replaces it, and every connection opened before it.
                raise exc.InvalidatePoolError() from error
            raise


def wait_for_database(engine: Engine, stop: threading.Event, *, maximum: float = 10.0) -> bool:
    """Block until the database answers, retrying with growing pauses (0.5 s up to
    ``maximum``); False when ``stop`` was set first. A process started while its database is
    restarting waits for it instead of dying."""
    delay = 0.5
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except exc.DBAPIError as failure:
            log.warning(
                "the database is unreachable (%s); trying again in %.1f s",
                type(failure.orig).__name__,
                delay,
            )
        if stop.wait(delay):
            break
        delay = min(maximum, delay * 2)
    return False
