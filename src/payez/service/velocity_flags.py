"""Use case step: raise velocity flags on the payments a batch has just let through.

Called by the inbox processor inside its batch transaction, after the payment rows are
written, so a flag commits (or not) with its payment. The processor reads the senders' recent
activity once, with the rest of their history, before deciding; the batch's own payments are
counted in memory here. A payment confirmed later reads it with one grouped query. Flagged
payments are looked up only when a rule trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import payment_flags as flags_repo
from payez.adapters.db import payments as payments_repo
from payez.config import Settings
from payez.domain.velocity import Flag, RecentActivity, RecipientKey, VelocityRules, velocity_flags

# A payment the batch commits: (inbox id, sender id, recipient, amount in cents).
Committed = tuple[int, int, RecipientKey, int | None]


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
    return _raise_flags(conn, tripped, settled, now)


def flag_batch_payments(
    conn: Connection,
    settings: Settings,
    activity: Mapping[int, RecentActivity],
    committed: Sequence[Committed],
    settled: Sequence[tuple[int, int]],
    now: datetime,
) -> int:
    """:func:`flag_settled_payments` for the inbox processor, without reading the payments
    again: ``activity`` was read with the batch's context, and the batch's own ``committed``
    payments are counted into it here (it is updated in place)."""
    if not settled:
        return 0
    rules = velocity_rules_from(settings)
    for _inbox_id, sender, recipient, cents in committed:
        activity[sender].add(recipient, cents, rules, settings.max_person_payment_cents)
    senders = {sender for _inbox, sender in settled}
    tripped = {sender: velocity_flags(rules, activity[sender].counts()) for sender in senders}
    return _raise_flags(conn, tripped, settled, now)


def _raise_flags(
    conn: Connection,
    tripped: Mapping[int, list[Flag]],
    settled: Sequence[tuple[int, int]],
    now: datetime,
) -> int:
    # The sender's last payment of the batch is the one that completes the pattern; the
    # earlier ones were within the rules when they were made.
    latest: dict[int, int] = {}
    for inbox_id, sender in settled:
        latest[sender] = max(inbox_id, latest.get(sender, inbox_id))
    flagged = [(inbox_id, sender) for sender, inbox_id in latest.items() if tripped.get(sender)]
    if not flagged:
        return 0
    payment_ids = payments_repo.ids_by_inbox(conn, [inbox_id for inbox_id, _ in flagged])
    rows = [
        {
            "payment_id": payment_ids[inbox_id],
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
