"""Choose the adapters the settings name: the one place implementations are picked."""

from __future__ import annotations

from sqlalchemy import Engine

from payez.config import Settings
from payez.ports.cards import CardProcessor


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
