"""Migration ``0035_flag_state_check`` rewrites a payment flag's state check without an ``IN``
list: the flags survive both ways, and the database refuses exactly what it refused before, on
both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.migrate import alembic_config, migrate
from tests.integration.pipeline_world import World

FLAGS = "SELECT id, payment_id, rule, detail, state, reviewer_user_id, note FROM payment_flags"


def _flags(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(f"{FLAGS} ORDER BY id"))]


def _refuses(engine: sa.Engine, state: str, reviewer: int | None) -> None:
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(
            sa.text("UPDATE payment_flags SET state = :s, reviewer_user_id = :r"),
            {"s": state, "r": reviewer},
        )


def test_the_flag_state_check_loses_its_list_and_keeps_its_rule(database_url: str) -> None:
    world = World.create(database_url, velocity_burst_count=3, velocity_burst_minutes=10)
    alice = world.join("alice", cents=100_000)
    world.join("bob", cents=0)
    for n in range(6):
        world.post("alice", f"@payez envoie {n + 1}€ à @bob")
        world.run()
        world.later(minutes=1)
    engine = world.ctx.engine
    with engine.begin() as c:
        # One flag reviewed, the others open: both states go through the rebuild.
        c.execute(
            sa.text(
                "UPDATE payment_flags SET state = 'cleared', reviewer_user_id = :r, note = 'ok' "
                "WHERE id = (SELECT min(id) FROM payment_flags)"
            ),
            {"r": alice},
        )
    flags = _flags(engine)
    assert len(flags) >= 2 and {f[4] for f in flags} == {"open", "cleared"}
    engine.dispose()

    config = alembic_config(database_url)
    for step in ("downgrade", "upgrade"):
        if step == "downgrade":
            command.downgrade(config, "0012_backoffice")
        else:
            migrate(database_url)
        assert _flags(engine) == flags
        for state, reviewer in (("closed", alice), ("OPEN", None), ("", None), ("open", alice)):
            _refuses(engine, state, reviewer)
        engine.dispose()
    with engine.connect() as c:
        if c.dialect.name == "sqlite":
            definition = c.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'payment_flags'")
            ).scalar_one()
            assert "state = 'confirmed'" in definition and " IN (" not in definition
    engine.dispose()
