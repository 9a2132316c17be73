"""The sandbox's web timeline: read recent public posts, post or reply as any sandbox user.

No login on purpose: it is a sandbox, where a newcomer plays every part. ``/?text=...``
opens the form with the post written, as a network's share page does. Pages are plain
server-rendered HTML that works on a phone; French or English from ``?lang=``, a cookie, or the
browser's Accept-Language. Times are Paris time, with the zone written: the sandbox has no
Payez user whose time zone it could read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payez.domain.errors import PayezError
from payez.sandbox.network import tables
from payez.sandbox.network.context import SandboxContext, context, path_id, read_params
from payez.sandbox.network.entities import Json, Renderer
from payez.sandbox.network.errors import SandboxInvalid, SandboxNotFound
from payez.sandbox.network.statuses import VISIBILITIES, post_status
from payez.sandbox.network.threads import off_loop
from payez.service.time_zones import DEFAULT_TIME_ZONE, zone_label, zone_of

router = APIRouter()
Lang = Literal["fr", "en"]
LANG_COOKIE = "sandbox_lang"
PAGE_SIZE = 50
MAX_DRAFT = 500  # the form's maxlength

_TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Bac à sable Payez",
        "intro": "Un petit réseau social local pour essayer Payez. Publiez en tant que "
        "n'importe quel utilisateur du bac à sable : écrivez par exemple « @payez envoie 5€ à "
        "@bob merci ! ».",
        "post_as": "Publier en tant que",
        "text": "Message",
        "visibility": "Visibilité",
        "public": "Public",
        "unlisted": "Non listé",
        "private": "Abonnés seulement",
        "direct": "Mentionnés seulement",
        "publish": "Publier",
        "reply": "Répondre",
        "replying_to": "En réponse à",
        "in_reply_to": "en réponse à",
        "boosted": "a partagé",
        "edited": "modifié",
        "empty": "Aucun message pour l'instant.",
        "no_users": "Aucun utilisateur dans le bac à sable : lancez « payez demo seed ».",
        "posts_by": "Messages de",
        "back": "Retour au fil",
        "error": "Impossible de publier",
        "switch": "English",
        "login_title": "Autoriser une application",
        "login_intro": "souhaite accéder à votre compte du bac à sable.",
        "scopes": "Permissions demandées",
        "username": "Nom d'utilisateur",
        "password": "Mot de passe",
        "authorize": "Se connecter et autoriser",
        "login_error": "Nom d'utilisateur ou mot de passe incorrect.",
        "code_title": "Code d'autorisation",
        "code_intro": "Copiez ce code dans l'application",
        # The sandbox mailbox (/sandbox/mail).
        "mailbox": "Boîte mail",
        "mail_intro": "Sans serveur d'emails configuré, les emails de Payez arrivent ici, les "
        "plus récents en premier. Les liens s'ouvrent d'un clic.",
        "mail_empty": "Aucun email pour l'instant.",
        "mail_to": "À",
        "mail_from": "De",
        "mail_only_to": "Seulement les emails à",
        "mail_all": "Tous les emails",
        "mail_back": "Retour à la boîte mail",
    },
    "en": {
        "title": "Payez sandbox",
        "intro": "A small local social network for trying Payez. Post as any sandbox user: "
        "for example write “@payez send €5 to @bob thanks!”.",
        "post_as": "Post as",
        "text": "Message",
        "visibility": "Visibility",
        "public": "Public",
        "unlisted": "Unlisted",
        "private": "Followers only",
        "direct": "Mentioned people only",
        "publish": "Post",
        "reply": "Reply",
        "replying_to": "Replying to",
        "in_reply_to": "in reply to",
        "boosted": "boosted",
        "edited": "edited",
        "empty": "No posts yet.",
        "no_users": "No sandbox users yet: run “payez demo seed”.",
        "posts_by": "Posts by",
        "back": "Back to the timeline",
        "error": "Could not post",
        "switch": "Français",
        "login_title": "Authorize an application",
        "login_intro": "would like to access your sandbox account.",
        "scopes": "Requested permissions",
        "username": "Username",
        "password": "Password",
        "authorize": "Log in and authorize",
        "login_error": "Wrong username or password.",
        "code_title": "Authorization code",
        "code_intro": "Copy this code into the application",
        # The sandbox mailbox (/sandbox/mail).
        "mailbox": "Mailbox",
        "mail_intro": "With no mail server configured, Payez's emails arrive here, newest "
        "first. Links open in one click.",
        "mail_empty": "No emails yet.",
        "mail_to": "To",
        "mail_from": "From",
        "mail_only_to": "Only the emails to",
        "mail_all": "All emails",
        "mail_back": "Back to the mailbox",
    },
}


def texts(lang: Lang) -> dict[str, str]:
    return _TEXTS[lang]


def local_time(instant: str) -> str:
    """An API timestamp (``2026-12-02T02:03:00.000Z``) as ``2026-12-02 03:03 (Paris)``."""
    try:
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        return instant
    zone = zone_of(DEFAULT_TIME_ZONE)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone_label(zone, moment)})"


def language_of(request: Request) -> Lang:
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in ("fr", "en"):
            return "fr" if candidate == "fr" else "en"
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("fr"):
            return "fr"
        if tag.startswith("en"):
            return "en"
    return "fr"


def render_page(
    request: Request,
    ctx: SandboxContext,
    template: str,
    lang: Lang,
    *,
    status_code: int = 200,
    **values: Any,
) -> Response:
    root = request.scope.get("root_path", "").rstrip("/")
    page = ctx.templates.get_template(template).render(
        root=root,
        lang=lang,
        t=texts(lang),
        path=request.url.path,
        local_time=local_time,
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get("lang") in ("fr", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


def _users(conn: sa.Connection) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(
                tables.accounts.c.id, tables.accounts.c.username, tables.accounts.c.display_name
            ).order_by(tables.accounts.c.username)
        )
    )


def _page_data(
    ctx: SandboxContext, author: str | None, status_id: int | None
) -> tuple[list[sa.Row[Any]], list[Json], Json | None]:
    s = tables.statuses
    with ctx.engine.begin() as conn:
        renderer = Renderer(conn, ctx.urls, None)
        focus: Json | None = None
        query = sa.select(s).where(s.c.deleted_at.is_(None), s.c.visibility == "public")
        if author is not None:
            account_id = conn.execute(
                sa.select(tables.accounts.c.id).where(tables.accounts.c.username == author.lower())
            ).scalar()
            if account_id is None:
                raise SandboxNotFound(author)
            query = query.where(s.c.account_id == account_id)
            if status_id is not None:
                row = conn.execute(
                    sa.select(s).where(
                        s.c.id == status_id,
                        s.c.account_id == account_id,
                        s.c.deleted_at.is_(None),
                        s.c.visibility.in_(("public", "unlisted")),
                    )
                ).first()
                if row is None:
                    raise SandboxNotFound(str(status_id))
                focus = renderer.status(row)
                query = sa.select(s).where(
                    s.c.in_reply_to_id == status_id,
                    s.c.deleted_at.is_(None),
                    s.c.visibility.in_(("public", "unlisted")),
                )
        rows = conn.execute(query.order_by(s.c.id.desc()).limit(PAGE_SIZE)).all()
        return _users(conn), renderer.statuses(rows), focus


async def _show(
    request: Request,
    author: str | None = None,
    status_id: int | None = None,
    *,
    error: str | None = None,
    draft: str = "",
) -> Response:
    ctx = context(request)
    users, statuses, focus = await off_loop(_page_data, ctx, author, status_id)
    lang = language_of(request)
    reply_to = focus or None
    if reply_to and not draft:
        draft = f"@{reply_to['account']['acct']} "
    if not draft:
        # A compose link (a payment request's "pay from the sandbox") prefills the post.
        draft = (request.query_params.get("text") or "")[:MAX_DRAFT]
    return render_page(
        request,
        ctx,
        "timeline.html",
        lang,
        status_code=422 if error else 200,
        users=users,
        statuses=statuses,
        focus=focus,
        author=author,
        reply_to=reply_to,
        draft=draft,
        error=error,
        visibilities=VISIBILITIES,
        selected_user=request.query_params.get("as") or "",
    )


@router.get("/", response_class=HTMLResponse)
async def timeline(request: Request) -> Response:
    return await _show(request)


@router.get("/@{username}", response_class=HTMLResponse)
async def profile(request: Request, username: str) -> Response:
    return await _show(request, username)


@router.get("/@{username}/{status_id}", response_class=HTMLResponse)
async def status_page(request: Request, username: str, status_id: str) -> Response:
    return await _show(request, username, path_id(status_id))


@router.post("/statuses", response_class=HTMLResponse)
async def publish(request: Request) -> Response:
    ctx = context(request)
    params = await read_params(request)
    text = params.get("status") or ""
    visibility = params.get("visibility") or "public"
    reply_to = params.get_id("in_reply_to_id")

    def work() -> tuple[int, str]:
        with ctx.engine.begin() as conn:
            account = params.get_id("account_id")
            username = conn.execute(
                sa.select(tables.accounts.c.username).where(tables.accounts.c.id == account)
            ).scalar()
            if account is None or username is None:
                raise SandboxInvalid("choose a sandbox user")
            post_status(
                conn,
                account,
                text,
                ctx.clock.now(),
                visibility=visibility,
                in_reply_to_id=reply_to,
            )
            return account, str(username)

    try:
        account_id, _ = await off_loop(work)
    except PayezError as exc:
        lang = language_of(request)
        message = exc.message(lang) + (f" ({exc.detail})" if exc.detail else "")
        return await _show(request, error=message, draft=text)
    root = request.scope.get("root_path", "").rstrip("/")
    back = params.get("back") or f"{root}/"
    # Only back to a page of the sandbox: never an open redirect ("//elsewhere.example").
    if not back.startswith(f"{root}/") or back.startswith("//"):
        back = f"{root}/"
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}as={account_id}", status_code=303)
