"""The senders' query sums in the database what a full read of the payments gives.

``sender_history`` returns a row per sender (caps, PSD2 counters, velocity counts) and, of each
sender's known recipients, only those the batch asked about for that sender. Whatever the
payments (states, amounts, ages around every window's edge, recipients with or without a user,
confirmations), its figures must equal those computed here in Python from every payment row of
the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payez.adapters.db.engine import make_engine
from payez.adapters.db.payments import COMMITTED_STATES, PAID_STATES, insert_many
from payez.adapters.db.sender_history import sender_history
from payez.adapters.db.tables.payments import inbox, users
from payez.domain.payments import PaymentState
from payez.domain.policy import SenderTotals
from payez.domain.velocity import RecipientKey, VelocityRules
from payez.service.open_account import open_user

NOW = datetime(2026, 12, 5, 12, 0, 0, 123456, tzinfo=UTC)
RULES = VelocityRules(burst_window=timedelta(minutes=10), lookback=timedelta(days=30))
LIMIT = 25_000
ACCOUNTS = ("acct:a", "acct:b", "acct:c")
# Ages that sit on and around the edges of the windows read: 10 minutes, 24 hours, 30 days.
EDGES = (timedelta(minutes=10), timedelta(days=1), timedelta(days=30))
AGES = st.one_of(
    st.sampled_from(EDGES).flatmap(
        lambda edge: st.sampled_from(
            (edge - timedelta(microseconds=1), edge, edge + timedelta(microseconds=1))
        )
    ),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
)


@dataclass(frozen=True)
class Paid:
    sender: int  # index into the test's users
    recipient_user: int | None  # index into the test's users
    recipient_account: str | None
    state: PaymentState
    cents: int | None
    age: timedelta
    confirmed: bool  # the payment itself went through a confirmation


PAYMENTS = st.builds(
    Paid,
    sender=st.integers(0, 2),
    recipient_user=st.none() | st.integers(0, 3),
    recipient_account=st.none() | st.sampled_from(ACCOUNTS),
    state=st.sampled_from(PaymentState),
    cents=st.none() | st.integers(1, 30_000) | st.sampled_from((22_500, 25_000, 25_001)),
    age=AGES,
    confirmed=st.booleans(),
)


def _expected(
    rows: list[dict[str, Any]],
    sender: int,
    last_confirmation: datetime | None,
    asked_users: set[tuple[int, int]],
    asked_accounts: set[tuple[int, str]],
) -> tuple[SenderTotals, set[RecipientKey], tuple[int, int, int]]:
    """The figures from every payment of ``sender``, as the rules define them."""
    day_ago, month_ago = NOW - timedelta(days=1), NOW - timedelta(days=30)
    lookback_from = NOW - RULES.lookback
    floor = RULES.near_limit_floor(LIMIT)
    mine = [r for r in rows if r["sender_user_id"] == sender]
    committed = [
        r
        for r in mine
        if r["state"] in COMMITTED_STATES and r["created_at"] >= min(month_ago, lookback_from)
    ]

    def cents(r: dict[str, Any]) -> int:
        return int(r["amount_cents"] or 0)

    since = [
        r
        for r in committed
        if r["created_at"] >= month_ago
        and r["confirm_reason"] is None
        and (last_confirmation is None or r["created_at"] > last_confirmation)
    ]
    totals = SenderTotals(
        last_24h_cents=sum(cents(r) for r in committed if r["created_at"] >= day_ago),
        last_30d_cents=sum(cents(r) for r in committed if r["created_at"] >= month_ago),
        since_confirmation_cents=sum(cents(r) for r in since),
        since_confirmation_count=len(since),
        has_paid_before=any(r["state"] in PAID_STATES for r in mine),
        # Every order of the last hour counts for the flood limit, whatever became of it.
        orders_last_hour=sum(1 for r in mine if r["created_at"] >= NOW - timedelta(hours=1)),
    )
    first: dict[RecipientKey, datetime] = {}
    for r in committed:
        if r["created_at"] >= lookback_from:
            key = (r["recipient_user_id"], r["recipient_account_id"])
            first[key] = min(r["created_at"], first.get(key, r["created_at"]))
    known = {
        (user, account)
        for user, account in first
        if (user is not None and (sender, user) in asked_users)
        or (account is not None and (sender, account) in asked_accounts)
    }
    burst_from = max(NOW - RULES.burst_window, lookback_from)
    near_from = max(day_ago, lookback_from)
    counts = (
        sum(1 for r in committed if r["created_at"] >= burst_from),
        sum(1 for at in first.values() if at >= day_ago),
        sum(
            1
            for r in committed
            if r["created_at"] >= near_from
            and r["amount_cents"] is not None
            and floor <= r["amount_cents"] <= LIMIT
        ),
    )
    return totals, known, counts


def test_sender_history_equals_a_full_read_of_the_payments(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        people = [
            open_user(conn, kind="person", display_name=f"p{n}", now=NOW, identity_verified=True)
            for n in range(4)
        ]
    serial = iter(range(10**9))

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        paid=st.lists(PAYMENTS, max_size=25),
        confirmations=st.lists(st.none() | AGES, min_size=3, max_size=3),
        asked_users=st.sets(st.tuples(st.integers(0, 2), st.integers(0, 3))),
        asked_accounts=st.sets(st.tuples(st.integers(0, 2), st.sampled_from(ACCOUNTS))),
    )
    def check(
        paid: list[Paid],
        confirmations: list[timedelta | None],
        asked_users: set[tuple[int, int]],
        asked_accounts: set[tuple[int, str]],
    ) -> None:
        with engine.connect() as conn, conn.begin() as transaction:
            last: dict[int, datetime | None] = {}
            for index, age in enumerate(confirmations):
                last[people[index]] = None if age is None else NOW - age
                conn.execute(
                    users.update()
                    .where(users.c.id == people[index])
                    .values(last_confirmation_at=last[people[index]])
                )
            rows = []
            for p in paid:
                n = next(serial)
                inbox_id = conn.execute(
                    inbox.insert()
                    .values(
                        network="test",
                        original_id=f"h{n}",
                        post_id=f"h{n}",
                        author_id="a",
                        author_handle="a",
                        text="",
                        posted_at=NOW,
                        seen_at=NOW,
                    )
                    .returning(inbox.c.id)
                ).scalar_one()
                at = NOW - p.age
                rows.append(
                    {
                        "inbox_id": inbox_id,
                        "network": "test",
                        "post_id": f"h{n}",
                        "kind": "send",
                        "state": p.state.value,
                        "reason": None,
                        "language": "fr",
                        "sender_user_id": people[p.sender],
                        "recipient_user_id": (
                            None if p.recipient_user is None else people[p.recipient_user]
                        ),
                        "recipient_account_id": p.recipient_account,
                        "recipient_handle": None,
                        "amount_cents": p.cents,
                        "currency": "EUR",
                        "memo": None,
                        "listing_id": None,
                        "claim_token": None,
                        "claim_expires_at": None,
                        "reminder_sent_at": None,
                        "confirm_token": None,
                        "confirm_expires_at": None,
                        "confirm_reason": "first_payment" if p.confirmed else None,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            insert_many(conn, rows)
            # (sender, recipient) pairs, as the batch asks about them.
            users_asked = {(people[s], people[u]) for s, u in asked_users}
            accounts_asked = {(people[s], account) for s, account in asked_accounts}
            senders = people[:3]
            found = sender_history(
                conn,
                senders,
                NOW,
                RULES,
                LIMIT,
                asked_accounts=accounts_asked,
                asked_users=users_asked,
            )
            assert sorted(found) == sorted(senders)
            for sender in senders:
                totals, known, counts = _expected(
                    rows, sender, last[sender], users_asked, accounts_asked
                )
                history = found[sender]
                assert history.totals == totals
                activity = history.activity
                assert activity.known == known
                assert (
                    activity.in_burst_window,
                    activity.new_recipients_today,
                    activity.near_limit_today,
                ) == counts
            transaction.rollback()

    check()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one() == 0
    engine.dispose()
