"""Use case: a merchant's program creates a listing through the API.

The same steps as on the web app (``create_listing``, ``publish_listing``): a draft checked
field by field, then its post, either one the merchant already published (``network`` and
``post``: its URL or id, which must be theirs) or published now as the merchant (``network``,
or the first network they granted posting on). A publication still on its way leaves the
listing to come: the answer says ``publishing`` with the draft's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from payez.domain.errors import Language
from payez.service.context import ServiceContext
from payez.service.create_listing import attach_post, create_draft
from payez.service.merchant_orders import MerchantListing, merchant_listings
from payez.service.publish_listing import publish_listing


@dataclass(frozen=True, slots=True)
class ListingByApi:
    draft_id: int
    listing: MerchantListing | None

    @property
    def state(self) -> str:
        return "listed" if self.listing is not None else "publishing"


def price_text(cents: int) -> str:
    """Integer cents as the merchant would type them (``1250`` -> ``12.50``)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def create_listing_by_api(
    ctx: ServiceContext,
    merchant_user_id: int,
    *,
    title: str,
    price_cents: int,
    stock: int,
    network: str = "",
    post: str | None = None,
    language: Language = "fr",
) -> ListingByApi:
    draft_id = create_draft(
        ctx, merchant_user_id, title=title, price=price_text(price_cents), stock=str(stock)
    )
    if post is not None:
        listing_id: int | None = attach_post(ctx, merchant_user_id, draft_id, network, post)
    else:
        listing_id = publish_listing(ctx, merchant_user_id, draft_id, network, language)
    found = next(
        (item for item in merchant_listings(ctx, merchant_user_id) if item.id == listing_id),
        None,
    )
    return ListingByApi(draft_id, found)
