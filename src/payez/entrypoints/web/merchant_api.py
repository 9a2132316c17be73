"""The merchants' JSON API, ``/api/v1/merchant``: listings and orders, for the merchant's own
programs (``docs/merchants-api.md``).

Authentication: ``Authorization: Bearer pzk_<id>_<secret>``, a key made in the merchant area;
a ``read`` key may read, a ``write`` key may also write. A request with no key is the logged-in
browser's (session cookie); its writes then need the ``X-CSRF-Token`` header, as the site's
forms need their token: a key carries no cookie, so a cross-site page cannot use it.

Every write takes an ``Idempotency-Key`` header: the same request sent again with the same key
gets the first answer back and changes nothing; the key with another request is refused (422).
Errors have the shape ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from payez.domain.errors import InvalidInput
from payez.entrypoints.web.api import Amount, ErrorOut
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.site import Site
from payez.service.api_keys import ApiCaller, authenticate
from payez.service.context import ServiceContext
from payez.service.create_listing import STOCK_MAX, TITLE_MAX_LENGTH, require_merchant
from payez.service.create_listing_by_api import create_listing_by_api
from payez.service.edit_listing import edit_listing
from payez.service.history import MAX_ID
from payez.service.idempotent_requests import (
    StoredAnswer,
    check_key,
    keep,
    release,
    request_hash,
    reserve,
)
from payez.service.merchant_orders import (
    MerchantListing,
    MerchantOrder,
    merchant_listings,
    merchant_orders,
    refund_merchant_order,
)

CSRF_HEADER = "X-CSRF-Token"
REPLAYED_HEADER = "Idempotent-Replayed"


class BodyInvalid(InvalidInput):
    code = "body_invalid"
    message_fr = "Le corps de la requête n'est pas le JSON attendu (voir /docs)."
    message_en = "The request body is not the JSON expected (see /docs)."


class Listing(BaseModel):
    id: int
    title: str
    price: Amount
    stock: int
    network: str
    post_id: str


class ListingCreated(BaseModel):
    state: Literal["listed", "publishing"]
    draft_id: int
    listing: Listing | None


class NewListing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    price_cents: int = Field(ge=1, le=100_000_000)
    stock: int = Field(ge=1, le=STOCK_MAX)
    network: str = Field("", max_length=16, description="empty: the first one you may post on")
    post: str | None = Field(
        None, max_length=500, description="your own post's URL or id; none: Payez posts it"
    )
    language: Literal["fr", "en"] = "fr"


class ListingChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX_LENGTH)
    stock: int | None = Field(None, ge=0, le=STOCK_MAX)


class Order(BaseModel):
    id: int
    listing_id: int
    listing_title: str
    buyer_name: str
    amount: Amount
    state: Literal["paid", "refunded"]
    created_at: datetime


class Refunded(BaseModel):
    id: int
    listing_id: int
    amount: Amount
    state: Literal["refunded"]


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No key, an unknown key or a revoked key"},
    404: {"model": ErrorOut, "description": "Not a merchant, or not one of your objects"},
    422: {"model": ErrorOut, "description": "Invalid input"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    400: {"model": ErrorOut, "description": "Refused: no Idempotency-Key, a bad price..."},
    403: {"model": ErrorOut, "description": "A read key, or a browser without its CSRF token"},
    409: {"model": ErrorOut, "description": "A request with this key is still running"},
    422: {"model": ErrorOut, "description": "Invalid body, or the key used for another request"},
}
IDEMPOTENCY_DESCRIPTION = (
    "Any unique string (a UUID): the request sent again with it gets the first answer back"
)
LISTING_EXAMPLE = {
    "id": 12,
    "title": "Tote bag",
    "price": {"cents": 1500, "currency": "EUR"},
    "stock": 3,
    "network": "mastodon",
    "post_id": "113456789012345678",
}


def _body_doc(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema(), "example": example}
            },
        }
    }


def _example(example: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"example": example}}}


def _amount(money: Any) -> Amount:
    return Amount(cents=money.cents, currency=money.currency)


def listing_out(item: MerchantListing) -> Listing:
    return Listing(
        id=item.id,
        title=item.title,
        price=_amount(item.price),
        stock=item.stock,
        network=item.network,
        post_id=item.post_id,
    )


def order_out(item: MerchantOrder) -> Order:
    state: Literal["paid", "refunded"] = "refunded" if item.state == "refunded" else "paid"
    return Order(
        id=item.id,
        listing_id=item.listing_id,
        listing_title=item.listing_title,
        buyer_name=item.buyer_name,
        amount=_amount(item.amount),
        state=state,
        created_at=item.created_at,
    )


def merchant_of(ctx: ServiceContext, request: Request, *, write: bool) -> int:
    """The merchant asking: by their key, else by their browser's session (and CSRF token)."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        caller: ApiCaller = authenticate(ctx, authorization[7:])
        if write:
            caller.require_write()
        user_id = caller.user_id
    else:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        if write:
            visitor.check_csrf(request.headers.get(CSRF_HEADER))
    with ctx.engine.connect() as conn:
        require_merchant(conn, user_id)
    return user_id


def _parsed(model: type[BaseModel], body: bytes) -> BaseModel:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        raise BodyInvalid(fields[:200]) from None


def merchant_api_routes(site: Site) -> APIRouter:
    router = APIRouter(prefix="/api/v1/merchant", tags=["merchant"], responses=AUTH_ERRORS)
    ctx = site.ctx

    async def idempotent_write(
        request: Request,
        key: str | None,
        model: type[BaseModel],
        act: Callable[[int, Any], tuple[int, BaseModel]],
    ) -> JSONResponse:
        body = await request.body()
        return await run_in_threadpool(write, request, key, model, act, body)

    def write(
        request: Request,
        key: str | None,
        model: type[BaseModel],
        act: Callable[[int, Any], tuple[int, BaseModel]],
        body: bytes,
    ) -> JSONResponse:
        user_id = merchant_of(ctx, request, write=True)
        checked = check_key(key)
        parsed = _parsed(model, body)
        fingerprint = request_hash(request.method, request.url.path, body)
        stored = reserve(ctx, user_id, checked, fingerprint)
        if stored is not None:
            return JSONResponse(
                stored.body, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"}
            )
        try:
            status, answer = act(user_id, parsed)
        except BaseException:
            release(ctx, user_id, checked)
            raise
        result = StoredAnswer(status, answer.model_dump(mode="json"))
        keep(ctx, user_id, checked, result)
        return JSONResponse(result.body, status_code=status)

    @router.get(
        "/listings", response_model=list[Listing], responses={200: _example([LISTING_EXAMPLE])}
    )
    def listings(request: Request) -> list[Listing]:
        """Your listings, newest first."""
        user_id = merchant_of(ctx, request, write=False)
        return [listing_out(item) for item in merchant_listings(ctx, user_id)]

    @router.post(
        "/listings",
        status_code=201,
        response_model=ListingCreated,
        responses={
            **WRITE_ERRORS,
            201: _example({"state": "listed", "draft_id": 7, "listing": LISTING_EXAMPLE}),
        },
        openapi_extra=_body_doc(
            NewListing,
            {"title": "Tote bag", "price_cents": 1500, "stock": 3, "network": "mastodon"},
        ),
    )
    async def create(
        request: Request,
        idempotency_key: str | None = Header(
            None, alias="Idempotency-Key", description=IDEMPOTENCY_DESCRIPTION
        ),
    ) -> JSONResponse:
        """Create a listing and its post: yours (``post``), or posted now as you by Payez.

        ``state`` is ``publishing`` while the post is on its way; the listing then appears in
        ``GET /api/v1/merchant/listings``. Needs a write key and an ``Idempotency-Key``."""

        def act(user_id: int, new: NewListing) -> tuple[int, BaseModel]:
            made = create_listing_by_api(
                ctx,
                user_id,
                title=new.title,
                price_cents=new.price_cents,
                stock=new.stock,
                network=new.network,
                post=new.post,
                language=new.language,
            )
            listing = listing_out(made.listing) if made.listing is not None else None
            state: Literal["listed", "publishing"] = (
                "listed" if listing is not None else "publishing"
            )
            return 201, ListingCreated(state=state, draft_id=made.draft_id, listing=listing)

        return await idempotent_write(request, idempotency_key, NewListing, act)

    @router.post(
        "/listings/{listing_id}",
        response_model=Listing,
        responses={**WRITE_ERRORS, 200: _example({**LISTING_EXAMPLE, "stock": 10})},
        openapi_extra=_body_doc(ListingChanges, {"stock": 10}),
    )
    async def edit(
        request: Request,
        listing_id: int = Path(ge=1, le=MAX_ID),
        idempotency_key: str | None = Header(
            None, alias="Idempotency-Key", description=IDEMPOTENCY_DESCRIPTION
        ),
    ) -> JSONResponse:
        """Change a listing's title or stock (0 stops sales); the price is in its post and
        stays. Needs a write key and an ``Idempotency-Key``."""

        def act(user_id: int, changes: ListingChanges) -> tuple[int, BaseModel]:
            changed = edit_listing(
                ctx, user_id, listing_id, title=changes.title, stock=changes.stock
            )
            return 200, listing_out(changed)

        return await idempotent_write(request, idempotency_key, ListingChanges, act)

    @router.get(
        "/orders",
        response_model=list[Order],
        responses={
            200: _example(
                [
                    {
                        "id": 31,
                        "listing_id": 12,
                        "listing_title": "Tote bag",
                        "buyer_name": "Bob",
                        "amount": {"cents": 1500, "currency": "EUR"},
                        "state": "paid",
                        "created_at": "2026-12-06T10:00:00Z",
                    }
                ]
            )
        },
    )
    def orders(request: Request, listing_id: int | None = None) -> list[Order]:
        """Your orders, newest first; with ``listing_id``, that listing's only."""
        user_id = merchant_of(ctx, request, write=False)
        if listing_id is not None and not 1 <= listing_id <= MAX_ID:
            raise InvalidInput("listing_id")
        return [order_out(item) for item in merchant_orders(ctx, user_id, listing_id)]

    @router.post(
        "/orders/{order_id}/refund",
        response_model=Refunded,
        responses={
            **WRITE_ERRORS,
            200: _example(
                {
                    "id": 31,
                    "listing_id": 12,
                    "amount": {"cents": 1500, "currency": "EUR"},
                    "state": "refunded",
                }
            ),
        },
    )
    async def refund(
        request: Request,
        order_id: int = Path(ge=1, le=MAX_ID),
        idempotency_key: str | None = Header(
            None, alias="Idempotency-Key", description=IDEMPOTENCY_DESCRIPTION
        ),
    ) -> JSONResponse:
        """Refund one of your orders: the buyer gets the price back from your balance. Needs a
        write key and an ``Idempotency-Key``; no body."""

        def act(user_id: int, _nothing: BaseModel) -> tuple[int, BaseModel]:
            view = refund_merchant_order(ctx, user_id, order_id)
            return 200, Refunded(
                id=view.id,
                listing_id=view.listing_id,
                amount=_amount(view.amount),
                state="refunded",
            )

        return await idempotent_write(request, idempotency_key, _NoBody, act)

    return router


class _NoBody(BaseModel):
    """A refund takes no body; whatever is sent is ignored but counts in the request's hash."""

    model_config = ConfigDict(extra="ignore")
