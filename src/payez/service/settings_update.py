"""Use case: a user changes their settings (language, time zone, privacy of public replies,
notifications)."""

from __future__ import annotations

from collections.abc import Collection

from payez.adapters.db import web_accounts
from payez.adapters.db.email_contacts import SWITCHES
from payez.domain.errors import InvalidInput
from payez.service.context import ServiceContext
from payez.service.sign_up import check_language
from payez.service.time_zones import check_time_zone


class NotificationUnknown(InvalidInput):
    code = "notification_unknown"
    message_fr = "Notification inconnue."
    message_en = "Unknown notification."


def update_settings(
    ctx: ServiceContext,
    user_id: int,
    *,
    language: str,
    hide_amount: bool,
    notify_received: bool = False,
    time_zone: str | None = None,
    emails_wanted: Collection[str] | None = None,
) -> None:
    """``hide_amount``: public replies to the user's posts leave the amount out;
    ``notify_received``: a private message when money reaches the user; ``time_zone``: an IANA
    zone the web app shows the user's times in (None: left as it is). A bad value changes
    nothing. ``emails_wanted``: the notifications by email switched on (None: left as they
    are); an unknown name is refused."""
    check_language(language)
    zone: dict[str, object] = {}
    if time_zone is not None:
        zone["time_zone"] = check_time_zone(time_zone)
    if emails_wanted is not None:
        unknown = set(emails_wanted) - set(SWITCHES)
        if unknown:
            raise NotificationUnknown(sorted(unknown)[0][:32])
        zone.update({f"email_{name}": name in emails_wanted for name in SWITCHES})
    with ctx.engine.begin() as conn:
        web_accounts.update_user(
            conn,
            user_id,
            language=language,
            hide_amount=hide_amount,
            notify_received=notify_received,
            **zone,
        )
