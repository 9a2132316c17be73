"""The reply budget's spends: read, recorded and given back, one network at a time."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import bulk
from payez.adapters.db.tables.reply_budgets import reply_budget_spends
from payez.domain.reply_budget import Spend


def lock(conn: Connection, network: str) -> None:
    """Hold ``network``'s budget until the transaction ends, so two senders never both spend
    its last points. SQLite needs nothing: its writers already take turns."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"reply_budget:{network}".encode())
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def recent(conn: Connection, network: str, since: datetime) -> list[Spend]:
    """What ``network`` spent after ``since``, summed per moment: the messages of one claimed
    batch share its time, so a day of replies is a few hundred rows, not tens of thousands."""
    spends = reply_budget_spends.c
    rows = conn.execute(
        sa.select(spends.spent_at, sa.func.sum(spends.cost))
        .where(spends.network == network, spends.spent_at > since)
        .group_by(spends.spent_at)
    )
    return [Spend(at, int(cost)) for at, cost in rows]


def forget_before(conn: Connection, network: str, before: datetime) -> None:
    """Spends older than the longest window count for nothing any more."""
    conn.execute(
        reply_budget_spends.delete().where(
            reply_budget_spends.c.network == network, reply_budget_spends.c.spent_at <= before
        )
    )


def record(
    conn: Connection, network: str, outbox_ids: Sequence[int], cost: int, at: datetime
) -> None:
    bulk.insert_rows(
        conn,
        reply_budget_spends,
        [{"network": network, "outbox_id": i, "cost": cost, "spent_at": at} for i in outbox_ids],
        skip_duplicates=True,
    )


def give_back(conn: Connection, outbox_id: int) -> None:
    """A message that was not posted after all (the network refused or failed) spent nothing."""
    conn.execute(reply_budget_spends.delete().where(reply_budget_spends.c.outbox_id == outbox_id))
