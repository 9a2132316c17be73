"""The web app under FastAPI's TestClient, on a real database, for the web tests.

``WebWorld`` wraps the pipeline ``World`` (in-memory network named "memory", manual clock) and
builds the app; ``Browser`` is one browser (its own cookies) with helpers that fill the CSRF
token from the page as a real form would. ``oauth_sandbox`` serves the sandbox network on a
real port, as Payez's OAuth provider for the "memory" and "sandbox" networks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from payez.adapters.db import emails
from payez.adapters.networks.mastodon_oauth import OAuthClient
from payez.entrypoints.web.app import create_app
from payez.sandbox.network.accounts import register_app
from tests.integration.pipeline_world import World
from tests.integration.sandbox_server import Sandbox, running_sandbox

CALLBACK = "http://testserver/oauth/{network}/callback"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_LINK = re.compile(r"https?://[^/\s]+(/[^\s]+)")


def emailed_link(engine: Engine, address: str, kind: str) -> str:
    """The path of the link in the newest email of ``kind`` queued for ``address``."""
    with engine.connect() as conn:
        queued = [e for e in emails.sent_to(conn, address) if e.kind == kind]
    assert queued, f"no {kind} email queued for {address}"
    found = _LINK.search(queued[0].text)
    assert found, queued[0].text
    return found.group(1)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    client: TestClient
    email: str = ""
    engine: Engine | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, follow_redirects=False, **kwargs)

    def token(self, path: str = "/") -> str:
        return csrf_of(self.client.get(path).text)

    def submit(
        self, path: str, data: dict[str, str], *, form_page: str | None = None
    ) -> httpx.Response:
        """Post ``data`` with the CSRF token of ``form_page`` (default: ``path``)."""
        token = self.token(form_page or path)
        return self.client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)

    def sign_up(
        self, email: str, name: str = "Alice", password: str = PASSWORD, *, verify: bool = True
    ) -> httpx.Response:
        """Sign up, then open the verification link emailed (unless ``verify`` is False, or the
        browser was built without the world's database to read it from)."""
        self.email = email
        answer = self.submit(
            "/signup", {"email": email, "password": password, "display_name": name}
        )
        if verify and answer.status_code == 303 and self.engine is not None:
            self.verify_email(email)
        return answer

    def verify_email(self, email: str) -> None:
        assert self.engine is not None, "a browser of a WebWorld reads the emails queued"
        opened = self.get(emailed_link(self.engine, email.strip().lower(), "verify_email"))
        assert opened.status_code == 200, opened.text

    def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.submit("/login", {"email": email, "password": password})

    def user_id(self) -> int:
        me = self.client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        return int(me.json()["id"])


@dataclass
class WebWorld:
    world: World
    app: FastAPI
    browsers: list[Browser] = field(default_factory=list)

    def browser(self, **headers: str) -> Browser:
        client = TestClient(self.app, headers=headers or None)
        browser = Browser(client, engine=self.world.ctx.engine)
        self.browsers.append(browser)
        return browser

    def close(self) -> None:
        for browser in self.browsers:
            browser.client.close()
        self.world.ctx.engine.dispose()


def oauth_clients(sandbox: Sandbox) -> dict[str, OAuthClient]:
    clients = {}
    for network in ("memory", "sandbox"):
        redirect = CALLBACK.format(network=network)
        with sandbox.engine.begin() as conn:
            registered = register_app(conn, "Payez", redirect, "read write:statuses", None)
        clients[network] = OAuthClient(
            network,
            sandbox.api_base_url,
            registered.client_id,
            registered.client_secret,
            redirect,
        )
    return clients


@contextlib.contextmanager
def web_world(
    database_url: str, *, sandbox: Sandbox | None = None, **settings: Any
) -> Iterator[WebWorld]:
    world = World.create(database_url, **settings)
    app = create_app(world.ctx, oauth_clients=oauth_clients(sandbox) if sandbox else None)
    web = WebWorld(world, app)
    try:
        yield web
    finally:
        web.close()


@contextlib.contextmanager
def oauth_sandbox(database_url: str) -> Iterator[Sandbox]:
    with running_sandbox(database_url) as sandbox:
        yield sandbox


def sign_in_on_sandbox(browser: Browser, start_path: str, username: str, password: str) -> str:
    """Follow Payez's redirect to the sandbox's authorize page and sign in there; returns the
    path (with code and state) the network sends the browser back to."""
    start = browser.get(start_path)
    assert start.status_code == 303, start.text
    with httpx.Client(follow_redirects=False, timeout=10) as network_browser:
        form = network_browser.get(start.headers["location"])
        assert form.status_code == 200, form.text
        fields = dict(_HIDDEN.findall(form.text))
        action = start.headers["location"].split("?")[0]
        answer = network_browser.post(
            action, data={**fields, "username": username, "password": password}
        )
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["location"])
    assert parse_qs(target.query).get("code"), answer.headers["location"]
    return f"{target.path}?{target.query}"


def authorize_on_sandbox(
    browser: Browser, start_path: str, username: str, password: str
) -> httpx.Response:
    """Sign in on the sandbox and come back to Payez, as the browser would."""
    return browser.get(sign_in_on_sandbox(browser, start_path, username, password))
