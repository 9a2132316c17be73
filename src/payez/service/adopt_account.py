"""Use case: hand a login-less account over to the person who proved its social account.

Before claiming needed a login, a claim opened a Payez account that nobody could log in to.
Whoever later signs up and proves the same social account (OAuth, or a code posted from it) is
its owner: its links, its records and its money move to their account, so a social account never
belongs to two users and no money is left out of reach.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection

from payez.adapters.db import payments as payments_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.domain.ledger import Transfer
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.payment_transfers import apply_one


def hand_over_account(conn: Connection, *, from_user_id: int, to_user_id: int) -> Money:
    """Give the old account's links, records and money to ``to_user_id``; the money moved."""
    users_repo.hand_over(conn, from_user_id=from_user_id, to_user_id=to_user_id)
    return move_what_remains(conn, from_user_id=from_user_id, to_user_id=to_user_id)


def move_what_remains(conn: Connection, *, from_user_id: int, to_user_id: int) -> Money:
    """Move the finished records and the spendable money of a handed-over account."""
    users_repo.lock_user(conn, from_user_id)
    payments_repo.reassign_finished(conn, from_user_id=from_user_id, to_user_id=to_user_id)
    found = users_repo.users_by_id(conn, [from_user_id, to_user_id])
    old_wallet = found[from_user_id].wallet_account_id
    available = SqlLedger(conn).balance(old_wallet).available
    if available.cents > 0:
        # Under the user's lock, one transfer at a time: a random key only has to be unique.
        key = f"handover:{from_user_id}:{secrets.token_hex(8)}"
        apply_one(conn, Transfer(key, old_wallet, found[to_user_id].wallet_account_id, available))
    return available


def sweep_handed_over_accounts(ctx: ServiceContext) -> int:
    """Timer: money that reached an old wallet after its hand-over follows its new owner."""
    with ctx.engine.begin() as conn:
        handed_over = users_repo.adopted_accounts_holding_money(conn)
        for old, new in handed_over:
            move_what_remains(conn, from_user_id=old, to_user_id=new)
    return len(handed_over)
