"""Use case: a user changes their settings (language, privacy of public replies)."""

from __future__ import annotations

from payez.adapters.db import web_accounts
from payez.service.context import ServiceContext
from payez.service.sign_up import check_language


def update_settings(
    ctx: ServiceContext,
    user_id: int,
    *,
    language: str,
    hide_amount: bool,
    notify_received: bool = False,
) -> None:
    """``hide_amount``: public replies to the user's posts leave the amount out;
    ``notify_received``: a private message when money reaches the user."""
    check_language(language)
    with ctx.engine.begin() as conn:
        web_accounts.update_user(
            conn,
            user_id,
            language=language,
            hide_amount=hide_amount,
            notify_received=notify_received,
        )
