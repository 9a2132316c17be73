"""The payouts page: cash out to an IBAN, and the state of each payout."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import PayezError
from payez.entrypoints.web.account_links import verify_needed_page
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.site import Site
from payez.service.account_overview import overview
from payez.service.email_verification import EmailUnverified, email_needs_verifying
from payez.service.my_payouts import my_payouts, request_my_payout


def payout_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, status: int = 200, **values: object) -> HTMLResponse:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        return site.render(
            request,
            "payouts.html",
            status,
            email_unverified=email_needs_verifying(site.ctx, user_id),
            o=overview(site.ctx, user_id),
            payouts=my_payouts(site.ctx, user_id),
            money=money_formatter(visitor.language),
            **values,
        )

    @router.get("/payouts", response_class=HTMLResponse)
    def payouts_page(request: Request, requested: str = "") -> HTMLResponse:
        return page(request, requested=bool(requested))

    @router.post("/payouts")
    def request_payout(
        request: Request,
        csrf_token: str = Form(""),
        amount: str = Form(""),
        iban: str = Form(""),
        name: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            request_my_payout(site.ctx, user_id, amount_text=amount, iban=iban, creditor_name=name)
        except EmailUnverified as exc:
            return verify_needed_page(site, request, exc)
        except PayezError as exc:
            return page(
                request, 400, error=exc.message(visitor.language), form=(amount, iban, name)
            )
        return RedirectResponse("/payouts?requested=1", status_code=303)

    return router
