"""The claim flow: a newcomer proves, by OAuth, that they own the account money was sent to.

Claiming starts with a Payez login (log in, or sign up and come back), so the money is credited
to an account its owner can reach: the proven social account is linked to that login.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import PayezError
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.ports.network import NetworkAccount
from payez.service.claim_payment import claim_payment, describe_claim


class OAuthUnavailable(PayezError):
    code = "oauth_unavailable"
    message_fr = "La connexion avec ce réseau n'est pas disponible pour le moment."
    message_en = "Signing in with this network is not available at the moment."


def claim_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/claim/{token}", response_class=HTMLResponse)
    def claim_page(request: Request, token: str) -> HTMLResponse:
        try:
            claim = describe_claim(site.ctx, token)
        except PayezError as exc:
            return site.error_page(request, exc, 404)
        lang = visitor_of(request).language
        return site.render(
            request,
            "claim.html",
            claim=claim,
            token=token,
            amount=claim.amount.format(lang),
            back_here=quote(f"/claim/{token}", safe=""),
        )

    @router.get("/claim/{token}/start")
    def claim_start(request: Request, token: str) -> Response:
        visitor = visitor_of(request)
        if not visitor.logged_in:
            # Money only ever lands in an account its owner can log in to: log in (or sign up)
            # first, then come back here.
            return RedirectResponse(
                f"/login?next={quote(f'/claim/{token}', safe='')}", status_code=303
            )
        try:
            claim = describe_claim(site.ctx, token)
        except PayezError as exc:
            return site.error_page(request, exc, 404)
        client = site.oauth_clients.get(claim.network)
        if client is None:
            return site.error_page(request, OAuthUnavailable(claim.network), 503)
        state = site.oauth_signer().dumps(
            {
                "purpose": "claim",
                "token": token,
                "session": visitor.session_fingerprint,
                "nonce": secrets.token_urlsafe(8),
            }
        )
        return RedirectResponse(client.authorize_url(state), status_code=303)

    return router


def claim_state_matches(request: Request, state: dict[str, Any]) -> bool:
    """A claim is finished by the logged-in session that started it."""
    visitor = visitor_of(request)
    return visitor.logged_in and state.get("session") == visitor.session_fingerprint


def finish_claim(
    site: Site, request: Request, state: dict[str, Any], network: str, account: NetworkAccount
) -> Response:
    visitor = visitor_of(request)
    user_id = visitor.require_user()
    try:
        result = claim_payment(site.ctx, str(state.get("token", "")), account, user_id)
    except PayezError as exc:
        return site.error_page(request, exc, 403)
    t = texts(visitor.language)
    done = t["claim_done_body"] if result.user_id == user_id else t["claim_done_other"]
    return site.render(
        request,
        "message.html",
        title=t["claim_done"],
        body=f"{result.total.format(visitor.language)} {done}",
        back="/dashboard",
        back_label=t["claim_go_dashboard"],
    )
