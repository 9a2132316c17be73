"""Every state-changing route of the app's route table refuses a form without its CSRF token, or
with another browser's, before anything else happens: the refusal names the CSRF check and no
table changes. Only the webhooks are exempt, each proved by its own signature instead.

The routes come from the app itself, so a new form cannot be forgotten here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.backoffice_world import Backoffice, backoffice_world
from tests.integration.test_security_headers import every_route

# Signed by their sender, not by a browser: Stripe's, the sandbox processor's and X's webhooks.
SIGNED_WEBHOOKS = {"/webhooks/stripe", "/webhooks/sandbox", "/webhooks/x"}
REFUSED = ("ne vient pas de Payez", "did not come from Payez")
PARAM = re.compile(r"\{[a-z_]+\}")


def _tables(bo: Backoffice) -> dict[str, int]:
    with bo.ctx.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {
            name: int(conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in names
            if name != "login_attempts"  # a refused form is not a login attempt, but be exact
        }


def _state_changing_paths(bo: Backoffice) -> list[str]:
    paths = {
        PARAM.sub("1", route.path)
        for route in every_route(bo.web.app.routes)
        if (route.methods or set()) - {"GET", "HEAD"}
    }
    return sorted(paths - SIGNED_WEBHOOKS)


@pytest.fixture
def bo(database_url: str, tmp_path: Path) -> Any:
    with backoffice_world(database_url, tmp_path / "exports") as world:
        yield world


def test_every_form_needs_its_csrf_token(bo: Backoffice) -> None:
    member = bo.member("alice")
    paths = _state_changing_paths(bo)
    assert len(paths) >= 35, paths
    before = _tables(bo)
    stranger = bo.web.browser()
    foreign_token = stranger.token("/login")  # valid, but for another browser
    for path in paths:
        for token in (None, foreign_token):
            data = {"amount": "10", "user_id": str(member), "email": "x@example.org"}
            if token is not None:
                data["csrf_token"] = token
            answer = bo.operator.client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, (path, token, answer.status_code)
            assert any(words in answer.text for words in REFUSED), (path, answer.text[:300])
    assert _tables(bo) == before
