"""Who is asking: login sessions in cookies, CSRF tokens, and the visitor's language.

- The session cookie holds a random id; the server keeps its hash (``service.web_sessions``).
  It is HttpOnly, SameSite=Lax, and Secure whenever the site is served over https.
- CSRF: a signed double-submit bound to the session. Every browser gets a random
  ``payez_csrf`` cookie; a form's token is an HMAC of that cookie and of the login session id
  under the server's secret. A cross-site page can neither read the cookie nor compute the
  HMAC, and a token stops working when the session changes (login, logout).
- Language: ``?lang=`` (remembered in a cookie), else that cookie, else the logged-in user's
  setting, else the browser's ``Accept-Language``.
- Time zone: the logged-in user's setting, else Paris.
- The widgets other sites embed (``security_headers.mark_embed``) set no cookie at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from payez.domain.errors import Forbidden, Language, PayezError
from payez.entrypoints.web.i18n import choose_language
from payez.entrypoints.web.security_headers import is_embed
from payez.service.context import ServiceContext
from payez.service.time_zones import DEFAULT_TIME_ZONE
from payez.service.web_sessions import session_user

SESSION_COOKIE = "payez_session"
CSRF_COOKIE = "payez_csrf"
LANGUAGE_COOKIE = "payez_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
CSRF_FIELD = "csrf_token"


class CsrfRejected(Forbidden):
    code = "csrf_invalid"
    message_fr = (
        "Le formulaire a expiré ou ne vient pas de Payez. Rechargez la page et recommencez."
    )
    message_en = "The form has expired or did not come from Payez. Reload the page and try again."


class NotAuthenticated(PayezError):
    code = "not_authenticated"
    message_fr = "Connectez-vous pour continuer."
    message_en = "Log in to continue."


@dataclass
class Visitor:
    user_id: int | None
    session_token: str | None
    csrf_seed: str
    language: Language
    secret: str
    secure: bool
    new_csrf_seed: bool = False
    chosen_language: Language | None = None
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None

    @property
    def csrf_token(self) -> str:
        bound = f"{self.csrf_seed}|{self.session_token or ''}"
        return hmac.new(self.secret.encode(), bound.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, submitted: str | None) -> None:
        if not submitted or not hmac.compare_digest(submitted, self.csrf_token):
            raise CsrfRejected()

    def require_user(self) -> int:
        if self.user_id is None:
            raise NotAuthenticated()
        return self.user_id

    @property
    def session_fingerprint(self) -> str:
        """Names the login session without revealing its id (for OAuth states)."""
        return hashlib.sha256(f"oauth|{self.session_token or ''}".encode()).hexdigest()[:24]


def visitor_of(request: Request) -> Visitor:
    found = getattr(request.state, "visitor", None)
    if not isinstance(found, Visitor):  # pragma: no cover - the middleware always sets it
        raise RuntimeError("visitor middleware missing")
    return found


def _chosen(value: str | None) -> Language | None:
    if value == "fr":
        return "fr"
    if value == "en":
        return "en"
    return None


def build_visitor(ctx: ServiceContext, request: Request) -> Visitor:
    token = request.cookies.get(SESSION_COOKIE)
    found = session_user(ctx, token)
    seed = request.cookies.get(CSRF_COOKIE, "")
    new_seed = not (16 <= len(seed) <= 64 and seed.isascii())
    if new_seed:
        seed = secrets.token_urlsafe(24)
    chosen = _chosen(request.query_params.get("lang"))
    remembered = _chosen(request.cookies.get(LANGUAGE_COOKIE))
    user_language = _chosen(found.language) if found else None
    language = chosen or remembered or user_language
    return Visitor(
        user_id=found.user_id if found else None,
        session_token=token if found else None,
        csrf_seed=seed,
        language=language or choose_language(request.headers.get("accept-language")),
        secret=ctx.settings.secret_key,
        secure=ctx.settings.base_url.startswith("https://"),
        new_csrf_seed=new_seed,
        chosen_language=chosen,
        time_zone=found.time_zone if found else DEFAULT_TIME_ZONE,
    )


def set_cookie(response: Response, visitor: Visitor, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=visitor.secure,
        httponly=True,
        samesite="lax",
    )


def start_session(response: Response, visitor: Visitor, token: str, days: int) -> None:
    set_cookie(response, visitor, SESSION_COOKIE, token, days * 24 * 3600)


def end_session(response: Response, visitor: Visitor) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=visitor.secure, httponly=True, samesite="lax"
    )


def visitor_middleware(
    ctx: ServiceContext,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        visitor = await run_in_threadpool(build_visitor, ctx, request)
        request.state.visitor = visitor
        response = await call_next(request)
        if is_embed(request):
            # Shown inside other sites: it must leave nothing in the visitor's browser.
            return response
        if visitor.new_csrf_seed:
            # A session cookie: the seed lives as long as the browser keeps it.
            response.set_cookie(
                CSRF_COOKIE,
                visitor.csrf_seed,
                path="/",
                secure=visitor.secure,
                httponly=True,
                samesite="lax",
            )
        if visitor.chosen_language is not None:
            set_cookie(
                response, visitor, LANGUAGE_COOKIE, visitor.chosen_language, LANGUAGE_COOKIE_SECONDS
            )
        return response

    return middleware
