"""Use case: a newcomer claims money sent to their social account.

The claimant has proven, through the network's OAuth, that they own an account; the money is
theirs only if that account's immutable id is the one the command was resolved to — never a
handle, which anyone may take over later. Claiming needs a Payez login first (sign up or log
in), so the money always lands in an account its owner can reach; it links the proven account
to them and credits every payment still held for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from payez.adapters.db import email_contacts
from payez.adapters.db import payments as payments_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payments import PaymentRow, transfer_key
from payez.domain.ledger import Transfer
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.ports.network import NetworkAccount
from payez.service.context import ServiceContext
from payez.service.errors import (
    AccountAlreadyLinked,
    ClaimClosed,
    ClaimUnknown,
    ClaimWrongAccount,
)
from payez.service.notification_emails import MONEY_RECEIVED, Notice, notify_by_email
from payez.service.open_account import link_network_account
from payez.service.payment_transfers import apply_one, payment_amount
from payez.service.post_checks import post_was_deleted


@dataclass(frozen=True, slots=True)
class ClaimView:
    """What the claim page shows before the claimant signs in."""

    payment_id: int
    network: str
    amount: Money
    recipient_handle: str
    sender_name: str
    memo: str | None
    state: PaymentState
    language: str
    expires_at: datetime | None = None


def describe_claim(ctx: ServiceContext, token: str) -> ClaimView:
    with ctx.engine.connect() as conn:
        payment = payments_repo.by_token(conn, "claim_token", token)
        if payment is None or payment.sender_user_id is None:
            raise ClaimUnknown()
        sender = users_repo.get_user(conn, payment.sender_user_id)
    return ClaimView(
        payment_id=payment.id,
        network=payment.network,
        amount=payment_amount(payment),
        recipient_handle=payment.recipient_handle or "",
        sender_name=sender.display_name if sender else "",
        memo=payment.memo,
        state=payment.state,
        language=payment.language,
        expires_at=payment.claim_expires_at,
    )


@dataclass(frozen=True, slots=True)
class ClaimResult:
    user_id: int
    claimed: tuple[int, ...]
    total: Money


def claim_payment(
    ctx: ServiceContext, token: str, claimant: NetworkAccount, user_id: int
) -> ClaimResult:
    """Credit the payment behind ``token``, and any other held for the claimant's account.

    ``user_id`` is the logged-in person who proved ``claimant`` by OAuth: the account is linked
    to them (or handed over, if a claim once opened a login-less account for it), so the money
    lands where they can reach it. An account already linked to another user credits that user.
    """
    with ctx.engine.connect() as conn:
        payment = payments_repo.by_token(conn, "claim_token", token)
    if payment is None:
        raise ClaimUnknown()
    if payment.state is not PaymentState.HELD_FOR_CLAIM or (
        payment.claim_expires_at and payment.claim_expires_at <= ctx.now()
    ):
        raise ClaimClosed(payment.state.value)
    if payment.recipient_account_id != claimant.id:
        raise ClaimWrongAccount()
    if post_was_deleted(ctx, payment):
        cancel_held_payment(ctx, payment)
        raise ClaimClosed("cancelled")
    with ctx.engine.begin() as conn:
        owner = _owner_after_linking(conn, ctx, user_id, payment.network, claimant)
        claimed, total = credit_held_payments(conn, ctx, payment.network, claimant.id, owner)
    if payment.id not in claimed:
        raise ClaimClosed("already claimed")
    return ClaimResult(user_id=owner, claimed=claimed, total=total)


def credit_held_payments(
    conn: Connection, ctx: ServiceContext, network: str, account_id: str, user_id: int
) -> tuple[tuple[int, ...], Money]:
    """Credit ``user_id`` with every payment held for the network account; (ids, total)."""
    now = ctx.now()
    wallet = users_repo.users_by_id(conn, [user_id])[user_id].wallet_account_id
    claims_held = SqlLedger(conn).account_id("claims_held")
    claimed: list[int] = []
    received: list[Notice] = []
    total = Money.zero()
    for held in payments_repo.held_for_account(conn, network, account_id):
        if held.claim_expires_at is not None and held.claim_expires_at <= now:
            continue  # the refund timer gives it back to its sender
        if not payments_repo.move(
            conn,
            held.id,
            from_state=PaymentState.HELD_FOR_CLAIM,
            to_state=PaymentState.CLAIMED,
            now=now,
            recipient_user_id=user_id,
        ):
            continue
        amount = payment_amount(held)
        apply_one(conn, Transfer(transfer_key(held.inbox_id, "claim"), claims_held, wallet, amount))
        sender = email_contacts.public_handle(conn, held.sender_user_id, held.network)
        received.append(Notice(MONEY_RECEIVED, user_id, f"inbox:{held.inbox_id}", amount, sender))
        claimed.append(held.id)
        total = total + amount
    notify_by_email(conn, received, base_url=ctx.settings.base_url, now=now)
    return tuple(claimed), total


def _owner_after_linking(
    conn: Connection, ctx: ServiceContext, user_id: int, network: str, claimant: NetworkAccount
) -> int:
    try:
        link_network_account(conn, ctx, user_id, network, claimant)
    except AccountAlreadyLinked:
        # Proven on the network, but linked on Payez to another user who can log in: the
        # money goes to that user, the social account's owner on Payez.
        owner = users_repo.users_by_network_account(conn, network, [claimant.id])
        return owner[claimant.id].id
    return user_id


def cancel_held_payment(ctx: ServiceContext, payment: PaymentRow) -> bool:
    """The command post was deleted before the claim: the money goes back to its sender."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if not payments_repo.move(
            conn,
            payment.id,
            from_state=PaymentState.HELD_FOR_CLAIM,
            to_state=PaymentState.CANCELLED,
            now=now,
            reason="post_deleted",
        ):
            return False
        sender = users_repo.users_by_id(conn, [payment.sender_user_id or 0])
        claims_held = SqlLedger(conn).account_id("claims_held")
        apply_one(
            conn,
            Transfer(
                transfer_key(payment.inbox_id, "refund"),
                claims_held,
                sender[payment.sender_user_id or 0].wallet_account_id,
                payment_amount(payment),
            ),
        )
    return True
