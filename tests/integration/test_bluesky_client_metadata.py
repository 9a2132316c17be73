"""Payez publishes the client metadata an AT Protocol authorization server reads when its
``client_id`` is a URL, and offers Bluesky on the onboarding page once the client is set."""

from __future__ import annotations

from fastapi.testclient import TestClient

from payez.adapters.db.engine import make_engine
from payez.adapters.networks.bluesky_oauth import METADATA_PATH, BlueskyOAuthClient
from payez.config import load_settings
from payez.entrypoints.web.app import create_app
from payez.service.context import ServiceContext


def test_the_client_metadata_document_names_payez_and_its_callback(sqlite_url: str) -> None:
    settings = load_settings({}, database_url=sqlite_url, base_url="https://payez.example")
    engine = make_engine(sqlite_url)
    client = BlueskyOAuthClient(
        network="bluesky",
        service_url="https://bsky.social",
        plc_url="https://plc.directory",
        base_url=settings.base_url,
        secret=settings.secret_key,
    )
    ctx = ServiceContext(engine=engine, settings=settings)
    try:
        with TestClient(create_app(ctx, oauth_clients={"bluesky": client})) as web:
            answer = web.get(METADATA_PATH)
            assert answer.status_code == 200
            document = answer.json()
            assert document["client_id"] == f"https://payez.example{METADATA_PATH}"
            assert document["redirect_uris"] == ["https://payez.example/oauth/bluesky/callback"]
            assert document["dpop_bound_access_tokens"] is True
        with TestClient(create_app(ctx)) as web:
            assert web.get(METADATA_PATH).status_code == 404
    finally:
        engine.dispose()
