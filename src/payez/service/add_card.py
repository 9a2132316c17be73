"""Use case: save a card with the processor. Card numbers go to the processor, never to us.

With the sandbox processor the web form posts a test card number, which the processor turns
into a payment method; with Stripe the browser hands the number to Stripe.js and we receive
only the payment method id. Either way we keep the brand and the last four digits.
"""

from __future__ import annotations

import secrets

from payez.adapters.db import web_accounts
from payez.domain.errors import InvalidInput
from payez.ports.cards import CardProcessor, CardSetup, SavedCard
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown


class CardTokenInvalid(InvalidInput):
    code = "card_token_invalid"
    message_fr = "Numéro de carte ou moyen de paiement invalide."
    message_en = "Invalid card number or payment method."


def ensure_customer(ctx: ServiceContext, cards: CardProcessor, user_id: int) -> str:
    """The user's customer at the processor, created once."""
    with ctx.engine.connect() as conn:
        profile = web_accounts.profile(conn, user_id)
    if profile is None:
        raise UserUnknown(str(user_id))
    if profile.card_customer_id:
        return profile.card_customer_id
    # The key is fixed per user: two concurrent first cards get the same customer back.
    customer_id = cards.create_customer(
        reference=f"user:{user_id}",
        email=profile.email,
        idempotency_key=f"payez:user:{user_id}:customer",
    )
    with ctx.engine.begin() as conn:
        web_accounts.update_user(conn, user_id, card_customer_id=customer_id)
    return customer_id


def start_card_setup(ctx: ServiceContext, cards: CardProcessor, user_id: int) -> CardSetup:
    """A fresh setup for the browser's card form (Stripe.js confirms it with its secret)."""
    customer_id = ensure_customer(ctx, cards, user_id)
    return cards.start_card_setup(
        customer_id=customer_id,
        idempotency_key=f"payez:user:{user_id}:setup:{secrets.token_hex(8)}",
    )


def add_card(ctx: ServiceContext, cards: CardProcessor, user_id: int, card_token: str) -> SavedCard:
    """Attach the card as the user's default; CardDeclined when the bank refuses it."""
    token = "".join(card_token.split())
    if not 4 <= len(token) <= 128 or not token.replace("_", "").isalnum():
        raise CardTokenInvalid()
    customer_id = ensure_customer(ctx, cards, user_id)
    saved = cards.attach_card(customer_id=customer_id, card_token=token)
    with ctx.engine.begin() as conn:
        web_accounts.insert_card(
            conn,
            user_id=user_id,
            processor=cards.name,
            payment_method_id=saved.payment_method_id,
            brand=saved.brand,
            last4=saved.last4,
            now=ctx.now(),
        )
    return saved
