"""The sandbox network's requests reach it outside Payez's own middleware: no Payez session,
cookie or page headers on them, the same answers as through the mount, and a form holding a NUL
or a bidi override still refused with nothing written. ``/sandbox/cards/``, Payez's own pages,
keep Payez's middleware."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from payez.entrypoints.web.app import create_app
from payez.sandbox.network import tables
from payez.sandbox.network.accounts import create_sandbox_user, issue_token
from payez.sandbox.network.app import create_sandbox_app
from tests.integration.pipeline_world import World


def _statuses(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(tables.statuses.c.text)).scalars())


def test_sandbox_requests_go_past_payez_middleware(database_url: str) -> None:
    world = World.create(database_url)
    ctx = world.ctx
    sandbox = create_sandbox_app(ctx.engine, ctx.settings)
    with ctx.engine.begin() as conn:
        alice = create_sandbox_user(conn, "alice", "pw-alice-1234", "Alice")
        token = issue_token(conn, None, alice, "read write")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(ctx, sandbox=sandbox)) as client:
            posted = client.post(
                "/sandbox/api/v1/statuses", data={"status": "bonjour"}, headers=auth
            )
            assert posted.status_code == 200, posted.text
            assert posted.json()["content"].endswith("bonjour</p>")
            # The sandbox's own url_for still sees its mount point.
            assert posted.json()["url"].startswith("http")
            # Nothing of Payez's visitor or page headers on the sandbox's answers.
            assert "set-cookie" not in posted.headers
            assert "content-security-policy" not in posted.headers
            shown = client.get(f"/sandbox/api/v1/statuses/{posted.json()['id']}")
            assert shown.status_code == 200 and shown.json()["id"] == posted.json()["id"]

            for hostile in ("nul\x00here", "facture \u202egpj.exe", "x\u2066y"):
                refused = client.post(
                    "/sandbox/api/v1/statuses", data={"status": hostile}, headers=auth
                )
                assert refused.status_code == 422, hostile
                assert "control character" in refused.json()["error"]
            # A JSON body is not a form: the sandbox decides (and Mastodon accepts bidi marks).
            as_json = client.post(
                "/sandbox/api/v1/statuses", json={"status": "x\u2066y"}, headers=auth
            )
            assert as_json.status_code == 200, as_json.text
            assert sorted(_statuses(ctx.engine)) == ["bonjour", "x\u2066y"]

            # Payez's own pages under /sandbox/cards/ still get Payez's headers and cookie.
            cards = client.get("/sandbox/cards/authenticate/unknown", follow_redirects=False)
            assert "content-security-policy" in cards.headers
            # And Payez's own pages are untouched.
            home = client.get("/")
            assert home.status_code == 200 and "content-security-policy" in home.headers
    finally:
        sandbox.state.sandbox.streams.stop()
        ctx.engine.dispose()
