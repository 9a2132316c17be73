"""The web app: public pages, the claim flow, health; the sandbox network mounted at /sandbox."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from mastodon import Mastodon, MastodonError

from payez.domain.errors import PayezError
from payez.entrypoints.web.i18n import choose_language, texts
from payez.ports.network import NetworkAccount, normalise_handle
from payez.service.claim_payment import claim_payment, describe_claim
from payez.service.context import ServiceContext

CLAIM_STATE_MAX_AGE = 15 * 60


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """Payez registered as an OAuth application of a Mastodon-speaking network."""

    network: str
    api_base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str


def create_app(
    ctx: ServiceContext,
    *,
    oauth_clients: dict[str, OAuthClient] | None = None,
    sandbox: FastAPI | None = None,
) -> FastAPI:
    app = FastAPI(title="Payez", version="0.1.0")
    pages = jinja2.Environment(
        loader=jinja2.PackageLoader("payez.entrypoints.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    signer = URLSafeTimedSerializer(ctx.settings.secret_key, salt="claim-oauth-state")
    clients = oauth_clients or {}

    def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        lang = choose_language(
            request.headers.get("accept-language"), request.query_params.get("lang")
        )
        body = pages.get_template(template).render(lang=lang, t=texts(lang), **values)
        return HTMLResponse(body, status_code=status)

    def error_page(request: Request, error: PayezError, status: int) -> HTMLResponse:
        lang = choose_language(
            request.headers.get("accept-language"), request.query_params.get("lang")
        )
        return render(
            request,
            "message.html",
            status,
            title=texts(lang)["error_title"],
            body=error.message(lang),
        )

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return JSONResponse({"status": "ok"})

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return render(request, "home.html")

    @app.get("/claim/{token}", response_class=HTMLResponse)
    def claim_page(request: Request, token: str) -> HTMLResponse:
        try:
            claim = describe_claim(ctx, token)
        except PayezError as exc:
            return error_page(request, exc, 404)
        lang = choose_language(
            request.headers.get("accept-language"), request.query_params.get("lang")
        )
        return render(
            request, "claim.html", claim=claim, token=token, amount=claim.amount.format(lang)
        )

    @app.get("/claim/{token}/start")
    def claim_start(request: Request, token: str) -> Response:
        try:
            claim = describe_claim(ctx, token)
        except PayezError as exc:
            return error_page(request, exc, 404)
        client = clients.get(claim.network)
        if client is None:
            return error_page(request, PayezError("no oauth client"), 503)
        state = signer.dumps({"token": token, "nonce": secrets.token_urlsafe(8)})
        api = Mastodon(
            client_id=client.client_id,
            client_secret=client.client_secret,
            api_base_url=client.api_base_url,
            version_check_mode="none",
        )
        url = api.auth_request_url(redirect_uris=client.redirect_uri, scopes=["read"], state=state)
        return RedirectResponse(url, status_code=303)

    @app.get("/oauth/{network}/callback", response_class=HTMLResponse)
    def oauth_callback(
        request: Request, network: str, code: str = "", state: str = ""
    ) -> HTMLResponse:
        client = clients.get(network)
        try:
            token = str(signer.loads(state, max_age=CLAIM_STATE_MAX_AGE)["token"])
        except (BadSignature, KeyError, TypeError):
            return error_page(request, PayezError("bad oauth state"), 400)
        if client is None or not code:
            return error_page(request, PayezError("oauth refused"), 400)
        try:
            account = _proven_account(client, code)
            result = claim_payment(ctx, token, account)
        except MastodonError:
            return error_page(request, PayezError("oauth failed"), 400)
        except PayezError as exc:
            return error_page(request, exc, 403)
        lang = choose_language(
            request.headers.get("accept-language"), request.query_params.get("lang")
        )
        t = texts(lang)
        return render(
            request,
            "message.html",
            title=t["claim_done"],
            body=f"{result.total.format(lang)} {t['claim_done_body']}",
        )

    if sandbox is not None:
        app.mount("/sandbox", sandbox)
    return app


def _proven_account(client: OAuthClient, code: str) -> NetworkAccount:
    """Exchange the authorization code and ask the network who signed in."""
    api = Mastodon(
        client_id=client.client_id,
        client_secret=client.client_secret,
        api_base_url=client.api_base_url,
        version_check_mode="none",
    )
    api.log_in(code=code, redirect_uri=client.redirect_uri, scopes=["read"])
    me = api.account_verify_credentials()
    return NetworkAccount(id=str(me["uri"]), handle=normalise_handle(str(me["acct"])))
