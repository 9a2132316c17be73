"""Use case: the owner of a payment request cancels it; its page then offers no way to pay."""

from __future__ import annotations

from payez.adapters.db import payment_requests as requests_repo
from payez.service.context import ServiceContext
from payez.service.my_payment_requests import MAX_ID, PaymentRequestUnknown


def cancel_payment_request(ctx: ServiceContext, user_id: int, request_id: int) -> None:
    """Cancel the user's own request; cancelling it again changes nothing. Anyone else's is
    "unknown"."""
    if not 1 <= request_id <= MAX_ID:
        raise PaymentRequestUnknown(str(request_id)[:24])
    with ctx.engine.begin() as conn:
        if requests_repo.request_of(conn, user_id, request_id) is None:
            raise PaymentRequestUnknown(str(request_id))
        requests_repo.cancel_request(conn, user_id, request_id, ctx.now())
