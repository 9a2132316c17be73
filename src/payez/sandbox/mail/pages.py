"""The sandbox mailbox's pages: ``/sandbox/mail`` lists every email the service sent (newest
first; ``?to=`` keeps one address's), ``/sandbox/mail/{id}`` shows one.

Like the timeline, no login: it is a sandbox where a newcomer reads everyone's mail, which is
why production (where emails go out by SMTP) does not serve these pages. Texts are escaped;
only ``http(s)://`` URLs become links, so a link in an email can be followed in one click.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from payez.sandbox.mail import mailbox
from payez.sandbox.network.context import SandboxContext, context, path_id
from payez.sandbox.network.errors import SandboxNotFound
from payez.sandbox.network.threads import off_loop
from payez.sandbox.network.timeline import language_of, render_page

router = APIRouter()

_URL = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
# Punctuation that ends a sentence after a link is not part of it.
_TRAILING = ".,;:!?)]}'\""


def linked(text: str) -> Markup:
    """``text`` escaped, with its http(s) URLs turned into links."""
    parts: list[str] = []
    last = 0
    for found in _URL.finditer(text):
        url = found.group(0).rstrip(_TRAILING)
        end = found.start() + len(url)
        parts.append(str(escape(text[last : found.start()])))
        parts.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        last = end
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


def _open(ctx: SandboxContext) -> None:
    if ctx.settings.environment == "production":
        raise SandboxNotFound("the sandbox mailbox is not served in production")


@router.get("/mail", response_class=HTMLResponse)
async def mail_list(request: Request) -> Response:
    ctx = context(request)
    _open(ctx)
    to = (request.query_params.get("to") or "").strip() or None

    def read() -> list[mailbox.ReceivedMail]:
        with ctx.engine.connect() as conn:
            return mailbox.received(conn, to=to)

    mails = await off_loop(read)
    lang = language_of(request)
    return render_page(request, ctx, "mailbox.html", lang, mails=mails, to=to, linked=linked)


@router.get("/mail/{mail_id}", response_class=HTMLResponse)
async def mail_page(request: Request, mail_id: str) -> Response:
    ctx = context(request)
    _open(ctx)
    wanted = path_id(mail_id)

    def read() -> mailbox.ReceivedMail | None:
        with ctx.engine.connect() as conn:
            return mailbox.one(conn, wanted)

    found = await off_loop(read)
    if found is None:
        raise SandboxNotFound(mail_id)
    lang = language_of(request)
    return render_page(request, ctx, "mail.html", lang, mail=found, linked=linked)
