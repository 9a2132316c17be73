"""A post through the sandbox's API reads who posts, the accounts it names and the status it
answers in one query, and refuses what the separate reads refused: an unknown or application
token, and an answer to a status its poster cannot see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from mastodon import MastodonNotFoundError, MastodonUnauthorizedError

from tests.integration.sandbox_server import running_sandbox
from tests.integration.statements import is_read, statements_sent


def _reads_before_the_status_is_written(post: Callable[[], None]) -> list[str]:
    """The statements a post ran before it wrote its status; ``post`` makes the post."""
    with statements_sent() as sent:
        post()
    seen = [" ".join(statement.split()) for statement in sent]
    writes = [n for n, s in enumerate(seen) if "INSERT INTO sandbox_statuses" in s]
    assert writes, seen
    return [s for s in seen[: writes[0]] if is_read(s)]


def test_a_reply_reads_what_it_needs_in_one_query(database_url: str) -> None:
    with running_sandbox(database_url) as sandbox:
        alice, bob = sandbox.client("alice"), sandbox.client("bob")
        sandbox.client("carol")
        asked = alice.status_post("@bob pay me back")
        answer: dict[str, Any] = {}

        def reply() -> None:
            answer["status"] = bob.status_post("@alice @carol @nobody ok", in_reply_to_id=asked.id)

        reads = _reads_before_the_status_is_written(reply)
    shown = answer["status"]
    assert len(reads) == 1, reads
    assert "sandbox_tokens" in reads[0] and "sandbox_accounts" in reads[0]
    assert shown.in_reply_to_id == asked.id
    assert str(shown.in_reply_to_account_id) == str(asked.account.id)
    assert sorted(m.username for m in shown.mentions) == ["alice", "carol"]


def test_a_reply_answers_only_a_status_its_poster_can_see(database_url: str) -> None:
    with running_sandbox(database_url) as sandbox:
        alice, bob, carol = (sandbox.client(n) for n in ("alice", "bob", "carol"))
        secret = alice.status_post("@bob psst", visibility="direct")
        for_herself = alice.status_post("a note", visibility="private")
        gone = alice.status_post("soon deleted")
        alice.status_delete(gone.id)

        with pytest.raises(MastodonNotFoundError):
            carol.status_post("@alice what?", in_reply_to_id=secret.id)
        with pytest.raises(MastodonNotFoundError):
            bob.status_post("@alice hm", in_reply_to_id=for_herself.id)
        with pytest.raises(MastodonNotFoundError):
            bob.status_post("@alice late", in_reply_to_id=gone.id)
        with pytest.raises(MastodonNotFoundError):
            bob.status_post("@alice nothing", in_reply_to_id=10**15)
        mentioned = bob.status_post("@alice ok", in_reply_to_id=secret.id)
        own = alice.status_post("and another", in_reply_to_id=for_herself.id)
        with sandbox.engine.connect() as conn:
            written = conn.execute(sa.text("SELECT count(*) FROM sandbox_statuses")).scalar_one()
    assert mentioned.in_reply_to_id == secret.id
    assert own.in_reply_to_id == for_herself.id
    assert written == 5  # the refused replies wrote nothing


def test_posting_needs_a_token_that_signs_a_user_in(database_url: str) -> None:
    with running_sandbox(database_url) as sandbox:
        alice = sandbox.client("alice")
        client_id, secret = sandbox.app_credentials()
        with httpx.Client(base_url=sandbox.api_base_url, timeout=10) as http:
            app_token = http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            ).json()["access_token"]
            as_app = http.post(
                "/api/v1/statuses",
                data={"status": "@alice hello"},
                headers={"Authorization": f"Bearer {app_token}"},
            )
            unknown = http.post(
                "/api/v1/statuses",
                data={"status": "@alice hello"},
                headers={"Authorization": "Bearer not-a-token"},
            )
            anonymous = http.post("/api/v1/statuses", data={"status": "@alice hello"})
        alice.revoke_access_token()
        with pytest.raises(MastodonUnauthorizedError):
            alice.status_post("after revoking")
        with sandbox.engine.connect() as conn:
            written = conn.execute(sa.text("SELECT count(*) FROM sandbox_statuses")).scalar_one()
    assert as_app.status_code == 401
    assert "authenticated user" in as_app.json()["error"]
    assert unknown.status_code == 401
    assert anonymous.status_code == 401
    assert written == 0
