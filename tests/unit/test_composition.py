"""The settings choose the adapters: a real Mastodon server joins the sandbox when configured."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from payez.adapters.mail.smtp import SmtpMailer
from payez.adapters.networks.bluesky import BlueskyNetwork
from payez.adapters.networks.mastodon import MastodonNetwork
from payez.adapters.networks.x import XNetwork
from payez.adapters.networks.x_oauth import XOAuthClient
from payez.config import SmtpServer, load_settings
from payez.entrypoints.composition import (
    BLUESKY,
    MASTODON,
    X,
    mailer_for,
    networks_for,
    oauth_clients_for,
)
from payez.entrypoints.web.app import create_app
from payez.sandbox.bootstrap import SANDBOX_NETWORK, SandboxWiring
from payez.sandbox.mail import SandboxMailbox
from payez.service.context import ServiceContext

WIRING = SandboxWiring(
    api_base_url="http://127.0.0.1:8000/sandbox",
    service_token="token",
    client_id="id",
    client_secret="secret",
    redirect_uri="http://127.0.0.1:8000/oauth/sandbox/callback",
)


def test_the_sandbox_alone_by_default() -> None:
    settings = load_settings({})
    assert set(networks_for(settings, WIRING)) == {SANDBOX_NETWORK}
    assert set(oauth_clients_for(settings, WIRING)) == {SANDBOX_NETWORK}


def test_a_configured_mastodon_server_is_listened_to_and_used_for_claims() -> None:
    settings = load_settings(
        {
            "PAYEZ_MASTODON_BASE_URL": "https://mastodon.example",
            "PAYEZ_MASTODON_ACCESS_TOKEN": "t",
            "PAYEZ_MASTODON_CLIENT_ID": "cid",
            "PAYEZ_MASTODON_CLIENT_SECRET": "cs",
            "PAYEZ_BASE_URL": "https://payez.example",
        }
    )
    networks = networks_for(settings, WIRING)
    assert isinstance(networks[MASTODON], MastodonNetwork)
    assert networks[MASTODON].name == MASTODON
    client = oauth_clients_for(settings, WIRING)[MASTODON]
    assert client.api_base_url == "https://mastodon.example"
    assert client.redirect_uri == "https://payez.example/oauth/mastodon/callback"


def test_configured_x_credentials_are_listened_to_beside_the_other_networks() -> None:
    settings = load_settings(
        {
            "PAYEZ_X_CONSUMER_KEY": "ck",
            "PAYEZ_X_CONSUMER_SECRET": "cs",
            "PAYEZ_X_ACCESS_TOKEN": "at",
            "PAYEZ_X_ACCESS_TOKEN_SECRET": "ats",
            "PAYEZ_X_API_URL": "http://127.0.0.1:9",
            "PAYEZ_MASTODON_BASE_URL": "https://mastodon.example",
            "PAYEZ_MASTODON_ACCESS_TOKEN": "t",
        }
    )
    networks = networks_for(settings, WIRING)
    assert set(networks) == {SANDBOX_NETWORK, MASTODON, X}
    x = networks[X]
    assert isinstance(x, XNetwork) and x.name == X
    assert x._api.session.api_url == "http://127.0.0.1:9"
    assert x._api.consumer_key == "ck" and x._api.access_token == "at"
    assert x._read_as_user  # no bearer token: reads go with the service's own token
    assert X not in oauth_clients_for(settings, WIRING)  # no client id: X stays "coming soon"


def test_an_x_client_id_lets_people_link_their_x_account() -> None:
    settings = load_settings(
        {
            "PAYEZ_X_CONSUMER_KEY": "ck",
            "PAYEZ_X_CONSUMER_SECRET": "cs",
            "PAYEZ_X_ACCESS_TOKEN": "at",
            "PAYEZ_X_ACCESS_TOKEN_SECRET": "ats",
            "PAYEZ_X_CLIENT_ID": "x-client",
            "PAYEZ_BASE_URL": "https://payez.example",
        }
    )
    client = oauth_clients_for(settings, WIRING)[X]
    assert isinstance(client, XOAuthClient)
    assert client.client_id == "x-client" and client.api_url == "https://api.x.com"
    assert client.redirect_uri == "https://payez.example/oauth/x/callback"
    assert client.authorize_url("s").startswith("https://x.com/i/oauth2/authorize?")


def test_the_web_app_is_handed_the_processor_the_settings_name() -> None:
    # The web app does not pick adapters: with Stripe configured, it must be given Stripe's.
    settings = load_settings({"PAYEZ_CARD_PROCESSOR": "stripe"})
    ctx = ServiceContext(engine=sa.create_engine("sqlite://"), settings=settings)
    with pytest.raises(ValueError, match="stripe"):
        create_app(ctx)
    sandbox = load_settings({})
    app = create_app(ServiceContext(engine=sa.create_engine("sqlite://"), settings=sandbox))
    assert app.state.site.cards.name == "sandbox"


def test_emails_go_to_the_sandbox_mailbox_unless_an_smtp_server_is_named() -> None:
    engine = sa.create_engine("sqlite://")
    assert isinstance(mailer_for(load_settings({}), engine), SandboxMailbox)
    named = load_settings({"PAYEZ_SMTP_URL": "smtps://payez:hunter2@mail.example.org"})
    mailer = mailer_for(named, engine)
    assert isinstance(mailer, SmtpMailer)
    assert mailer.server == SmtpServer("mail.example.org", 465, "tls", "payez", "hunter2")


def test_a_configured_bluesky_account_is_listened_to_without_a_request_at_start() -> None:
    settings = load_settings(
        {
            "PAYEZ_BLUESKY_HANDLE": "payez.bsky.social",
            "PAYEZ_BLUESKY_APP_PASSWORD": "app-password",
            # Nothing listens here: building the adapter must not sign in yet.
            "PAYEZ_BLUESKY_SERVICE": "http://127.0.0.1:9",
            "PAYEZ_BLUESKY_FIREHOSE": "ws://127.0.0.1:9",
            "PAYEZ_BLUESKY_CHAT_SERVICE": "",
        }
    )
    networks = networks_for(settings, WIRING)
    assert set(networks) == {SANDBOX_NETWORK, BLUESKY}
    bluesky = networks[BLUESKY]
    assert isinstance(bluesky, BlueskyNetwork) and bluesky.name == BLUESKY
    assert bluesky._xrpc == "http://127.0.0.1:9/xrpc"
    assert bluesky._firehose == "ws://127.0.0.1:9" and bluesky._chat_service == ""
