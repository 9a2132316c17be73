"""Use case: publish a merchant's listing in one click, as the merchant, on any network.

The post goes through the network port like every message Payez sends: the click records an
outbox message (kind ``listing``, idempotency key ``payez-listing-<draft>``) in the same
transaction that marks the draft as being published, then tries to send it at once so the
merchant usually lands on the listing's page. When the network is down or slow, the worker's
outbox sender retries it (backoff, rate limits); the listing is recorded under the post when
the network has it (``create_listing.listing_post_published``), and never twice: the key makes
a retried send, or a second click, the same post.

Publishing as the merchant takes the access token they granted Payez for that account (asked
when a merchant links it). A network where they have no such grant offers the other way: post
the text yourself and paste the post's address.
"""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.tables.listing_details import listing_details
from payez.domain.errors import InvalidInput, Language
from payez.service.context import ServiceContext
from payez.service.create_listing import (
    draft_of,
    listing_text,
    lock_draft,
    require_merchant,
    service_handle_on,
)
from payez.service.outbox_messages import listing_post
from payez.service.send_outbox import send_now


class NoPublishingGrant(InvalidInput):
    code = "no_publishing_grant"
    message_fr = (
        "Payez ne peut pas publier en votre nom sur ce réseau : reliez à nouveau votre compte "
        "en autorisant la publication, ou publiez le texte vous-même et collez l'adresse du "
        "message."
    )
    message_en = (
        "Payez cannot post on your behalf on this network: link your account again and allow "
        "posting, or post the text yourself and paste the post's address."
    )


@dataclass(frozen=True, slots=True)
class PublishingAccount:
    """One of the merchant's linked accounts, on a network Payez serves."""

    network: str
    account_id: str
    handle: str
    can_publish: bool
    """The merchant granted Payez a token to post as this account."""


@dataclass(frozen=True, slots=True)
class Publication:
    """Where a one-click publication stands."""

    network: str
    handle: str
    state: str
    """pending | sent | failed | cancelled"""
    error: str | None


def publication_key(draft_id: int) -> str:
    return f"payez-listing-{draft_id}"


def publishing_accounts(ctx: ServiceContext, merchant_user_id: int) -> list[PublishingAccount]:
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
        linked = users_repo.linked_accounts(conn, merchant_user_id)
        granted = users_repo.accounts_with_tokens(conn, merchant_user_id)
    return [
        PublishingAccount(network, account_id, handle, (network, account_id) in granted)
        for network, account_id, handle in linked
        if network in ctx.networks
    ]


def publication_of(ctx: ServiceContext, merchant_user_id: int, draft_id: int) -> Publication | None:
    """The draft's one-click publication, if one was asked."""
    draft = draft_of(ctx, merchant_user_id, draft_id)
    if draft.publish_key is None:
        return None
    with ctx.engine.connect() as conn:
        found = outbox_repo.by_key(conn, draft.publish_key)
    if found is None:
        return None
    return Publication(
        network=found.message.network,
        handle=found.message.recipient_handle or "",
        state=found.state,
        error=found.last_error,
    )


def publish_listing(
    ctx: ServiceContext, merchant_user_id: int, draft_id: int, network: str, language: Language
) -> int | None:
    """Publish the draft as the merchant's account on ``network`` (the first they granted
    posting on, when empty); returns the listing id once the network has the post, else None
    (it is on its way: the worker finishes it). Asking again never makes a second post."""
    accounts = [
        a
        for a in publishing_accounts(ctx, merchant_user_id)
        if a.can_publish and network in ("", a.network)
    ]
    draft = draft_of(ctx, merchant_user_id, draft_id)
    if draft.listing_id is not None:
        return draft.listing_id
    if not accounts:
        raise NoPublishingGrant(network[:16])
    account = accounts[0]
    key = publication_key(draft.id)
    text = listing_text(draft, language, service_handle_on(ctx, account.network))
    message = listing_post(
        account.network, account.account_id, account.handle, text, key=key, now=ctx.now()
    )
    with ctx.engine.begin() as conn:
        draft = lock_draft(conn, merchant_user_id, draft_id)
        if draft.listing_id is not None:
            return draft.listing_id
        if draft.publish_key is None:
            conn.execute(
                listing_details.update()
                .where(listing_details.c.id == draft.id)
                .values(publish_key=key)
            )
            outbox_repo.enqueue(conn, [message])
        else:
            # Only a publication that failed (a refused grant, say) is sent again, with the
            # account and words chosen now; one on its way is left to finish.
            changed = {k: message[k] for k in ("network", "recipient_account_id", "text")}
            outbox_repo.requeue_failed(
                conn, key, ctx.now(), {**changed, "recipient_handle": account.handle}
            )
    send_now(ctx, key)
    return draft_of(ctx, merchant_user_id, draft_id).listing_id
