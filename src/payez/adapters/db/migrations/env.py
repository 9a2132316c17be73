"""Alembic environment: runs migrations online against the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from payez.adapters.db.engine import make_engine
from payez.adapters.db.metadata import metadata

MIGRATION_LOCK_KEY = 0x5A4E_0004  # any constant no other lock of Payez uses

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # `payez serve` and its workers, started together on a new database, each migrate
            # it: the first takes this lock, the others wait for its commit and then find
            # nothing left to do (SQLite's writers already queue, one at a time).
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        context.run_migrations()
engine.dispose()
