"""A real ``payez serve`` with every secret configured — its own key, card processor keys,
network credentials whose servers are down, an SMTP password — serves sign-ups and logins and
retries its networks; its whole log is then searched: no secret, password or session cookie
appears in it."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

import httpx

from tests.e2e.service_world import free_port
from tests.e2e.test_serve_anywhere import _healthy, _serving, _wait_for

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    token = _CSRF.search(client.get(page).text)
    assert token is not None, page
    return client.post(action, data={**data, "csrf_token": token[1]})


def test_a_full_run_logs_no_secret(tmp_path: Path) -> None:
    def secret(name: str) -> str:
        return f"{name}-{secrets.token_hex(12)}"

    smtp_password = secret("smtp")
    given = {
        "PAYEZ_SECRET_KEY": secret("key"),
        "PAYEZ_STRIPE_SECRET_KEY": secret("sk_test"),
        "PAYEZ_STRIPE_WEBHOOK_SECRET": secret("whsec"),
        "PAYEZ_X_CONSUMER_KEY": "consumer",
        "PAYEZ_X_CONSUMER_SECRET": secret("xcs"),
        "PAYEZ_X_ACCESS_TOKEN": secret("xat"),
        "PAYEZ_X_ACCESS_TOKEN_SECRET": secret("xats"),
        "PAYEZ_X_BEARER_TOKEN": secret("xbt"),
        "PAYEZ_BLUESKY_HANDLE": "payez.example",
        "PAYEZ_BLUESKY_APP_PASSWORD": secret("bsky"),
        "PAYEZ_SMTP_URL": f"smtp+insecure://payez:{smtp_password}@127.0.0.1:1",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYEZ_")}
    env.update(
        given,
        PAYEZ_DATABASE_URL=f"sqlite:///{tmp_path / 'payez.db'}",
        PAYEZ_X_API_URL="http://127.0.0.1:1",  # down: the adapters log their retries
        PAYEZ_BLUESKY_SERVICE="http://127.0.0.1:1",
        PAYEZ_BLUESKY_FIREHOSE="",
        PAYEZ_BLUESKY_POLL_SECONDS="1",
    )
    password = secret("password")
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log, _serving(port, env, log):
        _wait_for(lambda: _healthy(base), "serving")
        with httpx.Client(base_url=base, timeout=10) as client:
            signed_up = _form(
                client,
                "/signup",
                "/signup",
                {"display_name": "Alice", "email": "alice@example.org", "password": password},
            )
            assert signed_up.status_code == 303, signed_up.text[:500]
            session = client.cookies.get("payez_session")
            assert session
            client.cookies.clear()
            refused = _form(
                client, "/login", "/login", {"email": "alice@example.org", "password": "wrong"}
            )
            assert refused.status_code in (400, 401, 403)
            logged_in = _form(
                client, "/login", "/login", {"email": "alice@example.org", "password": password}
            )
            assert logged_in.status_code == 303
            second_session = client.cookies.get("payez_session")
        time.sleep(3)  # the network listeners try, fail and log
    text = log_path.read_text()
    # The run did reach the code that could leak: both networks failed and said so.
    assert "x: polling mentions failed" in text and "bluesky: the stream" in text
    assert "payez:***@127.0.0.1:1" in text  # the SMTP server is named, its password masked
    for name, value in given.items():
        if name not in ("PAYEZ_X_CONSUMER_KEY", "PAYEZ_BLUESKY_HANDLE"):
            assert (smtp_password if "://" in value else value) not in text, name
    for value in (password, session, second_session):
        assert value and value not in text
