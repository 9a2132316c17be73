"""Email verification, password reset and password change: the pages around emailed links."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput, PayezError
from payez.entrypoints.web.account import client_address
from payez.entrypoints.web.auth import end_session, visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.service.change_password import change_password
from payez.service.email_verification import (
    EmailLinkExpired,
    EmailLinkInvalid,
    EmailLinkRateLimited,
    resend_verification,
    verify_email,
)
from payez.service.log_in import LoginRateLimited
from payez.service.reset_password import (
    ResetLinkInvalid,
    request_password_reset,
    reset_link_works,
    reset_password,
)


def verify_needed_page(site: Site, request: Request, error: PayezError) -> HTMLResponse:
    """What a user with an unverified address sees instead of linking or paying out."""
    return site.render(
        request, "verify_email_needed.html", 403, error=error.message(visitor_of(request).language)
    )


def account_link_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/verify-email", response_class=HTMLResponse)
    def verify(request: Request, token: str = "") -> HTMLResponse:
        visitor = visitor_of(request)
        t = texts(visitor.language)
        try:
            verify_email(site.ctx, token)
        except (EmailLinkInvalid, EmailLinkExpired) as exc:
            return site.render(
                request,
                "message.html",
                400,
                title=t["verify_failed_title"],
                body=exc.message(visitor.language),
                back="/settings" if visitor.logged_in else "/login",
            )
        return site.render(
            request,
            "message.html",
            title=t["verify_done_title"],
            body=t["verify_done_body"],
            back="/onboarding" if visitor.logged_in else "/login",
        )

    @router.post("/verify-email/resend")
    def resend(request: Request, csrf_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        t = texts(visitor.language)
        try:
            sent = resend_verification(site.ctx, user_id, ip=client_address(request))
        except EmailLinkRateLimited as exc:
            return site.render(
                request,
                "message.html",
                429,
                title=t["error_title"],
                body=exc.message(visitor.language),
                back="/settings",
            )
        return site.render(
            request,
            "message.html",
            title=t["verify_sent_title"],
            body=t["verify_sent_body"] if sent else t["verify_done_body"],
            back="/settings",
        )

    @router.get("/password/forgot", response_class=HTMLResponse)
    def forgot_page(request: Request) -> HTMLResponse:
        return site.render(request, "password_forgot.html", email="")

    @router.post("/password/forgot")
    def forgot(request: Request, csrf_token: str = Form(""), email: str = Form("")) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        try:
            request_password_reset(site.ctx, email=email, ip=client_address(request))
        except (InvalidInput, EmailLinkRateLimited) as exc:
            status = 429 if isinstance(exc, EmailLinkRateLimited) else 400
            return site.render(
                request,
                "password_forgot.html",
                status,
                error=exc.message(visitor.language),
                email=email[:254],
            )
        # The same page whether or not an account has the address.
        t = texts(visitor.language)
        return site.render(
            request,
            "message.html",
            title=t["forgot_sent_title"],
            body=t["forgot_sent_body"],
            back="/login",
        )

    @router.get("/password/reset", response_class=HTMLResponse)
    def reset_page(request: Request, token: str = "") -> HTMLResponse:
        if not reset_link_works(site.ctx, token):
            return site.error_page(request, ResetLinkInvalid(), 400)
        return site.render(request, "password_reset.html", token=token)

    @router.post("/password/reset")
    def reset(
        request: Request,
        csrf_token: str = Form(""),
        token: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        try:
            reset_password(
                site.ctx, token=token, new_password=password, signed_in_user=visitor.user_id
            )
        except ResetLinkInvalid as exc:
            return site.error_page(request, exc, 400)
        except InvalidInput as exc:
            return site.render(
                request,
                "password_reset.html",
                400,
                token=token[:128],
                error=exc.message(visitor.language),
            )
        # Every session of the account has ended, this browser's too: log in afresh.
        response = RedirectResponse("/login?reset=1", status_code=303)
        end_session(response, visitor)
        return response

    @router.post("/settings/password")
    def change(
        request: Request,
        csrf_token: str = Form(""),
        current_password: str = Form(""),
        new_password: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        t = texts(visitor.language)
        try:
            change_password(
                site.ctx,
                user_id,
                current_password=current_password,
                new_password=new_password,
                session_token=visitor.session_token,
                ip=client_address(request),
            )
        except (InvalidInput, LoginRateLimited) as exc:
            return site.render(
                request,
                "message.html",
                429 if isinstance(exc, LoginRateLimited) else 400,
                title=t["error_title"],
                body=exc.message(visitor.language),
                back="/settings",
            )
        return RedirectResponse("/settings?password=changed", status_code=303)

    return router
