"""The payouts repository: payout rows, their batches, and the ledger keys of their holds.

Every state change is a compare-and-set on the current state (``UPDATE ... WHERE state IN``),
so two operators, or one operator twice, change a payout once; callers read the row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.payouts import payout_batches, payouts
from payez.domain.money import Money


class PayoutState(StrEnum):
    REQUESTED = "requested"
    EXPORTED = "exported"
    EXECUTED = "executed"
    REJECTED = "rejected"


# States whose ledger hold is still open: the money is neither paid out nor returned.
HELD_STATES = frozenset({PayoutState.REQUESTED, PayoutState.EXPORTED})


def hold_key(payout_id: int) -> str:
    """The ledger key of the pending transfer holding a payout's money."""
    return f"payout:{payout_id}"


def executed_key(payout_id: int) -> str:
    """The ledger key of the transfer posting the hold once the bank executed the payout."""
    return f"payout:{payout_id}:executed"


def rejected_key(payout_id: int) -> str:
    """The ledger key of the transfer voiding the hold when the payout is rejected."""
    return f"payout:{payout_id}:rejected"


def end_to_end_id(payout_id: int) -> str:
    """The payout's EndToEndId in a pain.001 file; the bank's statement echoes it back."""
    return f"PAYEZ-PAYOUT-{payout_id}"


@dataclass(frozen=True, slots=True)
class PayoutRow:
    id: int
    user_id: int
    amount: Money
    iban: str
    creditor_name: str
    state: PayoutState
    batch_id: str | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PayoutBatchRow:
    id: str
    payout_count: int
    total: Money
    execution_date: date
    file_name: str
    created_at: datetime
    executed_at: datetime | None


def _payout(row: Any) -> PayoutRow:
    m = row._mapping
    return PayoutRow(
        id=int(m["id"]),
        user_id=int(m["user_id"]),
        amount=Money(int(m["amount_cents"]), str(m["currency"])),
        iban=str(m["iban"]),
        creditor_name=str(m["creditor_name"]),
        state=PayoutState(m["state"]),
        batch_id=m["batch_id"],
        reject_reason=m["reject_reason"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _batch(row: Any) -> PayoutBatchRow:
    m = row._mapping
    return PayoutBatchRow(
        id=str(m["id"]),
        payout_count=int(m["payout_count"]),
        total=Money(int(m["total_cents"]), str(m["currency"])),
        execution_date=m["execution_date"],
        file_name=str(m["file_name"]),
        created_at=m["created_at"],
        executed_at=m["executed_at"],
    )


def insert_payout(
    conn: Connection,
    *,
    user_id: int,
    amount: Money,
    iban: str,
    creditor_name: str,
    now: datetime,
) -> int:
    statement = (
        payouts.insert()
        .values(
            user_id=user_id,
            amount_cents=amount.cents,
            currency=amount.currency,
            iban=iban,
            creditor_name=creditor_name,
            state=PayoutState.REQUESTED.value,
            created_at=now,
            updated_at=now,
        )
        .returning(payouts.c.id)
    )
    return int(conn.execute(statement).scalar_one())


def get_payout(conn: Connection, payout_id: int, *, lock: bool = False) -> PayoutRow | None:
    query = sa.select(payouts).where(payouts.c.id == payout_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _payout(row) if row else None


def payouts_in_state(
    conn: Connection, state: PayoutState, *, lock: bool = False, batch_id: str | None = None
) -> list[PayoutRow]:
    """Payouts in ``state`` (of one batch when given), oldest first; ``lock`` for update.

    On PostgreSQL a locked read waits for a concurrent writer and then re-checks the state, so
    two exports never both take the same payout.
    """
    query = sa.select(payouts).where(payouts.c.state == state.value).order_by(payouts.c.id)
    if batch_id is not None:
        query = query.where(payouts.c.batch_id == batch_id)
    if lock:
        query = query.with_for_update()
    return [_payout(r) for r in conn.execute(query)]


def payouts_of_batch(conn: Connection, batch_id: str) -> list[PayoutRow]:
    query = sa.select(payouts).where(payouts.c.batch_id == batch_id).order_by(payouts.c.id)
    return [_payout(r) for r in conn.execute(query)]


def all_payouts(conn: Connection) -> list[PayoutRow]:
    return [_payout(r) for r in conn.execute(sa.select(payouts).order_by(payouts.c.id))]


def move_state(
    conn: Connection,
    payout_ids: Sequence[int],
    *,
    from_states: Sequence[PayoutState],
    to_state: PayoutState,
    now: datetime,
    batch_id: str | None = None,
    reject_reason: str | None = None,
) -> int:
    """Compare-and-set: move the payouts still in ``from_states``; how many moved."""
    if not payout_ids:
        return 0
    values: dict[str, Any] = {"state": to_state.value, "updated_at": now}
    if batch_id is not None:
        values["batch_id"] = batch_id
    if reject_reason is not None:
        values["reject_reason"] = reject_reason
    statement = (
        payouts.update()
        .where(
            payouts.c.id.in_(list(payout_ids)),
            payouts.c.state.in_([s.value for s in from_states]),
        )
        .values(**values)
    )
    return int(conn.execute(statement).rowcount)


def insert_batch(
    conn: Connection,
    *,
    batch_id: str,
    payout_count: int,
    total: Money,
    execution_date: date,
    file_name: str,
    now: datetime,
) -> None:
    conn.execute(
        payout_batches.insert().values(
            id=batch_id,
            payout_count=payout_count,
            total_cents=total.cents,
            currency=total.currency,
            execution_date=execution_date,
            file_name=file_name[:255],
            created_at=now,
        )
    )


def get_batch(conn: Connection, batch_id: str, *, lock: bool = False) -> PayoutBatchRow | None:
    query = sa.select(payout_batches).where(payout_batches.c.id == batch_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _batch(row) if row else None


def mark_batch_executed(conn: Connection, batch_id: str, now: datetime) -> None:
    """Record when the bank executed the batch; the first report wins."""
    conn.execute(
        payout_batches.update()
        .where(payout_batches.c.id == batch_id, payout_batches.c.executed_at.is_(None))
        .values(executed_at=now)
    )


def payouts_of_user(conn: Connection, user_id: int, limit: int = 50) -> list[PayoutRow]:
    """A user's payouts, newest first."""
    query = (
        sa.select(payouts)
        .where(payouts.c.user_id == user_id)
        .order_by(payouts.c.id.desc())
        .limit(limit)
    )
    return [_payout(r) for r in conn.execute(query)]
