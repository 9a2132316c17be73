"""Stopping with a dashboard open: a real ``payez serve``, a member's live event stream open on
it (``GET /dashboard/events``), then SIGTERM. The stream never ends by itself, and uvicorn
waits for open responses; the server must end it as stopping begins, so the process exits well
before uvicorn's own deadline for the requests in flight (``GRACEFUL_SECONDS``) would cut it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.adapters.db.tables.payments import users
from payez.adapters.db.users import user_by_handle
from payez.entrypoints.web.server import GRACEFUL_SECONDS
from payez.service.passwords import hash_password
from tests.e2e.service_world import free_port
from tests.e2e.test_stopping import (
    _read_until,
    assert_ledger_sound,
    payez,
    raw_request,
    seed,
    stop,
)
from tests.integration.web_world import csrf_of

EMAIL = "bob@example.org"
PASSWORD = "correct horse battery"


def give_login(database_url: str, handle: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            found = user_by_handle(conn, handle)
            assert found is not None
            conn.execute(
                users.update()
                .where(users.c.id == found.id)
                .values(
                    email=EMAIL,
                    password_hash=hash_password(PASSWORD),
                    email_verified_at=sa.func.current_timestamp(),
                )
            )
    finally:
        engine.dispose()


def cookie_header(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=20) as browser:
        token = csrf_of(browser.get("/login").text)
        answer = browser.post(
            "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


@pytest.mark.parametrize("worker", ["--worker", "--no-worker"])
def test_serve_stops_promptly_with_a_live_dashboard_open(
    sqlite_url: str, tmp_path: Path, worker: str
) -> None:
    database_url = sqlite_url
    port = free_port()
    seed(database_url, port)
    give_login(database_url, "bob")
    with payez("serve", database_url, tmp_path, worker, port=port) as running:
        cookies = cookie_header(running.base_url)
        head = (
            "GET /dashboard/events HTTP/1.1\n"
            f"Host: 127.0.0.1:{running.port}\n"
            "Accept: text/event-stream\n"
            f"Cookie: {cookies}\n"
        )
        with raw_request(running.port, head) as client:
            opened = _read_until(client, b"event: balance")
            assert b" 200 OK" in opened.split(b"\r\n", 1)[0], opened[:300]
            assert b"text/event-stream" in opened, opened[:300]
            elapsed = stop(running)
            assert elapsed < GRACEFUL_SECONDS - 1, f"the stream held the stop up: {elapsed:.1f} s"
            # The server ended the stream before it went: the client reads its end.
            client.settimeout(1)
            assert _read_until(client, b"0\r\n\r\n").endswith(b"0\r\n\r\n")
    assert_ledger_sound(database_url)
