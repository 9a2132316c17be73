"""``payez demo seed``: a ready-made sandbox world a newcomer can play with in a minute.

Idempotent: seeding twice changes nothing. Passwords derive from the secret key, so they can be
printed again without being stored in clear. Every member on Payez also gets a web login
(``{handle}@demo.payez.test`` with the same password) and a TOTP secret, already enabled, so the
demo can confirm payments (``PAYEZ_CONFIRM=psd2`` asks for a first payment). The merchant's
linked account carries a posting grant, so new listings publish in one click.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from payez.adapters.db import account_links, web_accounts
from payez.adapters.db import listings as listings_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.tables.payments import listings
from payez.config import Settings
from payez.domain.money import Money
from payez.ports.network import NetworkAccount
from payez.sandbox.bootstrap import SANDBOX_NETWORK, sandbox_base_url
from payez.sandbox.network.accounts import create_sandbox_user, issue_token
from payez.sandbox.network.instance import sandbox_urls
from payez.sandbox.network.statuses import Urls, post_status
from payez.service.load_wallet import load_wallet
from payez.service.network_tokens import seal_token
from payez.service.open_account import open_user
from payez.service.passwords import hash_password
from payez.service.second_factor import enrol_totp_secret

DEMO_BALANCE = Money.eur(50_000)
PEOPLE = ("alice", "bob", "carol")
LISTING_TITLE = "T-shirt Payez"
LISTING_PRICE = Money.eur(1500)
LISTING_STOCK = 2


@dataclass(frozen=True, slots=True)
class DemoUser:
    handle: str
    password: str
    kind: str
    on_payez: bool
    email: str | None = None
    web_password: str | None = None
    totp_secret: str | None = None


def demo_password(settings: Settings, username: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"demo:{username}".encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def demo_totp_secret(settings: Settings, username: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"demo-totp:{username}".encode(), "sha256")
    return base64.b32encode(digest.digest()[:20]).decode("ascii")


def demo_email(username: str) -> str:
    return f"{username}@demo.payez.test"


def seed_demo(engine: Engine, settings: Settings) -> list[DemoUser]:
    now = datetime.now(UTC)
    seeded: list[DemoUser] = []
    with engine.begin() as conn:
        urls = sandbox_urls(conn, sandbox_base_url(settings))
        for handle in PEOPLE:
            _, user_id = _member(conn, settings, urls, handle, "person", now)
            load_wallet(conn, user_id, DEMO_BALANCE, f"demo:load:{handle}")
            seeded.append(_web_login(conn, settings, user_id, handle, "person", now))
        _, user_id = _member(
            conn, settings, urls, "restos", "association", now, legal_id="W751234567"
        )
        seeded.append(_web_login(conn, settings, user_id, "restos", "association", now))
        merchant = _member(conn, settings, urls, "boutique", "merchant", now, legal_id="123456789")
        _listing(conn, urls, merchant, now)
        _publishing_grant(conn, settings, urls, merchant, "boutique")
        seeded.append(_web_login(conn, settings, merchant[1], "boutique", "merchant", now))
        create_sandbox_user(conn, "dave", demo_password(settings, "dave"), "Dave")
        seeded.append(DemoUser("dave", demo_password(settings, "dave"), "person", False))
    return seeded


def _web_login(
    conn: Connection, settings: Settings, user_id: int, handle: str, kind: str, now: datetime
) -> DemoUser:
    """A web login and an enabled TOTP secret for a demo member (kept if already there)."""
    password = demo_password(settings, handle)
    found = web_accounts.profile(conn, user_id)
    if found is not None and found.email is None:
        # Hashed once: a second seed would otherwise rewrite the hash for nothing. The demo's
        # addresses are made up and ready to use: marked verified, no link is sent.
        web_accounts.update_user(
            conn,
            user_id,
            email=demo_email(handle),
            password_hash=hash_password(password),
            email_verified_at=now,
        )
    elif found is not None and found.email == demo_email(handle):
        # Seeded before addresses were verified: the demo's logins are ready to use.
        account_links.mark_email_verified(conn, user_id, demo_email(handle), now)
    secret = demo_totp_secret(settings, handle)
    enrol_totp_secret(conn, settings, user_id, secret, now)
    return DemoUser(
        handle,
        password,
        kind,
        True,
        email=demo_email(handle),
        web_password=password,
        totp_secret=secret,
    )


def _member(
    conn: Connection,
    settings: Settings,
    urls: Urls,
    handle: str,
    kind: str,
    now: datetime,
    legal_id: str | None = None,
) -> tuple[int, int]:
    """The sandbox account and the verified Payez user linked to it: (sandbox id, user id)."""
    sandbox_id = create_sandbox_user(conn, handle, demo_password(settings, handle), handle.title())
    account = NetworkAccount(id=urls.account_uri(handle), handle=handle)
    found = users_repo.users_by_network_account(conn, SANDBOX_NETWORK, [account.id])
    if account.id in found:
        return sandbox_id, found[account.id].id
    user_id = open_user(
        conn,
        kind=kind,
        display_name=handle.title(),
        now=now,
        identity_verified=True,
        organisation_verified=kind != "person",
        legal_id=legal_id,
    )
    users_repo.link_account(
        conn,
        user_id=user_id,
        network=SANDBOX_NETWORK,
        account_id=account.id,
        handle=account.handle,
        now=now,
    )
    return sandbox_id, user_id


def _publishing_grant(
    conn: Connection, settings: Settings, urls: Urls, merchant: tuple[int, int], handle: str
) -> None:
    """The token the merchant would grant by linking their account with "allow posting", so
    the demo merchant can publish new listings in one click (kept if already there)."""
    sandbox_id, _user_id = merchant
    account_id = urls.account_uri(handle)
    if users_repo.sealed_access_token(conn, SANDBOX_NETWORK, account_id) is not None:
        return
    token = issue_token(conn, None, sandbox_id, "read write:statuses")
    sealed = seal_token(settings, SANDBOX_NETWORK, account_id, token)
    users_repo.keep_access_token(conn, SANDBOX_NETWORK, account_id, sealed)


def _listing(conn: Connection, urls: Urls, merchant: tuple[int, int], now: datetime) -> None:
    sandbox_id, user_id = merchant
    exists = conn.execute(
        sa.select(listings.c.id).where(listings.c.merchant_user_id == user_id)
    ).first()
    if exists:
        return
    text = (
        f"{LISTING_TITLE} — {LISTING_PRICE.format('fr')} ({LISTING_STOCK} en stock). "
        "Répondez « @payez j'achète » pour l'acheter / reply « @payez buy » to buy it."
    )
    post_id = post_status(conn, sandbox_id, text, now, idempotency_key="demo-listing")
    listings_repo.insert_listing(
        conn,
        merchant_user_id=user_id,
        network=SANDBOX_NETWORK,
        post_id=str(post_id),
        title=LISTING_TITLE,
        price_cents=LISTING_PRICE.cents,
        currency="EUR",
        stock=LISTING_STOCK,
        now=now,
    )
