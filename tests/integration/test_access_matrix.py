"""Who may open what, for every page and endpoint in the app's route table: nobody logged in,
a member, another member, a member whose address is unverified, and an operator.

Every route must be sorted into one of the lists below, so a new route cannot be forgotten:
this test fails until it is. Parameters are filled with the first member's own objects (their
payment, say), so "another member" is tried on someone else's data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from payez.adapters.db.tables.payments import payments
from payez.service.create_payment_request import create_payment_request
from tests.integration.backoffice_world import Backoffice, backoffice_world
from tests.integration.test_security_headers import every_route

# Anyone may open these (a bearer link's token is its own proof).
PUBLIC = {
    "/", "/signup", "/login", "/verify-email", "/password/forgot", "/password/reset",
    "/healthz", "/metrics", "/openapi.json", "/docs", "/api/docs", "/manifest.webmanifest",
    "/icon.svg", "/oauth/{network}/callback", "/oauth/bluesky/client-metadata.json",
    "/claim/{token}", "/claim/{token}/start", "/confirm/{token}", "/listings/{listing_id}",
    "/listings/{listing_id}/picture", "/associations/{handle}", "/campaigns/{campaign_id}",
    "/webhooks/x", "/cards/authenticate/{charge_id}", "/cards/authenticate/{charge_id}/done",
    "/sandbox/cards/authenticate/{charge_id}", "/r/{code}", "/@{handle}",
    "/embed/campaigns/{campaign_id}", "/embed/listings/{listing_id}",
}  # fmt: skip
# A logged-in member's own pages; the JSON API answers 401 rather than redirecting.
MEMBER = {
    "/onboarding", "/onboarding/link/{network}", "/dashboard", "/dashboard/history.csv",
    "/dashboard/payments/{payment_id}", "/settings", "/payouts", "/settings/privacy",
    "/settings/security", "/settings/security/recovery-codes", "/merchant",
    "/merchant/drafts/{draft_id}", "/merchant/listings/{listing_id}/orders", "/association",
    "/association/summary.csv", "/dashboard/donations", "/receipts/{receipt_id}.pdf",
    "/dashboard/requests", "/dashboard/requests/{request_id}", "/dashboard/events",
    "/api/v1/me", "/api/v1/me/balance", "/api/v1/me/payments", "/api/v1/me/payments/{payment_id}",
    "/integrations", "/api/v1/merchant/listings", "/api/v1/merchant/orders",
}  # fmt: skip
OPERATOR = {
    "/backoffice", "/backoffice/users", "/backoffice/users/{user_id}", "/backoffice/payments",
    "/backoffice/flags", "/backoffice/payouts", "/backoffice/payouts/{batch_id}/file",
    "/backoffice/reconcile", "/backoffice/audit",
}  # fmt: skip
PARAM = re.compile(r"\{([a-z_]+)\}")
# A merchant's or an association's own area: a person is not let in.
WORK_AREAS = {
    "/merchant", "/association", "/association/summary.csv", "/integrations",
    "/api/v1/merchant/listings", "/api/v1/merchant/orders",
}  # fmt: skip
QUERY = {"/association/summary.csv": "?year=2026"}  # required by the route
# Answers a member with a stream that lasts: its access is tried in test_web_dashboard_events.
STREAMS = {"/dashboard/events"}


@pytest.fixture
def bo(database_url: str, tmp_path: Path) -> Any:
    with backoffice_world(database_url, tmp_path / "exports") as world:
        yield world


def _get_routes(bo: Backoffice) -> set[str]:
    return {r.path for r in every_route(bo.web.app.routes) if "GET" in (r.methods or set())}


def _filled(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values.get(m[1], "1"), path) + QUERY.get(path, "")


def _refused_anonymous(path: str, answer: Any) -> bool:
    if path.startswith("/api/") or path in STREAMS:
        return bool(answer.status_code == 401)
    return answer.status_code in (303, 307) and "/login" in answer.headers.get("location", "")


def test_every_route_is_sorted_into_an_access_list(bo: Backoffice) -> None:
    assert _get_routes(bo) == PUBLIC | MEMBER | OPERATOR
    assert not (PUBLIC & MEMBER or PUBLIC & OPERATOR or MEMBER & OPERATOR)


def test_who_may_open_what(bo: Backoffice) -> None:
    world = bo.web.world
    bo.member("alice")
    bo.member("bob")
    world.post("alice", "@payez envoie 2€ à @bob")
    world.run()
    with world.ctx.engine.connect() as conn:
        payment = conn.execute(sa.select(sa.func.max(payments.c.id))).scalar_one()
    unverified = bo.web.browser()
    assert unverified.sign_up("uma@example.org", name="Uma", verify=False).status_code == 303
    request_id = create_payment_request(
        world.ctx, world.users["alice"], amount="5", reason="resto", uses="once"
    )
    values = {
        "request_id": str(request_id),
        "payment_id": str(payment),
        "network": "memory",
        "user_id": str(bo.web.world.users["alice"]),
    }
    anonymous = bo.web.browser()
    tried = 0
    for path in sorted(MEMBER | OPERATOR):
        url = _filled(path, values)
        answer = anonymous.get(url)
        assert _refused_anonymous(path, answer), (url, answer.status_code)
        tried += 1
    for path in sorted(OPERATOR):
        url = _filled(path, values)
        refused = bo.other.get(url)
        assert refused.status_code == 403, (url, refused.status_code)
        allowed = bo.operator.get(url)
        assert allowed.status_code in (200, 404), (url, allowed.status_code)
        tried += 2
    for path in sorted(MEMBER - {"/onboarding/link/{network}"} - STREAMS):
        answer = bo.other.get(_filled(path, values))
        if "{" in path or path in WORK_AREAS:  # someone else's object, or area: never shown
            assert answer.status_code in (403, 404), (path, answer.status_code)
        else:
            assert answer.status_code in (200, 303), (path, answer.status_code)
        tried += 1
    # An unverified address may look around but not link a network nor get a link code.
    assert unverified.get("/dashboard").status_code == 200
    refused = unverified.submit("/onboarding/link-code", {}, form_page="/onboarding")
    assert refused.status_code == 403 and "e-mail" in refused.text.lower()
    with world.ctx.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM link_codes")).scalar_one() == 0
    for path in sorted(PUBLIC):
        if "{" not in path:
            status = anonymous.get(path).status_code
            assert status < 500 and status not in (401, 403), (path, status)
            tried += 1
    assert tried > 60
