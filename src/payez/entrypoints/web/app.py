"""The web app: assembled from its parts, with the sandbox network mounted at /sandbox.

Pages (``pages``), accounts (``account``), onboarding (``onboarding``), the dashboard
(``dashboard``), claims (``claims``) and the OAuth return (``callback``) are server-rendered;
``/api/v1`` is JSON with an OpenAPI spec at ``/openapi.json``, read at ``/docs``; ``/metrics`` is
Prometheus.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from payez.domain.errors import Forbidden, InvalidInput, NotFound, PayezError
from payez.entrypoints.web.account import account_routes
from payez.entrypoints.web.account_links import account_link_routes
from payez.entrypoints.web.api import api_routes
from payez.entrypoints.web.api_reference import api_reference_routes
from payez.entrypoints.web.associations import association_routes
from payez.entrypoints.web.auth import NotAuthenticated, visitor_middleware
from payez.entrypoints.web.backoffice import backoffice_routes
from payez.entrypoints.web.callback import callback_routes
from payez.entrypoints.web.cards import card_routes
from payez.entrypoints.web.claims import claim_routes
from payez.entrypoints.web.confirm import confirm_routes
from payez.entrypoints.web.dashboard import dashboard_routes
from payez.entrypoints.web.dashboard_events import LiveStreams, dashboard_event_routes
from payez.entrypoints.web.embeds import embed_routes
from payez.entrypoints.web.input_guard import input_guard_middleware
from payez.entrypoints.web.integrations import integration_routes
from payez.entrypoints.web.merchant_api import BodyInvalid, merchant_api_routes
from payez.entrypoints.web.merchants import merchant_routes
from payez.entrypoints.web.metrics import metrics_routes
from payez.entrypoints.web.mounted_sandbox import SANDBOX_PREFIX, SandboxFirst
from payez.entrypoints.web.onboarding import onboarding_routes
from payez.entrypoints.web.openapi_security import document_authentication
from payez.entrypoints.web.pages import page_routes
from payez.entrypoints.web.payment_requests import payment_request_routes
from payez.entrypoints.web.payouts import payout_routes
from payez.entrypoints.web.privacy import privacy_routes
from payez.entrypoints.web.security_headers import security_headers_middleware
from payez.entrypoints.web.site import Site, language
from payez.entrypoints.web.static import STATIC_PREFIX, FingerprintedFiles
from payez.entrypoints.web.x_webhook import x_webhook_routes
from payez.ports.cards import CardProcessor, ProcessorUnavailable
from payez.ports.identity import IdentityServiceUnavailable, IdentityVerifier
from payez.ports.sign_in import SignInClient
from payez.sandbox.cards import SandboxCardProcessor
from payez.sandbox.identity import SandboxIdentityVerifier
from payez.service.api_keys import ApiKeyRefused
from payez.service.context import ServiceContext
from payez.service.idempotent_requests import IdempotencyKeyInProgress, IdempotencyKeyReused
from payez.service.log_in import LoginRateLimited

__all__ = ["create_app"]

API_PREFIX = "/api/"


class RouteNotFound(NotFound):
    code = "route_not_found"
    message_fr = "Cette page n'existe pas."
    message_en = "This page does not exist."


class MethodNotAllowed(InvalidInput):
    code = "method_not_allowed"
    message_fr = "Méthode HTTP non autorisée ici."
    message_en = "HTTP method not allowed here."


def status_for(error: PayezError) -> int:
    if isinstance(error, NotAuthenticated | ApiKeyRefused):
        return 401
    if isinstance(error, IdempotencyKeyInProgress):
        return 409
    if isinstance(error, IdempotencyKeyReused | BodyInvalid):
        return 422
    if isinstance(error, LoginRateLimited):
        return 429
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, ProcessorUnavailable | IdentityServiceUnavailable):
        return 503
    return 400


def _card_processor(ctx: ServiceContext, given: CardProcessor | None) -> CardProcessor:
    """The processor the worker charges is the one cards are saved with: the one the caller
    built (``entrypoints.composition``), else the context's; the sandbox's only by default."""
    processor = given or ctx.cards
    if processor is not None:
        return processor
    if ctx.settings.card_processor != "sandbox":
        raise ValueError(f"create_app needs the {ctx.settings.card_processor} card processor")
    return SandboxCardProcessor(ctx.engine, base_url=ctx.settings.base_url)


def create_app(
    ctx: ServiceContext,
    *,
    oauth_clients: Mapping[str, SignInClient] | None = None,
    sandbox: FastAPI | None = None,
    cards: CardProcessor | None = None,
    identity: IdentityVerifier | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Payez",
        version="0.1.0",
        description=(
            "Pay by post. The JSON API of the logged-in user's own account (session cookie), "
            "and the merchants' API (Authorization: Bearer pzk_..., docs/merchants-api.md)."
        ),
        # The reference is our own page (/docs, api_reference.py): FastAPI's would load its
        # scripts from a CDN, which a machine with no network cannot reach.
        docs_url=None,
        redoc_url=None,
    )
    site = Site(
        ctx=ctx,
        cards=_card_processor(ctx, cards),
        identity=identity or SandboxIdentityVerifier(),
        oauth_clients=dict(oauth_clients or {}),
    )
    app.state.site = site
    # Ended by whoever runs the server when it starts stopping (entrypoints/web/server.py).
    app.state.live_streams = live_streams = LiveStreams()

    def is_api(request: Request) -> bool:
        return request.url.path.startswith(API_PREFIX)

    def error_response(request: Request, error: PayezError, status: int) -> Response:
        if is_api(request):
            return JSONResponse(
                {"error": {"code": error.code, "message": error.message(language(request))}},
                status_code=status,
            )
        return site.error_page(request, error, status)

    @app.exception_handler(PayezError)
    def payez_error(request: Request, exc: PayezError) -> Response:
        if isinstance(exc, NotAuthenticated) and not is_api(request):
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return error_response(request, exc, status_for(exc))

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return error_response(request, InvalidInput(fields[:200]), 422 if is_api(request) else 400)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(request, RouteNotFound(), 404)
        if exc.status_code == 405:
            return error_response(request, MethodNotAllowed(), 405)
        return error_response(request, PayezError(str(exc.detail)[:200]), exc.status_code)

    # Registered first, so it runs inside the visitor's middleware (its error page needs it).
    app.middleware("http")(input_guard_middleware(error_response))
    app.middleware("http")(visitor_middleware(ctx))
    app.middleware("http")(security_headers_middleware(ctx.settings))
    for router in (
        page_routes(site),
        account_routes(site),
        account_link_routes(site),
        onboarding_routes(site),
        dashboard_routes(site),
        dashboard_event_routes(site, live_streams),
        payout_routes(site),
        payment_request_routes(site),
        privacy_routes(site),
        claim_routes(site),
        callback_routes(site),
        confirm_routes(site),
        card_routes(site),
        x_webhook_routes(site),
        backoffice_routes(site),
        merchant_routes(site),
        association_routes(site),
        embed_routes(site),
        integration_routes(site),
        api_routes(site),
        merchant_api_routes(site),
        api_reference_routes(site),
        metrics_routes(ctx),
    ):
        app.include_router(router)
    document_authentication(app)
    app.mount(STATIC_PREFIX, FingerprintedFiles(), name="static")
    if sandbox is not None:
        # Mounted so that it shows in the route table; reached, outside all the middleware above,
        # through SandboxFirst, which is added last and so runs first.
        app.mount(SANDBOX_PREFIX, sandbox)
        app.add_middleware(SandboxFirst, sandbox=sandbox)
    return app
