"""Merchants: create a listing and get it posted, see orders, refund one; the public listing page.

Every merchant page answers "not found" to accounts that are not merchants, and a listing or
an order of another merchant is "not found" too, never "forbidden".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput, Language
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.chart_views import sales_chart
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.embeds import listing_code
from payez.entrypoints.web.site import Site
from payez.service.create_listing import (
    MAX_PICTURE_BYTES,
    PictureInvalid,
    attach_post,
    create_draft,
    draft_of,
    listing_picture,
    listing_text,
    merchant_drafts,
    public_listing,
    service_handle_on,
)
from payez.service.merchant_orders import (
    merchant_listings,
    merchant_orders,
    refund_merchant_order,
)
from payez.service.merchant_sales import sales_by_month
from payez.service.publish_listing import publication_of, publish_listing, publishing_accounts
from payez.service.time_zones import zone_of


def _language(value: str, fallback: Language) -> Language:
    if value == "fr":
        return "fr"
    if value == "en":
        return "en"
    return fallback


async def _upload_bytes(upload: UploadFile | None) -> bytes | None:
    """The uploaded file, read no further than one byte past the limit."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(MAX_PICTURE_BYTES + 1)
    if len(data) > MAX_PICTURE_BYTES:
        raise PictureInvalid(str(len(data)))
    return data or None


def merchant_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def merchant_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        drafts = merchant_drafts(site.ctx, user_id)
        return site.render(
            request,
            "merchant.html",
            status,
            drafts=[d for d in drafts if d.listing_id is None],
            listings=merchant_listings(site.ctx, user_id),
            orders=merchant_orders(site.ctx, user_id),
            money=money_formatter(visitor.language),
            sales_chart=sales_chart(
                sales_by_month(site.ctx, user_id, zone_of(visitor.time_zone)), visitor.language
            ),
            **values,
        )

    @router.get("/merchant", response_class=HTMLResponse)
    def merchant_home(request: Request, refunded: int = 0) -> HTMLResponse:
        return merchant_page(request, form={}, refunded=refunded)

    @router.post("/merchant/listings")
    async def new_listing(
        request: Request,
        csrf_token: str = Form(""),
        title: str = Form(""),
        price: str = Form(""),
        stock: str = Form(""),
        picture: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        form = {"title": title[:200], "price": price[:40], "stock": stock[:10]}
        try:
            data = await _upload_bytes(picture)
            draft_id = create_draft(
                site.ctx, user_id, title=title, price=price, stock=stock, picture=data
            )
        except InvalidInput as exc:
            return merchant_page(request, 400, form=form, error=exc.message(visitor.language))
        return RedirectResponse(f"/merchant/drafts/{draft_id}", status_code=303)

    def render_draft(
        request: Request, draft_id: int, status: int = 200, error: str | None = None
    ) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        draft = draft_of(site.ctx, user_id, draft_id)
        accounts = publishing_accounts(site.ctx, user_id)
        handle = service_handle_on(site.ctx, accounts[0].network if accounts else "")
        return site.render(
            request,
            "merchant_draft.html",
            status,
            draft=draft,
            texts={lang: listing_text(draft, lang, handle) for lang in ("fr", "en")},
            publishers=[a for a in accounts if a.can_publish],
            ungranted=[a for a in accounts if not a.can_publish],
            publication=publication_of(site.ctx, user_id, draft_id),
            networks=sorted(site.ctx.networks),
            money=money_formatter(visitor.language),
            error=error,
        )

    @router.get("/merchant/drafts/{draft_id}", response_class=HTMLResponse)
    def draft_page(request: Request, draft_id: int) -> HTMLResponse:
        return render_draft(request, draft_id)

    @router.post("/merchant/drafts/{draft_id}/publish")
    def publish(
        request: Request,
        draft_id: int,
        csrf_token: str = Form(""),
        language: str = Form(""),
        network: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            listing_id = publish_listing(
                site.ctx, user_id, draft_id, network[:16], _language(language, visitor.language)
            )
        except InvalidInput as exc:
            return render_draft(request, draft_id, 400, exc.message(visitor.language))
        if listing_id is None:
            # On its way (or refused): the draft's page says which.
            return RedirectResponse(f"/merchant/drafts/{draft_id}", status_code=303)
        return RedirectResponse(f"/listings/{listing_id}", status_code=303)

    @router.post("/merchant/drafts/{draft_id}/attach")
    def attach(
        request: Request,
        draft_id: int,
        csrf_token: str = Form(""),
        network: str = Form(""),
        post: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            listing_id = attach_post(site.ctx, user_id, draft_id, network, post)
        except InvalidInput as exc:
            return render_draft(request, draft_id, 400, exc.message(visitor.language))
        return RedirectResponse(f"/listings/{listing_id}", status_code=303)

    @router.get("/merchant/listings/{listing_id}/orders", response_class=HTMLResponse)
    def listing_orders(request: Request, listing_id: int) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        orders = merchant_orders(site.ctx, user_id, listing_id)
        listing = public_listing(site.ctx, listing_id)
        return site.render(
            request,
            "merchant_orders.html",
            listing=listing,
            orders=orders,
            embed=listing_code(site.ctx, listing.id, listing.title),
            money=money_formatter(visitor.language),
        )

    @router.post("/merchant/orders/{order_id}/refund")
    def refund(request: Request, order_id: int, csrf_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        refund_merchant_order(site.ctx, user_id, order_id)
        return RedirectResponse(f"/merchant?refunded={order_id}", status_code=303)

    @router.get("/listings/{listing_id}", response_class=HTMLResponse)
    def listing_page(request: Request, listing_id: int) -> HTMLResponse:
        visitor = visitor_of(request)
        return site.render(
            request,
            "listing.html",
            listing=public_listing(site.ctx, listing_id),
            service=site.ctx.service_handle,
            money=money_formatter(visitor.language),
        )

    @router.get("/listings/{listing_id}/picture")
    def picture(listing_id: int) -> Response:
        media_type, data = listing_picture(site.ctx, listing_id)
        return Response(
            data,
            media_type=media_type,
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'",
                "Cache-Control": "public, max-age=3600",
            },
        )

    return router
