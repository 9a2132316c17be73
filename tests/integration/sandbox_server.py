"""The sandbox network served for tests, mounted at /sandbox as the web app mounts it, with
Mastodon.py clients logged in as its users."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from mastodon import Mastodon
from starlette.applications import Starlette
from starlette.routing import Mount

from payez.adapters.db.engine import make_engine
from payez.config import load_settings
from payez.sandbox.network import MOUNT_PATH, create_sandbox_app, create_sandbox_user
from tests.integration.network_server import ServedApp


@dataclass
class Sandbox:
    engine: sa.Engine
    sandbox_app: Any
    server: ServedApp
    _app_credentials: tuple[str, str] | None = None
    _clients: dict[str, Mastodon] = field(default_factory=dict)

    @property
    def api_base_url(self) -> str:
        return self.server.url + MOUNT_PATH

    def account_uri(self, username: str) -> str:
        """The account's immutable id, as the sandbox gives it."""
        return str(self.sandbox_app.state.sandbox.urls.account_uri(username))

    def user(self, username: str, password: str | None = None, display_name: str = "") -> int:
        with self.engine.begin() as conn:
            return create_sandbox_user(
                conn, username, password or f"pw-{username}", display_name or username.title()
            )

    def app_credentials(self) -> tuple[str, str]:
        if self._app_credentials is None:
            self._app_credentials = Mastodon.create_app(
                "payez-tests",
                api_base_url=self.api_base_url,
                redirect_uris=["urn:ietf:wg:oauth:2.0:oob", "http://127.0.0.1/callback"],
            )
        return self._app_credentials

    def client(self, username: str) -> Mastodon:
        """A Mastodon.py client logged in (password grant) as ``username``, created if needed."""
        if username not in self._clients:
            self.user(username)
            client_id, secret = self.app_credentials()
            api = Mastodon(
                client_id=client_id,
                client_secret=secret,
                api_base_url=self.api_base_url,
                ratelimit_method="throw",
                request_timeout=10,
            )
            api.log_in(username, f"pw-{username}")
            self._clients[username] = api
        return self._clients[username]

    def token(self, username: str) -> str:
        token = self.client(username).access_token
        assert isinstance(token, str)
        return token

    def close_streams(self) -> None:
        self.sandbox_app.state.sandbox.streams.close_all()


@contextlib.contextmanager
def running_sandbox(database_url: str, **app_options: Any) -> Iterator[Sandbox]:
    """The sandbox on ``database_url`` (already migrated), served on a free port."""
    engine = make_engine(database_url)
    sandbox_app = create_sandbox_app(engine, load_settings({}), **app_options)
    root = Starlette(routes=[Mount(MOUNT_PATH, app=sandbox_app)])
    server = ServedApp(root, before_stop=sandbox_app.state.sandbox.streams.close_all)
    server.start()
    try:
        yield Sandbox(engine, sandbox_app, server)
    finally:
        server.stop()
        engine.dispose()
