"""The sandbox's web timeline and its user helper."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from payez.sandbox.network import create_sandbox_user, tables
from payez.sandbox.network.accounts import authenticate
from payez.sandbox.network.errors import SandboxInvalid
from tests.integration.sandbox_server import Sandbox, running_sandbox


@pytest.fixture
def sandbox(sqlite_url: str) -> Any:
    with running_sandbox(sqlite_url) as running:
        yield running


def test_create_sandbox_user_is_idempotent(sandbox: Sandbox) -> None:
    with sandbox.engine.begin() as conn:
        first = create_sandbox_user(conn, "Alice", "s3cret", "Alice")
        again = create_sandbox_user(conn, "alice", "s3cret", "Alice")
        assert first == again
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.accounts)).scalar() == 1
        stored = conn.execute(sa.select(tables.accounts.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and "s3cret" not in stored
        assert authenticate(conn, "alice", "s3cret") == first
        # Seeding again with a new password makes that password the one that works.
        assert create_sandbox_user(conn, "alice", "n3w", "Alice") == first
        assert authenticate(conn, "alice", "s3cret") is None
        assert authenticate(conn, "@alice", "n3w") == first
        with pytest.raises(SandboxInvalid):
            create_sandbox_user(conn, "not a name!", "x", "X")


def test_timeline_posts_as_any_user_and_notifies_mentions(sandbox: Sandbox) -> None:
    alice_id = sandbox.user("alice")
    sandbox.user("bob")
    payez = sandbox.client("payez")
    with httpx.Client(base_url=sandbox.api_base_url, timeout=10) as browser:
        empty = browser.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert empty.status_code == 200
        assert "No posts yet." in empty.text
        assert '<label for="account_id">Post as</label>' in empty.text
        assert 'name="viewport"' in empty.text
        posted = browser.post(
            "/statuses",
            data={"account_id": str(alice_id), "status": "@payez envoie 3€ à @bob <b>merci</b>"},
        )
        assert posted.status_code == 303
        page = browser.get("/", headers={"Accept-Language": "fr-FR"})
        assert "Publier en tant que" in page.text
        assert "&lt;b&gt;merci&lt;/b&gt;" in page.text  # escaped, never markup
        assert "<b>merci</b>" not in page.text
        english = browser.get("/?lang=en")
        assert '<label for="account_id">Post as</label>' in english.text
        # The choice sticks (a cookie) over the browser's language.
        sticky = browser.get("/", headers={"Accept-Language": "fr-FR"})
        assert '<label for="account_id">Post as</label>' in sticky.text

        mention = payez.notifications(types=["mention"])[0]
        assert mention.account.acct == "alice"
        status_page = browser.get(f"/@alice/{mention.status.id}")
        assert status_page.status_code == 200
        assert f'name="in_reply_to_id" value="{mention.status.id}"' in status_page.text
        reply = browser.post(
            "/statuses",
            data={
                "account_id": str(alice_id),
                "status": "@payez oui",
                "in_reply_to_id": str(mention.status.id),
                "back": f"/sandbox/@alice/{mention.status.id}",
            },
        )
        assert reply.status_code == 303
        assert reply.headers["location"].startswith(f"/sandbox/@alice/{mention.status.id}")
        replies = payez.notifications(types=["mention"])
        assert str(replies[0].status.in_reply_to_id) == str(mention.status.id)

        refused = browser.post("/statuses", data={"account_id": str(alice_id), "status": " "})
        assert refused.status_code == 422
        assert 'role="alert"' in refused.text
        assert browser.get("/@nobody").status_code == 404


def test_a_compose_link_prefills_the_post_escaped(sandbox: Sandbox) -> None:
    sandbox.user("bob")
    with httpx.Client(base_url=sandbox.api_base_url, timeout=10) as browser:
        text = "@payez envoie 5 € à @alice #rk7m2p9xq </textarea><b>x</b>"
        page = browser.get("/", params={"text": text})
        assert page.status_code == 200
        escaped = "&lt;/textarea&gt;&lt;b&gt;x&lt;/b&gt;"
        assert f">@payez envoie 5 € à @alice #rk7m2p9xq {escaped}</textarea>" in page.text
        assert "<b>x</b>" not in page.text
        long = browser.get("/", params={"text": "x" * 600})
        assert ">" + "x" * 500 + "</textarea>" in long.text
        assert browser.get("/").text.count("></textarea>") == 1  # no text: an empty form
