"""The one OAuth redirect URI: finishes a claim or a link, as the signed state says."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from itsdangerous import BadSignature
from mastodon import MastodonError

from payez.adapters.networks.bluesky_oauth import METADATA_PATH, BlueskyOAuthClient
from payez.domain.errors import PayezError
from payez.entrypoints.web.claims import claim_state_matches, finish_claim
from payez.entrypoints.web.oauth import STATE_MAX_AGE
from payez.entrypoints.web.onboarding import LinkStateInvalid, finish_link, link_state_matches
from payez.entrypoints.web.site import Site
from payez.ports.network import NetworkError
from payez.ports.sign_in import PUBLISH_SCOPES, READ_SCOPES, SignedInElsewhere


class OAuthStateInvalid(PayezError):
    code = "oauth_state_invalid"
    message_fr = "Ce retour de connexion est invalide ou a expiré. Recommencez."
    message_en = "This sign-in return is invalid or has expired. Please start again."


class OAuthRefused(PayezError):
    code = "oauth_refused"
    message_fr = "La connexion avec le réseau a été refusée ou a échoué."
    message_en = "Signing in with the network was refused or failed."


def callback_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/oauth/{network}/callback")
    def oauth_callback(request: Request, network: str, code: str = "", state: str = "") -> Response:
        try:
            decoded = site.oauth_signer().loads(state, max_age=STATE_MAX_AGE)
        except BadSignature:
            return site.error_page(request, OAuthStateInvalid(), 400)
        if not isinstance(decoded, dict):
            return site.error_page(request, OAuthStateInvalid(), 400)
        values: dict[str, Any] = decoded
        purpose = values.get("purpose", "claim" if "token" in values else "")
        client = site.oauth_clients.get(network)
        if client is None or not code or purpose not in ("claim", "link"):
            return site.error_page(request, OAuthRefused(), 400)
        started_here = (link_state_matches if purpose == "link" else claim_state_matches)(
            request, values
        )
        if not started_here:
            # Checked before the code is exchanged: a link or a claim is finished by the
            # logged-in session that started it, never by a browser handed someone else's
            # return link.
            return site.error_page(request, LinkStateInvalid(), 403)
        publish = purpose == "link" and values.get("publish") is True
        try:
            signed_in = client.signed_in(code, PUBLISH_SCOPES if publish else READ_SCOPES, state)
        except SignedInElsewhere as exc:
            return site.error_page(request, exc, 400)
        except (MastodonError, NetworkError):
            return site.error_page(request, OAuthRefused(), 400)
        if purpose == "link":
            token = signed_in.access_token if publish else None
            return finish_link(site, request, values, network, signed_in.account, token)
        return finish_claim(site, request, values, network, signed_in.account)

    @router.get(METADATA_PATH)
    def bluesky_client_metadata(request: Request) -> Response:
        """The document an AT Protocol authorization server reads to know Payez as a client."""
        client = site.oauth_clients.get("bluesky")
        if not isinstance(client, BlueskyOAuthClient):
            return site.error_page(request, OAuthRefused(), 404)
        return JSONResponse(client.metadata(), headers={"Cache-Control": "max-age=600"})

    return router
