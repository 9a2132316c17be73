"""Use case: a user changes their settings (language, time zone, privacy of public replies,
notifications)."""

from __future__ import annotations

from payez.adapters.db import web_accounts
from payez.service.context import ServiceContext
from payez.service.sign_up import check_language
from payez.service.time_zones import check_time_zone


def update_settings(
    ctx: ServiceContext,
    user_id: int,
    *,
    language: str,
    hide_amount: bool,
    notify_received: bool = False,
    time_zone: str | None = None,
) -> None:
    """``hide_amount``: public replies to the user's posts leave the amount out;
    ``notify_received``: a private message when money reaches the user; ``time_zone``: an IANA
    zone the web app shows the user's times in (None: left as it is). A bad value changes
    nothing."""
    check_language(language)
    zone = {} if time_zone is None else {"time_zone": check_time_zone(time_zone)}
    with ctx.engine.begin() as conn:
        web_accounts.update_user(
            conn,
            user_id,
            language=language,
            hide_amount=hide_amount,
            notify_received=notify_received,
            **zone,
        )
