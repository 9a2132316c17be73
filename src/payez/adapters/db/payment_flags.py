"""The payment flags repository: senders' recent activity for the velocity rules, the flags
raised, and their review."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import bulk
from payez.adapters.db.payments import COMMITTED_STATES
from payez.adapters.db.tables.backoffice import payment_flags
from payez.adapters.db.tables.payments import payments
from payez.domain.velocity import SenderActivity, VelocityRules

FLAG_STATES = ("open", "cleared", "confirmed")


@dataclass(frozen=True, slots=True)
class FlagRow:
    id: int
    payment_id: int
    rule: str
    detail: str
    state: str
    reviewer_user_id: int | None
    note: str | None
    created_at: datetime
    reviewed_at: datetime | None
    # Of the flagged payment, for the review list.
    sender_user_id: int | None
    amount_cents: int | None
    currency: str | None
    recipient_handle: str | None


def sender_activity(
    conn: Connection,
    sender_ids: Iterable[int],
    now: datetime,
    rules: VelocityRules,
    limit_cents: int,
) -> dict[int, SenderActivity]:
    """What the velocity rules need of each sender, in one grouped query.

    Grouped by recipient: a recipient is new today when the sender's first payment to them
    (within the lookback) is less than a day old.
    """
    ids = sorted(set(sender_ids))
    if not ids:
        return {}
    day_ago = now - timedelta(days=1)
    burst_since = now - rules.burst_window
    floor = rules.near_limit_floor(limit_cents)
    near = sa.and_(
        payments.c.created_at >= day_ago,
        payments.c.amount_cents >= floor,
        payments.c.amount_cents <= limit_cents,
    )
    rows = conn.execute(
        sa.select(
            payments.c.sender_user_id,
            sa.func.min(payments.c.created_at).label("first_at"),
            sa.func.sum(sa.case((payments.c.created_at >= burst_since, 1), else_=0)),
            sa.func.sum(sa.case((near, 1), else_=0)),
        )
        .where(
            payments.c.sender_user_id.in_(ids),
            payments.c.state.in_([s.value for s in COMMITTED_STATES]),
            payments.c.created_at >= now - rules.lookback,
        )
        .group_by(
            payments.c.sender_user_id,
            payments.c.recipient_user_id,
            payments.c.recipient_account_id,
        )
    )
    burst: dict[int, int] = {}
    new: dict[int, int] = {}
    near_count: dict[int, int] = {}
    for sender, first_at, in_burst, near_limit in rows:
        key = int(sender)
        burst[key] = burst.get(key, 0) + int(in_burst or 0)
        near_count[key] = near_count.get(key, 0) + int(near_limit or 0)
        if first_at >= day_ago:
            new[key] = new.get(key, 0) + 1
    return {
        sender: SenderActivity(
            in_burst_window=burst.get(sender, 0),
            new_recipients_today=new.get(sender, 0),
            near_limit_today=near_count.get(sender, 0),
        )
        for sender in ids
    }


def insert_flags(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk.insert_rows(conn, payment_flags, rows)


_FLAG_COLUMNS = (
    payment_flags.c.id,
    payment_flags.c.payment_id,
    payment_flags.c.rule,
    payment_flags.c.detail,
    payment_flags.c.state,
    payment_flags.c.reviewer_user_id,
    payment_flags.c.note,
    payment_flags.c.created_at,
    payment_flags.c.reviewed_at,
    payments.c.sender_user_id,
    payments.c.amount_cents,
    payments.c.currency,
    payments.c.recipient_handle,
)


def _flag(row: Any) -> FlagRow:
    return FlagRow(**dict(row._mapping))


def flags(
    conn: Connection, *, state: str | None, offset: int, limit: int
) -> tuple[list[FlagRow], int]:
    condition = sa.true() if state is None else payment_flags.c.state == state
    total = int(
        conn.execute(
            sa.select(sa.func.count()).select_from(payment_flags).where(condition)
        ).scalar_one()
    )
    rows = conn.execute(
        sa.select(*_FLAG_COLUMNS)
        .join(payments, payments.c.id == payment_flags.c.payment_id)
        .where(condition)
        .order_by(payment_flags.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_flag(r) for r in rows], total


def get(conn: Connection, flag_id: int) -> FlagRow | None:
    row = conn.execute(
        sa.select(*_FLAG_COLUMNS)
        .join(payments, payments.c.id == payment_flags.c.payment_id)
        .where(payment_flags.c.id == flag_id)
    ).first()
    return _flag(row) if row else None


def for_payments(conn: Connection, payment_ids: Iterable[int]) -> list[FlagRow]:
    ids = sorted(set(payment_ids))
    if not ids:
        return []
    rows = conn.execute(
        sa.select(*_FLAG_COLUMNS)
        .join(payments, payments.c.id == payment_flags.c.payment_id)
        .where(payment_flags.c.payment_id.in_(ids))
        .order_by(payment_flags.c.id)
    )
    return [_flag(r) for r in rows]


def close(
    conn: Connection, flag_id: int, *, state: str, reviewer: int, note: str, now: datetime
) -> bool:
    """Compare-and-set from open: False when the flag was already reviewed (or is unknown)."""
    result = conn.execute(
        payment_flags.update()
        .where(payment_flags.c.id == flag_id, payment_flags.c.state == "open")
        .values(state=state, reviewer_user_id=reviewer, note=note, reviewed_at=now)
    )
    return result.rowcount == 1


def count_open(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(payment_flags)
            .where(payment_flags.c.state == "open")
        ).scalar_one()
    )
