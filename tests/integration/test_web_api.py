"""The JSON API's errors and spec, /healthz and /metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payez.service.record_posts import poll_mentions
from tests.integration.web_world import Browser, WebWorld, web_world

ENDPOINTS = ("/api/v1/me", "/api/v1/me/balance", "/api/v1/me/payments", "/api/v1/me/payments/1")


@pytest.fixture
def web(database_url: str) -> Iterator[WebWorld]:
    with web_world(database_url) as world:
        yield world


@pytest.fixture
def alice(web: WebWorld) -> Browser:
    browser = web.browser()
    browser.sign_up("alice@example.org")
    return browser


def test_every_endpoint_needs_a_login(web: WebWorld) -> None:
    browser = web.browser(**{"accept-language": "en"})
    for path in ENDPOINTS:
        answer = browser.client.get(path)
        assert answer.status_code == 401, path
        assert answer.json() == {
            "error": {"code": "not_authenticated", "message": "Log in to continue."}
        }


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "per_page=0",
        "per_page=101",
        "per_page=1e3",
        "q=" + "x" * 101,
        "page=99999999999999999999999",
    ],
)
def test_bad_input_gets_a_422_with_a_stable_code(alice: Browser, query: str) -> None:
    answer = alice.client.get(f"/api/v1/me/payments?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"


def test_bad_paths_and_methods_are_4xx_in_the_error_shape(alice: Browser) -> None:
    for path, status, code in (
        ("/api/v1/me/payments/abc", 422, "invalid_input"),
        ("/api/v1/me/payments/99999999999999999999999", 422, "invalid_input"),
        ("/api/v1/me/payments/424242", 404, "payment_not_found"),
        ("/api/v1/nothing", 404, "route_not_found"),
    ):
        answer = alice.client.get(path)
        assert answer.status_code == status, path
        assert answer.json()["error"]["code"] == code
    posted = alice.client.post("/api/v1/me")
    assert posted.status_code == 405
    assert posted.json()["error"]["code"] == "method_not_allowed"


def test_me_and_balance_are_integer_cents(alice: Browser) -> None:
    me = alice.client.get("/api/v1/me").json()
    assert me["email"] == "alice@example.org" and me["onboarded"] is False
    balance = alice.client.get("/api/v1/me/balance").json()
    assert balance["available"] == {"cents": 0, "currency": "EUR"}
    assert alice.client.get("/api/v1/me/payments").json() == {
        "items": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
    }


def test_openapi_spec_describes_the_api(web: WebWorld) -> None:
    spec = web.browser().client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Payez"
    assert set(spec["paths"]) == {
        "/api/v1/me",
        "/api/v1/me/balance",
        "/api/v1/me/payments",
        "/api/v1/me/payments/{payment_id}",
        "/api/v1/merchant/listings",
        "/api/v1/merchant/listings/{listing_id}",
        "/api/v1/merchant/orders",
        "/api/v1/merchant/orders/{order_id}/refund",
    }
    payments = spec["paths"]["/api/v1/me/payments"]["get"]
    assert {p["name"] for p in payments["parameters"]} == {"q", "page", "per_page"}
    assert "401" in payments["responses"]
    assert web.browser().client.get("/api/docs").status_code == 200


def test_healthz_and_metrics(web: WebWorld) -> None:
    world = web.world
    world.join("alice")
    world.join("bob")
    world.post("alice", "@payez envoie 2€ à @bob")
    world.post("alice", "@payez envoie 3€ à @bob")
    world.stranger("carol")
    world.post("alice", "@payez envoie 1€ à @carol")
    world.run()
    world.post("alice", "@payez envoie 1€ à @bob")
    world.later(seconds=90)  # the listener sees this post a minute and a half late
    poll_mentions(world.ctx, world.network)  # recorded, not yet processed
    client = web.browser().client
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    lines = set(metrics.text.splitlines())
    assert 'payez_payments{state="settled"} 2.0' in lines
    assert 'payez_payments{state="held_for_claim"} 1.0' in lines
    assert "payez_inbox_backlog 1.0" in lines
    assert any(line.startswith("payez_outbox_depth ") for line in lines)
    assert any(
        line.startswith('payez_processing_latency_seconds{quantile="0.5"}') for line in lines
    )
    assert 'payez_listener_lag_seconds{quantile="1"} 90.0' in lines
    assert 'payez_listener_lag_seconds{quantile="0.5"} 0.0' in lines


def test_html_errors_are_pages_not_json(web: WebWorld) -> None:
    browser = web.browser(**{"accept-language": "en"})
    missing = browser.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "This page does not exist." in missing.text
    claim = browser.get("/claim/unknown-token")
    assert claim.status_code == 404
    assert "This claim link does not exist." in claim.text


def test_metrics_with_a_token_answer_only_its_bearer(database_url: str) -> None:
    with web_world(database_url, metrics_token="scrape-4f9a") as web:
        client = web.browser().client
        for sent in ({}, {"authorization": "Bearer wrong"}, {"authorization": "scrape-4f9a"}):
            refused = client.get("/metrics", headers=sent)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "payez_payments" not in refused.text
        answered = client.get("/metrics", headers={"authorization": "Bearer scrape-4f9a"})
        assert answered.status_code == 200
        assert "payez_payments" in answered.text


def test_production_serves_no_metrics_without_a_token(database_url: str) -> None:
    production = {"secret_key": "s" * 40, "smtp_url": "smtp://127.0.0.1:1", "confirm": "psd2"}
    with web_world(database_url, environment="production", **production) as web:
        answer = web.browser().client.get("/metrics")
        assert answer.status_code == 404
        assert "PAYEZ_METRICS_TOKEN" in answer.text
        assert "payez_payments" not in answer.text
