"""Use case step: raise velocity flags on the payments a batch has just let through.

Called by the inbox processor inside its batch transaction, after the payment rows are
written, so a flag commits (or not) with its payment. One grouped query per batch reads the
senders' recent activity; flagged payments are looked up only when a rule trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import payment_flags as flags_repo
from payez.adapters.db import payments as payments_repo
from payez.config import Settings
from payez.domain.velocity import VelocityRules, velocity_flags


def velocity_rules_from(settings: Settings) -> VelocityRules:
    return VelocityRules(
        burst_count=settings.velocity_burst_count,
        burst_window=timedelta(minutes=settings.velocity_burst_minutes),
        new_recipients_per_day=settings.velocity_new_recipients_per_day,
        near_limit_percent=settings.velocity_near_limit_percent,
        near_limit_count=settings.velocity_near_limit_count,
    )


def flag_settled_payments(
    conn: Connection, settings: Settings, settled: Sequence[tuple[int, int]], now: datetime
) -> int:
    """Flag the payments (``(inbox id, sender id)`` pairs) whose sender trips a rule, once
    the batch counts; returns how many flags were raised."""
    if not settled:
        return 0
    rules = velocity_rules_from(settings)
    activity = flags_repo.sender_activity(
        conn, {sender for _inbox, sender in settled}, now, rules, settings.max_person_payment_cents
    )
    tripped = {sender: velocity_flags(rules, found) for sender, found in activity.items()}
    # The sender's last payment of the batch is the one that completes the pattern; the
    # earlier ones were within the rules when they were made.
    latest: dict[int, int] = {}
    for inbox_id, sender in settled:
        latest[sender] = max(inbox_id, latest.get(sender, inbox_id))
    flagged = [(inbox_id, sender) for sender, inbox_id in latest.items() if tripped.get(sender)]
    if not flagged:
        return 0
    by_inbox = payments_repo.by_inbox_ids(conn, [inbox_id for inbox_id, _ in flagged])
    rows = [
        {
            "payment_id": by_inbox[inbox_id].id,
            "rule": flag.rule.value,
            "detail": flag.detail,
            "state": "open",
            "created_at": now,
        }
        for inbox_id, sender in flagged
        for flag in tripped[sender]
    ]
    flags_repo.insert_flags(conn, rows)
    return len(rows)
