"""What operators read and change of accounts and payments: search, status, verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import inbox, payments, social_links, users


@dataclass(frozen=True, slots=True)
class UserHit:
    id: int
    kind: str
    display_name: str
    email: str | None
    status: str
    identity_verified: bool
    organisation_verified: bool
    legal_id: str | None
    wallet_account_id: int
    created_at: datetime
    handles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PaymentHit:
    id: int
    network: str
    post_id: str
    kind: str
    state: str
    reason: str | None
    sender_user_id: int | None
    recipient_user_id: int | None
    author_handle: str
    recipient_handle: str | None
    amount_cents: int | None
    currency: str | None
    memo: str | None
    created_at: datetime


_USER_COLUMNS = (
    users.c.id,
    users.c.kind,
    users.c.display_name,
    users.c.email,
    users.c.status,
    users.c.identity_verified,
    users.c.organisation_verified,
    users.c.legal_id,
    users.c.wallet_account_id,
    users.c.created_at,
)

_PAYMENT_COLUMNS = (
    payments.c.id,
    payments.c.network,
    payments.c.post_id,
    payments.c.kind,
    payments.c.state,
    payments.c.reason,
    payments.c.sender_user_id,
    payments.c.recipient_user_id,
    inbox.c.author_handle,
    payments.c.recipient_handle,
    payments.c.amount_cents,
    payments.c.currency,
    payments.c.memo,
    payments.c.created_at,
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _handles(conn: Connection, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not user_ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = conn.execute(
        sa.select(social_links.c.user_id, social_links.c.network, social_links.c.handle)
        .where(social_links.c.user_id.in_(user_ids))
        .order_by(social_links.c.id)
    )
    for r in rows:
        found.setdefault(int(r.user_id), []).append(f"{r.handle} ({r.network})")
    return {k: tuple(v) for k, v in found.items()}


def _user_hits(conn: Connection, rows: list[Any]) -> list[UserHit]:
    handles = _handles(conn, [int(r.id) for r in rows])
    return [UserHit(**dict(r._mapping), handles=handles.get(int(r.id), ())) for r in rows]


def search_users(conn: Connection, query: str, limit: int) -> list[UserHit]:
    """Users whose email, display name or a linked handle contains ``query`` (any case)."""
    pattern = _like(query.strip().lstrip("@").lower())
    by_handle = sa.select(social_links.c.user_id).where(
        sa.func.lower(social_links.c.handle).like(pattern, escape="\\")
    )
    rows = conn.execute(
        sa.select(*_USER_COLUMNS)
        .where(
            sa.or_(
                sa.func.lower(users.c.email).like(pattern, escape="\\"),
                sa.func.lower(users.c.display_name).like(pattern, escape="\\"),
                users.c.id.in_(by_handle),
            )
        )
        .order_by(users.c.id)
        .limit(limit)
    ).all()
    return _user_hits(conn, list(rows))


def user(conn: Connection, user_id: int) -> UserHit | None:
    row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    return _user_hits(conn, [row])[0] if row else None


def search_payments(
    conn: Connection,
    *,
    handle: str = "",
    post_id: str = "",
    state: str = "",
    amount_cents: int | None = None,
    user_id: int | None = None,
    limit: int = 50,
) -> list[PaymentHit]:
    """Payments matching every given criterion, newest first."""
    query = sa.select(*_PAYMENT_COLUMNS).join(inbox, inbox.c.id == payments.c.inbox_id)
    if handle:
        pattern = _like(handle.strip().lstrip("@").lower())
        query = query.where(
            sa.or_(
                sa.func.lower(inbox.c.author_handle).like(pattern, escape="\\"),
                sa.func.lower(payments.c.recipient_handle).like(pattern, escape="\\"),
            )
        )
    if post_id:
        query = query.where(payments.c.post_id == post_id.strip())
    if state:
        query = query.where(payments.c.state == state)
    if amount_cents is not None:
        query = query.where(payments.c.amount_cents == amount_cents)
    if user_id is not None:
        query = query.where(
            sa.or_(payments.c.sender_user_id == user_id, payments.c.recipient_user_id == user_id)
        )
    rows = conn.execute(query.order_by(payments.c.id.desc()).limit(limit))
    return [PaymentHit(**dict(r._mapping)) for r in rows]


def set_status(conn: Connection, user_id: int, *, from_status: str, to_status: str) -> bool:
    """Compare-and-set the account's status: False when it was not ``from_status``."""
    result = conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.status == from_status)
        .values(status=to_status)
    )
    return result.rowcount == 1


def set_organisation_verified(conn: Connection, user_id: int, verified: bool) -> bool:
    """False when nothing changed (already so)."""
    result = conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.organisation_verified == (not verified))
        .values(organisation_verified=verified)
    )
    return result.rowcount == 1


def user_id_by_email(conn: Connection, email: str) -> int | None:
    found = conn.execute(sa.select(users.c.id).where(users.c.email == email)).scalar_one_or_none()
    return None if found is None else int(found)
