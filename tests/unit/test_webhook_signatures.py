"""The webhook signature scheme and retry schedule, as rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from payez.domain.webhook_signatures import (
    GIVE_UP_AFTER,
    is_valid,
    next_attempt,
    retry_wait,
    signature,
    signature_header,
)
from payez.service.create_listing_by_api import price_text

BODY = b'{"id":"evt_1"}'


def test_the_header_signs_the_timestamp_and_the_body() -> None:
    header = signature_header("s3cret", 1_700_000_000, BODY)
    assert header == f"t=1700000000,v1={signature('s3cret', 1_700_000_000, BODY)}"
    assert is_valid("s3cret", header, BODY, now=1_700_000_100)
    assert not is_valid("other", header, BODY, now=1_700_000_100)
    assert not is_valid("s3cret", header, BODY + b" ", now=1_700_000_100)
    assert not is_valid("s3cret", header, BODY, now=1_700_000_301)
    # The timestamp is part of what is signed: moving it breaks the signature.
    moved = header.replace("t=1700000000", "t=1700000200")
    assert not is_valid("s3cret", moved, BODY, now=1_700_000_200)
    assert not is_valid("s3cret", "t=,v1=", BODY, now=0)


def test_retries_double_from_a_minute_to_six_hours_for_three_days() -> None:
    assert [retry_wait(n) for n in range(1, 6)] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert retry_wait(9) == timedelta(minutes=256)
    assert retry_wait(10) == timedelta(hours=6)  # 512 minutes, capped
    assert retry_wait(100) == timedelta(hours=6)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_attempt(created, created, 1) == created + timedelta(minutes=1)
    late = created + GIVE_UP_AFTER - timedelta(hours=1)
    assert next_attempt(created, late, 20) is None  # six hours more would pass 3 days
    assert next_attempt(created, late, 1) == late + timedelta(minutes=1)


def test_cents_are_written_as_a_merchant_types_them() -> None:
    assert [price_text(c) for c in (1, 50, 1250, 100_000)] == ["0.01", "0.50", "12.50", "1000.00"]
