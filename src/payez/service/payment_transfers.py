"""The ledger transfers of a payment, rebuilt from its row: what it moved, held or must undo."""

from __future__ import annotations

from sqlalchemy import Connection

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payments import PaymentRow, transfer_key
from payez.domain.ledger import Transfer, TransferMode
from payez.domain.money import Money


def payment_amount(payment: PaymentRow) -> Money:
    assert payment.amount_cents is not None and payment.currency is not None
    return Money(payment.amount_cents, payment.currency)


def first_transfer(conn: Connection, payment: PaymentRow) -> Transfer:
    """The transfer the processor applied: to the recipient's wallet, or held for a claim."""
    ledger = SqlLedger(conn)
    ids = [i for i in (payment.sender_user_id, payment.recipient_user_id) if i is not None]
    found = users_repo.users_by_id(conn, ids)
    sender = found[payment.sender_user_id or 0]
    if payment.recipient_user_id is not None:
        credit = found[payment.recipient_user_id].wallet_account_id
    else:
        credit = ledger.account_id("claims_held")
    mode = TransferMode.PENDING if payment.confirm_reason else TransferMode.POSTED
    return Transfer(
        transfer_key(payment.inbox_id),
        sender.wallet_account_id,
        credit,
        payment_amount(payment),
        mode,
    )


def apply_one(conn: Connection, transfer: Transfer) -> None:
    """Apply a transfer the state machine has already proven legitimate; a refusal is a bug."""
    SqlLedger(conn).apply_all([transfer])
