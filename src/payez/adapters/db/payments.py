"""The payments repository: a row per command post, moved between states by compare-and-set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import bulk
from payez.adapters.db.sets import one_of
from payez.adapters.db.tables.payments import orders, payments
from payez.domain.payments import PaymentState

# States whose amount counts against the sender's caps: money moved or held for them.
COMMITTED_STATES = (
    PaymentState.SETTLED,
    PaymentState.HELD_FOR_CLAIM,
    PaymentState.CLAIMED,
    PaymentState.AWAITING_CONFIRMATION,
)
# States that make a sender someone who "has paid before" (PSD2: the first payment confirms).
PAID_STATES = (
    PaymentState.SETTLED,
    PaymentState.CLAIMED,
    PaymentState.HELD_FOR_CLAIM,
    PaymentState.REFUNDED,
)


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    inbox_id: int
    network: str
    post_id: str
    kind: str
    state: PaymentState
    reason: str | None
    language: str
    sender_user_id: int | None
    recipient_user_id: int | None
    recipient_account_id: str | None
    recipient_handle: str | None
    amount_cents: int | None
    currency: str | None
    memo: str | None
    listing_id: int | None
    claim_token: str | None
    claim_expires_at: datetime | None
    reminder_sent_at: datetime | None
    confirm_token: str | None
    confirm_expires_at: datetime | None
    confirm_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def transfer_key(self) -> str:
        return transfer_key(self.inbox_id)


def transfer_key(inbox_id: int, step: str | None = None) -> str:
    """Ledger keys derive from our own row ids, so a retry after a crash reuses the same key."""
    return f"pay:{inbox_id}" if step is None else f"pay:{inbox_id}:{step}"


def _payment(row: sa.Row[Any]) -> PaymentRow:
    values = dict(row._mapping)
    values["state"] = PaymentState(values["state"])
    return PaymentRow(**values)


def insert_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert payment rows (every column but ``id``), in one statement per batch."""
    bulk.insert_rows(conn, payments, rows)


def by_inbox_ids(conn: Connection, inbox_ids: Iterable[int]) -> dict[int, PaymentRow]:
    ids = list(inbox_ids)
    if not ids:
        return {}
    rows = conn.execute(sa.select(payments).where(one_of(conn, payments.c.inbox_id, ids)))
    return {int(r.inbox_id): _payment(r) for r in rows}


def ids_by_inbox(conn: Connection, inbox_ids: Iterable[int]) -> dict[int, int]:
    """Payment id by inbox id, for the posts given."""
    ids = list(inbox_ids)
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(payments.c.inbox_id, payments.c.id).where(one_of(conn, payments.c.inbox_id, ids))
    )
    return {int(inbox_id): int(payment_id) for inbox_id, payment_id in rows}


def get(conn: Connection, payment_id: int, *, lock: bool = False) -> PaymentRow | None:
    query = sa.select(payments).where(payments.c.id == payment_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _payment(row) if row else None


def by_token(conn: Connection, column: str, token: str, *, lock: bool = False) -> PaymentRow | None:
    query = sa.select(payments).where(payments.c[column] == token)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _payment(row) if row else None


def move(
    conn: Connection,
    payment_id: int,
    *,
    from_state: PaymentState,
    to_state: PaymentState,
    now: datetime,
    **fields: Any,
) -> bool:
    """Compare-and-set the state: False when another worker moved the payment first."""
    result = conn.execute(
        payments.update()
        .where(payments.c.id == payment_id, payments.c.state == from_state.value)
        .values(state=to_state.value, updated_at=now, **fields)
    )
    return result.rowcount == 1


def set_fields(conn: Connection, payment_id: int, now: datetime, **fields: Any) -> None:
    conn.execute(
        payments.update().where(payments.c.id == payment_id).values(updated_at=now, **fields)
    )


def in_state_due(
    conn: Connection, state: PaymentState, column: str, before: datetime, limit: int
) -> list[PaymentRow]:
    """Payments in ``state`` whose ``column`` time has come."""
    rows = conn.execute(
        sa.select(payments)
        .where(payments.c.state == state.value, payments.c[column] <= before)
        .order_by(payments.c.id)
        .limit(limit)
    )
    return [_payment(r) for r in rows]


def reminders_due(conn: Connection, before: datetime, limit: int) -> list[PaymentRow]:
    """Held payments whose claim closes before ``before`` and whose reminder has not gone."""
    rows = conn.execute(
        sa.select(payments)
        .where(
            payments.c.state == PaymentState.HELD_FOR_CLAIM.value,
            payments.c.reminder_sent_at.is_(None),
            payments.c.claim_expires_at <= before,
        )
        .order_by(payments.c.id)
        .limit(limit)
    )
    return [_payment(r) for r in rows]


def held_for_account(conn: Connection, network: str, account_id: str) -> list[PaymentRow]:
    rows = conn.execute(
        sa.select(payments)
        .where(
            payments.c.state == PaymentState.HELD_FOR_CLAIM.value,
            payments.c.network == network,
            payments.c.recipient_account_id == account_id,
        )
        .order_by(payments.c.id)
    )
    return [_payment(r) for r in rows]


def count_by_state(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(payments.c.state, sa.func.count()).group_by(payments.c.state))
    return {str(state): int(n) for state, n in rows}


def reassign_finished(conn: Connection, *, from_user_id: int, to_user_id: int) -> int:
    """Give a user's payments and orders to another, except those whose money is still held.

    A payment awaiting confirmation keeps its users: its pending transfer names their wallets,
    and resolving it must repeat them. It is handed over once it has settled or been released.
    """
    moved = 0
    for column in (payments.c.sender_user_id, payments.c.recipient_user_id):
        moved += conn.execute(
            payments.update()
            .where(
                column == from_user_id,
                payments.c.state != PaymentState.AWAITING_CONFIRMATION.value,
            )
            .values({column.name: to_user_id})
        ).rowcount
    moved += conn.execute(
        orders.update()
        .where(orders.c.buyer_user_id == from_user_id)
        .values(buyer_user_id=to_user_id)
    ).rowcount
    return moved
