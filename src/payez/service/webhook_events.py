"""The events merchants and associations hear of by webhook, written in the transaction that
pays the order, refunds it or records the donation: so an event is never lost nor doubled.

Each event has a stable id (``evt_...``) and a JSON body fixed once, sent byte for byte the
same on every attempt. Only users with an endpoint in service (``users.has_webhooks``, read
with the user) get events.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from payez.adapters.db import webhooks as webhooks_repo
from payez.domain.money import Money

ORDER_PAID = "order.paid"
ORDER_REFUNDED = "order.refunded"
DONATION_RECEIVED = "donation.received"
EVENT_TYPES = (ORDER_PAID, ORDER_REFUNDED, DONATION_RECEIVED)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(16)


def event(
    user_id: int, kind: str, data: dict[str, Any], now: datetime, event_id: str | None = None
) -> dict[str, Any]:
    """A row of ``webhook_events``, its body ready to send."""
    found = event_id or new_event_id()
    body = {"id": found, "type": kind, "created_at": now.isoformat(), "data": data}
    return {
        "event_id": found,
        "user_id": user_id,
        "type": kind,
        "body": json.dumps(body, sort_keys=True, separators=(",", ":")),
        "created_at": now,
    }


def amount(money: Money) -> dict[str, Any]:
    return {"cents": money.cents, "currency": money.currency}


def order_event(
    kind: str,
    merchant_id: int,
    *,
    order_id: int,
    listing_id: int,
    payment_id: int | None,
    price: Money,
    buyer: str,
    now: datetime,
) -> dict[str, Any]:
    """``order.paid`` or ``order.refunded``, for the merchant."""
    data = {
        "order_id": order_id,
        "listing_id": listing_id,
        "payment_id": payment_id,
        "amount": amount(price),
        "buyer_name": buyer,
    }
    return event(merchant_id, kind, data, now)


def donation_event(
    association_id: int,
    *,
    payment_id: int,
    gift: Money,
    donor: str,
    network: str,
    memo: str | None,
    now: datetime,
) -> dict[str, Any]:
    """``donation.received``, for the association."""
    data = {
        "payment_id": payment_id,
        "amount": amount(gift),
        "donor_name": donor,
        "network": network,
        "memo": memo,
    }
    return event(association_id, DONATION_RECEIVED, data, now)


def record(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Write the events with the caller's transaction: one INSERT for all of them."""
    webhooks_repo.insert_events(conn, events)
