"""The claim flow: a newcomer proves, by OAuth, that they own the account money was sent to."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import PayezError
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.ports.network import NetworkAccount
from payez.service.claim_payment import claim_payment, describe_claim
from payez.service.errors import AccountAlreadyLinked
from payez.service.link_social_account import link_social_account


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
            request, "claim.html", claim=claim, token=token, amount=claim.amount.format(lang)
        )

    @router.get("/claim/{token}/start")
    def claim_start(request: Request, token: str) -> Response:
        try:
            claim = describe_claim(site.ctx, token)
        except PayezError as exc:
            return site.error_page(request, exc, 404)
        client = site.oauth_clients.get(claim.network)
        if client is None:
            return site.error_page(request, OAuthUnavailable(claim.network), 503)
        state = site.oauth_signer().dumps(
            {"purpose": "claim", "token": token, "nonce": secrets.token_urlsafe(8)}
        )
        return RedirectResponse(client.authorize_url(state), status_code=303)

    return router


def finish_claim(
    site: Site, request: Request, state: dict[str, Any], network: str, account: NetworkAccount
) -> Response:
    visitor = visitor_of(request)
    if visitor.user_id is not None:
        # A logged-in claimant keeps one Payez account: link the proven account to it first,
        # so the claim credits them rather than opening a second account.
        # When the account is someone else's, the claim below credits its owner instead.
        with contextlib.suppress(AccountAlreadyLinked):
            link_social_account(site.ctx, visitor.user_id, network, account)
    try:
        result = claim_payment(site.ctx, str(state.get("token", "")), account)
    except PayezError as exc:
        return site.error_page(request, exc, 403)
    t = texts(visitor.language)
    return site.render(
        request,
        "message.html",
        title=t["claim_done"],
        body=f"{result.total.format(visitor.language)} {t['claim_done_body']}",
        back="/dashboard" if visitor.logged_in else None,
    )
