"""How PostgreSQL plans Payez's prepared statements: once for good, except in a processor's batch.

A look-up by key (a session, a token, a status, a foreign key check) is planned once and the
plan kept; a batch's statements are planned for each execution, because their best plan depends
on how many ids the batch carries (``inbox.plan_each_execution``).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payez.adapters.db import inbox as inbox_repo
from payez.service.record_posts import poll_mentions
from tests.integration.pipeline_world import World


def _mode(conn: sa.Connection) -> str:
    return str(conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one())


def _world_with_one_post(database_url: str) -> World:
    """A world whose inbox holds one send, recorded and not yet decided."""
    world = World.create(database_url)
    world.join("alice")
    world.join("bob")
    world.post("alice", "@payez envoie 5€ à @bob")
    poll_mentions(world.ctx, world.network)
    return world


@pytest.mark.postgres
def test_a_batch_taken_is_planned_for_each_execution_and_nothing_else(postgres_url: str) -> None:
    engine = _world_with_one_post(postgres_url).ctx.engine

    with engine.connect() as conn:
        assert _mode(conn) == "auto"
        session = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

    with engine.begin() as conn:
        assert inbox_repo.take_unprocessed(conn, 10)
        assert _mode(conn) == "force_custom_plan"

    # The setting ended with the transaction: the same session is back to plans it keeps.
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == session
        assert _mode(conn) == "auto"


@pytest.mark.postgres
def test_an_empty_inbox_changes_no_setting(postgres_url: str) -> None:
    engine = World.create(postgres_url).ctx.engine
    with engine.begin() as conn:
        assert inbox_repo.take_unprocessed(conn, 10) == []
        assert _mode(conn) == "auto"


def test_sqlite_takes_a_batch_as_before(sqlite_url: str) -> None:
    with _world_with_one_post(sqlite_url).ctx.engine.begin() as conn:
        taken = inbox_repo.take_unprocessed(conn, 10)
    assert [row.text for row in taken] == ["@payez envoie 5€ à @bob"]
