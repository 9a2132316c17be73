"""Use case: money enters a wallet from the card-funding account (after a successful charge)."""

from __future__ import annotations

from sqlalchemy import Connection

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.domain.ledger import Applied, Transfer
from payez.domain.money import Money
from payez.service.errors import UserUnknown


def load_wallet(conn: Connection, user_id: int, amount: Money, key: str) -> Applied:
    """Credit ``user_id``'s wallet with ``amount``; ``key`` makes a retry a no-op."""
    user = users_repo.get_user(conn, user_id)
    if user is None:
        raise UserUnknown(str(user_id))
    ledger = SqlLedger(conn)
    funding = ledger.account_id("card_funding")
    (applied,) = ledger.apply_all([Transfer(key, funding, user.wallet_account_id, amount)])
    return applied
