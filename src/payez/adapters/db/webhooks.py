"""The webhooks repository: endpoints, events, deliveries (claimed by lease) and attempts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.merchant_api import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from payez.adapters.db.tables.payments import users

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class EndpointRow:
    id: int
    user_id: int
    url: str
    secret_sealed: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    event_id: str
    event_created_at: datetime
    body: str
    url: str
    user_id: int
    secret_sealed: str
    attempts: int


@dataclass(frozen=True, slots=True)
class AttemptRow:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    event_id: str
    event_type: str
    url: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    log: tuple[AttemptRow, ...]


def insert_events(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """One batched INSERT of events (event_id, user_id, type, body, created_at)."""
    if events:
        conn.execute(webhook_events.insert(), list(events))


def refresh_has_webhooks(conn: Connection, user_id: int) -> None:
    active = (
        sa.select(webhook_endpoints.c.id)
        .where(webhook_endpoints.c.user_id == user_id, webhook_endpoints.c.disabled_at.is_(None))
        .exists()
    )
    conn.execute(users.update().where(users.c.id == user_id).values(has_webhooks=active))


def has_webhooks(conn: Connection, user_id: int) -> bool:
    found = conn.execute(sa.select(users.c.has_webhooks).where(users.c.id == user_id)).scalar()
    return bool(found)


def add_endpoint(
    conn: Connection, user_id: int, url: str, secret_sealed: str, now: datetime
) -> int:
    endpoint_id = conn.execute(
        webhook_endpoints.insert()
        .values(user_id=user_id, url=url, secret_sealed=secret_sealed, created_at=now)
        .returning(webhook_endpoints.c.id)
    ).scalar_one()
    refresh_has_webhooks(conn, user_id)
    return int(endpoint_id)


def disable_endpoint(conn: Connection, user_id: int, endpoint_id: int, now: datetime) -> bool:
    e = webhook_endpoints.c
    done = conn.execute(
        webhook_endpoints.update()
        .where(e.id == endpoint_id, e.user_id == user_id, e.disabled_at.is_(None))
        .values(disabled_at=now)
    )
    # What was still to be sent to it is not sent: the log says so.
    conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.endpoint_id == endpoint_id)
        .where(webhook_deliveries.c.state == PENDING)
        .values(state=FAILED)
    )
    refresh_has_webhooks(conn, user_id)
    return bool(done.rowcount == 1)


def endpoints_of(conn: Connection, user_id: int) -> list[EndpointRow]:
    rows = conn.execute(
        sa.select(webhook_endpoints)
        .where(webhook_endpoints.c.user_id == user_id)
        .order_by(webhook_endpoints.c.id)
    )
    return [EndpointRow(**r._mapping) for r in rows]


def fan_out(conn: Connection, now: datetime, limit: int) -> int:
    """Make one delivery per active endpoint of the events not fanned out yet; returns how
    many events were handled. Run in one transaction: an event is fanned out once."""
    query = (
        sa.select(webhook_events.c.id, webhook_events.c.user_id)
        .where(webhook_events.c.fanned_out.is_(False))
        .order_by(webhook_events.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = conn.execute(query).all()
    if not events:
        return 0
    owners = {int(e.user_id) for e in events}
    active: dict[int, list[int]] = {}
    for row in conn.execute(
        sa.select(webhook_endpoints.c.id, webhook_endpoints.c.user_id).where(
            webhook_endpoints.c.user_id.in_(sorted(owners)),
            webhook_endpoints.c.disabled_at.is_(None),
        )
    ):
        active.setdefault(int(row.user_id), []).append(int(row.id))
    deliveries = [
        {
            "event_row_id": int(e.id),
            "endpoint_id": endpoint_id,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in events
        for endpoint_id in active.get(int(e.user_id), [])
    ]
    if deliveries:
        conn.execute(webhook_deliveries.insert(), deliveries)
    conn.execute(
        webhook_events.update()
        .where(webhook_events.c.id.in_([int(e.id) for e in events]))
        .values(fanned_out=True)
    )
    return len(events)


def _due_query() -> sa.Select[Any]:
    d, ev, ep = webhook_deliveries.c, webhook_events.c, webhook_endpoints.c
    return (
        sa.select(
            d.id,
            ev.event_id,
            ev.created_at.label("event_created_at"),
            ev.body,
            ep.url,
            ep.user_id,
            ep.secret_sealed,
            d.attempts,
        )
        .join(webhook_events, ev.id == d.event_row_id)
        .join(webhook_endpoints, ep.id == d.endpoint_id)
    )


def due(conn: Connection, now: datetime, limit: int) -> list[DueDelivery]:
    d = webhook_deliveries.c
    rows = conn.execute(
        _due_query()
        .where(
            d.state == PENDING,
            d.next_attempt_at <= now,
            webhook_endpoints.c.disabled_at.is_(None),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    return [DueDelivery(**r._mapping) for r in rows]


def claim(conn: Connection, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
    """Compare-and-set: take the delivery for one attempt, if still pending and due."""
    d = webhook_deliveries.c
    done = conn.execute(
        webhook_deliveries.update()
        .where(d.id == delivery_id, d.state == PENDING, d.next_attempt_at <= now)
        .values(next_attempt_at=lease_until)
    )
    return bool(done.rowcount == 1)


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    state: str,
    next_attempt_at: datetime | None,
) -> None:
    conn.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery_id,
            attempted_at=at,
            status_code=status_code,
            error=error[:200] if error else None,
            duration_ms=duration_ms,
        )
    )
    values: dict[str, Any] = {"state": state, "attempts": webhook_deliveries.c.attempts + 1}
    if state == DELIVERED:
        values["delivered_at"] = at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(
        webhook_deliveries.update().where(webhook_deliveries.c.id == delivery_id).values(**values)
    )


def send_again(conn: Connection, user_id: int, delivery_id: int, now: datetime) -> bool:
    """Make the user's delivery due now, whatever its state; False when it is not theirs."""
    d, ep = webhook_deliveries.c, webhook_endpoints.c
    owned = (
        sa.select(ep.id)
        .where(ep.id == d.endpoint_id, ep.user_id == user_id, ep.disabled_at.is_(None))
        .exists()
    )
    done = conn.execute(
        webhook_deliveries.update()
        .where(d.id == delivery_id, owned)
        .values(state=PENDING, next_attempt_at=now)
    )
    return bool(done.rowcount == 1)


def deliveries_of(conn: Connection, user_id: int, limit: int = 50) -> list[DeliveryRow]:
    """The user's latest deliveries, newest first, each with its attempts in order."""
    d, ev, ep = webhook_deliveries.c, webhook_events.c, webhook_endpoints.c
    rows = conn.execute(
        sa.select(
            d.id,
            ev.event_id,
            ev.type,
            ep.url,
            d.state,
            d.attempts,
            d.next_attempt_at,
            d.created_at,
        )
        .join(webhook_events, ev.id == d.event_row_id)
        .join(webhook_endpoints, ep.id == d.endpoint_id)
        .where(ep.user_id == user_id)
        .order_by(d.id.desc())
        .limit(limit)
    ).all()
    logs = _attempts(conn, [int(r.id) for r in rows])
    return [
        DeliveryRow(
            id=int(r.id),
            event_id=str(r.event_id),
            event_type=str(r.type),
            url=str(r.url),
            state=str(r.state),
            attempts=int(r.attempts),
            next_attempt_at=r.next_attempt_at,
            created_at=r.created_at,
            log=tuple(logs.get(int(r.id), ())),
        )
        for r in rows
    ]


def _attempts(conn: Connection, delivery_ids: Iterable[int]) -> dict[int, list[AttemptRow]]:
    ids = sorted(delivery_ids)
    found: dict[int, list[AttemptRow]] = {}
    if not ids:
        return found
    a = webhook_attempts.c
    for r in conn.execute(
        sa.select(a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms)
        .where(a.delivery_id.in_(ids))
        .order_by(a.id)
    ):
        found.setdefault(int(r.delivery_id), []).append(
            AttemptRow(r.attempted_at, r.status_code, r.error, int(r.duration_ms))
        )
    return found
