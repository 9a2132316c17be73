"""Webhook signatures and the retry schedule: pure rules, no I/O.

Each delivery carries ``Payez-Signature: t=<unix seconds>,v1=<hex>``, the hex being the
HMAC-SHA256, under the endpoint's secret, of ``"<t>.<body>"`` (the body's exact bytes). The
receiver recomputes it and refuses a signature older than a few minutes, so a recorded delivery
cannot be replayed later. ``docs/merchants-api.md`` shows the receiver's side.

A delivery that fails is tried again after 1 minute, then twice as long each time (at most
6 hours between two attempts), for 3 days after the event; then it is given up.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

SIGNATURE_HEADER = "Payez-Signature"
EVENT_ID_HEADER = "Payez-Event-Id"
TOLERANCE_SECONDS = 300
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def is_valid(
    secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """The header signs ``body`` under ``secret``, at most ``tolerance`` seconds from ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp = parts.get("t", "")
    if not stamp.isascii() or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, int(stamp), body))


def retry_wait(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1, 2, ...)."""
    wait: timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 20))
    return min(wait, LONGEST_WAIT)


def next_attempt(created_at: datetime, now: datetime, attempts: int) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: given up (3 days)."""
    due = now + retry_wait(attempts)
    return due if due <= created_at + GIVE_UP_AFTER else None
