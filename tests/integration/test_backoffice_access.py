"""Every back-office route refuses everyone but operators, and a refused attempt changes nothing.

A visitor who is not logged in is sent to the login page; a logged-in user who is not an
operator gets a 403 — even with a valid CSRF token — and every table a back-office action
could touch is byte-for-byte the same afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Route

from payez.entrypoints.web.backoffice import backoffice_routes
from tests.integration.backoffice_world import Backoffice, backoffice_world


@pytest.fixture
def bo(database_url: str, tmp_path: Path) -> Iterator[Backoffice]:
    with backoffice_world(database_url, tmp_path / "exports") as world:
        world.member("alice")
        world.member("bob")
        world.member("restos", kind="association", cents=0)
        for amount in (5, 6, 7):  # three payments in a burst: a flag (burst count is 2)
            world.web.world.post("alice", f"@payez envoie {amount}€ à @bob")
        world.web.world.run()
        world.request_payout("bob", 1_000)
        assert (
            world.operator.submit(
                "/backoffice/payouts/export", {}, form_page="/backoffice/payouts"
            ).status_code
            == 303
        )
        world.request_payout("bob", 2_000)
        yield world


def _ids(bo: Backoffice) -> dict[str, str]:
    flags = bo.rows("payment_flags")
    batches = bo.rows("payout_batches")
    assert flags and batches
    return {
        "user_id": str(bo.web.world.users["alice"]),
        "org_id": str(bo.web.world.users["restos"]),
        "flag_id": str(flags[0][0]),
        "batch_id": str(batches[0][0]),
    }


GETS = [
    "/backoffice",
    "/backoffice/users?q=alice",
    "/backoffice/users/{user_id}",
    "/backoffice/payments?handle=alice",
    "/backoffice/flags",
    "/backoffice/payouts",
    "/backoffice/payouts/{batch_id}/file",
    "/backoffice/reconcile",
    "/backoffice/audit",
]
POSTS = [
    ("/backoffice/users/{user_id}/freeze", {"reason": "test"}),
    ("/backoffice/users/{user_id}/unfreeze", {"reason": "test"}),
    ("/backoffice/users/{user_id}/second-factors/reset", {"reference": "T-1", "reason": "test"}),
    ("/backoffice/users/{org_id}/verification", {"verified": "0"}),
    ("/backoffice/flags/{flag_id}", {"decision": "confirmed", "note": "test"}),
    ("/backoffice/payouts/export", {}),
]


def test_the_lists_cover_every_backoffice_route(bo: Backoffice) -> None:
    router = backoffice_routes(bo.web.app.state.site)
    declared = {
        (method, route.path)
        for route in router.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert len(declared) >= 14
    tried = {("GET", p.split("?")[0]) for p in GETS} | {("POST", p) for p, _ in POSTS}
    normalise = {
        "{user_id}": "{user_id}",
        "{org_id}": "{user_id}",
        "{flag_id}": "{flag_id}",
        "{batch_id}": "{batch_id}",
    }
    for old, new in normalise.items():
        tried = {(m, p.replace(old, new)) for m, p in tried}
    assert declared == tried


def test_a_non_operator_gets_403_and_changes_nothing(bo: Backoffice) -> None:
    ids = _ids(bo)
    before = bo.snapshot()
    files_before = sorted(bo.export_dir.iterdir())
    token = bo.other.token("/dashboard")
    for path in GETS:
        answer = bo.other.get(path.format(**ids))
        assert answer.status_code == 403, path
        assert "opérateurs" in answer.text or "operators" in answer.text
    for path, data in POSTS:
        answer = bo.other.client.post(
            path.format(**ids), data={**data, "csrf_token": token}, follow_redirects=False
        )
        assert answer.status_code == 403, path
    assert bo.snapshot() == before
    assert sorted(bo.export_dir.iterdir()) == files_before


def test_a_visitor_is_sent_to_the_login_page_and_changes_nothing(bo: Backoffice) -> None:
    ids = _ids(bo)
    before = bo.snapshot()
    visitor = bo.web.browser()
    token = visitor.token("/login")
    for path in GETS:
        answer = visitor.get(path.format(**ids))
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=/backoffice"), path
    for path, data in POSTS:
        answer = visitor.client.post(
            path.format(**ids), data={**data, "csrf_token": token}, follow_redirects=False
        )
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login"), path
    assert bo.snapshot() == before


def test_an_operator_without_a_valid_csrf_token_changes_nothing(bo: Backoffice) -> None:
    ids = _ids(bo)
    before = bo.snapshot()
    for path, data in POSTS:
        answer = bo.operator.client.post(
            path.format(**ids), data={**data, "csrf_token": "forged"}, follow_redirects=False
        )
        assert answer.status_code == 403, path
    assert bo.snapshot() == before


def test_an_operator_reaches_every_page(bo: Backoffice) -> None:
    ids = _ids(bo)
    for path in GETS:
        answer = bo.operator.get(path.format(**ids))
        assert answer.status_code == 200, (path, answer.text[:300])
