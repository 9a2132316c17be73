"""Use case: a user's payments — history (searchable, paginated), one payment, pending claims,
payments awaiting confirmation.

A user sees a payment only when they sent it or received its money: every query here is keyed
by the user's id, and a payment of someone else is "not found", never "forbidden" (which would
tell that it exists).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import inbox, payments
from payez.domain.errors import InvalidInput, NotFound
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.service.context import ServiceContext

MAX_PER_PAGE = 100
MAX_QUERY_LENGTH = 100
MAX_ID = 2**63 - 1  # ids are 64-bit signed integers in both databases
# The recipient sees a payment once the money is theirs.
_RECEIVED_STATES = (PaymentState.SETTLED.value, PaymentState.CLAIMED.value)

Direction = Literal["sent", "received"]


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message_fr = "Paiement introuvable."
    message_en = "Payment not found."


class HistoryQueryInvalid(InvalidInput):
    code = "history_query_invalid"
    message_fr = "Recherche invalide : page à partir de 1, au plus 100 résultats, 100 caractères."
    message_en = "Invalid search: page from 1, at most 100 results, 100 characters."


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    created_at: datetime
    direction: Direction
    counterparty: str
    amount: Money
    state: str
    kind: str
    network: str
    memo: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "direction": self.direction,
            "counterparty": self.counterparty,
            "amount": {"cents": self.amount.cents, "currency": self.amount.currency},
            "state": self.state,
            "kind": self.kind,
            "network": self.network,
            "memo": self.memo,
        }


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class PendingPayment:
    """Sent money waiting: for a newcomer to claim it, or for the sender to confirm it."""

    id: int
    recipient_handle: str
    network: str
    amount: Money
    expires_at: datetime | None
    token: str | None


def _mine(user_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        payments.c.amount_cents.is_not(None),
        sa.or_(
            sa.and_(
                payments.c.sender_user_id == user_id,
                payments.c.state != PaymentState.IGNORED.value,
            ),
            sa.and_(
                payments.c.recipient_user_id == user_id,
                payments.c.state.in_(_RECEIVED_STATES),
            ),
        ),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matching(query: str) -> sa.ColumnElement[bool] | None:
    text = query.strip().lstrip("@")
    if not text:
        return None
    pattern = f"%{_escape_like(text.lower())}%"
    return sa.or_(
        sa.func.lower(payments.c.recipient_handle).like(pattern, escape="\\"),
        sa.func.lower(payments.c.memo).like(pattern, escape="\\"),
        sa.func.lower(inbox.c.author_handle).like(pattern, escape="\\"),
    )


def _select(user_id: int, query: str) -> sa.Select[Any]:
    if len(query) > MAX_QUERY_LENGTH:
        raise HistoryQueryInvalid("query")
    selected = (
        sa.select(payments, inbox.c.author_handle)
        .join(inbox, inbox.c.id == payments.c.inbox_id)
        .where(_mine(user_id))
    )
    matching = _matching(query)
    return selected.where(matching) if matching is not None else selected


def _entry(user_id: int, row: Any) -> HistoryEntry:
    sent = row.sender_user_id == user_id
    return HistoryEntry(
        id=int(row.id),
        created_at=row.created_at,
        direction="sent" if sent else "received",
        counterparty=str((row.recipient_handle if sent else row.author_handle) or ""),
        amount=Money(int(row.amount_cents), str(row.currency or "EUR")),
        state=str(row.state),
        kind=str(row.kind),
        network=str(row.network),
        memo=row.memo,
    )


def history(
    ctx: ServiceContext, user_id: int, *, query: str = "", page: int = 1, per_page: int = 20
) -> HistoryPage:
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise HistoryQueryInvalid("page")
    selected = _select(user_id, query)
    with ctx.engine.connect() as conn:
        total = int(
            conn.execute(sa.select(sa.func.count()).select_from(selected.subquery())).scalar_one()
        )
        rows = conn.execute(
            selected.order_by(payments.c.created_at.desc(), payments.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    return HistoryPage(tuple(_entry(user_id, r) for r in rows), page, per_page, total)


def full_history(ctx: ServiceContext, user_id: int, *, query: str = "") -> list[HistoryEntry]:
    """Every matching payment, newest first (the CSV export)."""
    selected = _select(user_id, query)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            selected.order_by(payments.c.created_at.desc(), payments.c.id.desc())
        ).all()
    return [_entry(user_id, r) for r in rows]


def payment_detail(ctx: ServiceContext, user_id: int, payment_id: int) -> HistoryEntry:
    if not 1 <= payment_id <= MAX_ID:
        raise PaymentNotFound(str(payment_id)[:24])
    selected = _select(user_id, "").where(payments.c.id == payment_id)
    with ctx.engine.connect() as conn:
        row = conn.execute(selected).first()
    if row is None:
        raise PaymentNotFound(str(payment_id))
    return _entry(user_id, row)


def entries_of_posts(
    conn: Connection, user_id: int, inbox_ids: Collection[int]
) -> dict[int, HistoryEntry]:
    """The user's payments ordered by the posts ``inbox_ids``, by post; the others' are left
    out (the live dashboard, ``service.dashboard_events``)."""
    if not inbox_ids:
        return {}
    selected = _select(user_id, "").where(payments.c.inbox_id.in_(sorted(inbox_ids)))
    return {int(r.inbox_id): _entry(user_id, r) for r in conn.execute(selected)}


def _pending(ctx: ServiceContext, user_id: int, state: PaymentState) -> list[PendingPayment]:
    expires = (
        payments.c.claim_expires_at
        if state is PaymentState.HELD_FOR_CLAIM
        else payments.c.confirm_expires_at
    )
    token = (
        payments.c.claim_token if state is PaymentState.HELD_FOR_CLAIM else payments.c.confirm_token
    )
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                payments.c.id,
                payments.c.recipient_handle,
                payments.c.network,
                payments.c.amount_cents,
                payments.c.currency,
                expires.label("expires_at"),
                token.label("token"),
            )
            .where(
                payments.c.sender_user_id == user_id,
                payments.c.state == state.value,
                payments.c.amount_cents.is_not(None),
            )
            .order_by(payments.c.created_at.desc(), payments.c.id.desc())
            .limit(MAX_PER_PAGE)
        ).all()
    return [
        PendingPayment(
            id=int(r.id),
            recipient_handle=str(r.recipient_handle or ""),
            network=str(r.network),
            amount=Money(int(r.amount_cents), str(r.currency or "EUR")),
            expires_at=r.expires_at if r.expires_at else None,
            token=r.token,
        )
        for r in rows
    ]


def pending_claims(ctx: ServiceContext, user_id: int) -> list[PendingPayment]:
    """Money the user sent to people who have not joined yet."""
    return _pending(ctx, user_id, PaymentState.HELD_FOR_CLAIM)


def awaiting_confirmation(ctx: ServiceContext, user_id: int) -> list[PendingPayment]:
    """The user's payments that wait for their strong authentication."""
    return _pending(ctx, user_id, PaymentState.AWAITING_CONFIRMATION)
