"""Use case: a user cashes out to their bank account, and follows their payouts."""

from __future__ import annotations

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db.payouts import PayoutRow
from payez.domain.money import Money
from payez.domain.typed_amounts import parse_typed_euros
from payez.service.context import ServiceContext
from payez.service.request_payout import RequestedPayout, request_payout_on


def request_my_payout(
    ctx: ServiceContext, user_id: int, *, amount_text: str, iban: str, creditor_name: str
) -> RequestedPayout:
    """Hold ``amount_text`` euros for a SEPA transfer; a refusal holds nothing."""
    amount = Money.eur(parse_typed_euros(amount_text))
    with ctx.engine.begin() as conn:
        return request_payout_on(
            conn,
            user_id=user_id,
            amount=amount,
            iban=iban,
            creditor_name=creditor_name,
            now=ctx.now(),
        )


def my_payouts(ctx: ServiceContext, user_id: int) -> list[PayoutRow]:
    with ctx.engine.connect() as conn:
        return payouts_repo.payouts_of_user(conn, user_id)
