"""Choose the adapters the settings name: the one place implementations are picked.

The arrows go one way: the commands (``cli/serve``) call this module, then hand what it built to
the web app (``web/app.create_app``); the web app never imports the composition.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from payez.config import Settings
from payez.ports.cards import CardProcessor
from payez.ports.mailer import Mailer
from payez.ports.network import SocialNetwork
from payez.ports.webhooks import WebhookSender

if TYPE_CHECKING:
    from payez.ports.sign_in import SignInClient
    from payez.sandbox.bootstrap import SandboxWiring
    from payez.service.context import ServiceContext

MASTODON = "mastodon"
X = "x"
BLUESKY = "bluesky"

log = logging.getLogger("payez.composition")


def card_processor_for(settings: Settings, engine: Engine) -> CardProcessor:
    """The processor ``settings.card_processor`` names, as the application uses it."""
    if settings.card_processor == "stripe":
        # Imported here: the sandbox never needs the stripe package loaded.
        from payez.adapters.cards.stripe import StripeCardProcessor

        return StripeCardProcessor(
            settings.stripe_secret_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base or None,
        )
    from payez.sandbox.cards import SandboxCardProcessor

    return SandboxCardProcessor(engine, base_url=settings.base_url)


def networks_for(settings: Settings, wiring: SandboxWiring) -> dict[str, SocialNetwork]:
    """The sandbox network always; a real Mastodon server when its URL and token are set; X
    and Bluesky when the service account's credentials on them are."""
    from payez.adapters.networks.mastodon import MastodonNetwork
    from payez.sandbox.bootstrap import SANDBOX_NETWORK

    networks: dict[str, SocialNetwork] = {
        SANDBOX_NETWORK: MastodonNetwork(
            wiring.api_base_url,
            wiring.service_token,
            name=SANDBOX_NETWORK,
            backoff_initial=0.2,
            backoff_maximum=5.0,
        )
    }
    if settings.mastodon_base_url and settings.mastodon_access_token:
        networks[MASTODON] = MastodonNetwork(
            settings.mastodon_base_url, settings.mastodon_access_token, name=MASTODON
        )
    if settings.x_configured:
        from payez.adapters.networks.x import XNetwork

        networks[X] = XNetwork(
            consumer_key=settings.x_consumer_key,
            consumer_secret=settings.x_consumer_secret,
            access_token=settings.x_access_token,
            access_token_secret=settings.x_access_token_secret,
            bearer_token=settings.x_bearer_token,
            api_url=settings.x_api_url,
            name=X,
        )
    if settings.bluesky_configured:
        from payez.adapters.networks.bluesky import BlueskyNetwork

        networks[BLUESKY] = BlueskyNetwork(
            handle=settings.bluesky_handle,
            app_password=settings.bluesky_app_password,
            service_url=settings.bluesky_service,
            firehose_url=settings.bluesky_firehose,
            chat_service=settings.bluesky_chat_service,
            poll_seconds=settings.bluesky_poll_seconds,
            name=BLUESKY,
        )
    return networks


def oauth_clients_for(settings: Settings, wiring: SandboxWiring) -> dict[str, SignInClient]:
    """Payez's OAuth applications: on the sandbox, and on Mastodon, X and Bluesky when
    configured."""
    from payez.adapters.networks.mastodon_oauth import OAuthClient
    from payez.adapters.networks.x_oauth import XOAuthClient
    from payez.sandbox.bootstrap import SANDBOX_NETWORK

    clients: dict[str, SignInClient] = {
        SANDBOX_NETWORK: OAuthClient(
            SANDBOX_NETWORK,
            wiring.api_base_url,
            wiring.client_id,
            wiring.client_secret,
            wiring.redirect_uri,
        )
    }
    if settings.mastodon_base_url and settings.mastodon_client_id:
        clients[MASTODON] = OAuthClient(
            MASTODON,
            settings.mastodon_base_url,
            settings.mastodon_client_id,
            settings.mastodon_client_secret,
            f"{settings.base_url.rstrip('/')}/oauth/{MASTODON}/callback",
        )
    if settings.x_client_id:
        clients[X] = XOAuthClient(
            network=X,
            api_url=settings.x_api_url,
            client_id=settings.x_client_id,
            redirect_uri=f"{settings.base_url.rstrip('/')}/oauth/{X}/callback",
            pkce_secret=settings.secret_key,
            authorize_page=settings.x_authorize_url,
        )
    if settings.bluesky_configured:
        from payez.adapters.networks.bluesky_oauth import BlueskyOAuthClient

        clients[BLUESKY] = BlueskyOAuthClient(
            network=BLUESKY,
            service_url=settings.bluesky_service,
            plc_url=settings.bluesky_plc_url,
            base_url=settings.base_url,
            secret=settings.secret_key,
        )
    return clients


def webhook_sender_for(settings: Settings) -> WebhookSender:
    """Webhooks go out over HTTP with httpx; in production, to public addresses only."""
    from payez.adapters.webhooks.httpx_sender import HttpxWebhookSender

    return HttpxWebhookSender(public_only=settings.environment == "production")


def mailer_for(settings: Settings, engine: Engine) -> Mailer:
    """The SMTP server ``PAYEZ_SMTP_URL`` names, else the sandbox mailbox (``/sandbox/mail``)."""
    server = settings.smtp_server
    if server is None:
        from payez.sandbox.mail import SandboxMailbox

        log.info("emails go to the sandbox mailbox (no PAYEZ_SMTP_URL)")
        return SandboxMailbox(engine)
    from payez.adapters.mail.smtp import SmtpMailer

    log.info("emails go out through %s", server.masked_url)
    return SmtpMailer(server)


def service_context_for(
    settings: Settings, engine: Engine, wiring: SandboxWiring
) -> ServiceContext:
    from payez.service.context import ServiceContext

    return ServiceContext(
        engine=engine,
        settings=settings,
        networks=networks_for(settings, wiring),
        cards=card_processor_for(settings, engine),
        mailer=mailer_for(settings, engine),
        webhooks=webhook_sender_for(settings),
    )
