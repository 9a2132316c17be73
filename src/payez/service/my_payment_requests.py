"""Use case: the requester's own payment requests, each with its state and the payments it
received; and, for anyone's history, which request a payment paid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from payez.adapters.db import payment_requests as requests_repo
from payez.adapters.db.payment_requests import LinkedPayment, RequestRow
from payez.domain.errors import NotFound
from payez.domain.money import Money
from payez.domain.payment_requests import RequestFacts, RequestState, reference, state_of
from payez.service.context import ServiceContext

MAX_LISTED = 50
MAX_ID = 2**63 - 1


class PaymentRequestUnknown(NotFound):
    code = "payment_request_unknown"
    message_fr = "Demande de paiement introuvable."
    message_en = "Payment request not found."


@dataclass(frozen=True, slots=True)
class MyRequest:
    request: RequestRow
    state: RequestState
    payments: tuple[LinkedPayment, ...]
    link: str

    @property
    def reference(self) -> str:
        return reference(self.request.code)

    @property
    def received(self) -> Money:
        total = Money.eur(0)
        for payment in self.payments:
            total = total + payment.amount
        return total


def _mine(
    ctx: ServiceContext, rows: list[RequestRow], found: dict[int, list[LinkedPayment]]
) -> list[MyRequest]:
    now = ctx.now()
    return [
        MyRequest(
            request=row,
            state=state_of(
                RequestFacts(row.once, row.expires_at, row.cancelled_at, len(found[row.id])),
                now,
            ),
            payments=tuple(found[row.id]),
            link=ctx.link(f"/r/{row.code}"),
        )
        for row in rows
    ]


def my_payment_requests(ctx: ServiceContext, user_id: int) -> list[MyRequest]:
    """The user's latest requests, newest first (two queries in all)."""
    with ctx.engine.connect() as conn:
        rows = requests_repo.requests_of(conn, user_id, MAX_LISTED)
        found = requests_repo.linked_payments(conn, user_id, rows)
    return _mine(ctx, rows, found)


def my_payment_request(ctx: ServiceContext, user_id: int, request_id: int) -> MyRequest:
    if not 1 <= request_id <= MAX_ID:
        raise PaymentRequestUnknown(str(request_id)[:24])
    with ctx.engine.connect() as conn:
        row = requests_repo.request_of(conn, user_id, request_id)
        if row is None:
            raise PaymentRequestUnknown(str(request_id))
        found = requests_repo.linked_payments(conn, user_id, [row])
    return _mine(ctx, [row], found)[0]


def request_reasons(ctx: ServiceContext, memos: Iterable[tuple[int, str | None]]) -> dict[int, str]:
    """For history entries (payment id, memo), the reason of the request each one paid, when
    its memo carries the reference of a request of its recipient."""
    wanted = dict(memos)
    if not any(memo and "#" in memo for memo in wanted.values()):
        return {}
    with ctx.engine.connect() as conn:
        return requests_repo.reasons_for_payments(conn, wanted)
