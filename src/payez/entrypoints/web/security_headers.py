"""Headers that make every page harder to abuse in a browser.

- ``Content-Security-Policy``: scripts only from Payez itself, Stripe.js, and the inline scripts
  Payez wrote for this very response (each carries the response's nonce); no plugin; Payez's
  pages never shown in another site's frame (``frame-ancestors 'none'``); forms and links keep
  their base. Inline styles stay allowed: they cannot run code.
- ``Strict-Transport-Security`` when the site is served over https.
- ``Referrer-Policy: same-origin``: claim and confirmation links carry tokens in their path,
  which must not reach another site in a ``Referer``.
- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` for older browsers.

The widgets other sites embed (``embeds``, under ``/embed/``) are the one exception to the
framing rule: the response that renders one marks itself (``mark_embed``) and gets a policy of
its own instead, ``frame-ancestors`` from ``PAYEZ_EMBED_FRAME_ANCESTORS`` (any site by default)
and no ``X-Frame-Options``, with no script at all and no form. The mark is set by the renderer,
never by the path: an error page under ``/embed/`` stays unframeable.

The sandbox network mounted under ``/sandbox`` stands for another site and sets its own: its
requests never reach this middleware (``mounted_sandbox``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response

from payez.config import Settings

STRIPE_JS = "https://js.stripe.com"
STRIPE_API = "https://api.stripe.com"
STRIPE_HOOKS = "https://hooks.stripe.com"
HSTS = "max-age=31536000; includeSubDomains"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(settings: Settings, nonce: str) -> str:
    stripe_js = sorted({STRIPE_JS, _origin(settings.stripe_js_url) or STRIPE_JS})
    stripe_api = sorted({STRIPE_API, _origin(settings.stripe_api_base) or STRIPE_API})
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'", *stripe_js],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", *stripe_api],
        "frame-src": [*stripe_js, STRIPE_HOOKS],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def embed_content_security_policy(settings: Settings) -> str:
    """A widget is plain HTML, inline styles and an inline SVG: nothing is fetched, no script
    runs, no form posts; framed by the sites the operator allows."""
    directives = {
        "default-src": ["'none'"],
        "style-src": ["'unsafe-inline'"],
        "frame-ancestors": list(settings.embed_ancestors),
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def mark_embed(request: Request) -> None:
    """This response is a widget made for other sites' frames (and sets no cookie)."""
    request.state.embed = True


def is_embed(request: Request) -> bool:
    return bool(getattr(request.state, "embed", False))


def security_headers_middleware(
    settings: Settings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    https = settings.base_url.lower().startswith("https://")
    embed_policy = embed_content_security_policy(settings)

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        nonce = secrets.token_urlsafe(18)
        request.state.csp_nonce = nonce
        response = await call_next(request)
        headers = response.headers
        if is_embed(request):
            headers["Content-Security-Policy"] = embed_policy
        else:
            headers.setdefault("Content-Security-Policy", content_security_policy(settings, nonce))
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return middleware


def csp_nonce(request: Request) -> str:
    """The nonce this response's inline scripts carry."""
    return str(getattr(request.state, "csp_nonce", ""))
