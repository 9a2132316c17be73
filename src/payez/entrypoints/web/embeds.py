"""The widgets associations and merchants put on their own websites: a campaign's progress with
the post that donates and a QR code (``/embed/campaigns/<id>``), a listing's "buy by post" button
(``/embed/listings/<id>``), and the ``<iframe>`` snippet their owner copies from the page where
they manage it.

A widget is shown inside other sites, so it is the one kind of page that may be framed
(``security_headers.mark_embed``), and it is built so that framing it is of no use to an
attacker: it reads nothing of the visitor's session and shows nothing of them, sets no cookie,
has no form and no script, and every link opens a new top-level tab (the snippet's ``sandbox``
lets the frame do just that). It speaks the viewer's language (``?lang=``, else the browser's),
not its owner's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from babel.dates import format_date
from babel.numbers import format_percent
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from payez.domain.errors import Language, NotFound
from payez.entrypoints.web.dashboard import money_formatter
from payez.entrypoints.web.i18n import BABEL_LOCALES, choose_language, texts
from payez.entrypoints.web.payment_requests import qr_svg
from payez.entrypoints.web.security_headers import mark_embed
from payez.entrypoints.web.site import Site
from payez.service.context import ServiceContext
from payez.service.embeds import campaign_embed, listing_embed

EMBED_PREFIX = "/embed"
# What the frame may do: open its links in a new tab, that tab a normal page (not sandboxed).
# No scripts, forms, same-origin access or top-level navigation: the host page stays in charge.
IFRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
# Sized to hold the widget at its longest without a scroll bar (checked in Chromium by
# tests/e2e/test_browser_embeds.py); ``max-width`` lets it shrink on a phone.
CAMPAIGN_SIZE = (340, 600)
LISTING_SIZE = (340, 300)
# Four pixels a module: a code of ~37 modules is ~150 px, small in the widget yet read easily.
QR_SCALE = 4
# Ids are database keys: more digits than a BIGINT holds can only be a typing slip.
_MAX_ID_DIGITS = 18
# A widget changes when a gift settles; a minute's delay spares the database the hits of a busy
# home page, and the page holds nothing private a shared cache could leak.
CACHE_CONTROL = "public, max-age=60"


@dataclass(frozen=True, slots=True)
class EmbedCode:
    """What an owner copies: the widget's address and the HTML that frames it."""

    url: str
    html: str


def _attribute(value: str) -> str:
    """``value`` inside a double-quoted attribute. Apostrophes stay as typed, for the owner's
    text to read as written in the snippet they copy (``l'hiver``, not ``l&#39;hiver``)."""
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def iframe_snippet(url: str, title: str, size: tuple[int, int]) -> str:
    """The ``<iframe>`` element, its values escaped (a title is the owner's own text)."""
    width, height = size
    return (
        f'<iframe src="{_attribute(url)}" title="{_attribute(title)}" width="{width}" '
        f'height="{height}" loading="lazy" sandbox="{IFRAME_SANDBOX}" '
        'referrerpolicy="strict-origin-when-cross-origin" '
        'style="border:0;max-width:100%"></iframe>'
    )


def campaign_code(ctx: ServiceContext, campaign_id: int, title: str) -> EmbedCode:
    url = ctx.link(f"{EMBED_PREFIX}/campaigns/{campaign_id}")
    return EmbedCode(url, iframe_snippet(url, f"{title} · Payez", CAMPAIGN_SIZE))


def listing_code(ctx: ServiceContext, listing_id: int, title: str) -> EmbedCode:
    url = ctx.link(f"{EMBED_PREFIX}/listings/{listing_id}")
    return EmbedCode(url, iframe_snippet(url, f"{title} · Payez", LISTING_SIZE))


def _id(text: str) -> int | None:
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS):
        return None
    return int(text)


Shown = TypeVar("Shown")


def _shown(
    ctx: ServiceContext, load: Callable[[ServiceContext, int], Shown], raw_id: str
) -> Shown | None:
    """What ``load`` finds for the id in the path: None for a malformed id or nothing to show."""
    found = _id(raw_id)
    if found is None:
        return None
    try:
        return load(ctx, found)
    except NotFound:
        return None


def _day(language: Language) -> Callable[[date], str]:
    return lambda day: format_date(day, "long", locale=BABEL_LOCALES[language])


def embed_routes(site: Site) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ctx = site.ctx

    def viewer_language(request: Request) -> Language:
        # Not the session's nor the remembered choice: the widget knows nothing of its viewer
        # but what their browser says to every site.
        return choose_language(
            request.headers.get("accept-language"), request.query_params.get("lang")
        )

    def render(
        request: Request, template: str, language: Language, status: int = 200, **values: Any
    ) -> HTMLResponse:
        # Only what is passed here reaches the page: no visitor, no CSRF token.
        body = site.templates.get_template(template).render(
            lang=language,
            t=texts(language),
            home=ctx.link("/"),
            money=money_formatter(language),
            day=_day(language),
            **values,
        )
        mark_embed(request)
        headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Language"}
        return HTMLResponse(body, status_code=status, headers=headers)

    def missing(request: Request, language: Language, message_key: str) -> HTMLResponse:
        # Framed like the widget, so the owner's site shows why instead of a broken frame.
        return render(request, "embed_missing.html", language, 404, message_key=message_key)

    @router.get(EMBED_PREFIX + "/campaigns/{campaign_id}", response_class=HTMLResponse)
    def campaign_widget(request: Request, campaign_id: str) -> HTMLResponse:
        language = viewer_language(request)
        embed = _shown(ctx, campaign_embed, campaign_id)
        if embed is None:
            return missing(request, language, "embed_campaign_missing")
        percent = format_percent(embed.progress.percent / 100, locale=BABEL_LOCALES[language])
        return render(
            request,
            "embed_campaign.html",
            language,
            e=embed,
            p=embed.progress,
            percent=percent,
            service=ctx.service_handle,
            qr=qr_svg(embed.pay_url, scale=QR_SCALE),
        )

    @router.get(EMBED_PREFIX + "/listings/{listing_id}", response_class=HTMLResponse)
    def listing_widget(request: Request, listing_id: str) -> HTMLResponse:
        language = viewer_language(request)
        embed = _shown(ctx, listing_embed, listing_id)
        if embed is None:
            return missing(request, language, "embed_listing_missing")
        return render(request, "embed_listing.html", language, e=embed, service=ctx.service_handle)

    return router
