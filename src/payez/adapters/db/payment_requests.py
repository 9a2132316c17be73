"""The payment requests repository: requests, the payments linked to them, public profiles.

A payment is linked to a request when it was sent to the request's owner after the request was
made and its memo carries the request's reference (``#r<code>``). The link is read here, from
the payments, rather than written when a payment is decided: the hot path stays as it is. The
SQL filter (``LIKE``) narrows the rows; the exact reference is checked by the domain's reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.tables.payment_requests import payment_requests, public_profiles
from payez.adapters.db.tables.payments import inbox, payments, social_links, users
from payez.domain.money import Money
from payez.domain.payment_requests import (
    REFERENCE_PREFIX,
    RequestFacts,
    RequestStanding,
    carries_reference,
    references_in,
)
from payez.domain.payments import PaymentState

# The payments a requester has received: the money is theirs.
RECEIVED_STATES = (PaymentState.SETTLED.value, PaymentState.CLAIMED.value)


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: int
    code: str
    owner_user_id: int
    amount: Money | None
    reason: str
    once: bool
    created_at: datetime
    expires_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkedPayment:
    id: int
    payer_handle: str
    network: str
    amount: Money
    created_at: datetime


def _request(row: Any) -> RequestRow:
    return RequestRow(
        id=int(row.id),
        code=str(row.code),
        owner_user_id=int(row.owner_user_id),
        amount=Money(int(row.amount_cents), str(row.currency))
        if row.amount_cents is not None
        else None,
        reason=str(row.reason),
        once=bool(row.once),
        created_at=row.created_at,
        expires_at=row.expires_at,
        cancelled_at=row.cancelled_at,
    )


def insert_request(
    conn: Connection,
    *,
    code: str,
    owner_user_id: int,
    amount: Money | None,
    reason: str,
    once: bool,
    now: datetime,
    expires_at: datetime | None,
) -> int | None:
    """The new request's id; ``None`` when the code is already taken (draw another)."""
    try:
        with conn.begin_nested():
            result = conn.execute(
                payment_requests.insert().values(
                    code=code,
                    owner_user_id=owner_user_id,
                    amount_cents=amount.cents if amount else None,
                    currency=amount.currency if amount else "EUR",
                    reason=reason,
                    once=once,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        return None
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def request_by_code(conn: Connection, code: str) -> RequestRow | None:
    row = conn.execute(sa.select(payment_requests).where(payment_requests.c.code == code)).first()
    return _request(row) if row else None


def request_of(conn: Connection, owner_user_id: int, request_id: int) -> RequestRow | None:
    row = conn.execute(
        sa.select(payment_requests).where(
            payment_requests.c.id == request_id,
            payment_requests.c.owner_user_id == owner_user_id,
        )
    ).first()
    return _request(row) if row else None


def requests_of(conn: Connection, owner_user_id: int, limit: int) -> list[RequestRow]:
    rows = conn.execute(
        sa.select(payment_requests)
        .where(payment_requests.c.owner_user_id == owner_user_id)
        .order_by(payment_requests.c.id.desc())
        .limit(limit)
    )
    return [_request(row) for row in rows]


def cancel_request(conn: Connection, owner_user_id: int, request_id: int, now: datetime) -> bool:
    """Cancel once; ``False`` when it is not the owner's or was cancelled already."""
    result = conn.execute(
        payment_requests.update()
        .where(
            payment_requests.c.id == request_id,
            payment_requests.c.owner_user_id == owner_user_id,
            payment_requests.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )
    return bool(result.rowcount)


def linked_payments(
    conn: Connection, owner_user_id: int, requests: Iterable[RequestRow]
) -> dict[int, list[LinkedPayment]]:
    """The payments each request received, oldest first, in one query for all of them."""
    wanted = list(requests)
    found: dict[int, list[LinkedPayment]] = {r.id: [] for r in wanted}
    if not wanted:
        return found
    by_code = {r.code: r for r in wanted}
    memo = sa.func.lower(payments.c.memo)
    patterns = [memo.like(f"%{REFERENCE_PREFIX}{code}%") for code in by_code]
    rows = conn.execute(
        sa.select(
            payments.c.id,
            payments.c.network,
            payments.c.amount_cents,
            payments.c.currency,
            payments.c.memo,
            payments.c.created_at,
            inbox.c.author_handle,
        )
        .join(inbox, inbox.c.id == payments.c.inbox_id)
        .where(
            payments.c.recipient_user_id == owner_user_id,
            payments.c.state.in_(RECEIVED_STATES),
            payments.c.amount_cents.is_not(None),
            payments.c.created_at >= min(r.created_at for r in wanted),
            sa.or_(*patterns),
        )
        .order_by(payments.c.created_at, payments.c.id)
    )
    for row in rows:
        for code in references_in(row.memo):
            request = by_code.get(code)
            if request is None or row.created_at < request.created_at:
                continue
            found[request.id].append(
                LinkedPayment(
                    id=int(row.id),
                    payer_handle=str(row.author_handle),
                    network=str(row.network),
                    amount=Money(int(row.amount_cents), str(row.currency or "EUR")),
                    created_at=row.created_at,
                )
            )
    return found


def standing_by_code(
    conn: Connection, codes: Iterable[str], *, lock: bool = False
) -> dict[str, RequestStanding]:
    """What decides the state of each request named by ``codes``, with its owner: the
    requests, then, for the paid-once ones, their linked payments, each owner's in one query.
    ``lock``: the requests' rows stay locked until the transaction ends (PostgreSQL), so that
    two payments deciding on one paid-once request take turns."""
    wanted = {code.lower() for code in codes}
    if not wanted:
        return {}
    selected = (
        sa.select(payment_requests)
        .where(payment_requests.c.code.in_(sorted(wanted)))
        .order_by(payment_requests.c.code)
    )
    if lock:
        selected = selected.with_for_update()
    found = [_request(row) for row in conn.execute(selected)]
    by_owner: dict[int, list[RequestRow]] = {}
    for request in found:
        if request.once:
            by_owner.setdefault(request.owner_user_id, []).append(request)
    paid = {
        request_id: len(linked)
        for owner, requests in by_owner.items()
        for request_id, linked in linked_payments(conn, owner, requests).items()
    }
    return {
        r.code: RequestStanding(
            r.owner_user_id,
            RequestFacts(
                once=r.once,
                expires_at=r.expires_at,
                cancelled_at=r.cancelled_at,
                payments=paid.get(r.id, 0),
            ),
        )
        for r in found
    }


def reasons_for_payments(conn: Connection, memos: dict[int, str | None]) -> dict[int, str]:
    """For payments (id → memo) carrying a request's reference, the reason of the request they
    paid: one query, and none when no memo carries a reference."""
    referenced = {pid: refs for pid, memo in memos.items() if (refs := references_in(memo))}
    if not referenced:
        return {}
    codes = {code for refs in referenced.values() for code in refs}
    rows = conn.execute(
        sa.select(
            payments.c.id, payments.c.memo, payment_requests.c.code, payment_requests.c.reason
        )
        .join(payment_requests, payment_requests.c.owner_user_id == payments.c.recipient_user_id)
        .where(
            payments.c.id.in_(referenced),
            payment_requests.c.code.in_(codes),
            payments.c.created_at >= payment_requests.c.created_at,
        )
    )
    return {
        int(row.id): str(row.reason) for row in rows if carries_reference(row.memo, str(row.code))
    }


def linked_handles(conn: Connection, user_id: int) -> dict[str, str]:
    """The user's handle on each network they linked (the oldest link of a network)."""
    rows = conn.execute(
        sa.select(social_links.c.network, social_links.c.handle)
        .where(social_links.c.user_id == user_id)
        .order_by(social_links.c.id.desc())
    )
    return {str(row.network): str(row.handle) for row in rows}


def active_name(conn: Connection, user_id: int) -> str | None:
    """The user's display name while their account is active (not frozen, not closed)."""
    name = conn.execute(
        sa.select(users.c.display_name).where(users.c.id == user_id, users.c.status == "active")
    ).scalar()
    return str(name) if name is not None else None


# -- public profiles ----------------------------------------------------------------------------


def profile_handle(conn: Connection, user_id: int) -> str | None:
    found = conn.execute(
        sa.select(public_profiles.c.handle).where(public_profiles.c.user_id == user_id)
    ).scalar()
    return str(found) if found is not None else None


def profile_owner(conn: Connection, handle: str) -> int | None:
    found = conn.execute(
        sa.select(public_profiles.c.user_id)
        .join(users, users.c.id == public_profiles.c.user_id)
        .where(public_profiles.c.handle == handle, users.c.status == "active")
    ).scalar()
    return int(found) if found is not None else None


def set_profile(conn: Connection, user_id: int, handle: str | None, now: datetime) -> bool:
    """Publish the profile under ``handle`` (``None``: take it down); ``False`` when the
    handle is another user's page already."""
    conn.execute(public_profiles.delete().where(public_profiles.c.user_id == user_id))
    if handle is None:
        return True
    try:
        with conn.begin_nested():
            conn.execute(
                public_profiles.insert().values(user_id=user_id, handle=handle, created_at=now)
            )
    except IntegrityError:
        return False
    return True
