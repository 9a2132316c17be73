"""The demo's members can log in on the web app and confirm with the TOTP secret printed for
them, so ``make run`` works with the PSD2 confirmation rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyotp
from fastapi.testclient import TestClient

from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.config import load_settings
from payez.entrypoints.web.app import create_app
from payez.service.context import ServiceContext
from payez.service.second_factor import factors_of, verify_totp
from tests.integration.web_world import Browser

PAYEZ = [sys.executable, "-m", "payez.entrypoints.cli"]


def test_demo_members_get_a_web_login_and_a_working_totp_secret(database_url: str) -> None:
    env = {**os.environ, "PAYEZ_DATABASE_URL": database_url}
    seeded = subprocess.run(
        [*PAYEZ, "demo", "seed", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert seeded.returncode == 0, seeded.stderr
    users = json.loads(seeded.stdout)["users"]
    alice = users["alice"]
    assert alice["email"] == "alice@demo.payez.test"
    assert alice["web_password"] == alice["password"]
    assert users["dave"]["totp_secret"] is None  # not on Payez: nothing to confirm

    migrate(database_url)
    ctx = ServiceContext(engine=make_engine(database_url), settings=load_settings({}))
    try:
        with TestClient(create_app(ctx)) as client:
            browser = Browser(client)
            assert browser.log_in(alice["email"], alice["web_password"]).status_code == 303
            user_id = browser.user_id()
        assert factors_of(ctx, user_id).totp
        assert verify_totp(ctx, user_id, pyotp.TOTP(alice["totp_secret"]).now())
        assert not verify_totp(ctx, user_id, pyotp.TOTP(users["bob"]["totp_secret"]).now())
    finally:
        ctx.engine.dispose()
