"""Every form of the app's route table, sent hostile values with a valid CSRF token: empty,
huge and negative numbers, control characters, SQL and HTML injection, oversized text, invalid
UTF-8, a body of several megabytes. Each gets a clear answer below 500, and what a user typed is
shown escaped on the pages that show it back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.backoffice_world import Backoffice, backoffice_world
from tests.integration.test_csrf_sweep import SIGNED_WEBHOOKS
from tests.integration.test_security_headers import every_route

SCRIPT = "<script>alert('payez')</script>"
HOSTILE = (
    "",
    "0",
    "-1",
    "99999999999999999999999999999999",
    "1e309",
    "NaN",
    SCRIPT,
    "' OR 1=1; DROP TABLE payments; --",
    "\x00\x01\x1b[31m\u202e",
    "é" * 20_000,
    "🙂" * 300,
    "../../../etc/passwd",
)
# Forms that would end the operator's own session or account midway through the sweep.
LEFT_OUT = {"/logout", "/settings/privacy/close"}
PARAM = re.compile(r"\{[a-z_]+\}")


@pytest.fixture
def bo(database_url: str, tmp_path: Path) -> Any:
    with backoffice_world(database_url, tmp_path / "exports") as world:
        yield world


def _forms(bo: Backoffice) -> list[tuple[str, list[str]]]:
    forms = []
    for route in every_route(bo.web.app.routes):
        if not (route.methods or set()) - {"GET", "HEAD"} or route.path in SIGNED_WEBHOOKS:
            continue
        if route.path in LEFT_OUT or route.path.startswith("/sandbox"):
            continue
        fields = [p.name for p in route.dependant.body_params]
        forms.append((route.path, [f for f in fields if f != "csrf_token"]))
    return sorted(forms)


def test_hostile_values_never_break_a_form_and_are_shown_escaped(bo: Backoffice) -> None:
    member = bo.member("alice")
    forms = _forms(bo)
    assert len(forms) >= 30
    browser = bo.operator
    token = browser.token("/settings")
    tried = 0
    for path, fields in forms:
        url = PARAM.sub(str(member), path)
        for value in HOSTILE:
            data = {**dict.fromkeys(fields, value), "csrf_token": token}
            answer = browser.client.post(url, data=data, follow_redirects=False)
            assert answer.status_code < 500, (path, value[:20], answer.status_code)
            tried += 1
        raw = f"csrf_token={token}&{'&'.join(f'{f}=%FF%FE%00' for f in fields)}".encode()
        bad_utf8 = browser.client.post(
            url,
            content=raw + b"\xff\xfe",
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert bad_utf8.status_code < 500, (path, "invalid UTF-8", bad_utf8.status_code)
        tried += 1
    huge = browser.client.post(
        "/settings",
        content=b"csrf_token=" + token.encode() + b"&email=" + b"a" * 5_000_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert huge.status_code < 500
    assert tried > 350
    # Whatever was stored shows escaped, never as markup.
    for page in ("/settings", "/dashboard", f"/backoffice/users/{member}", "/backoffice/audit"):
        shown = browser.get(page)
        assert shown.status_code == 200, page
        assert SCRIPT not in shown.text, page


def test_a_nul_character_is_refused_with_a_clear_error(bo: Backoffice) -> None:
    token = bo.operator.token("/settings")
    answer = bo.operator.client.post(
        "/settings", data={"csrf_token": token, "email": "a\x00@example.org"}
    )
    assert answer.status_code == 400
    assert "caractère invisible interdit" in answer.text or "forbidden invisible" in answer.text


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_a_bidirectional_override_is_refused_and_nothing_is_written(
    bo: Backoffice, control: str
) -> None:
    visitor = bo.web.browser()
    answer = visitor.sign_up("trudy@example.org", name=f"Alice {control}nimda", verify=False)
    assert answer.status_code == 400
    assert "caractère invisible interdit" in answer.text or "forbidden invisible" in answer.text
    with bo.ctx.engine.connect() as conn:
        accounts = conn.execute(
            sa.text("SELECT count(*) FROM users WHERE email = 'trudy@example.org'")
        ).scalar_one()
    assert accounts == 0
