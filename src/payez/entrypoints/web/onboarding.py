"""Onboarding, in three steps on one page: identity check, card, linked social accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import InvalidInput, PayezError
from payez.entrypoints.web.account_links import verify_needed_page
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.i18n import texts
from payez.entrypoints.web.site import Site
from payez.ports.cards import CardDeclined, ProcessorError, ProcessorRequestRejected
from payez.ports.identity import IdentityServiceUnavailable
from payez.ports.network import NetworkAccount
from payez.ports.sign_in import PUBLISH_SCOPES, READ_SCOPES
from payez.service.account_overview import overview
from payez.service.add_card import add_card, start_card_setup
from payez.service.email_verification import EmailUnverified, email_needs_verifying
from payez.service.link_by_code import create_link_code, live_code_expiry, posts_to_write
from payez.service.link_social_account import is_merchant, link_social_account
from payez.service.verify_identity import IdentityCheckFailed, parse_birth_date, verify_identity

# Networks a user will be able to link; those without an OAuth client show as "coming soon".
NETWORK_LABELS = (
    ("sandbox", "Sandbox"),
    ("mastodon", "Mastodon"),
    ("x", "X"),
    ("bluesky", "Bluesky"),
)


@dataclass(frozen=True, slots=True)
class NetworkChoice:
    name: str
    label: str
    available: bool


def onboarding_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        user_id = visitor_of(request).require_user()
        extra: dict[str, Any] = {}
        if site.stripe_publishable_key:
            try:
                setup = start_card_setup(site.ctx, site.cards, user_id)
                extra = {
                    "stripe_key": site.stripe_publishable_key,
                    "setup_secret": setup.client_secret,
                }
            except ProcessorError as exc:
                values.setdefault("error", exc.message(visitor_of(request).language))
        networks = [
            NetworkChoice(name, label, name in site.oauth_clients) for name, label in NETWORK_LABELS
        ]
        return site.render(
            request,
            "onboarding.html",
            status,
            o=overview(site.ctx, user_id),
            networks=networks,
            email_unverified=email_needs_verifying(site.ctx, user_id),
            code_waits_until=live_code_expiry(site.ctx, user_id),
            **extra,
            **values,
        )

    def failed(request: Request, error: PayezError, status: int = 400) -> HTMLResponse:
        return page(request, status, error=error.message(visitor_of(request).language))

    @router.get("/onboarding", response_class=HTMLResponse)
    def onboarding(request: Request, done: str = "") -> HTMLResponse:
        notice_key = {"identity": "identity_done", "card": "card_done", "link": "link_done"}
        t = texts(visitor_of(request).language)
        return page(request, notice=t[notice_key[done]] if done in notice_key else None)

    @router.post("/onboarding/identity")
    def identity(
        request: Request,
        csrf_token: str = Form(""),
        full_name: str = Form(""),
        birth_date: str = Form(""),
    ) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            verify_identity(
                site.ctx,
                site.identity,
                user_id,
                full_name=full_name,
                birth_date=parse_birth_date(birth_date),
            )
        except (InvalidInput, IdentityCheckFailed) as exc:
            return failed(request, exc, 400 if isinstance(exc, InvalidInput) else 422)
        except IdentityServiceUnavailable as exc:
            return failed(request, exc, 503)
        return RedirectResponse("/onboarding?done=identity#card", status_code=303)

    @router.post("/onboarding/card")
    def card(request: Request, csrf_token: str = Form(""), card_token: str = Form("")) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            add_card(site.ctx, site.cards, user_id, card_token)
        except (InvalidInput, ProcessorRequestRejected) as exc:
            return failed(request, exc, 400)
        except CardDeclined as exc:
            return failed(request, exc, 402)
        except ProcessorError as exc:
            return failed(request, exc, 502)
        return RedirectResponse("/onboarding?done=card#link", status_code=303)

    @router.post("/onboarding/link-code")
    def link_code(request: Request, csrf_token: str = Form("")) -> Response:
        """A one-time code to post from the account to link, shown once: only its hash is
        kept, so the page that made it is the only one that can show it."""
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        visitor.check_csrf(csrf_token)
        try:
            made = create_link_code(site.ctx, user_id)
        except EmailUnverified as exc:
            return verify_needed_page(site, request, exc)
        response = page(request, link_code=made, link_posts=posts_to_write(site.ctx, made.code))
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/onboarding/link/{network}")
    def link_start(request: Request, network: str) -> Response:
        visitor = visitor_of(request)
        user_id = visitor.require_user()
        client = site.oauth_clients.get(network)
        if client is None:
            return site.error_page(request, NetworkNotLinkable(network[:32]), 404)
        if email_needs_verifying(site.ctx, user_id):
            # Said before the trip to the network: the link would be refused on return.
            return verify_needed_page(site, request, EmailUnverified(str(user_id)))
        # A merchant is asked leave to post too, so that Payez can publish their listings.
        publish = is_merchant(site.ctx, visitor.require_user())
        state = site.oauth_signer().dumps(
            {
                "purpose": "link",
                "session": visitor.session_fingerprint,
                "nonce": secrets.token_urlsafe(8),
                "publish": publish,
            }
        )
        scopes = PUBLISH_SCOPES if publish else READ_SCOPES
        return RedirectResponse(client.authorize_url(state, scopes), status_code=303)

    return router


class NetworkNotLinkable(PayezError):
    code = "network_not_linkable"
    message_fr = "Ce réseau ne peut pas encore être relié."
    message_en = "This network cannot be linked yet."


class LinkStateInvalid(PayezError):
    code = "link_state_invalid"
    message_fr = "Cette liaison a été commencée dans une autre session. Recommencez."
    message_en = "This link was started in another session. Please start again."


def link_state_matches(request: Request, state: dict[str, Any]) -> bool:
    visitor = visitor_of(request)
    return visitor.logged_in and state.get("session") == visitor.session_fingerprint


def finish_link(
    site: Site,
    request: Request,
    state: dict[str, Any],
    network: str,
    account: NetworkAccount,
    publishing_token: str | None = None,
) -> Response:
    """The network proved who signed in: link that account to the logged-in user (with the
    token granted to publish as them, when that was asked)."""
    visitor = visitor_of(request)
    user_id = visitor.require_user()
    if not link_state_matches(request, state):
        return site.error_page(request, LinkStateInvalid(), 403)
    try:
        credited = link_social_account(
            site.ctx, user_id, network, account, publishing_token=publishing_token
        )
    except EmailUnverified as exc:
        return verify_needed_page(site, request, exc)
    except InvalidInput as exc:
        return site.render(
            request,
            "message.html",
            409,
            title=texts(visitor.language)["error_title"],
            body=exc.message(visitor.language),
            back="/onboarding",
        )
    if credited.cents > 0:
        t = texts(visitor.language)
        return site.render(
            request,
            "message.html",
            title=t["link_credited_title"],
            body=f"{t['link_credited_body']} {credited.format(visitor.language)}",
            back="/dashboard",
            back_label=t["claim_go_dashboard"],
        )
    return RedirectResponse("/onboarding?done=link", status_code=303)
