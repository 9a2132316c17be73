"""The whole service in-process for end-to-end tests: the web app and the sandbox network served
by uvicorn on a free port, the demo world seeded, the real Mastodon adapter as the service's
network, Mastodon.py as the users' client, and a clock the test controls.

The worker's loops are stepped by hand (``step``), so each test decides exactly when posts are
read, decided and answered.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from mastodon import Mastodon
from sqlalchemy import Engine

from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import users
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.adapters.networks.mastodon_oauth import OAuthClient
from payez.config import Settings, load_settings
from payez.entrypoints.web.app import create_app
from payez.ports.clock import ManualClock
from payez.sandbox.bootstrap import SANDBOX_NETWORK, wire_sandbox
from payez.sandbox.demo import seed_demo
from payez.sandbox.mail import SandboxMailbox
from payez.sandbox.network.app import create_sandbox_app
from payez.service.account_summary import account_summary
from payez.service.context import ServiceContext
from payez.service.passwords import hash_password
from payez.service.process_inbox import process_until_empty
from payez.service.record_posts import poll_mentions
from payez.service.send_emails import send_emails
from payez.service.send_outbox import send_outbox
from tests.integration.network_server import ServedApp

LINK = re.compile(r"https?://\S+?/(claim|confirm)/([A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceWorld:
    settings: Settings
    engine: Engine
    server: ServedApp
    ctx: ServiceContext
    clock: ManualClock
    passwords: dict[str, str]
    _clients: dict[str, Mastodon] = field(default_factory=dict)
    _app: tuple[str, str] | None = None

    @property
    def api_base_url(self) -> str:
        return f"{self.settings.base_url}/sandbox"

    def client(self, username: str) -> Mastodon:
        if username not in self._clients:
            if self._app is None:
                self._app = Mastodon.create_app(
                    "e2e", api_base_url=self.api_base_url, scopes=["read", "write"]
                )
            api = Mastodon(
                client_id=self._app[0],
                client_secret=self._app[1],
                api_base_url=self.api_base_url,
                version_check_mode="none",
            )
            api.log_in(username, self.passwords[username], scopes=["read", "write"])
            self._clients[username] = api
        return self._clients[username]

    def post(self, username: str, text: str, **kwargs: Any) -> dict[str, Any]:
        status: dict[str, Any] = self.client(username).status_post(text, **kwargs)
        return status

    def step(self) -> None:
        """One turn of the worker: read mentions, decide them, send the replies and emails
        (into the sandbox mailbox, /sandbox/mail)."""
        network = self.ctx.networks[SANDBOX_NETWORK]
        poll_mentions(self.ctx, network)
        process_until_empty(self.ctx)
        send_outbox(self.ctx)
        send_emails(self.ctx)

    def balance(self, handle: str) -> int:
        return account_summary(self.ctx, handle).balance_cents

    def replies_to(self, status: dict[str, Any]) -> list[str]:
        """The service's replies under ``status``, as plain text, oldest first."""
        payez = self.client("alice").account_lookup(self.settings.service_handle)
        statuses = self.client("alice").account_statuses(payez["id"], limit=40)
        return [
            re.sub(r"<[^>]+>", "", s["content"])
            for s in reversed(statuses)
            if str(s.get("in_reply_to_id")) == str(status["id"])
        ]

    def link_in(self, text: str, kind: str) -> str:
        for found in LINK.finditer(text):
            if found.group(1) == kind:
                return found.group(2)
        raise AssertionError(f"no {kind} link in {text!r}")

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def give_login(self, handle: str, email: str, password: str) -> int:
        """Give the member ``handle`` this web login (the test's own, not the demo's)."""
        user_id = account_summary(self.ctx, handle).user_id
        with self.engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(
                    email=email,
                    password_hash=hash_password(password),
                    email_verified_at=self.clock.now(),
                )
            )
        return user_id

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.settings.base_url, follow_redirects=True, timeout=20)


def start_world(database_url: str, **overrides: Any) -> ServiceWorld:
    port = free_port()
    settings = load_settings(
        {},
        database_url=database_url,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        confirm=overrides.pop("confirm", "never"),
        **overrides,
    )
    engine = make_engine(database_url)
    passwords = {u.handle: u.password for u in seed_demo(engine, settings)}
    wiring = wire_sandbox(engine, settings)
    clock = ManualClock(datetime.now(UTC))
    network = MastodonNetwork(wiring.api_base_url, wiring.service_token, name=SANDBOX_NETWORK)
    ctx = ServiceContext(
        engine=engine,
        settings=settings,
        clock=clock,
        networks={SANDBOX_NETWORK: network},
        mailer=SandboxMailbox(engine),
    )
    sandbox = create_sandbox_app(engine, settings)
    client = OAuthClient(
        SANDBOX_NETWORK,
        wiring.api_base_url,
        wiring.client_id,
        wiring.client_secret,
        wiring.redirect_uri,
    )
    app = create_app(ctx, oauth_clients={SANDBOX_NETWORK: client}, sandbox=sandbox)

    def close_streams() -> None:
        sandbox.state.sandbox.streams.close_all()
        app.state.live_streams.close_all()

    server = ServedApp(app, port=port, before_stop=close_streams)
    server.start()
    return ServiceWorld(settings, engine, server, ctx, clock, passwords)


@contextmanager
def running_world(database_url: str, **overrides: Any) -> Iterator[ServiceWorld]:
    """A started world, its server stopped and its engine closed whatever happens."""
    world = start_world(database_url, **overrides)
    try:
        yield world
    finally:
        world.server.stop()
        world.engine.dispose()
