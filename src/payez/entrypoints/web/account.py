"""Sign up, log in, log out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput
from payez.entrypoints.web.auth import end_session, start_session, visitor_of
from payez.entrypoints.web.site import Site
from payez.service.log_in import LoginFailed, LoginRateLimited, log_in
from payez.service.sign_up import sign_up
from payez.service.web_sessions import close_session, open_session


def safe_next(target: str) -> str:
    """Only a path of this site: never an open redirect to another one."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def account_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def logged_in(request: Request, user_id: int, target: str) -> Response:
        visitor = visitor_of(request)
        close_session(site.ctx, visitor.session_token)
        response = RedirectResponse(target, status_code=303)
        start_session(
            response, visitor, open_session(site.ctx, user_id), site.ctx.settings.session_days
        )
        return response

    @router.get("/signup", response_class=HTMLResponse)
    def signup_page(request: Request, next: str = "") -> HTMLResponse:
        return site.render(
            request,
            "signup.html",
            form={"display_name": "", "email": ""},
            next=safe_next(next) if next else "",
        )

    @router.post("/signup")
    def signup(
        request: Request,
        csrf_token: str = Form(""),
        display_name: str = Form(""),
        email: str = Form(""),
        password: str = Form(""),
        next: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        # Where the visitor was going (a claim link): back there once the account exists.
        target = safe_next(next) if next else ""
        try:
            user_id = sign_up(
                site.ctx,
                email=email,
                password=password,
                display_name=display_name,
                language=visitor.language,
            )
        except InvalidInput as exc:
            return site.render(
                request,
                "signup.html",
                400,
                error=exc.message(visitor.language),
                form={"display_name": display_name[:120], "email": email[:254]},
                next=target,
            )
        return logged_in(request, user_id, target or "/onboarding")

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/dashboard", reset: str = "") -> HTMLResponse:
        return site.render(
            request, "login.html", next=safe_next(next), email="", reset_done=bool(reset)
        )

    @router.post("/login")
    def login(
        request: Request,
        csrf_token: str = Form(""),
        email: str = Form(""),
        password: str = Form(""),
        next: str = Form("/dashboard"),
    ) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        try:
            user_id = log_in(site.ctx, email=email, password=password, ip=client_address(request))
        except (LoginFailed, LoginRateLimited) as exc:
            status = 429 if isinstance(exc, LoginRateLimited) else 401
            return site.render(
                request,
                "login.html",
                status,
                error=exc.message(visitor.language),
                next=safe_next(next),
                email=email[:254],
            )
        return logged_in(request, user_id, safe_next(next))

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        visitor.check_csrf(csrf_token)
        close_session(site.ctx, visitor.session_token)
        response = RedirectResponse("/", status_code=303)
        end_session(response, visitor)
        return response

    return router
