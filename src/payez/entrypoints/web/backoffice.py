"""The back-office, for Payez operators: search, accounts, flags, organisations, payouts,
reconciliation and the audit log.

Every route checks the role first: a visitor who is not logged in goes to the login page, a
logged-in user who is not an operator gets a 403. The use cases check it again inside their
transaction and write the audit entry there. Forms carry the CSRF token like every form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput
from payez.domain.money import Money
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.chart_views import backoffice_charts
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.site import Site
from payez.service.account_review import (
    PAYMENT_STATES,
    review_user,
    search_payments,
    search_users,
)
from payez.service.audit_log import audit_page
from payez.service.backoffice_activity import daily_activity
from payez.service.backoffice_payouts import payout_file, payouts_overview, run_payout_export
from payez.service.freeze_account import freeze_account, unfreeze_account
from payez.service.operators import require_operator
from payez.service.reconcile import reconcile
from payez.service.reset_second_factors import reset_second_factors
from payez.service.review_flags import list_flags, review_flag
from payez.service.second_factor import factors_of
from payez.service.time_zones import zone_of
from payez.service.verify_organisation import verify_organisation

PREFIX = "/backoffice"
# Notices shown after an action, by the key the redirect carries.
_DONE = {
    "frozen": "bo_done_frozen",
    "unfrozen": "bo_done_unfrozen",
    "unchanged": "bo_done_unchanged",
    "verified": "bo_done_verified",
    "unverified": "bo_done_unverified",
    "reviewed": "bo_done_reviewed",
    "exported": "bo_done_exported",
    "nothing": "bo_done_nothing",
    "factors_reset": "bo_done_factors_reset",
}


def backoffice_routes(site: Site) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def operator(request: Request) -> int:
        """The operator's user id: login redirect for visitors, 403 for other users."""
        user_id = visitor_of(request).require_user()
        require_operator(site.ctx, user_id)
        return user_id

    def operator_posting(request: Request, csrf_token: str) -> int:
        user_id = operator(request)
        visitor_of(request).check_csrf(csrf_token)
        return user_id

    def show(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        visitor = visitor_of(request)
        done = request.query_params.get("done", "")
        return site.render(
            request,
            template,
            status,
            money=money_formatter(visitor.language),
            cents=lambda c, cur="EUR": money_formatter(visitor.language)(Money(c, cur or "EUR")),
            done=_DONE.get(done),
            **values,
        )

    @router.get("", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        operator_id = operator(request)
        flags = list_flags(site.ctx, "open", 1)
        visitor = visitor_of(request)
        activity = daily_activity(site.ctx, operator_id, zone_of(visitor.time_zone))
        return show(
            request,
            "backoffice.html",
            open_flags=flags.total,
            states=PAYMENT_STATES,
            activity_charts=backoffice_charts(activity, visitor.language),
        )

    @router.get("/users", response_class=HTMLResponse)
    def users(request: Request, q: str = "") -> HTMLResponse:
        operator(request)
        return show(request, "backoffice_users.html", q=q, hits=search_users(site.ctx, q))

    @router.get("/users/{user_id}", response_class=HTMLResponse)
    def user(request: Request, user_id: int) -> HTMLResponse:
        operator(request)
        return show(
            request,
            "backoffice_user.html",
            r=review_user(site.ctx, user_id),
            factors=factors_of(site.ctx, user_id),
        )

    def user_action_failed(request: Request, user_id: int, exc: InvalidInput) -> HTMLResponse:
        return show(
            request,
            "backoffice_user.html",
            400,
            r=review_user(site.ctx, user_id),
            factors=factors_of(site.ctx, user_id),
            error=exc.message(visitor_of(request).language),
        )

    def change_status(
        request: Request, user_id: int, csrf_token: str, reason: str, freeze: bool
    ) -> Response:
        operator_id = operator_posting(request, csrf_token)
        action = freeze_account if freeze else unfreeze_account
        try:
            changed = action(site.ctx, operator_id, user_id, reason)
        except InvalidInput as exc:
            return user_action_failed(request, user_id, exc)
        done = ("frozen" if freeze else "unfrozen") if changed else "unchanged"
        return RedirectResponse(f"{PREFIX}/users/{user_id}?done={done}", status_code=303)

    @router.post("/users/{user_id}/freeze")
    def freeze(
        request: Request, user_id: int, csrf_token: str = Form(""), reason: str = Form("")
    ) -> Response:
        return change_status(request, user_id, csrf_token, reason, freeze=True)

    @router.post("/users/{user_id}/unfreeze")
    def unfreeze(
        request: Request, user_id: int, csrf_token: str = Form(""), reason: str = Form("")
    ) -> Response:
        return change_status(request, user_id, csrf_token, reason, freeze=False)

    @router.post("/users/{user_id}/verification")
    def verification(
        request: Request, user_id: int, csrf_token: str = Form(""), verified: str = Form("1")
    ) -> Response:
        operator_id = operator_posting(request, csrf_token)
        wanted = verified == "1"
        try:
            changed = verify_organisation(site.ctx, operator_id, user_id, verified=wanted)
        except InvalidInput as exc:
            return user_action_failed(request, user_id, exc)
        done = ("verified" if wanted else "unverified") if changed else "unchanged"
        return RedirectResponse(f"{PREFIX}/users/{user_id}?done={done}", status_code=303)

    @router.post("/users/{user_id}/second-factors/reset")
    def reset_factors(
        request: Request,
        user_id: int,
        csrf_token: str = Form(""),
        reference: str = Form(""),
        reason: str = Form(""),
    ) -> Response:
        operator_id = operator_posting(request, csrf_token)
        try:
            reset_second_factors(site.ctx, operator_id, user_id, reference, reason)
        except InvalidInput as exc:
            return user_action_failed(request, user_id, exc)
        return RedirectResponse(f"{PREFIX}/users/{user_id}?done=factors_reset", status_code=303)

    @router.get("/payments", response_class=HTMLResponse)
    def payments(
        request: Request, handle: str = "", post_id: str = "", state: str = "", amount: str = ""
    ) -> HTMLResponse:
        operator(request)
        searched = bool(handle or post_id or state or amount)
        hits = (
            search_payments(site.ctx, handle=handle, post_id=post_id, state=state, amount=amount)
            if searched
            else []
        )
        return show(
            request,
            "backoffice_payments.html",
            hits=hits,
            searched=searched,
            form={"handle": handle, "post_id": post_id, "state": state, "amount": amount},
            states=PAYMENT_STATES,
        )

    @router.get("/flags", response_class=HTMLResponse)
    def flags(request: Request, state: str = "open", page: int = 1) -> HTMLResponse:
        operator(request)
        return show(request, "backoffice_flags.html", found=list_flags(site.ctx, state, page))

    @router.post("/flags/{flag_id}")
    def review(
        request: Request,
        flag_id: int,
        csrf_token: str = Form(""),
        decision: str = Form(""),
        note: str = Form(""),
    ) -> Response:
        operator_id = operator_posting(request, csrf_token)
        try:
            review_flag(site.ctx, operator_id, flag_id, decision, note)
        except InvalidInput as exc:
            return show(
                request,
                "backoffice_flags.html",
                400,
                found=list_flags(site.ctx, "open", 1),
                error=exc.message(visitor_of(request).language),
            )
        return RedirectResponse(f"{PREFIX}/flags?done=reviewed", status_code=303)

    @router.get("/payouts", response_class=HTMLResponse)
    def payouts(request: Request) -> HTMLResponse:
        operator(request)
        return show(request, "backoffice_payouts.html", o=payouts_overview(site.ctx))

    @router.post("/payouts/export")
    def export(request: Request, csrf_token: str = Form("")) -> Response:
        operator_id = operator_posting(request, csrf_token)
        result = run_payout_export(site.ctx, operator_id)
        done = "exported" if result.batch_id else "nothing"
        return RedirectResponse(f"{PREFIX}/payouts?done={done}", status_code=303)

    @router.get("/payouts/{batch_id}/file")
    def download(request: Request, batch_id: str) -> Response:
        operator_id = operator(request)
        name, content = payout_file(site.ctx, operator_id, batch_id)
        return Response(
            content,
            media_type="application/xml",
            headers={
                "Content-Disposition": f'attachment; filename="{quote(name)}"',
                "Cache-Control": "no-store",
            },
        )

    @router.get("/reconcile", response_class=HTMLResponse)
    def reconciliation(request: Request) -> HTMLResponse:
        operator(request)
        return show(request, "backoffice_reconcile.html", report=reconcile(site.ctx, site.cards))

    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, page: int = 1) -> HTMLResponse:
        operator(request)
        return show(request, "backoffice_audit.html", log=audit_page(site.ctx, page))

    return router
