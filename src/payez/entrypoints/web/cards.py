"""The card processor's side of the web app: its webhooks and the sandbox's 3-D Secure page.

``POST /webhooks/stripe`` and ``POST /webhooks/sandbox`` take the processor's signed events.
The configured processor verifies the signature (``parse_webhook``); a bad one is answered 400
and logged with the event id when one can be read, never with the payload, and nothing is
applied. A good one goes through ``apply_webhook_once`` with the funding hook, the same one our
own charge calls use: a redelivered or out-of-order event changes nothing, and a charge's
outcome moves money once whichever path saw it first. Each endpoint answers only when the
configured processor is the one it is named for.

``/sandbox/cards/authenticate/{charge_id}`` stands in for the bank's authentication page when
the sandbox processor is configured (it is the ``action_url`` the sandbox hands out, under
``PAYEZ_BASE_URL``). The cardholder approves or refuses; the charge is then settled through
``fund_waiting_posts``, so the parked post goes on (or is refused with ``funding_failed``)
without waiting for the worker's next pass.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from payez.adapters.cards.stripe import StripeCardProcessor
from payez.domain.errors import Language, NotFound
from payez.entrypoints.web.auth import visitor_of
from payez.entrypoints.web.site import Site
from payez.ports.cards import (
    CardProcessor,
    ProcessorError,
    ProcessorObjectNotFound,
    ProcessorUnavailable,
    WebhookSignatureInvalid,
)
from payez.sandbox.cards import AUTHENTICATION_PATH, SandboxCardProcessor
from payez.service.account_overview import profile_of
from payez.service.card_charges import apply_webhook_once
from payez.service.fund_from_card import fund_waiting_posts, settle_funding_charge

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
_SAFE_EVENT_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_CHARGE_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# The Stripe adapter's default action URL for a charge that needs 3-D Secure.
STRIPE_AUTHENTICATION_PATH = "/cards/authenticate/{charge_id}"


class ChargeNotFound(NotFound):
    code = "card_charge_not_found"
    message_fr = "Ce paiement par carte n'existe pas."
    message_en = "This card payment does not exist."


def event_id_for_log(payload: bytes) -> str:
    """The event's id if the body names a plausible one; nothing else of it is ever logged."""
    try:
        body = json.loads(payload)
    except ValueError:
        return "-"
    found = body.get("id") if isinstance(body, dict) else None
    return found if isinstance(found, str) and _SAFE_EVENT_ID.match(found) else "-"


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def card_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ctx = site.ctx

    def receive(processor: CardProcessor, payload: bytes, signature: str | None) -> Response:
        try:
            event = processor.parse_webhook(payload, signature)
        except WebhookSignatureInvalid as exc:
            log.warning(
                "refused %s webhook (event %s): %s",
                processor.name,
                event_id_for_log(payload),
                exc.detail or exc.code,
            )
            return _error(exc.code, exc.message_en, 400)
        try:
            outcome = apply_webhook_once(
                ctx.engine, processor, event, clock=ctx.clock, on_change=settle_funding_charge
            )
        except ProcessorUnavailable as exc:
            # Not recorded: the processor delivers the event again later.
            log.warning("%s webhook %s deferred: %s", processor.name, event.id, exc.code)
            return _error(exc.code, exc.message_en, 503)
        except ProcessorError as exc:
            log.warning("%s webhook %s not applied: %s", processor.name, event.id, exc.code)
            return _error(exc.code, exc.message_en, 400)
        log.info("%s webhook %s (%s): %s", processor.name, event.id, event.type, outcome)
        return JSONResponse({"received": True, "outcome": outcome})

    async def webhook(request: Request, name: str) -> Response:
        processor = site.cards
        if processor.name != name:
            return _error("route_not_found", "This page does not exist.", 404)
        payload = await request.body()
        if len(payload) > MAX_WEBHOOK_BYTES:
            return _error("payload_too_large", "The event is too large.", 413)
        signature = request.headers.get("stripe-signature")
        return await run_in_threadpool(receive, processor, payload, signature)

    @router.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> Response:
        return await webhook(request, "stripe")

    @router.post("/webhooks/sandbox")
    async def sandbox_webhook(request: Request) -> Response:
        return await webhook(request, "sandbox")

    # -- the sandbox's 3-D Secure page --------------------------------------------------------

    def sandbox_processor() -> SandboxCardProcessor:
        if not isinstance(site.cards, SandboxCardProcessor):
            raise ChargeNotFound("the sandbox processor is not configured")
        return site.cards

    def page(request: Request, charge_id: str, answered: str = "", status: int = 200) -> Response:
        processor = sandbox_processor()
        if not _CHARGE_ID.match(charge_id):
            raise ChargeNotFound(charge_id[:64])
        try:
            charge = processor.retrieve_charge(charge_id)
        except ProcessorObjectNotFound:
            raise ChargeNotFound(charge_id) from None
        language: Language = visitor_of(request).language
        return site.render(
            request,
            "sandbox_authenticate.html",
            status,
            charge=charge,
            amount=charge.amount.format(language),
            action=AUTHENTICATION_PATH.format(charge_id=charge_id),
            answered=answered,
        )

    @router.get(AUTHENTICATION_PATH, response_class=HTMLResponse)
    def authenticate_page(request: Request, charge_id: str) -> Response:
        return page(request, charge_id)

    @router.post(AUTHENTICATION_PATH)
    def authenticate(
        request: Request, charge_id: str, csrf_token: str = Form(""), decision: str = Form("")
    ) -> Response:
        visitor_of(request).check_csrf(csrf_token)
        processor = sandbox_processor()
        if decision not in ("approve", "refuse") or not _CHARGE_ID.match(charge_id):
            return page(request, charge_id, status=400)
        try:
            processor.complete_authentication(charge_id, decision == "approve")
        except ProcessorObjectNotFound:
            raise ChargeNotFound(charge_id) from None
        # The same path as the worker's: our row takes the outcome once, and the hook credits
        # the wallet and releases the parked post in that transaction.
        fund_waiting_posts(dataclasses.replace(ctx, cards=processor))
        return page(request, charge_id, answered=decision)

    # -- Stripe: the cardholder finishes 3-D Secure with Stripe.js ---------------------------

    def stripe_charge(request: Request, charge_id: str) -> tuple[StripeCardProcessor, str]:
        """The processor and the charge's client secret, for its own cardholder only."""
        user_id = visitor_of(request).require_user()
        processor = site.cards
        if not isinstance(processor, StripeCardProcessor) or not _CHARGE_ID.match(charge_id):
            raise ChargeNotFound(charge_id[:64])
        try:
            secret, customer = processor.authentication(charge_id)
        except ProcessorObjectNotFound:
            raise ChargeNotFound(charge_id) from None
        if not customer or customer != profile_of(site.ctx, user_id).card_customer_id:
            raise ChargeNotFound(charge_id)  # someone else's charge: it does not exist for you
        return processor, secret

    @router.get(STRIPE_AUTHENTICATION_PATH, response_class=HTMLResponse)
    def stripe_authenticate(request: Request, charge_id: str) -> Response:
        _processor, secret = stripe_charge(request, charge_id)
        return site.render(
            request,
            "stripe_authenticate.html",
            client_secret=secret,
            publishable_key=ctx.settings.stripe_publishable_key,
            stripe_js=ctx.settings.stripe_js_url,
            done=STRIPE_AUTHENTICATION_PATH.format(charge_id=charge_id) + "/done",
        )

    @router.get(STRIPE_AUTHENTICATION_PATH + "/done", response_class=HTMLResponse)
    def stripe_authenticated(request: Request, charge_id: str) -> Response:
        processor, _secret = stripe_charge(request, charge_id)
        # Stripe.js has told the bank; our row learns the outcome once, by this refresh or by
        # the webhook, whichever comes first.
        fund_waiting_posts(dataclasses.replace(ctx, cards=processor))
        charge = processor.retrieve_charge(charge_id)
        language: Language = visitor_of(request).language
        return site.render(
            request,
            "stripe_authenticate.html",
            charge=charge,
            amount=charge.amount.format(language),
        )

    return router
