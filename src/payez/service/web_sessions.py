"""Use case: web login sessions, kept server-side; the browser holds only a random id.

The database stores the SHA-256 of that id: a leaked table logs nobody in. A new id is made
at every login (no session fixation) and its row deleted at logout.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from payez.adapters.db import web_accounts
from payez.service.context import ServiceContext


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(ctx: ServiceContext, user_id: int) -> str:
    """A new session for ``user_id``; returns the id the browser keeps."""
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        web_accounts.delete_expired_sessions(conn, now)
        web_accounts.insert_session(
            conn,
            token_hash=token_hash(token),
            user_id=user_id,
            now=now,
            expires_at=now + timedelta(days=ctx.settings.session_days),
        )
    return token


def session_user(ctx: ServiceContext, token: str | None) -> web_accounts.SessionUser | None:
    """Who is behind a browser's session id (their id, language and time zone), when the
    session is live."""
    if not token or len(token) > 128:
        return None
    with ctx.engine.connect() as conn:
        return web_accounts.session_user(conn, token_hash(token), ctx.now())


def close_session(ctx: ServiceContext, token: str | None) -> None:
    if not token or len(token) > 128:
        return
    with ctx.engine.begin() as conn:
        web_accounts.delete_session(conn, token_hash(token))
