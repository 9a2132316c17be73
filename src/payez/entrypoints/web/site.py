"""What every route of the web app shares: the service context, the ports it drives, the
templates, and the page renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from itsdangerous import URLSafeTimedSerializer

from payez.domain.errors import Language, PayezError
from payez.entrypoints.web.auth import Visitor, visitor_of
from payez.entrypoints.web.i18n import format_deadline, format_moment, texts
from payez.entrypoints.web.security_headers import csp_nonce
from payez.entrypoints.web.static import static_url
from payez.ports.cards import CardProcessor
from payez.ports.identity import IdentityVerifier
from payez.ports.sign_in import SignInClient
from payez.service.context import ServiceContext
from payez.service.time_zones import zone_label, zone_of


def page_templates() -> jinja2.Environment:
    templates = jinja2.Environment(
        loader=jinja2.PackageLoader("payez.entrypoints.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    templates.globals["static_url"] = static_url
    return templates


@dataclass
class Site:
    ctx: ServiceContext
    cards: CardProcessor
    identity: IdentityVerifier
    oauth_clients: dict[str, SignInClient] = field(default_factory=dict)
    templates: jinja2.Environment = field(default_factory=page_templates)

    def oauth_signer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.ctx.settings.secret_key, salt="oauth-state")

    @property
    def stripe_publishable_key(self) -> str:
        return self.ctx.settings.stripe_publishable_key if self.cards.name == "stripe" else ""

    def render(
        self, request: Request, template: str, status: int = 200, **values: Any
    ) -> HTMLResponse:
        visitor = visitor_of(request)
        lang = visitor.language
        zone = zone_of(visitor.time_zone)

        def when(moment: datetime | None) -> str:
            return format_moment(moment, lang, zone) if moment else ""

        def deadline(moment: datetime | None) -> str:
            """A time to act by, with its zone written: the reader may be elsewhere."""
            return format_deadline(moment, lang, zone) if moment else ""

        body = self.templates.get_template(template).render(
            lang=lang,
            t=texts(lang),
            visitor=visitor,
            csrf=visitor.csrf_token,
            csp_nonce=csp_nonce(request),
            when=when,
            deadline=deadline,
            zone_label=zone_label(zone, self.ctx.now()),
            path=request.url.path,
            **values,
        )
        return HTMLResponse(body, status_code=status)

    def message(
        self, request: Request, title_key: str, body: str, status: int = 200
    ) -> HTMLResponse:
        lang = visitor_of(request).language
        return self.render(request, "message.html", status, title=texts(lang)[title_key], body=body)

    def error_page(self, request: Request, error: PayezError, status: int) -> HTMLResponse:
        return self.message(request, "error_title", error.message(language(request)), status)


def language(request: Request) -> Language:
    return visitor_of(request).language


def visitor(request: Request) -> Visitor:
    return visitor_of(request)
