"""Payment requests: the requester's pages (create, list, one request with its link, QR code and
payments, cancel), the public page of a request (``/r/<code>``), the opt-in public profile
(``/@<handle>``) and its switch in the settings."""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from payez.domain.errors import InvalidInput, Language
from payez.domain.money import Money
from payez.domain.payment_requests import RequestAmountOutOfRange
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.sandbox.network.app import MOUNT_PATH
from payez.service.cancel_payment_request import cancel_payment_request
from payez.service.create_payment_request import create_payment_request
from payez.service.my_payment_requests import my_payment_request, my_payment_requests
from payez.service.payment_request_page import PayPage, payment_request_page, profile_page
from payez.service.public_profile import set_public_profile


def qr_svg(link: str, scale: int = 6) -> Markup:
    """The QR code of ``link`` as inline SVG (black on white, with its quiet zone), ``scale``
    pixels a module."""
    svg = segno.make(link, error="m").svg_inline(
        scale=scale, dark="#000", light="#fff", svgclass="qr", lineclass=None
    )
    # segno writes the SVG from the link, which is ours: nothing a visitor typed.
    return Markup(svg)


def error_text(site: Site, error: InvalidInput, language: Language) -> str:
    """The error's message, with this deployment's payment limits when they are the issue."""
    text = error.message(language)
    if isinstance(error, RequestAmountOutOfRange):
        money, limits = money_formatter(language), site.ctx.limits
        text += " " + texts(language)["request_amount_limits"].format(
            min=money(Money.eur(limits.min_cents)), max=money(Money.eur(limits.max_person_cents))
        )
    return text


def payment_request_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    sandbox_url = site.ctx.settings.base_url.rstrip("/") + MOUNT_PATH

    def requests_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        values.setdefault("form", {})
        return site.render(
            request,
            "payment_requests.html",
            status,
            requests=my_payment_requests(site.ctx, user_id),
            money=money_formatter(visitor.language),
            max_amount=Money.eur(site.ctx.limits.max_person_cents),
            **values,
        )

    @router.get("/dashboard/requests", response_class=HTMLResponse)
    def list_requests(request: Request) -> HTMLResponse:
        return requests_page(request)

    @router.post("/dashboard/requests")
    def new_request(
        request: Request,
        csrf_token: str = Form(""),
        amount: str = Form(""),
        reason: str = Form(""),
        uses: str = Form("once"),
        expires_on: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            request_id = create_payment_request(
                site.ctx,
                user_id,
                amount=amount,
                reason=reason,
                uses=uses,
                expires_on=expires_on,
                time_zone=visitor.time_zone,
            )
        except InvalidInput as exc:
            form = {
                "amount": amount[:40],
                "reason": reason[:80],
                "uses": uses[:8],
                "expires_on": expires_on[:10],
            }
            return requests_page(
                request, 400, error=error_text(site, exc, visitor.language), form=form
            )
        return RedirectResponse(f"/dashboard/requests/{request_id}", status_code=303)

    @router.get("/dashboard/requests/{request_id}", response_class=HTMLResponse)
    def one_request(request: Request, request_id: int) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        mine = my_payment_request(site.ctx, user_id, request_id)
        return site.render(
            request,
            "payment_request.html",
            r=mine,
            qr=qr_svg(mine.link),
            money=money_formatter(visitor.language),
        )

    @router.post("/dashboard/requests/{request_id}/cancel")
    def cancel(request: Request, request_id: int, csrf_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        cancel_payment_request(site.ctx, user_id, request_id)
        return RedirectResponse(f"/dashboard/requests/{request_id}", status_code=303)

    def pay_page(request: Request, page: PayPage, action: str) -> HTMLResponse:
        visitor = visitor_of(request)
        error = error_text(site, page.amount_error, visitor.language) if page.amount_error else None
        return site.render(
            request,
            "pay_request.html",
            400 if error else 200,
            p=page,
            action=action,
            error=error,
            money=money_formatter(visitor.language),
        )

    @router.get("/r/{code}", response_class=HTMLResponse)
    def public_request(request: Request, code: str, amount: str = "") -> HTMLResponse:
        visitor = visitor_of(request)
        page = payment_request_page(
            site.ctx, code, language=visitor.language, typed=amount, sandbox_url=sandbox_url
        )
        return pay_page(request, page, f"/r/{code}")

    @router.get("/@{handle}", response_class=HTMLResponse)
    def public_profile(request: Request, handle: str, amount: str = "") -> HTMLResponse:
        visitor = visitor_of(request)
        page = profile_page(
            site.ctx, handle, language=visitor.language, typed=amount, sandbox_url=sandbox_url
        )
        return pay_page(request, page, f"/@{handle.lower()}")

    @router.post("/settings/profile")
    def save_profile(
        request: Request, csrf_token: str = Form(""), handle: str = Form("")
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            set_public_profile(site.ctx, user_id, handle)
        except InvalidInput as exc:
            return site.error_page(request, exc, 400)
        return RedirectResponse("/settings?saved=1#public-profile", status_code=303)

    return router
