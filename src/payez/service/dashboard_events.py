"""Use case: what changed on a member's account since they last looked (the live dashboard).

Money moves only through the ledger, and every move that touches a member names their wallet in
a ledger transfer. Transfers are append-only and their ids make a cursor that misses nothing:
the ledger allocates a batch's ids only once it holds the locks of the accounts it moves (``FOR
UPDATE`` on PostgreSQL; SQLite has one writer), so two transfers touching the same wallet commit
in the order of their ids, and a reader that has seen transfer N of a wallet will never later
find one of that wallet below N. Each change is told as that transfer id, with the payment the
transfer belongs to (its key names the post that ordered it) when the member may see it.

Reading is cheap on purpose, as every open dashboard asks every second or so: the wallet's row
by primary key (:func:`wallet_of`) tells whether anything moved; only then are the transfers
after the cursor read, walking the primary key from the cursor (no index on the accounts is
needed, and the writers' path is left as it is). Every call checks a connection out of the pool
and gives it back before returning.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.ledger import ledger_transfers
from payez.adapters.db.tables.payments import users
from payez.domain.ledger import Balance
from payez.service.context import ServiceContext
from payez.service.history import MAX_ID, HistoryEntry, entries_of_posts

# Transfers read at most per call: a member back after a long absence catches up over a few
# calls instead of one long query.
MAX_CHANGES = 50
# Ledger keys that name the post whose payment moved the money (``adapters.db.payments``'s
# ``transfer_key`` and the card funding's key).
_POST_KEY_PREFIXES = ("pay", "fund")


@dataclass(frozen=True, slots=True)
class Change:
    """Money moved on the member's wallet: ledger transfer ``id``, and the payment it was for
    (None for other moves: a top-up, a payout, a payment the member does not see)."""

    id: int
    entry: HistoryEntry | None


@dataclass(frozen=True, slots=True)
class Changes:
    changes: tuple[Change, ...]
    # The balance read after the transfers: it includes every change above.
    balance: Balance
    # More transfers wait after the last change (MAX_CHANGES reached).
    more: bool


def latest_change(ctx: ServiceContext) -> int:
    """The newest transfer id of the whole ledger: a page shown now is up to date up to there
    (read it before what the page shows)."""
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(ledger_transfers.c.id))).scalar() or 0)


def wallet_of(ctx: ServiceContext, user_id: int) -> int | None:
    """The member's wallet account, or None if there is no such member."""
    with ctx.engine.connect() as conn:
        found = conn.execute(
            sa.select(users.c.wallet_account_id).where(users.c.id == user_id)
        ).scalar()
    return int(found) if found is not None else None


def wallet_balance(ctx: ServiceContext, wallet_id: int) -> Balance:
    """The wallet's balance, by primary key: it differs from the last one read whenever money
    moved."""
    with ctx.engine.connect() as conn:
        return SqlLedger(conn).balance(wallet_id)


def changes_after(ctx: ServiceContext, user_id: int, wallet_id: int, after: int) -> Changes:
    """The moves on ``wallet_id`` after transfer ``after``, oldest first, each with the payment
    of ``user_id`` it belongs to, and the balance that results."""
    after = max(0, min(after, MAX_ID))
    t = ledger_transfers
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.id, t.c.key)
            .where(
                t.c.id > after,
                sa.or_(t.c.debit_account_id == wallet_id, t.c.credit_account_id == wallet_id),
            )
            .order_by(t.c.id)
            .limit(MAX_CHANGES + 1)
        ).all()
        more = len(rows) > MAX_CHANGES
        rows = rows[:MAX_CHANGES]
        posts = {int(r.id): _post_of(str(r.key)) for r in rows}
        entries = entries_of_posts(conn, user_id, {p for p in posts.values() if p is not None})
        balance = SqlLedger(conn).balance(wallet_id)
    changes = tuple(
        Change(transfer_id, entries.get(post) if post is not None else None)
        for transfer_id, post in posts.items()
    )
    return Changes(changes, balance, more)


def _post_of(key: str) -> int | None:
    """The inbox id in ``pay:12``, ``pay:12:refund`` or ``fund:12``; None for other keys."""
    prefix, _, rest = key.partition(":")
    head = rest.split(":", 1)[0]
    if prefix in _POST_KEY_PREFIXES and head.isascii() and head.isdigit():
        return int(head)
    return None
