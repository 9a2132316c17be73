"""Publishing a status on the sandbox: the same rows on SQLite and on PostgreSQL (where the
lock, the status, its mentions and notifications are one statement), and ids that become
visible in the order they were drawn, whatever the number of writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.sandbox.network import tables
from payez.sandbox.network.accounts import create_sandbox_user
from payez.sandbox.network.errors import SandboxNotFound
from payez.sandbox.network.statuses import delete_status, post_status
from tests.integration.sandbox_server import running_sandbox
from tests.integration.statements import is_read, statements_sent

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _members(engine: sa.Engine, *names: str) -> dict[str, int]:
    with engine.begin() as conn:
        return {name: create_sandbox_user(conn, name, f"pw-{name}-1234", name) for name in names}


def test_a_status_writes_its_mentions_and_notifications(database_url: str) -> None:
    engine = make_engine(database_url)
    ids = _members(engine, "alice", "bob", "carol")
    with engine.begin() as conn:
        first = post_status(conn, ids["carol"], "a quotable thought", NOW)
        quote = post_status(
            conn,
            ids["alice"],
            "@bob @alice @nobody see this",
            NOW,
            quote_of_id=first,
            idempotency_key="k-1",
        )
        again = post_status(
            conn, ids["alice"], "@bob @alice @nobody see this", NOW, idempotency_key="k-1"
        )
        reply = post_status(conn, ids["bob"], "@alice thanks", NOW, in_reply_to_id=quote)
    with engine.connect() as conn:
        mentions = set(
            conn.execute(
                sa.select(tables.mentions.c.account_id).where(tables.mentions.c.status_id == quote)
            ).scalars()
        )
        notifications = conn.execute(
            sa.select(
                tables.notifications.c.account_id,
                tables.notifications.c.from_account_id,
                tables.notifications.c.type,
                tables.notifications.c.status_id,
                tables.notifications.c.created_at,
            ).order_by(tables.notifications.c.id)
        ).all()
        answered = conn.execute(
            sa.select(tables.statuses).where(tables.statuses.c.id == reply)
        ).one()
    engine.dispose()
    assert again == quote
    assert mentions == {ids["bob"], ids["alice"]}
    # The author is not notified of their own mention; the quoted author is, once.
    assert [tuple(row) for row in notifications] == [
        (ids["bob"], ids["alice"], "mention", quote, NOW),
        (ids["carol"], ids["alice"], "quote", quote, NOW),
        (ids["alice"], ids["bob"], "mention", reply, NOW),
    ]
    assert (answered.in_reply_to_id, answered.in_reply_to_account_id) == (quote, ids["alice"])
    assert answered.created_at == NOW


def test_ids_become_visible_in_the_order_they_were_drawn(database_url: str) -> None:
    """A reader polling "id greater than the last seen" never meets a gap that fills later."""
    engine = make_engine(database_url)
    ids = _members(engine, "alice", "bob")
    seen: list[int] = []
    done = False

    def write(n: int) -> None:
        with engine.begin() as conn:
            post_status(conn, ids["alice"], f"@bob number {n}", NOW)

    def read() -> None:
        last = 0
        while True:
            finished = done
            with engine.connect() as conn:
                rows = list(
                    conn.execute(
                        sa.select(tables.statuses.c.id)
                        .where(tables.statuses.c.id > last)
                        .order_by(tables.statuses.c.id)
                    ).scalars()
                )
            seen.extend(rows)
            last = rows[-1] if rows else last
            if finished:
                return

    with ThreadPoolExecutor(max_workers=9) as pool:
        reader = pool.submit(read)
        list(pool.map(write, range(300)))
        done = True
        reader.result()
    engine.dispose()
    assert len(seen) == 300
    assert seen == sorted(seen)


def test_the_answer_to_a_post_reads_the_accounts_once(database_url: str) -> None:
    """The author's and the mentioned accounts' rows are read while posting, and the answer is
    shown from them: each read is a query on every post and every reply at the network's rate."""
    with running_sandbox(database_url) as sandbox:
        alice = sandbox.client("alice")
        sandbox.client("bob")
        with statements_sent() as sent:
            shown = alice.status_post("@bob @nobody merci")
    reads = [s for s in sent if is_read(s) and "sandbox_accounts" in s]
    assert shown.account.username == "alice"
    assert [m.username for m in shown.mentions] == ["bob"]
    assert '<span class="h-card"' in shown.content and "@nobody" in shown.content
    assert len(reads) == 2  # the accounts posted with, and @nobody looked up for the links


def test_a_retry_is_answered_with_the_first_status_whatever_changed_since(
    database_url: str,
) -> None:
    """As Mastodon does: the key is checked before the post itself, so a reply retried after
    its parent was deleted still gets its status back, and nothing is written twice."""
    engine = make_engine(database_url)
    ids = _members(engine, "alice", "bob")
    with engine.begin() as conn:
        parent = post_status(conn, ids["alice"], "@bob pay me", NOW)
        reply = post_status(
            conn, ids["bob"], "@alice done", NOW, in_reply_to_id=parent, idempotency_key="r-1"
        )
        delete_status(conn, parent, ids["alice"], NOW)
        again = post_status(
            conn, ids["bob"], "@alice done", NOW, in_reply_to_id=parent, idempotency_key="r-1"
        )
        with pytest.raises(SandboxNotFound):
            post_status(
                conn, ids["bob"], "@alice new", NOW, in_reply_to_id=parent, idempotency_key="r-2"
            )
        count = conn.execute(
            sa.select(sa.func.count()).where(tables.statuses.c.account_id == ids["bob"])
        ).scalar_one()
        notified = conn.execute(
            sa.select(sa.func.count()).where(tables.notifications.c.status_id == reply)
        ).scalar_one()
    engine.dispose()
    assert again == reply
    assert count == 1
    assert notified == 1


@pytest.mark.postgres
def test_a_keyed_post_on_postgres_asks_for_its_key_only_when_it_was_used(
    postgres_url: str,
) -> None:
    """The publishing statement skips a key used already: no round trip to look it up first."""
    engine = make_engine(postgres_url)
    ids = _members(engine, "alice", "bob")
    with engine.begin() as conn:
        with statements_sent(engine) as fresh:
            first = post_status(conn, ids["alice"], "@bob hello", NOW, idempotency_key="k")
        with statements_sent(engine) as retried:
            again = post_status(conn, ids["alice"], "@bob hello", NOW, idempotency_key="k")
    engine.dispose()
    assert [s for s in fresh if _is_key_lookup(s)] == []
    assert again == first
    assert len([s for s in retried if _is_key_lookup(s)]) == 1


def _is_key_lookup(statement: str) -> bool:
    return is_read(statement) and "idempotency_key =" in statement


def test_requests_with_one_key_at_once_make_one_status(database_url: str) -> None:
    """The insert itself keeps one of them; every request is answered with that status."""
    engine = make_engine(database_url)
    ids = _members(engine, "alice", "bob")

    def post(_: int) -> int:
        with engine.begin() as conn:
            return post_status(conn, ids["alice"], "@bob once", NOW, idempotency_key="race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answered = set(pool.map(post, range(16)))
    with engine.connect() as conn:
        made = (
            conn.execute(
                sa.select(tables.statuses.c.id).where(tables.statuses.c.account_id == ids["alice"])
            )
            .scalars()
            .all()
        )
        notified = conn.execute(sa.select(sa.func.count()).select_from(tables.notifications))
        notifications = notified.scalar_one()
    engine.dispose()
    assert answered == set(made) and len(made) == 1
    assert notifications == 1
