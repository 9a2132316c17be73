"""A sandbox account's immutable id does not follow the address the sandbox is served at.

Its URI is what Payez links users by, so it must survive a new port, a new ``PAYEZ_BASE_URL``
or a reverse proxy; only links (``url``) follow the base URL. Migration 0014 gives existing
databases that identity and rewrites the ids stored in the old, base-URL form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.adapters.db.migrate import alembic_config
from payez.adapters.db.tables.payments import inbox, outbox, payments, social_links
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.config import load_settings
from payez.domain.money import Money
from payez.sandbox.bootstrap import SANDBOX_NETWORK
from payez.sandbox.network import create_sandbox_app, create_sandbox_user
from payez.sandbox.network import tables as sandbox_tables
from payez.sandbox.network.accounts import issue_token
from payez.sandbox.network.statuses import post_status
from payez.service.account_summary import account_summary
from payez.service.claim_payment import claim_payment
from payez.service.context import ServiceContext
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.sign_up import sign_up
from tests.integration.sandbox_server import running_sandbox

NEW_REVISION = "0014_sandbox_identity"
OLD_BASE = "http://127.0.0.1:8000"


def _as_served_at(database_url: str, base_url: str) -> dict[str, Any]:
    """Alice's account and her first status, from a sandbox served at ``base_url``."""
    engine = make_engine(database_url)
    try:
        app = create_sandbox_app(engine, load_settings({}, base_url=base_url))
        with TestClient(app) as client:
            account = client.get("/api/v1/accounts/lookup", params={"acct": "alice"}).json()
            (status,) = client.get(f"/api/v1/accounts/{account['id']}/statuses").json()
            domain = client.get("/api/v2/instance").json()["domain"]
            served_at = base_url.split("://", 1)[1]
            found = {
                acct: client.get("/api/v1/accounts/lookup", params={"acct": acct}).status_code
                for acct in (f"alice@{domain}", f"alice@{served_at}", "alice@elsewhere.example")
            }
        return {"account": account, "status": status, "domain": domain, "found": found}
    finally:
        engine.dispose()


def test_an_account_keeps_its_uri_whatever_the_base_url(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        alice = create_sandbox_user(conn, "alice", "pw-alice", "Alice")
        conn.execute(
            sandbox_tables.statuses.insert().values(
                account_id=alice, text="bonjour", visibility="public", created_at=datetime.now(UTC)
            )
        )
    engine.dispose()
    local = _as_served_at(database_url, "http://127.0.0.1:8000")
    proxied = _as_served_at(database_url, "https://pay.example.org")
    # Immutable ids: the same under both addresses, and naming neither.
    assert local["account"]["uri"] == proxied["account"]["uri"]
    assert local["status"]["uri"] == proxied["status"]["uri"]
    assert local["account"]["uri"].endswith("/users/alice")
    for uri in (local["account"]["uri"], local["status"]["uri"]):
        assert "127.0.0.1" not in uri and "pay.example.org" not in uri
    # The instance's domain is the one its ids are on; lookups know it and the served host.
    assert local["domain"] == proxied["domain"]
    assert local["account"]["uri"] == f"https://{local['domain']}/users/alice"
    assert list(local["found"].values()) == [200, 200, 404]
    assert list(proxied["found"].values()) == [200, 200, 404]
    # Links: they follow the base URL.
    assert local["account"]["url"] == "http://127.0.0.1:8000/sandbox/@alice"
    assert proxied["account"]["url"] == "https://pay.example.org/sandbox/@alice"
    assert proxied["status"]["url"].startswith("https://pay.example.org/sandbox/@alice/")


def _upgrade_to_the_heads_before(url: str, revision: str) -> None:
    """Bring a blank database to the schema as it was before ``revision``: every revision of
    the graph but ``revision`` and those built on it."""
    config = alembic_config(url)
    script = ScriptDirectory.from_config(config)
    before = {
        r.revision
        for r in script.walk_revisions()
        if revision not in {a.revision for a in script.iterate_revisions(r.revision, "base")}
    }
    for target in sorted(before):
        if not script.get_revision(target).nextrev & before:
            command.upgrade(config, target)


def _posted(
    conn: sa.Connection, author: int, old: dict[str, str], recipient: str, text: str
) -> dict[str, Any]:
    """Alice's command, posted on the sandbox, and its inbox row as Payez recorded it then."""
    now = datetime.now(UTC)
    post_id = str(post_status(conn, author, text, now))
    return {
        "network": SANDBOX_NETWORK,
        "original_id": post_id,
        "post_id": post_id,
        "author_id": old["alice"],
        "author_handle": "alice",
        "text": text,
        "posted_at": now,
        "seen_at": now,
        "recipient_account_id": old[recipient],
    }


def _person(conn: sa.Connection, handle: str, account_id: str, network: str) -> int:
    user_id = open_user(
        conn, kind="person", display_name=handle, now=datetime.now(UTC), identity_verified=True
    )
    users_repo.link_account(
        conn,
        user_id=user_id,
        network=network,
        account_id=account_id,
        handle=handle,
        now=datetime.now(UTC),
    )
    return user_id


def test_the_migration_moves_stored_sandbox_ids_to_the_stable_identity(
    blank_database_url: str,
) -> None:
    url = blank_database_url
    _upgrade_to_the_heads_before(url, NEW_REVISION)
    old = {name: f"{OLD_BASE}/sandbox/users/{name}" for name in ("alice", "bob", "dave")}
    elsewhere = "https://social.example/sandbox/users/bob"  # same shape, another network
    engine = make_engine(url)
    settings = load_settings({}, database_url=url, confirm="never")
    offline = ServiceContext(engine=engine, settings=settings)
    with engine.begin() as conn:
        sandbox_ids = {
            name: create_sandbox_user(conn, name, f"pw-{name}", name.title())
            for name in ("alice", "bob", "dave", "payez")
        }
        to_dave = _posted(conn, sandbox_ids["alice"], old, "dave", "@payez envoie 5€ à @dave")
        to_bob = _posted(conn, sandbox_ids["alice"], old, "bob", "@payez envoie 3€ à @bob")
        alice = _person(conn, "alice", old["alice"], SANDBOX_NETWORK)
        bob = _person(conn, "bob", old["bob"], SANDBOX_NETWORK)
        users_repo.link_account(
            conn,
            user_id=bob,
            network="mastodon",
            account_id=elsewhere,
            handle="bob@social.example",
            now=datetime.now(UTC),
        )
        load_wallet(conn, alice, Money.eur(10_000), "load:alice")
        conn.execute(inbox.insert(), to_dave)
    process_until_empty(offline)  # money held for dave, who is not on Payez yet
    with engine.begin() as conn:
        # Recorded under the old ids, decided after the upgrade.
        conn.execute(inbox.insert(), to_bob)
        # A private message still waiting to reach dave.
        now = datetime.now(UTC)
        conn.execute(
            outbox.insert().values(
                network=SANDBOX_NETWORK,
                kind="private",
                recipient_account_id=old["dave"],
                recipient_handle="dave",
                text="@dave 5 € vous attendent",
                idempotency_key="before-upgrade",
                next_attempt_at=now,
                created_at=now,
            )
        )
    engine.dispose()

    command.upgrade(alembic_config(url), "heads")

    engine = make_engine(url)
    offline = ServiceContext(engine=engine, settings=settings)
    with running_sandbox(url) as sandbox:
        # The ids the network gives now, served on a port the database has never seen.
        current = {
            name: str(sandbox.client(name).account_verify_credentials()["uri"])
            for name in ("alice", "bob", "dave")
        }
        assert all(
            OLD_BASE not in uri and sandbox.server.url not in uri for uri in current.values()
        )
        with engine.connect() as conn:
            links = set(conn.execute(sa.select(social_links.c.network, social_links.c.account_id)))
            held = conn.execute(
                sa.select(payments.c.state, payments.c.recipient_account_id).where(
                    payments.c.post_id == to_dave["post_id"]
                )
            ).one()
        assert links == {
            (SANDBOX_NETWORK, current["alice"]),
            (SANDBOX_NETWORK, current["bob"]),
            ("mastodon", elsewhere),
        }
        assert tuple(held) == ("held_for_claim", current["dave"])
        with engine.connect() as conn:
            stored = {
                str(value)
                for column in (
                    inbox.c.author_id,
                    inbox.c.recipient_account_id,
                    payments.c.recipient_account_id,
                    outbox.c.recipient_account_id,
                )
                for value in conn.execute(sa.select(column).where(column.is_not(None))).scalars()
            }
        assert stored == {current["alice"], current["bob"], current["dave"]}

        process_until_empty(offline)
        with engine.connect() as conn:
            recorded = conn.execute(
                sa.select(payments.c.state, payments.c.sender_user_id).where(
                    payments.c.post_id == to_bob["post_id"]
                )
            ).one()
        assert tuple(recorded) == ("settled", alice)

        # A new post by alice, read through the network as the worker reads it.
        with engine.begin() as conn:
            payez_id = conn.execute(
                sa.select(sandbox_tables.accounts.c.id).where(
                    sandbox_tables.accounts.c.username == "payez"
                )
            ).scalar_one()
            token = issue_token(conn, None, int(payez_id), "read write")
        network = MastodonNetwork(sandbox.api_base_url, token, name=SANDBOX_NETWORK)
        live = ServiceContext(engine=engine, settings=settings, networks={SANDBOX_NETWORK: network})
        posted = sandbox.client("alice").status_post("@payez envoie 4€ à @bob")
        assert poll_mentions(live, network) == 1
        process_until_empty(live)
        with engine.connect() as conn:
            state = conn.execute(
                sa.select(payments.c.state).where(payments.c.post_id == str(posted["id"]))
            ).scalar_one()
        assert state == "settled"
        assert account_summary(live, "bob").balance_cents == 700

        # Dave proves his account on the network: the money held under the old id is his.
        dave = network.resolve_handle("dave")
        assert dave is not None
        with engine.connect() as conn:
            claim_token = conn.execute(
                sa.select(payments.c.claim_token).where(payments.c.post_id == to_dave["post_id"])
            ).scalar_one()
        dave_login = sign_up(
            live,
            email="dave@example.org",
            password="correct horse battery",
            display_name="Dave",
            language="fr",
        )
        claimed = claim_payment(live, str(claim_token), dave, dave_login)
        assert (claimed.user_id, claimed.total) == (dave_login, Money.eur(500))
    assert check_ledger(engine).ok
    engine.dispose()


def test_a_sandbox_account_linked_under_two_old_base_urls_keeps_its_first_link(
    blank_database_url: str,
) -> None:
    url = blank_database_url
    _upgrade_to_the_heads_before(url, NEW_REVISION)
    engine = make_engine(url)
    with engine.begin() as conn:
        create_sandbox_user(conn, "alice", "pw-alice", "Alice")
        first = _person(conn, "alice", f"{OLD_BASE}/sandbox/users/alice", SANDBOX_NETWORK)
        _person(conn, "alice", "https://pay.example.org/payez/sandbox/users/alice", SANDBOX_NETWORK)
        # An id naming no sandbox account is left alone.
        _person(conn, "ghost", f"{OLD_BASE}/sandbox/users/ghost", SANDBOX_NETWORK)
    command.upgrade(alembic_config(url), "heads")
    with engine.connect() as conn:
        domain = conn.execute(sa.select(sandbox_tables.instance.c.domain)).scalar_one()
        links = conn.execute(
            sa.select(social_links.c.user_id, social_links.c.account_id).order_by(social_links.c.id)
        ).all()
    engine.dispose()
    assert [tuple(link) for link in links] == [
        (first, f"https://{domain}/users/alice"),
        (links[-1].user_id, f"{OLD_BASE}/sandbox/users/ghost"),
    ]
