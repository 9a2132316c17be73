"""Webhook signatures in Stripe's scheme, shared by the Stripe adapter and the sandbox processor.

The header is ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`` and the
signed text is ``"<t>.<raw body>"`` with the endpoint secret as key. Several ``v1`` entries can
be present while a secret is being rolled; one match is enough. The timestamp must fall within
``tolerance`` of now, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from payez.ports.cards import WebhookEvent, WebhookSignatureInvalid
from payez.ports.clock import Clock, SystemClock

DEFAULT_TOLERANCE = timedelta(minutes=5)
SIGNATURE_HEADER = "Stripe-Signature"


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The header value a sender puts on ``payload`` signed at ``timestamp``."""
    return f"t={timestamp},v1={compute_signature(payload, secret, timestamp)}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Raise :class:`WebhookSignatureInvalid` unless ``header`` signs ``payload`` recently."""
    if not secret:
        # An empty secret would make every forged signature computable by anyone.
        raise WebhookSignatureInvalid("no webhook secret is configured")
    if not header:
        raise WebhookSignatureInvalid("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureInvalid("timestamp is not an integer") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureInvalid("header lacks t= or v1=")
    expected = compute_signature(payload, secret, timestamp)
    # Compare against every candidate without stopping early, in constant time each.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureInvalid("no signature matches")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookSignatureInvalid("timestamp outside the tolerance window")


def parse_signed_event(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    clock: Clock | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Verify, then decode a Stripe-shaped event: ``{"id", "type", "data": {"object": {...}}}``."""
    verify_signature(
        payload, header, secret, now=(clock or SystemClock()).now(), tolerance=tolerance
    )
    try:
        body = json.loads(payload)
        obj = body["data"]["object"]
        event_id, event_type, object_id = body["id"], body["type"], obj["id"]
    except (ValueError, KeyError, TypeError):
        # Signed by the right secret yet malformed: refuse it the same way, nothing is applied.
        raise WebhookSignatureInvalid("signed payload is not an event") from None
    if not (
        isinstance(event_id, str)
        and isinstance(event_type, str)
        and isinstance(object_id, str)
        and isinstance(obj, Mapping)
    ):
        raise WebhookSignatureInvalid("signed payload is not an event")
    return WebhookEvent(id=event_id, type=event_type, object_id=object_id, data=dict(obj))
