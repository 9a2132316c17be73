"""Pooled PostgreSQL connections are pinged before use only after they rested: one that died
while resting is replaced unseen, and one back in use at once costs no round trip."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from payez.adapters.db import engine as engine_module
from payez.adapters.db.engine import make_engine

pytestmark = pytest.mark.postgres


def counting_pings(engine: sa.Engine) -> list[object]:
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def backend_pid(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(postgres_url: str, pid: int) -> None:
    admin = make_engine(postgres_url)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    admin.dispose()


def test_a_connection_back_in_use_at_once_is_not_pinged(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    pings = counting_pings(engine)
    for _ in range(20):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    engine.dispose()
    assert pings == []


def test_a_connection_that_died_while_resting_is_replaced_unseen(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    pings = counting_pings(engine)
    with engine.connect() as conn:
        first = backend_pid(conn)
    terminate(postgres_url, first)
    monkeypatch.setattr(engine_module, "PING_AFTER_REST_SECONDS", 0.0)  # it has rested enough
    with engine.connect() as conn:
        second = backend_pid(conn)
    engine.dispose()
    assert len(pings) == 1, "the rested connection was not pinged"
    assert second != first


def test_a_connection_that_died_a_moment_ago_fails_once_then_the_pool_recovers(
    postgres_url: str,
) -> None:
    """The price of not pinging: a statement on a connection killed since its last use fails,
    as a statement would if the server went away during it; the pool is then renewed."""
    engine = make_engine(postgres_url, pool_size=2)
    with engine.connect() as conn:
        first = backend_pid(conn)
    terminate(postgres_url, first)
    with pytest.raises(sa.exc.OperationalError) as failure, engine.connect() as conn:
        backend_pid(conn)
    assert failure.value.connection_invalidated
    with engine.connect() as conn:
        assert backend_pid(conn) != first
    engine.dispose()
