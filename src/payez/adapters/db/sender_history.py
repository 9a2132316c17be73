"""What deciding a batch must know of its senders' past payments, in one statement.

The caps (24 h, 30 days, since the last strong confirmation), the PSD2 counters, "has paid
before" and the velocity counts all come from one read of the senders' recent committed
payments, and the orders of the last hour (whatever their outcome) from a count beside it.
The database sums them per sender; of the recipients each sender already knows it
returns only those the batch may pay (``recipients``), so what travels back is a row per sender
plus a row per such recipient, however dense a sender's history is.

The statement is plain SQL with named parameters, one text per dialect built once: nothing is
constructed or compiled again per batch, and both drivers keep it prepared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from payez.adapters.db.bulk import fetch_all
from payez.adapters.db.payments import COMMITTED_STATES, PAID_STATES
from payez.adapters.db.tables.columns import Timestamp
from payez.domain.payments import PaymentState
from payez.domain.policy import SenderTotals
from payez.domain.velocity import RecentActivity, RecipientKey, VelocityRules


@dataclass(frozen=True, slots=True)
class SenderHistory:
    """What deciding a sender's posts needs to know of their past payments."""

    totals: SenderTotals
    activity: RecentActivity


def _states(states: Iterable[PaymentState]) -> str:
    # Constant enum values, written into the text so that it never changes.
    return ", ".join(f"'{state.value}'" for state in states)


# ``{ids}`` is the dialect's form of the senders' set; ``{accounts}`` and ``{users}`` of the
# (sender, recipient account) and (sender, recipient user) pairs asked about.
_SQL = f"""
WITH senders AS MATERIALIZED (
    SELECT u.id AS sender, u.last_confirmation_at AS confirmed_at
    FROM {{ids}} JOIN users u ON u.id = ids.value
),
recent AS MATERIALIZED (
    SELECT
        p.sender_user_id AS sender,
        p.recipient_user_id AS recipient_user_id,
        p.recipient_account_id AS recipient_account_id,
        min(CASE WHEN p.created_at >= :lookback_from THEN p.created_at END) AS first_paid,
        sum(CASE WHEN p.created_at >= :day_ago THEN coalesce(p.amount_cents, 0) ELSE 0 END)
            AS day_cents,
        sum(CASE WHEN p.created_at >= :month_ago THEN coalesce(p.amount_cents, 0) ELSE 0 END)
            AS month_cents,
        sum(CASE WHEN p.created_at >= :month_ago AND p.confirm_reason IS NULL
                  AND (s.confirmed_at IS NULL OR p.created_at > s.confirmed_at)
                 THEN coalesce(p.amount_cents, 0) ELSE 0 END) AS since_cents,
        sum(CASE WHEN p.created_at >= :month_ago AND p.confirm_reason IS NULL
                  AND (s.confirmed_at IS NULL OR p.created_at > s.confirmed_at)
                 THEN 1 ELSE 0 END) AS since_count,
        sum(CASE WHEN p.created_at >= :burst_from THEN 1 ELSE 0 END) AS burst,
        sum(CASE WHEN p.created_at >= :near_from AND p.amount_cents >= :near_floor
                  AND p.amount_cents <= :limit_cents THEN 1 ELSE 0 END) AS near
    FROM senders s JOIN payments p ON p.sender_user_id = s.sender
    WHERE p.state IN ({_states(COMMITTED_STATES)}) AND p.created_at >= :read_from
    GROUP BY p.sender_user_id, p.recipient_user_id, p.recipient_account_id
)
SELECT
    s.sender,
    CASE WHEN EXISTS (
        SELECT 1 FROM payments q
        WHERE q.sender_user_id = s.sender AND q.state IN ({_states(PAID_STATES)})
    ) THEN 1 ELSE 0 END AS paid_before,
    (
        SELECT count(*) FROM payments o
        WHERE o.sender_user_id = s.sender AND o.created_at >= :hour_ago
    ) AS orders_hour,
    NULL AS recipient_user_id,
    NULL AS recipient_account_id,
    coalesce(sum(r.day_cents), 0),
    coalesce(sum(r.month_cents), 0),
    coalesce(sum(r.since_cents), 0),
    coalesce(sum(r.since_count), 0),
    coalesce(sum(r.burst), 0),
    coalesce(sum(r.near), 0),
    count(CASE WHEN r.first_paid >= :day_ago THEN 1 END)
FROM senders s LEFT JOIN recent r ON r.sender = s.sender
GROUP BY s.sender
UNION ALL
SELECT r.sender, NULL, 0, r.recipient_user_id, r.recipient_account_id, 0, 0, 0, 0, 0, 0, 0
FROM recent r
WHERE r.first_paid IS NOT NULL
  AND ((r.sender, r.recipient_account_id) IN ({{accounts}})
       OR (r.sender, r.recipient_user_id) IN ({{users}}))
"""


_TIMES = (
    "lookback_from",
    "day_ago",
    "month_ago",
    "burst_from",
    "near_from",
    "read_from",
    "hour_ago",
)
# SQLite's form of the statement: sqlite3 takes its ``:name`` parameters as they are.
_SQLITE_PAIRS = (
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:{})"
)
_SQLITE_SQL = _SQL.format(
    ids="json_each(:ids) AS ids",
    accounts=_SQLITE_PAIRS.format("accounts"),
    users=_SQLITE_PAIRS.format("users"),
)


@cache
def _statement(dialect: str) -> sa.TextClause:
    times: list[sa.BindParameter[Any]] = [sa.bindparam(name, type_=Timestamp) for name in _TIMES]
    if dialect == "postgresql":
        sql = _SQL.format(
            ids="unnest(:ids) AS ids(value)",
            accounts="SELECT * FROM unnest(:account_senders, :accounts)",
            users="SELECT * FROM unnest(:user_senders, :users)",
        )
        big, text = postgresql.ARRAY(sa.BigInteger()), postgresql.ARRAY(sa.String())
        sets: list[sa.BindParameter[Any]] = [
            sa.bindparam("ids", type_=big),
            sa.bindparam("account_senders", type_=big),
            sa.bindparam("accounts", type_=text),
            sa.bindparam("user_senders", type_=big),
            sa.bindparam("users", type_=big),
        ]
    else:
        sql = _SQLITE_SQL
        sets = [sa.bindparam(name, type_=sa.String()) for name in ("ids", "accounts", "users")]
    return sa.text(sql).bindparams(*times, *sets)


@cache
def _timestamp_writer(dialect: Dialect) -> Callable[[datetime], Any]:
    """A moment as the dialect stores it, as SQLAlchemy would bind it (UTC)."""
    convert = Timestamp.dialect_impl(dialect).bind_processor(dialect)
    return convert if convert is not None else (lambda moment: moment)


def sender_history(
    conn: Connection,
    sender_ids: Iterable[int],
    now: datetime,
    rules: VelocityRules,
    limit_cents: int,
    *,
    asked_accounts: Collection[tuple[int, str]],
    asked_users: Collection[tuple[int, int]],
) -> dict[int, SenderHistory]:
    """Caps, PSD2 counters and velocity counts of every sender of a batch, in one statement.

    A recipient is new today when the sender's first payment to them within the lookback is
    less than a day old. ``activity.known`` holds the recipients the sender paid within the
    lookback whose network account id (``asked_accounts``) or user id (``asked_users``) is
    asked about for that sender, as ``(sender, recipient)`` pairs: the ones the batch's own
    payments are checked against. The counts cover every recipient.
    """
    ids = sorted(set(sender_ids))
    if not ids:
        return {}
    day_ago, month_ago = now - timedelta(days=1), now - timedelta(days=30)
    lookback_from = now - rules.lookback
    params: dict[str, Any] = {
        "lookback_from": lookback_from,
        "day_ago": day_ago,
        "month_ago": month_ago,
        "burst_from": max(now - rules.burst_window, lookback_from),
        "near_from": max(day_ago, lookback_from),
        "read_from": min(month_ago, lookback_from),
        "hour_ago": now - timedelta(hours=1),
        "near_floor": rules.near_limit_floor(limit_cents),
        "limit_cents": limit_cents,
    }
    accounts, users = sorted(set(asked_accounts)), sorted(set(asked_users))
    if conn.dialect.name == "postgresql":
        params.update(
            ids=ids,
            account_senders=[sender for sender, _ in accounts],
            accounts=[account for _, account in accounts],
            user_senders=[sender for sender, _ in users],
            users=[user for _, user in users],
        )
        rows: Iterable[Any] = conn.execute(_statement(conn.dialect.name), params)
    else:
        params.update(ids=json.dumps(ids), accounts=json.dumps(accounts), users=json.dumps(users))
        # Straight to the driver (bulk.fetch_all): its rows cost a tenth of SQLAlchemy's, and
        # SQLite runs the statement in this process, so the Python around it shows.
        stamp = _timestamp_writer(conn.dialect)
        for name in _TIMES:
            params[name] = stamp(params[name])
        rows = fetch_all(conn, _SQLITE_SQL, params)
    found: dict[int, SenderHistory] = {}
    known: dict[int, set[RecipientKey]] = {sender: set() for sender in ids}
    for sender, paid, orders, user, account, day, month, cents, count, burst, near, new in rows:
        if paid is None:  # a recipient the sender already knows
            known[sender].add((user, account))
            continue
        # int(): PostgreSQL sums bigints as numeric.
        totals = SenderTotals(
            last_24h_cents=int(day),
            last_30d_cents=int(month),
            since_confirmation_cents=int(cents),
            since_confirmation_count=int(count),
            has_paid_before=bool(paid),
            orders_last_hour=int(orders),
        )
        activity = RecentActivity(
            known=known[sender],
            new_recipients_today=int(new),
            in_burst_window=int(burst),
            near_limit_today=int(near),
        )
        found[sender] = SenderHistory(totals, activity)
    return {
        sender: found.get(sender) or SenderHistory(SenderTotals(), RecentActivity())
        for sender in ids
    }
