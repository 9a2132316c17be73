"""Where each network listener got to, so a restart resumes instead of starting over."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import network_cursors


def load(conn: Connection, network: str) -> str | None:
    value = conn.execute(
        sa.select(network_cursors.c.cursor).where(network_cursors.c.network == network)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def save(conn: Connection, network: str, cursor: str, now: datetime) -> None:
    updated = conn.execute(
        network_cursors.update()
        .where(network_cursors.c.network == network)
        .values(cursor=cursor, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(
            network_cursors.insert().values(network=network, cursor=cursor, updated_at=now)
        )
