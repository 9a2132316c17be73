"""Use case: a logged-in user changes their password, giving the current one.

A wrong current password counts as a failed login (``login_attempts``) and the login lock
applies: the form is no way around the login's rate limit. A change ends every other session
of the account (the browser that changed it stays logged in) and queues the same notice as a
reset, so the owner hears of a change they did not make.
"""

from __future__ import annotations

from datetime import timedelta

from payez.adapters.db import account_links, web_accounts
from payez.domain.errors import InvalidInput
from payez.service.context import ServiceContext
from payez.service.log_in import LoginRateLimited
from payez.service.passwords import hash_password, password_matches
from payez.service.reset_password import queue_password_changed
from payez.service.sign_up import check_password_strength
from payez.service.web_sessions import token_hash


class CurrentPasswordWrong(InvalidInput):
    code = "current_password_wrong"
    message_fr = "Le mot de passe actuel est incorrect : rien n'a changé."
    message_en = "The current password is wrong: nothing was changed."


def change_password(
    ctx: ServiceContext,
    user_id: int,
    *,
    current_password: str,
    new_password: str,
    session_token: str | None,
    ip: str,
) -> None:
    """Set ``new_password``; every session but ``session_token``'s ends."""
    check_password_strength(new_password)
    client = ip[:64] or "unknown"
    now = ctx.now()
    with ctx.engine.connect() as conn:
        state = account_links.email_state(conn, user_id)
        if state is None or state.email is None:
            raise CurrentPasswordWrong()
        found = web_accounts.login_by_email(conn, state.email)
        since = now - timedelta(minutes=ctx.settings.login_window_minutes)
        locked = web_accounts.failures_since(
            conn, since, email=state.email
        ) >= ctx.settings.login_max_failures or (
            web_accounts.failures_since(conn, since, ip=client)
            >= ctx.settings.login_max_failures_per_ip
        )
    if locked:
        raise LoginRateLimited()
    if found is None or not password_matches(found[1], current_password):
        with ctx.engine.begin() as conn:
            web_accounts.record_attempt(
                conn, email=state.email, ip=client, succeeded=False, now=now
            )
        raise CurrentPasswordWrong()
    password_hash = hash_password(new_password)
    with ctx.engine.begin() as conn:
        web_accounts.update_user(conn, user_id, password_hash=password_hash)
        account_links.spend_other_resets(conn, user_id, now)
        account_links.end_sessions(
            conn, user_id, keep_hash=token_hash(session_token) if session_token else None
        )
        queue_password_changed(
            conn,
            user_id=user_id,
            email=state.email,
            language=state.language,
            password_hash=password_hash,
            now=now,
        )
