"""A small world for pipeline tests: a real database, the in-memory network, a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from payez.adapters.db import emails
from payez.adapters.db import listings as listings_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.tables.payments import payments
from payez.adapters.networks.memory import InMemoryNetwork
from payez.config import load_settings
from payez.domain.money import Money
from payez.ports.clock import ManualClock
from payez.ports.network import NetworkAccount, Post
from payez.sandbox.mail import SandboxMailbox
from payez.service.context import ServiceContext
from payez.service.email_verification import verify_email
from payez.service.load_wallet import load_wallet
from payez.service.open_account import link_network_account, open_user
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_emails import send_emails
from payez.service.send_outbox import send_outbox
from payez.service.sign_up import sign_up


@dataclass
class World:
    ctx: ServiceContext
    network: InMemoryNetwork
    clock: ManualClock
    users: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, NetworkAccount] = field(default_factory=dict)

    @classmethod
    def create(cls, database_url: str, **settings: Any) -> World:
        clock = ManualClock()
        network = InMemoryNetwork(name="memory", clock=clock)
        config = load_settings(
            {}, database_url=database_url, confirm=settings.pop("confirm", "never"), **settings
        )
        engine = make_engine(database_url)
        ctx = ServiceContext(
            engine=engine,
            settings=config,
            clock=clock,
            networks={"memory": network},
            mailer=SandboxMailbox(engine),
        )
        return cls(ctx=ctx, network=network, clock=clock)

    def join(
        self, handle: str, *, kind: str = "person", verified: bool = True, cents: int = 50_000
    ) -> int:
        account = self.network.add_account(handle)
        with self.ctx.engine.begin() as conn:
            user_id = open_user(
                conn,
                kind=kind,
                display_name=handle,
                now=self.clock.now(),
                identity_verified=verified,
                organisation_verified=kind != "person",
            )
            link_network_account(conn, self.ctx, user_id, "memory", account)
            if cents:
                load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
        self.users[handle] = user_id
        self.accounts[handle] = account
        return user_id

    def signs_up(self, handle: str, *, verify: bool = True) -> int:
        """A person who opened a Payez login (email and password) and linked nothing yet; they
        opened the verification link emailed to them unless ``verify`` is False."""
        address = f"{handle}@example.org"
        user_id = sign_up(
            self.ctx,
            email=address,
            password="correct horse battery",
            display_name=handle,
            language="fr",
        )
        if verify:
            with self.ctx.engine.connect() as conn:
                letter = next(e for e in emails.sent_to(conn, address) if e.kind == "verify_email")
            verify_email(self.ctx, letter.text.split("token=", 1)[1].split()[0])
        self.users[handle] = user_id
        return user_id

    def stranger(self, handle: str) -> NetworkAccount:
        account = self.network.add_account(handle)
        self.accounts[handle] = account
        return account

    def post(self, handle: str, text: str, **kwargs: Any) -> Post:
        author = self.accounts.get(handle) or self.network.add_account(handle)
        return self.network.post(author, text, **kwargs)

    def listing(self, merchant: str, title: str, price_cents: int, stock: int) -> Post:
        post = self.post(merchant, f"{title} — {Money.eur(price_cents).format('fr')}")
        with self.ctx.engine.begin() as conn:
            listings_repo.insert_listing(
                conn,
                merchant_user_id=self.users[merchant],
                network="memory",
                post_id=post.id,
                title=title,
                price_cents=price_cents,
                currency="EUR",
                stock=stock,
                now=self.clock.now(),
            )
        return post

    def run(self) -> None:
        """One turn of the worker: read mentions, decide them, send the replies and emails."""
        poll_mentions(self.ctx, self.network)
        process_until_empty(self.ctx)
        send_outbox(self.ctx)
        send_emails(self.ctx)

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def balance(self, handle: str) -> int:
        with self.ctx.engine.connect() as conn:
            user = conn.execute(
                sa.text("SELECT wallet_account_id FROM users WHERE id = :id"),
                {"id": self.users[handle]},
            ).scalar_one()
            return SqlLedger(conn).balance(int(user)).posted.cents

    def payment_for(self, post: Post) -> dict[str, Any]:
        with self.ctx.engine.connect() as conn:
            row = conn.execute(sa.select(payments).where(payments.c.post_id == post.id)).one()
            return dict(row._mapping)

    def replies_to(self, post: Post) -> list[str]:
        return [r.text for r in self.network.replies if r.to_post_id == post.id]

    def assert_ledger_sound(self) -> None:
        report = check_ledger(self.ctx.engine)
        assert report.ok, report.problems
