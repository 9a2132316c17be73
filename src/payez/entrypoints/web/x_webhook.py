"""``/webhooks/x``: X's Account Activity webhook.

``GET ?crc_token=T`` answers X's challenge; each ``POST`` must carry a valid
``x-twitter-webhooks-signature`` (else 401, and nothing changes). The posts of a delivery that
mention the service account are recorded in the inbox by the listener's own use case
(``record_posts``), so a post delivered twice, by the webhook and by polling, or edited, is
recorded once. Polling stays on: a delivery X never makes is read on the next poll.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from payez.adapters.networks.x_activity import (
    SIGNATURE_HEADER,
    crc_response,
    mentions_in_delivery,
    signature_valid,
)
from payez.domain.errors import InvalidInput, NotFound, PayezError
from payez.entrypoints.web.site import Site, language
from payez.ports.network import NetworkError, NetworkUnavailable
from payez.service.record_posts import record_posts

log = logging.getLogger(__name__)

X_NETWORK = "x"
MAX_DELIVERY_BYTES = 1024 * 1024


class XWebhookNotConfigured(NotFound):
    code = "x_webhook_not_configured"
    message_fr = "Le webhook X n'est pas configuré ici."
    message_en = "The X webhook is not configured here."


class XWebhookSignatureInvalid(PayezError):
    code = "x_webhook_signature_invalid"
    message_fr = "Signature du webhook X absente ou invalide."
    message_en = "The X webhook signature is missing or invalid."


class XWebhookPayloadInvalid(InvalidInput):
    code = "x_webhook_payload_invalid"
    message_fr = "Le contenu envoyé par X est illisible."
    message_en = "The content X sent cannot be read."


def x_webhook_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ctx = site.ctx

    def error(request: Request, exc: PayezError, status: int) -> JSONResponse:
        message = exc.message(language(request))
        return JSONResponse({"error": {"code": exc.code, "message": message}}, status_code=status)

    def record(payload: dict[str, object]) -> int:
        network = ctx.networks[X_NETWORK]
        posts = mentions_in_delivery(network.name, payload, network.service_account)
        return record_posts(ctx, network, posts) if posts else 0

    @router.get("/webhooks/x")
    def challenge(request: Request, crc_token: str = "") -> Response:
        secret = ctx.settings.x_consumer_secret
        if not secret or X_NETWORK not in ctx.networks:
            return error(request, XWebhookNotConfigured(), 404)
        if not crc_token:
            return error(request, XWebhookPayloadInvalid("no crc_token"), 400)
        return JSONResponse({"response_token": crc_response(crc_token, secret)})

    @router.post("/webhooks/x")
    async def delivery(request: Request) -> Response:
        secret = ctx.settings.x_consumer_secret
        if not secret or X_NETWORK not in ctx.networks:
            return error(request, XWebhookNotConfigured(), 404)
        body = await request.body()
        if len(body) > MAX_DELIVERY_BYTES or not signature_valid(
            body, request.headers.get(SIGNATURE_HEADER), secret
        ):
            log.warning("refused an X webhook delivery: bad or missing signature")
            return error(request, XWebhookSignatureInvalid(), 401)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return error(request, XWebhookPayloadInvalid(), 400)
        try:
            recorded = await run_in_threadpool(record, payload)
        except NetworkUnavailable as exc:
            # Not recorded: X delivers again, and polling reads the post anyway.
            return error(request, exc, 503)
        except NetworkError as exc:
            return error(request, exc, 502)
        return JSONResponse({"recorded": recorded})

    return router
