"""The settings choose the adapters: a real Mastodon server joins the sandbox when configured."""

from __future__ import annotations

from payez.adapters.networks.mastodon import MastodonNetwork
from payez.config import load_settings
from payez.entrypoints.composition import MASTODON, networks_for, oauth_clients_for
from payez.sandbox.bootstrap import SANDBOX_NETWORK, SandboxWiring

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
