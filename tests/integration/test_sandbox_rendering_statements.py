"""A page of statuses or notifications names its ids as one bound list, so what the sandbox
asks the database keeps one text whatever their number, and the database prepares it once: a
literal ``IN (1, 2, 3)`` list made every stream poll and every page a new statement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mastodon import Mastodon

from tests.integration.sandbox_server import running_sandbox
from tests.integration.statements import is_read, statements_sent


def _statements_of(read: Callable[[], Any]) -> tuple[Any, list[str]]:
    with statements_sent() as sent:
        answer = read()
    return answer, [s for s in sent if is_read(s)]


def test_notifications_ask_the_same_statements_for_one_status_or_several(
    database_url: str,
) -> None:
    with running_sandbox(database_url) as sandbox:
        bob: Mastodon = sandbox.client("bob")
        carol = sandbox.client("carol")
        sandbox.client("alice").status_post("@bob @carol one @nobody")
        one, asked_for_one = _statements_of(bob.notifications)
        for n in range(3):
            carol.status_post(f"@bob @alice number {n}")
        several, asked_for_several = _statements_of(bob.notifications)
    assert [len(one), len(several)] == [1, 4]
    # Every mention is shown, from the accounts and statuses read in one go.
    assert sorted(m.username for m in several[0].status.mentions) == ["alice", "bob"]
    assert sorted(m.username for m in several[-1].status.mentions) == ["bob", "carol"]
    assert asked_for_one == asked_for_several


def test_a_timeline_asks_the_same_statements_for_one_status_or_several(
    database_url: str,
) -> None:
    with running_sandbox(database_url) as sandbox:
        alice: Mastodon = sandbox.client("alice")
        sandbox.client("bob")
        first = alice.status_post("@bob first")
        alice.status_reply(first, "a reply to myself")
        one, asked_for_one = _statements_of(lambda: alice.account_statuses(first.account.id))
        for n in range(3):
            alice.status_post(f"@bob more {n}")
        several, asked_for_several = _statements_of(
            lambda: alice.account_statuses(first.account.id)
        )
    assert [len(one), len(several)] == [2, 5]
    assert several[-1].replies_count == 1
    assert asked_for_one == asked_for_several
