"""Use cases: the bank executed a batch (post the holds) or rejected one payout (void its hold).

Both are idempotent twice over: the payout's state moves by compare-and-set, and the ledger
transfers carry keys derived from the payout id, so reporting the same outcome again moves no
money. A payout's outcome is final: an executed payout cannot be rejected, nor the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payouts import PayoutRow, PayoutState
from payez.domain.errors import InvalidInput, NotFound, PayezError
from payez.domain.ledger import Transfer
from payez.service.context import ServiceContext
from payez.service.export_payouts import PayoutHoldMismatch
from payez.service.notification_emails import PAYOUT_EXECUTED, Notice, notify_by_email

MAX_REASON = 500


class PayoutUnknown(NotFound):
    code = "payout_unknown"
    message_fr = "Virement inconnu."
    message_en = "Unknown payout."


class PayoutBatchUnknown(NotFound):
    code = "payout_batch_unknown"
    message_fr = "Lot de virements inconnu."
    message_en = "Unknown payout batch."


class PayoutAlreadyExecuted(PayezError):
    code = "payout_already_executed"
    message_fr = "Ce virement a déjà été exécuté par la banque : il ne peut plus être rejeté."
    message_en = "The bank already executed this payout: it can no longer be rejected."


class PayoutReasonMissing(InvalidInput):
    code = "payout_reason_missing"
    message_fr = "Indiquez le motif du rejet."
    message_en = "Give the reason for the rejection."


@dataclass(frozen=True, slots=True)
class BatchExecuted:
    batch_id: str
    executed: tuple[int, ...]  # payouts this call posted
    already_executed: tuple[int, ...]
    rejected: tuple[int, ...]  # payouts of the batch the bank had rejected: left as they are

    def as_json(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "executed": list(self.executed),
            "already_executed": list(self.already_executed),
            "rejected": list(self.rejected),
        }


@dataclass(frozen=True, slots=True)
class PayoutRejected:
    payout_id: int
    changed: bool  # False when it was already rejected: nothing moved this time
    state: PayoutState

    def as_json(self) -> dict[str, object]:
        return {"payout_id": self.payout_id, "changed": self.changed, "state": self.state.value}


def _resolution(conn: Connection, payout: PayoutRow, *, post: bool) -> Transfer:
    """The transfer posting or voiding the payout's hold, rebuilt from the stored hold."""
    key = payouts_repo.hold_key(payout.id)
    found = SqlLedger(conn).transfers([key]).get(key)
    if found is None or found.transfer.amount != payout.amount:
        raise PayoutHoldMismatch(f"payout {payout.id}")
    hold = found.transfer
    if post:
        return hold.posting(payouts_repo.executed_key(payout.id), memo=f"payout {payout.id} paid")
    return hold.voiding(payouts_repo.rejected_key(payout.id), memo=f"payout {payout.id} rejected")


def _apply(conn: Connection, transfers: list[Transfer]) -> None:
    SqlLedger(conn).apply_all(transfers)


def mark_batch_executed(ctx: ServiceContext, batch_id: str) -> BatchExecuted:
    """The bank executed ``batch_id``: post the hold of each of its exported payouts."""
    with ctx.engine.begin() as conn:
        if payouts_repo.get_batch(conn, batch_id, lock=True) is None:
            raise PayoutBatchUnknown(batch_id)
        exported = payouts_repo.payouts_in_state(
            conn, PayoutState.EXPORTED, lock=True, batch_id=batch_id
        )
        _apply(conn, [_resolution(conn, p, post=True) for p in exported])
        now = ctx.now()
        ids = [p.id for p in exported]
        moved = payouts_repo.move_state(
            conn, ids, from_states=[PayoutState.EXPORTED], to_state=PayoutState.EXECUTED, now=now
        )
        if moved != len(ids):
            # Rows were locked: only a bug gets here, and the rollback undoes the postings.
            raise PayoutHoldMismatch(f"batch {batch_id}: {moved} of {len(ids)} moved")
        payouts_repo.mark_batch_executed(conn, batch_id, now)
        notify_by_email(
            conn,
            [
                Notice(PAYOUT_EXECUTED, p.user_id, f"payout:{p.id}", p.amount, link="/payouts")
                for p in exported
            ],
            base_url=ctx.settings.base_url,
            now=now,
        )
        others = payouts_repo.payouts_of_batch(conn, batch_id)
    done = set(ids)
    return BatchExecuted(
        batch_id,
        tuple(ids),
        tuple(p.id for p in others if p.state is PayoutState.EXECUTED and p.id not in done),
        tuple(p.id for p in others if p.state is PayoutState.REJECTED),
    )


def reject_payout(ctx: ServiceContext, payout_id: int, reason: str) -> PayoutRejected:
    """The payout will not be paid: void its hold, which returns the money to the wallet."""
    cleaned = " ".join(reason.split())[:MAX_REASON]
    if not cleaned:
        raise PayoutReasonMissing()
    with ctx.engine.begin() as conn:
        payout = payouts_repo.get_payout(conn, payout_id, lock=True)
        if payout is None:
            raise PayoutUnknown(str(payout_id))
        if payout.state is PayoutState.REJECTED:
            return PayoutRejected(payout_id, False, payout.state)
        if payout.state is PayoutState.EXECUTED:
            raise PayoutAlreadyExecuted(str(payout_id))
        _apply(conn, [_resolution(conn, payout, post=False)])
        moved = payouts_repo.move_state(
            conn,
            [payout_id],
            from_states=sorted(payouts_repo.HELD_STATES),
            to_state=PayoutState.REJECTED,
            now=ctx.now(),
            reject_reason=cleaned,
        )
        if moved != 1:
            raise PayoutHoldMismatch(f"payout {payout_id}: state changed under lock")
    return PayoutRejected(payout_id, True, PayoutState.REJECTED)
