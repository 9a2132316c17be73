"""``payez serve`` delivers the email outbox: into the sandbox mailbox (``/sandbox/mail``) when
no mail server is configured, as in ``make run``; through SMTP when PAYEZ_SMTP_URL names one."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx

from payez.adapters.db.engine import make_engine
from payez.service.email_outbox import Letter, queue_email
from tests.e2e.service_world import free_port
from tests.e2e.test_serve_anywhere import _healthy, _serving, _wait_for
from tests.smtp_server import smtp_server

LETTER = Letter(
    "Réinitialisez votre mot de passe",
    "Reset your password",
    "Ouvrez https://payez.example/reset/abc pour choisir un nouveau mot de passe.",
    "Open https://payez.example/reset/abc to choose a new password.",
)


def _queue(database_url: str, key: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        queue_email(
            conn,
            kind="password_reset",
            to="alice@example.org",
            language="fr",
            letter=LETTER,
            idempotency_key=key,
            now=datetime.now(UTC),
        )
    engine.dispose()


def _environment(tmp_path: Path, name: str) -> tuple[str, dict[str, str]]:
    database_url = f"sqlite:///{tmp_path / name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYEZ_")}
    env.update(PAYEZ_DATABASE_URL=database_url)
    return database_url, env


def _mailbox(base_url: str) -> str:
    return httpx.get(f"{base_url}/sandbox/mail", timeout=5).text


def test_serve_delivers_emails_to_the_sandbox_mailbox_or_by_smtp(tmp_path: Path) -> None:
    database_url, env = _environment(tmp_path, "sandbox.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "sandbox.log").open("w") as log, _serving(port, env, log):
        _wait_for(lambda: _healthy(base), "serving")
        _queue(database_url, "reset:1")
        _wait_for(lambda: "Réinitialisez votre mot de passe" in _mailbox(base), "in the mailbox")
        assert '<a href="https://payez.example/reset/abc">' in _mailbox(base)

    database_url, env = _environment(tmp_path, "smtp.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with smtp_server(credentials=("payez", "hunter2")) as server:
        env["PAYEZ_SMTP_URL"] = server.url
        with (tmp_path / "smtp.log").open("w") as log, _serving(port, env, log):
            _wait_for(lambda: _healthy(base), "serving")
            _queue(database_url, "reset:2")
            (message,) = server.wait_for(1, timeout=30)
            assert message["Subject"] == "Réinitialisez votre mot de passe"
            assert "Réinitialisez" not in _mailbox(base)  # SMTP, not the sandbox
        assert "hunter2" not in (tmp_path / "smtp.log").read_text()
        # The log names the server, its password masked.
        assert (
            f"payez:***@127.0.0.1:{server.controller.port}" in (tmp_path / "smtp.log").read_text()
        )
