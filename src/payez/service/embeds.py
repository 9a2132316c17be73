"""Use case: what the widgets other sites embed show — an association's campaign (its progress,
the post that donates, a QR code of where to pay) and a merchant's listing (its price and the
post to reply to).

A widget is public and shown to anyone who visits the site that embeds it, so it holds only what
the public pages already show. It exists while there is something to give or buy to: a campaign
of a verified association, a listing posted by a merchant, both with an active account. Anything
else (an unknown id, a draft, a closed or frozen account) is "unknown", like a page that does not
exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa

from payez.adapters.db import payment_requests as requests_repo
from payez.adapters.db.tables.payments import listings
from payez.service.campaigns import (
    AssociationProfile,
    CampaignProgress,
    CampaignUnknown,
    campaign_progress,
    load_association,
    paris_today,
)
from payez.service.context import ServiceContext
from payez.service.create_listing import ListingUnknown, PublicListing, public_listing


class CampaignPhase(StrEnum):
    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CampaignEmbed:
    progress: CampaignProgress
    association: AssociationProfile
    phase: CampaignPhase
    page_url: str  # the campaign's public page
    pay_url: str  # what the QR code opens (see ``campaign_embed``)


@dataclass(frozen=True, slots=True)
class ListingEmbed:
    listing: PublicListing
    page_url: str  # the listing's public page
    post_url: str  # where the buyer replies: the post itself when its address is known

    @property
    def sold_out(self) -> bool:
        return self.listing.stock <= 0


def phase_of(first: date, last: date | None, today: date) -> CampaignPhase:
    """Days are Paris days, both ends included (as the progress counts them)."""
    if today < first:
        return CampaignPhase.UPCOMING
    if last is not None and today > last:
        return CampaignPhase.ENDED
    return CampaignPhase.RUNNING


def campaign_embed(ctx: ServiceContext, campaign_id: int) -> CampaignEmbed:
    """The campaign's widget.

    Its QR code opens the association's public payment page (``/@<handle>``) when the
    association published one: that is a payment link, where the donor types an amount and is
    sent to their network's compose page with the post written. Otherwise it opens the
    campaign's own page, which every campaign has and which tells how to donate on each
    network. Both are Payez pages, so the code keeps working when the association relinks its
    accounts; a code pointing straight at a network would not.
    """
    progress = campaign_progress(ctx, campaign_id)
    owner = progress.campaign.association_user_id
    with ctx.engine.connect() as conn:
        association = load_association(conn, owner)
        active = requests_repo.active_name(conn, owner) is not None
        profile_handle = requests_repo.profile_handle(conn, owner)
    if association is None or not association.verified or not active:
        raise CampaignUnknown(str(campaign_id))
    campaign = progress.campaign
    page_url = ctx.link(f"/campaigns/{campaign.id}")
    return CampaignEmbed(
        progress=progress,
        association=association,
        phase=phase_of(campaign.starts_on, campaign.ends_on, paris_today(ctx)),
        page_url=page_url,
        pay_url=ctx.link(f"/@{profile_handle}") if profile_handle else page_url,
    )


def post_url(ctx: ServiceContext, listing: PublicListing) -> str | None:
    """The address of the listing's post, on the networks whose addresses Payez can write from
    what it keeps (the post's id and the merchant's handle); ``None`` elsewhere."""
    handle = (listing.merchant_handle or "").lstrip("@")
    if not handle:
        return None
    if listing.network == "sandbox":
        return ctx.link(f"/sandbox/@{handle}/{listing.post_id}")
    if listing.network == "x" and listing.post_id.isdigit():
        return f"https://x.com/{handle}/status/{listing.post_id}"
    if listing.network == "bluesky" and listing.post_id.startswith("at://"):
        did, _, rkey = listing.post_id.removeprefix("at://").partition("/app.bsky.feed.post/")
        if did and rkey:
            return f"https://bsky.app/profile/{did}/post/{rkey}"
    return None


def listing_embed(ctx: ServiceContext, listing_id: int) -> ListingEmbed:
    """The listing's "buy by post" button; a sold-out listing stays (its merchant may restock)
    and says so."""
    listing = public_listing(ctx, listing_id)
    with ctx.engine.connect() as conn:
        merchant = conn.execute(
            sa.select(listings.c.merchant_user_id).where(listings.c.id == listing.id)
        ).scalar_one()
        active = requests_repo.active_name(conn, int(merchant)) is not None
    if not active:
        raise ListingUnknown(str(listing_id))
    page_url = ctx.link(f"/listings/{listing.id}")
    return ListingEmbed(listing, page_url, post_url(ctx, listing) or page_url)
