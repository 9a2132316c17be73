"""Use case: log in with an email and a password, with failed attempts rate-limited.

Failures are counted per email and per client address over a sliding window
(``login_window_minutes``). Past the limit, attempts are refused without checking the
password and without being recorded, so the lock lifts once the window has moved past the
failures that caused it.
"""

from __future__ import annotations

from datetime import timedelta

from payez.adapters.db import web_accounts
from payez.domain.errors import PayezError
from payez.service.context import ServiceContext
from payez.service.passwords import hash_password, needs_rehash, password_matches


class LoginFailed(PayezError):
    code = "login_failed"
    message_fr = "E-mail ou mot de passe incorrect."
    message_en = "Wrong email or password."


class LoginRateLimited(PayezError):
    code = "login_rate_limited"
    message_fr = "Trop de tentatives de connexion. Réessayez dans quelques minutes."
    message_en = "Too many login attempts. Please try again in a few minutes."


def log_in(ctx: ServiceContext, *, email: str, password: str, ip: str) -> int:
    """The id of the user whose credentials these are; raises LoginFailed otherwise."""
    address = email.strip().lower()[:254]
    client = ip[:64] or "unknown"
    now = ctx.now()
    since = now - timedelta(minutes=ctx.settings.login_window_minutes)
    with ctx.engine.connect() as conn:
        by_email = web_accounts.failures_since(conn, since, email=address)
        by_ip = web_accounts.failures_since(conn, since, ip=client)
        found = web_accounts.login_by_email(conn, address)
    if by_email >= ctx.settings.login_max_failures or (
        by_ip >= ctx.settings.login_max_failures_per_ip
    ):
        raise LoginRateLimited()
    stored_hash = found[1] if found else None
    succeeded = password_matches(stored_hash, password)
    with ctx.engine.begin() as conn:
        kept_since = now - timedelta(days=max(ctx.settings.login_attempts_days, 1))
        web_accounts.delete_attempts_before(conn, kept_since)
        web_accounts.record_attempt(conn, email=address, ip=client, succeeded=succeeded, now=now)
        if succeeded and found and stored_hash and needs_rehash(stored_hash):
            web_accounts.update_user(conn, found[0], password_hash=hash_password(password))
    if not succeeded or found is None:
        raise LoginFailed()
    return found[0]
