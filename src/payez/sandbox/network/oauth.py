"""OAuth 2 as Mastodon does it: app registration, the token endpoint (password,
authorization_code, client_credentials) and the authorization-code login page.

Payez itself uses the authorization-code flow to prove that a person owns a sandbox account
(claiming money, linking an account), exactly as it would with a real Mastodon server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from payez.sandbox.network import tables
from payez.sandbox.network.accounts import (
    App,
    authenticate,
    find_app,
    issue_code,
    issue_token,
    redeem_code,
    register_app,
    revoke_token,
)
from payez.sandbox.network.api import in_transaction
from payez.sandbox.network.context import SandboxContext, caller, context, read_params
from payez.sandbox.network.entities import Json
from payez.sandbox.network.errors import SandboxInvalid, SandboxInvalidGrant, SandboxUnauthorized
from payez.sandbox.network.timeline import language_of, render_page

router = APIRouter()
OOB = "urn:ietf:wg:oauth:2.0:oob"


def _app_json(app: App, with_secret: bool) -> Json:
    data: Json = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
        "vapid_key": "",
    }
    if with_secret:
        data["client_id"] = app.client_id
        data["client_secret"] = app.client_secret
    return data


@router.post("/api/v1/apps")
async def create_app(request: Request) -> Json:
    ctx = context(request)
    params = await read_params(request)
    name = (params.get("client_name") or "").strip()
    if not name:
        raise SandboxInvalid("client_name can't be blank")
    redirect = params.get("redirect_uris")
    uris = redirect if redirect is not None else "\n".join(params.get_list("redirect_uris"))
    scopes = params.get("scopes") or "read"
    website = params.get("website")
    app = await in_transaction(ctx, lambda conn: register_app(conn, name, uris, scopes, website))
    return _app_json(app, with_secret=True)


@router.get("/api/v1/apps/verify_credentials")
async def app_verify_credentials(request: Request) -> Json:
    ctx = context(request)
    owner = await caller(request)
    assert owner is not None

    def work(conn: sa.Connection) -> Json:
        row = conn.execute(sa.select(tables.apps).where(tables.apps.c.id == owner.app_id)).first()
        if row is None:
            raise SandboxUnauthorized()
        app = find_app(conn, row.client_id)
        assert app is not None
        return _app_json(app, with_secret=False)

    return await in_transaction(ctx, work)


def _granted(requested: str | None, app: App) -> str:
    """Scopes granted: the ones asked for, within the app's registration."""
    allowed = set(app.scopes.split())
    wanted = (requested or app.scopes).split()
    if not set(wanted) <= allowed:
        raise SandboxInvalidGrant(f"scopes {' '.join(sorted(set(wanted) - allowed))}")
    return " ".join(wanted)


def _client(conn: sa.Connection, client_id: str | None, secret: str | None) -> App:
    app = find_app(conn, client_id or "")
    if app is None or app.client_secret != secret:
        raise SandboxInvalidGrant("unknown client or wrong secret")
    return app


@router.post("/oauth/token")
async def token(request: Request) -> Json:
    ctx = context(request)
    params = await read_params(request)
    grant_type = params.get("grant_type")
    client_id, secret = params.get("client_id"), params.get("client_secret")
    now = ctx.clock.now()

    def work(conn: sa.Connection) -> Json:
        app = _client(conn, client_id, secret)
        scopes = _granted(params.get("scope") or params.get("scopes"), app)
        account_id: int | None
        if grant_type == "password":
            account_id = authenticate(
                conn, params.get("username") or "", params.get("password") or ""
            )
            if account_id is None:
                raise SandboxInvalidGrant("wrong username or password")
        elif grant_type == "authorization_code":
            redeemed = redeem_code(
                conn, params.get("code") or "", app.id, params.get("redirect_uri") or OOB
            )
            if redeemed is None:
                raise SandboxInvalidGrant("unknown, used or expired code")
            account_id, scopes = redeemed
        elif grant_type == "client_credentials":
            account_id = None
        else:
            raise SandboxInvalidGrant(f"grant_type {grant_type!r}")
        access_token = issue_token(conn, app.id, account_id, scopes)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": scopes,
            "created_at": int(now.timestamp()),
        }

    return await in_transaction(ctx, work)


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Json:
    ctx = context(request)
    params = await read_params(request)
    value = params.get("token") or ""

    def work(conn: sa.Connection) -> Json:
        _client(conn, params.get("client_id"), params.get("client_secret"))
        revoke_token(conn, value)
        return {}

    return await in_transaction(ctx, work)


# -- the authorization-code login page -------------------------------------------------------------


def _check_request(conn: sa.Connection, client_id: str, redirect_uri: str) -> App:
    app = find_app(conn, client_id)
    if app is None:
        raise SandboxInvalid("unknown client_id")
    if redirect_uri not in app.redirect_uris:
        raise SandboxInvalid("redirect_uri is not registered for this application")
    return app


def _form_values(params: Any) -> dict[str, str]:
    return {
        "client_id": params.get("client_id") or "",
        "redirect_uri": params.get("redirect_uri") or OOB,
        "scope": params.get("scope") or "",
        "state": params.get("state") or "",
        "response_type": params.get("response_type") or "code",
    }


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize_form(request: Request) -> Response:
    ctx = context(request)
    params = await read_params(request)
    values = _form_values(params)
    if values["response_type"] != "code":
        raise SandboxInvalid("response_type must be code")
    app = await in_transaction(
        ctx, lambda conn: _check_request(conn, values["client_id"], values["redirect_uri"])
    )
    return _login_page(request, ctx, app, values, error=False)


def _login_page(
    request: Request, ctx: SandboxContext, app: App, values: dict[str, str], *, error: bool
) -> Response:
    lang = language_of(request)
    return render_page(
        request,
        ctx,
        "authorize.html",
        lang,
        status_code=401 if error else 200,
        app_name=app.name,
        values=values,
        error=error,
        scopes=(values["scope"] or app.scopes).split(),
    )


@router.post("/oauth/authorize", response_class=HTMLResponse)
async def authorize(request: Request) -> Response:
    ctx = context(request)
    params = await read_params(request)
    values = _form_values(params)
    username, password = params.get("username") or "", params.get("password") or ""

    def work(conn: sa.Connection) -> tuple[App, str | None]:
        app = _check_request(conn, values["client_id"], values["redirect_uri"])
        scopes = _granted(values["scope"] or None, app)
        account_id = authenticate(conn, username, password)
        if account_id is None:
            return app, None
        return app, issue_code(conn, app.id, account_id, values["redirect_uri"], scopes)

    app, code = await in_transaction(ctx, work)
    if code is None:
        return _login_page(request, ctx, app, values, error=True)
    if values["redirect_uri"] == OOB:
        lang = language_of(request)
        return render_page(request, ctx, "authorized.html", lang, code=code, app_name=app.name)
    query = {"code": code, **({"state": values["state"]} if values["state"] else {})}
    parts = urlsplit(values["redirect_uri"])
    joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))
    return RedirectResponse(target, status_code=302)


@router.get("/.well-known/oauth-authorization-server", include_in_schema=False)
def no_server_metadata() -> JSONResponse:
    # Absent on purpose: Mastodon.py would then insist on https endpoints; without it, clients
    # fall back to /oauth/authorize and /oauth/token under the API base, as for Mastodon < 4.3.
    return JSONResponse({"error": "Record not found"}, status_code=404)
