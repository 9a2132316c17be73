"""Use case: charge a short sender's card for what their wallet lacks, then let the post go on.

The processor parks a command whose sender is short of money and has a card. Here the card is
charged once for the shortfall (``charge_once``: our own row first, our key on the processor),
and in the very transaction that records a successful charge the wallet is credited from the
card-funding account. The post then goes back to the processor, which decides it afresh. A
declined charge releases the post too, marked failed: it is refused with ``funding_failed`` and
nothing moves. A charge that needs strong authentication waits for the cardholder, who gets the
link privately; the next pass picks up their answer.
"""

from __future__ import annotations

from sqlalchemy import Connection

from payez.adapters.db import inbox as inbox_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.inbox import InboxRow
from payez.adapters.db.ledger import SqlLedger
from payez.domain.commands import command_language
from payez.domain.ledger import Transfer
from payez.domain.money import Money
from payez.ports.cards import CardProcessor, ProcessorError
from payez.service.card_charges import ChargeTransition, charge_once
from payez.service.context import ServiceContext
from payez.service.outbox_messages import private_notice
from payez.service.reconcile import card_credit_key

FUNDING_KEY = "fund:{inbox_id}"


def fund_waiting_posts(ctx: ServiceContext, *, limit: int = 50) -> int:
    """Charge the cards behind parked posts; returns how many posts were released."""
    if ctx.cards is None:
        return 0
    with ctx.engine.connect() as conn:
        waiting = inbox_repo.waiting_for_funding(conn, limit)
    released = 0
    for row in waiting:
        released += _fund(ctx, ctx.cards, row)
    return released


def _fund(ctx: ServiceContext, cards: CardProcessor, row: InboxRow) -> int:
    with ctx.engine.connect() as conn:
        sender = users_repo.users_by_network_account(conn, row.network, [row.author_id]).get(
            row.author_id
        )
    if sender is None or not sender.card_customer_id or not row.funding_cents:
        with ctx.engine.begin() as conn:
            return int(inbox_repo.funding_done(conn, row.id, "failed"))

    try:
        charge = charge_once(
            ctx.engine,
            cards,
            key=FUNDING_KEY.format(inbox_id=row.id),
            customer_id=sender.card_customer_id,
            amount=Money.eur(row.funding_cents),
            description=f"Payez top-up for post {row.network}:{row.post_id}",
            clock=ctx.clock,
            on_change=settle_funding_charge,
        )
    except ProcessorError:
        return 0  # nothing was decided: the next pass tries again
    if charge.status == "requires_action" and charge.action_url:
        _ask_for_authentication(ctx, row, charge.action_url)
        return 0
    return 1 if charge.status in ("succeeded", "failed") else 0


def settle_funding_charge(conn: Connection, change: ChargeTransition) -> None:
    """React, once, to a funding charge's final status: by our call or by a webhook.

    Runs inside the transaction that records the status, so the wallet credit and the release
    of the parked post commit with it, or not at all.
    """
    record = change.record
    prefix, _, inbox_id = record.idempotency_key.partition(":")
    if prefix != FUNDING_KEY.partition(":")[0] or not inbox_id.isdigit():
        return  # not a funding charge
    if record.status == "succeeded":
        row = inbox_repo.get(conn, int(inbox_id))
        if row is None:
            return
        sender = users_repo.users_by_network_account(conn, row.network, [row.author_id])
        _credit_wallet(conn, record.id, sender[row.author_id].wallet_account_id, record.amount)
        inbox_repo.funding_done(conn, row.id, "funded")
    elif record.status == "failed":
        inbox_repo.funding_done(conn, int(inbox_id), "failed")


def _credit_wallet(conn: Connection, charge_row_id: int, wallet: int, amount: Money) -> None:
    ledger = SqlLedger(conn)
    credit = Transfer(
        card_credit_key(charge_row_id), ledger.account_id("card_funding"), wallet, amount
    )
    ledger.apply_all([credit])


def _ask_for_authentication(ctx: ServiceContext, row: InboxRow, action_url: str) -> None:
    link = action_url if action_url.startswith("http") else ctx.link(action_url)
    with ctx.engine.begin() as conn:
        outbox_repo.enqueue(
            conn,
            [
                private_notice(
                    row.network,
                    row.author_id,
                    row.author_handle,
                    "confirmation_required",
                    command_language(row.text, ctx.service_handle(row.network)),
                    key=f"fund-auth:{row.id}",
                    facts={"link": link, "minutes": 15},
                    now=ctx.now(),
                )
            ],
        )
