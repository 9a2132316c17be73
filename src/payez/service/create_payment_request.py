"""Use case: a logged-in user asks to be paid — an amount (or any amount), a reason, paid once
or many times, an optional expiry date — and gets a short link ``/r/<code>``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from payez.adapters.db import payment_requests as requests_repo
from payez.domain.errors import InvalidInput
from payez.domain.payment_requests import (
    MAX_EXPIRY_DAYS,
    RequestExpiryInvalid,
    RequestUsesInvalid,
    clean_reason,
    new_code,
    parse_request_amount,
)
from payez.service.context import ServiceContext
from payez.service.time_zones import DEFAULT_TIME_ZONE, zone_of

CODE_DRAWS = 5


class RequestNeedsLinkedAccount(InvalidInput):
    code = "request_needs_linked_account"
    message_fr = "Reliez d'abord un compte de réseau social : c'est lui que l'on paiera."
    message_en = "Link a social account first: it is the one people will pay."


def expiry_from(text: str, now: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> datetime | None:
    """The end of the day ``text`` (YYYY-MM-DD) in ``time_zone``; empty: no expiry."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        day = date.fromisoformat(cleaned) if len(cleaned) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise RequestExpiryInvalid(text[:20])
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone_of(time_zone))
    if not now < end <= now + timedelta(days=MAX_EXPIRY_DAYS + 1):
        raise RequestExpiryInvalid(cleaned)
    return end


def uses_from(text: str) -> bool:
    """``once`` or ``many``: whether the request is paid once."""
    if text not in ("once", "many"):
        raise RequestUsesInvalid(text[:20])
    return text == "once"


def create_payment_request(
    ctx: ServiceContext,
    user_id: int,
    *,
    amount: str,
    reason: str,
    uses: str,
    expires_on: str = "",
    time_zone: str = DEFAULT_TIME_ZONE,
) -> int:
    """The new request's id. Every field is checked before anything is written."""
    now = ctx.now()
    limits = ctx.limits
    money = parse_request_amount(
        amount, min_cents=limits.min_cents, max_cents=limits.max_person_cents
    )
    cleaned = clean_reason(reason)
    once = uses_from(uses)
    expires_at = expiry_from(expires_on, now, time_zone)
    with ctx.engine.begin() as conn:
        if not requests_repo.linked_handles(conn, user_id):
            raise RequestNeedsLinkedAccount(str(user_id))
        for _ in range(CODE_DRAWS):
            code = new_code()
            made = requests_repo.insert_request(
                conn,
                code=code,
                owner_user_id=user_id,
                amount=money,
                reason=cleaned,
                once=once,
                now=now,
                expires_at=expires_at,
            )
            if made is not None:
                return made
    raise RuntimeError("no free request code after several draws")
