"""Use case: a merchant creates a listing on the web app and gets it posted.

The merchant fills a form (title, price typed as text, stock, optional picture); that makes a
listing *draft* and the texts to post in French and English. The draft becomes a listing (the
row buy replies are matched against) once its post is known: published in one click through
the network port as the merchant (``publish_listing``, by the outbox, which records the listing
here with :func:`listing_post_published`), or posted by the merchant and pasted back (a URL or
an id), in which case the post must be theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from payez.adapters.db import listings as listings_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.tables.listing_details import listing_details
from payez.adapters.db.tables.payments import listings, social_links, users
from payez.domain.errors import InvalidInput, Language, NotFound
from payez.domain.money import Money
from payez.domain.policy import RecipientKind
from payez.domain.typed_amounts import TypedAmountUnreadable, parse_typed_euros
from payez.ports.network import NetworkError
from payez.service.context import ServiceContext

TITLE_MAX_LENGTH = 120
STOCK_MAX = 10_000
MAX_PICTURE_BYTES = 1_000_000
# The first bytes of each picture format we accept; anything else is refused, whatever its name.
_PICTURE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)
_POST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class MerchantOnly(NotFound):
    """Asked by an account that is not a merchant's: the merchant pages do not exist for it."""

    code = "merchant_only"
    message_fr = "Cette page est réservée aux commerçants."
    message_en = "This page is for merchants only."


class ListingUnknown(NotFound):
    code = "listing_unknown"
    message_fr = "Annonce inconnue."
    message_en = "Unknown listing."


class PriceInvalid(InvalidInput):
    code = "price_invalid"
    message_fr = (
        "Prix invalide : écrivez un montant en euros comme 12 ou 12,50 (deux décimales au plus)."
    )
    message_en = (
        "Invalid price: write an amount in euros such as 12 or 12.50 (two decimals at most)."
    )


class PriceOutOfRange(InvalidInput):
    code = "price_out_of_range"
    message_fr = "Le prix doit être positif et ne pas dépasser le plafond d'un paiement."
    message_en = "The price must be positive and within the limit of one payment."


class TitleInvalid(InvalidInput):
    code = "listing_title_invalid"
    message_fr = "Donnez un titre de 1 à 120 caractères."
    message_en = "Give a title of 1 to 120 characters."


class StockInvalid(InvalidInput):
    code = "stock_invalid"
    message_fr = "Le stock doit être un nombre entier entre 1 et 10 000."
    message_en = "The stock must be a whole number between 1 and 10,000."


class PictureInvalid(InvalidInput):
    code = "picture_invalid"
    message_fr = "L'image doit être un fichier JPEG, PNG, GIF ou WebP d'au plus 1 Mo."
    message_en = "The picture must be a JPEG, PNG, GIF or WebP file of at most 1 MB."


class NetworkNotListened(InvalidInput):
    code = "network_not_listened"
    message_fr = "Payez n'écoute pas ce réseau."
    message_en = "Payez does not listen to this network."


class PostIdInvalid(InvalidInput):
    code = "post_id_invalid"
    message_fr = "Collez l'adresse ou l'identifiant du message publié."
    message_en = "Paste the address or the id of the published post."


class PostNotYours(InvalidInput):
    code = "post_not_yours"
    message_fr = "Ce message n'a pas été publié par un de vos comptes liés."
    message_en = "This post was not published by one of your linked accounts."


class PostAlreadyListed(InvalidInput):
    code = "post_already_listed"
    message_fr = "Ce message est déjà une annonce."
    message_en = "This post is already a listing."


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    merchant_user_id: int
    title: str
    price: Money
    stock: int
    has_picture: bool
    listing_id: int | None
    publish_key: str | None = None
    """The key of the outbox message publishing it in one click, once that was asked."""


@dataclass(frozen=True, slots=True)
class PublicListing:
    id: int
    title: str
    price: Money
    stock: int
    network: str
    post_id: str
    merchant_name: str
    merchant_handle: str | None  # on the listing's network
    has_picture: bool


def parse_price(text: str, max_cents: int) -> Money:
    """A price typed by a merchant, in integer cents, no more than one payment can pay."""
    try:
        total = parse_typed_euros(text)
    except TypedAmountUnreadable:
        raise PriceInvalid(text[:40]) from None
    if not 0 < total <= max_cents:
        raise PriceOutOfRange(str(total))
    return Money.eur(total)


def parse_stock(text: str) -> int:
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 6:
        raise StockInvalid(text[:20])
    stock = int(cleaned)
    if not 1 <= stock <= STOCK_MAX:
        raise StockInvalid(cleaned)
    return stock


def picture_type(data: bytes) -> str:
    """The picture's media type from its first bytes; refuses other files and big ones."""
    if not data or len(data) > MAX_PICTURE_BYTES:
        raise PictureInvalid(str(len(data)))
    for signature, offset, media_type in _PICTURE_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if media_type == "image/webp" and not data.startswith(b"RIFF"):
                continue
            return media_type
    raise PictureInvalid("unknown format")


def require_merchant(conn: Connection, user_id: int) -> None:
    kind = conn.execute(sa.select(users.c.kind).where(users.c.id == user_id)).scalar_one_or_none()
    if kind != "merchant":
        raise MerchantOnly()


def create_draft(
    ctx: ServiceContext,
    merchant_user_id: int,
    *,
    title: str,
    price: str,
    stock: str,
    picture: bytes | None = None,
) -> int:
    """Check every field, then record the draft; returns its id. Nothing is written on error."""
    clean_title = " ".join(title.split())
    if not clean_title or len(clean_title) > TITLE_MAX_LENGTH:
        raise TitleInvalid()
    amount = parse_price(price, ctx.limits.max_for(RecipientKind.MERCHANT))
    units = parse_stock(stock)
    media_type = picture_type(picture) if picture else None
    with ctx.engine.begin() as conn:
        require_merchant(conn, merchant_user_id)
        result = conn.execute(
            listing_details.insert()
            .values(
                merchant_user_id=merchant_user_id,
                title=clean_title,
                price_cents=amount.cents,
                currency=amount.currency,
                stock=units,
                picture_type=media_type,
                picture=picture if media_type else None,
                created_at=ctx.now(),
            )
            .returning(listing_details.c.id)
        )
        return int(result.scalar_one())


def _draft(conn: Connection, merchant_user_id: int, draft_id: int) -> Draft:
    require_merchant(conn, merchant_user_id)
    d = listing_details.c
    row = conn.execute(
        sa.select(
            d.id,
            d.merchant_user_id,
            d.title,
            d.price_cents,
            d.currency,
            d.stock,
            d.picture_type,
            d.listing_id,
            d.publish_key,
        ).where(d.id == draft_id, d.merchant_user_id == merchant_user_id)
    ).first()
    if row is None:
        raise ListingUnknown(str(draft_id))
    return Draft(
        id=int(row.id),
        merchant_user_id=int(row.merchant_user_id),
        title=str(row.title),
        price=Money(int(row.price_cents), str(row.currency)),
        stock=int(row.stock),
        has_picture=row.picture_type is not None,
        listing_id=int(row.listing_id) if row.listing_id is not None else None,
        publish_key=str(row.publish_key) if row.publish_key is not None else None,
    )


def draft_of(ctx: ServiceContext, merchant_user_id: int, draft_id: int) -> Draft:
    """The merchant's own draft; anyone else's is "unknown"."""
    with ctx.engine.connect() as conn:
        return _draft(conn, merchant_user_id, draft_id)


def listing_text(draft: Draft, language: Language, service_handle: str) -> str:
    """The post that makes the listing. Text comes before the service's mention, so the post
    itself is not read as a command (the parser stays silent on it)."""
    price = draft.price.format(language)
    if language == "fr":
        return (
            f"{draft.title} — {price} ({draft.stock} en stock). "
            f"Pour l'acheter, répondez « @{service_handle} j'achète » à ce message."
        )
    return (
        f"{draft.title} — {price} ({draft.stock} in stock). "
        f"To buy it, reply “@{service_handle} buy” to this post."
    )


def service_handle_on(ctx: ServiceContext, network: str) -> str:
    """The handle buyers mention on ``network``; the configured one when it cannot be asked."""
    try:
        return ctx.service_handle(network)
    except NetworkError:
        return ctx.settings.service_handle


def _make_listing(conn: Connection, draft: Draft, network: str, post_id: str, now: datetime) -> int:
    try:
        with conn.begin_nested():
            listing_id = listings_repo.insert_listing(
                conn,
                merchant_user_id=draft.merchant_user_id,
                network=network,
                post_id=post_id,
                title=draft.title,
                price_cents=draft.price.cents,
                currency=draft.price.currency,
                stock=draft.stock,
                now=now,
            )
    except IntegrityError as exc:
        raise PostAlreadyListed(f"{network}:{post_id}") from exc
    conn.execute(
        listing_details.update()
        .where(listing_details.c.id == draft.id)
        .values(listing_id=listing_id)
    )
    return listing_id


def lock_draft(conn: Connection, merchant_user_id: int, draft_id: int) -> Draft:
    """The draft, locked so two clicks on "publish" make one post and one listing."""
    conn.execute(
        sa.select(listing_details.c.id).where(listing_details.c.id == draft_id).with_for_update()
    )
    return _draft(conn, merchant_user_id, draft_id)


def listing_post_published(
    conn: Connection, publish_key: str, network: str, post_id: str, now: datetime
) -> int | None:
    """The network has the draft's listing post (published by the outbox message
    ``publish_key``): record the listing under it, once; returns the listing id.

    Runs in the transaction that marks the message sent. When the draft already has its listing
    (the merchant pasted a post meanwhile, or a second sender got here first), nothing changes.
    """
    d = listing_details.c
    row = conn.execute(
        sa.select(d.id, d.merchant_user_id).where(d.publish_key == publish_key)
    ).first()
    if row is None:
        return None
    draft = lock_draft(conn, int(row.merchant_user_id), int(row.id))
    if draft.listing_id is not None:
        return draft.listing_id
    try:
        return _make_listing(conn, draft, network, post_id, now)
    except PostAlreadyListed:
        # The merchant pasted this very post onto another draft first: that listing stands.
        return None


def post_id_from(pasted: str) -> str:
    """A post's id from its pasted URL (the last part of the path) or from the id itself."""
    text = pasted.strip()
    if "://" in text:
        text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if not _POST_ID.match(text):
        raise PostIdInvalid(pasted[:80])
    return text


def attach_post(
    ctx: ServiceContext, merchant_user_id: int, draft_id: int, network: str, pasted: str
) -> int:
    """Record the listing under a post the merchant published themselves; returns its id."""
    adapter = ctx.networks.get(network)
    if adapter is None:
        raise NetworkNotListened(network[:16])
    post_id = post_id_from(pasted)
    draft = draft_of(ctx, merchant_user_id, draft_id)
    if draft.listing_id is not None:
        return draft.listing_id
    try:
        post = adapter.fetch_post(post_id)
    except NetworkError as exc:
        raise PostIdInvalid(post_id) from exc
    with ctx.engine.begin() as conn:
        mine = {
            account_id
            for linked_network, account_id, _handle in users_repo.linked_accounts(
                conn, merchant_user_id
            )
            if linked_network == network
        }
        # Someone else's post made into a listing would collect buy replies meant for them.
        if post is None or post.author.id not in mine:
            raise PostNotYours(post_id)
        draft = lock_draft(conn, merchant_user_id, draft_id)
        if draft.listing_id is not None:
            return draft.listing_id
        if draft.publish_key is not None:
            # Listed under this post now: a one-click publication still on its way stops.
            outbox_repo.cancel_pending(conn, draft.publish_key)
        return _make_listing(conn, draft, network, post.id, ctx.now())


def merchant_drafts(ctx: ServiceContext, merchant_user_id: int) -> list[Draft]:
    with ctx.engine.connect() as conn:
        require_merchant(conn, merchant_user_id)
        ids = conn.execute(
            sa.select(listing_details.c.id)
            .where(listing_details.c.merchant_user_id == merchant_user_id)
            .order_by(listing_details.c.id.desc())
        ).scalars()
        return [_draft(conn, merchant_user_id, int(i)) for i in ids]


def public_listing(ctx: ServiceContext, listing_id: int) -> PublicListing:
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(
                listings.c.id,
                listings.c.title,
                listings.c.price_cents,
                listings.c.currency,
                listings.c.stock,
                listings.c.network,
                listings.c.post_id,
                listings.c.merchant_user_id,
                users.c.display_name,
                listing_details.c.picture_type,
            )
            .join(users, users.c.id == listings.c.merchant_user_id)
            .outerjoin(listing_details, listing_details.c.listing_id == listings.c.id)
            .where(listings.c.id == listing_id)
        ).first()
        handle = (
            conn.execute(
                sa.select(social_links.c.handle)
                .where(
                    social_links.c.user_id == row.merchant_user_id,
                    social_links.c.network == row.network,
                )
                .order_by(social_links.c.id)
                .limit(1)
            ).scalar_one_or_none()
            if row is not None
            else None
        )
    if row is None:
        raise ListingUnknown(str(listing_id))
    return PublicListing(
        id=int(row.id),
        title=str(row.title),
        price=Money(int(row.price_cents), str(row.currency)),
        stock=int(row.stock),
        network=str(row.network),
        post_id=str(row.post_id),
        merchant_name=str(row.display_name),
        merchant_handle=str(handle) if handle else None,
        has_picture=row.picture_type is not None,
    )


def listing_picture(ctx: ServiceContext, listing_id: int) -> tuple[str, bytes]:
    """(media type, bytes) of a published listing's picture."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(listing_details.c.picture_type, listing_details.c.picture).where(
                listing_details.c.listing_id == listing_id,
                listing_details.c.picture_type.is_not(None),
            )
        ).first()
    if row is None or row.picture is None:
        raise ListingUnknown(str(listing_id))
    return str(row.picture_type), bytes(row.picture)
