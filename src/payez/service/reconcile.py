"""Use case: compare the card processor's charges and refunds with our records and the ledger.

Our side is read first, in one consistent snapshot: the ``card_charges`` rows of this
processor, and the posted ledger transfers out of and into the ``card_funding`` account. The
processor's lists are read after it; what the processor created after our snapshot is left for
the next run, so a charge in flight is not reported as unknown. A charge whose outcome arrives
between the two reads still shows as a status difference: run it again to tell a transient
difference from a lasting one.

How records are tied together (every writer of these transfers must follow it):

- a succeeded charge credits a wallet from ``card_funding`` under :func:`card_credit_key` of
  its ``card_charges`` row id, for the charge's amount;
- money returned to a card leaves through ``card_funding`` (credited) under
  :func:`card_refund_key` of the processor's refund id, for the refund's amount.

Each payout's ledger transfers are checked against its state as well: held while requested or
exported, posted once executed, voided once rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payouts import PayoutRow, PayoutState
from payez.adapters.db.tables.card_charges import card_charges
from payez.adapters.db.tables.ledger import ledger_transfers
from payez.domain.ledger import POSTING_MODES, Recorded, TransferMode
from payez.domain.money import Money
from payez.ports.cards import CardProcessor, Charge, Refund
from payez.service.context import ServiceContext

CHARGE_UNKNOWN = "charge_unknown_to_us"
CHARGE_MISSING = "charge_missing_at_processor"
CHARGE_AMOUNT = "charge_amount_mismatch"
CHARGE_STATUS = "charge_status_mismatch"
CHARGE_NOT_CREDITED = "charge_not_credited"
CREDIT_WITHOUT_CHARGE = "credit_without_charge"
CREDIT_AMOUNT = "credit_amount_mismatch"
REFUND_NOT_IN_LEDGER = "refund_not_in_ledger"
REFUND_MISSING = "refund_missing_at_processor"
REFUND_AMOUNT = "refund_amount_mismatch"
PAYOUT_LEDGER = "payout_ledger_mismatch"

_CREDIT_PREFIX = "card_charge:"
_REFUND_PREFIX = "card_refund:"


def card_credit_key(charge_row_id: int) -> str:
    """The ledger key of the wallet credit for the succeeded charge of this ``card_charges`` row."""
    return f"{_CREDIT_PREFIX}{charge_row_id}"


def card_refund_key(refund_id: str) -> str:
    """The ledger key of the transfer returning money to a card, for the processor's refund."""
    return f"{_REFUND_PREFIX}{refund_id}"


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str
    reference: str  # the processor's id, our ledger key, or a payout id
    detail: str
    ours: Money | None = None
    processor: Money | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "reference": self.reference,
            "detail": self.detail,
            "ours_cents": self.ours.cents if self.ours else None,
            "processor_cents": self.processor.cents if self.processor else None,
            "currency": (self.ours or self.processor or Money.zero()).currency,
        }

    def line(self) -> str:
        amounts = ""
        if self.ours is not None or self.processor is not None:
            ours = self.ours.format("en") if self.ours else "-"
            theirs = self.processor.format("en") if self.processor else "-"
            amounts = f" (ours {ours}, processor {theirs})"
        return f"{self.kind} {self.reference}: {self.detail}{amounts}"


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    processor: str
    as_of: datetime
    differences: list[Difference]
    processor_charges: int
    processor_refunds: int
    our_charges: int
    ledger_credits: int
    ledger_returns: int
    payouts: int
    # Processor objects created after our snapshot, left for the next run.
    deferred: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        state = "clean" if self.ok else f"{len(self.differences)} difference(s)"
        return (
            f"reconcile {self.processor} {state}: {self.processor_charges} charges and "
            f"{self.processor_refunds} refunds at the processor, {self.our_charges} charge rows, "
            f"{self.ledger_credits} card credits and {self.ledger_returns} card returns in the "
            f"ledger, {self.payouts} payouts"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "processor": self.processor,
            "as_of": self.as_of.isoformat(),
            "processor_charges": self.processor_charges,
            "processor_refunds": self.processor_refunds,
            "our_charges": self.our_charges,
            "ledger_credits": self.ledger_credits,
            "ledger_returns": self.ledger_returns,
            "payouts": self.payouts,
            "deferred": self.deferred,
            "differences": [d.as_json() for d in self.differences],
        }


@dataclass(slots=True)
class _Ours:
    charges: list[Any] = field(default_factory=list)
    credits: dict[str, Money] = field(default_factory=dict)
    returns: dict[str, Money] = field(default_factory=dict)
    payouts: list[PayoutRow] = field(default_factory=list)
    payout_transfers: dict[str, Recorded] = field(default_factory=dict)


def _after(created_at: datetime | None, as_of: datetime) -> bool:
    """Created after our snapshot (an unknown time counts as before: it is checked now)."""
    if created_at is None:
        return False
    return (created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)) > as_of


def _posted_sums(conn: Connection, column: sa.Column[Any], account_id: int) -> dict[str, Money]:
    rows = conn.execute(
        sa.select(ledger_transfers.c.key, ledger_transfers.c.amount, ledger_transfers.c.currency)
        .where(column == account_id, ledger_transfers.c.mode.in_([m.value for m in POSTING_MODES]))
        .order_by(ledger_transfers.c.id)
    )
    return {str(r.key): Money(int(r.amount), str(r.currency)) for r in rows}


def _read_ours(ctx: ServiceContext, processor_name: str) -> _Ours:
    options: dict[str, Any] = {}
    if ctx.engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    ours = _Ours()
    with ctx.engine.connect().execution_options(**options) as conn, conn.begin():
        ours.charges = list(
            conn.execute(
                sa.select(card_charges)
                .where(card_charges.c.processor == processor_name)
                .order_by(card_charges.c.id)
            )
        )
        funding = SqlLedger(conn).account_id("card_funding")
        ours.credits = _posted_sums(conn, ledger_transfers.c.debit_account_id, funding)
        ours.returns = _posted_sums(conn, ledger_transfers.c.credit_account_id, funding)
        ours.payouts = payouts_repo.all_payouts(conn)
        keys: list[str] = []
        for p in ours.payouts:
            keys += [
                payouts_repo.hold_key(p.id),
                payouts_repo.executed_key(p.id),
                payouts_repo.rejected_key(p.id),
            ]
        ours.payout_transfers = SqlLedger(conn).transfers(keys)
    return ours


def _compare_charges(
    ours: _Ours, charges: Iterable[Charge], later: Iterable[Charge], out: list[Difference]
) -> tuple[dict[int, Charge], set[int]]:
    """Charge against row: the processor's charge for each matched row id, and deferred rows.

    ``later`` are the processor's charges left for the next run: their rows are left too.
    """
    by_charge_id = {r.processor_charge_id: r for r in ours.charges if r.processor_charge_id}
    by_key = {r.idempotency_key: r for r in ours.charges}

    def row_of(c: Charge) -> Any:
        found = by_charge_id.get(c.id)
        if found is None and c.idempotency_key:
            # A caller that crashed before recording the outcome has our key but no charge id.
            found = by_key.get(c.idempotency_key)
        return found

    deferred_rows = {int(r.id) for r in map(row_of, later) if r is not None}
    matched: dict[int, Charge] = {}
    for c in charges:
        row = row_of(c)
        if row is None or int(row.id) in matched:
            out.append(
                Difference(
                    CHARGE_UNKNOWN,
                    c.id,
                    f"{c.status} charge with no record of ours",
                    processor=c.amount,
                )
            )
            continue
        matched[int(row.id)] = c
        mine = Money(int(row.amount_cents), str(row.currency))
        if mine != c.amount:
            out.append(Difference(CHARGE_AMOUNT, c.id, f"charge row {row.id}", mine, c.amount))
        if row.status != c.status:
            out.append(
                Difference(
                    CHARGE_STATUS, c.id, f"ours {row.status}, processor {c.status}", mine, c.amount
                )
            )
    for row in ours.charges:
        if int(row.id) in matched or int(row.id) in deferred_rows:
            continue
        # A pending row that never got a processor id charged nothing: consistent.
        if row.processor_charge_id is None and row.status == "pending":
            continue
        out.append(
            Difference(
                CHARGE_MISSING,
                row.processor_charge_id or row.idempotency_key,
                f"{row.status} charge row {row.id} not at the processor",
                ours=Money(int(row.amount_cents), str(row.currency)),
            )
        )
    return matched, deferred_rows


def _compare_credits(
    ours: _Ours, matched: dict[int, Charge], deferred_rows: set[int], out: list[Difference]
) -> None:
    succeeded = {
        card_credit_key(row_id): c for row_id, c in matched.items() if c.status == "succeeded"
    }
    for key, charge in succeeded.items():
        credit = ours.credits.get(key)
        if credit is None:
            out.append(
                Difference(
                    CHARGE_NOT_CREDITED,
                    charge.id,
                    f"no ledger credit {key}",
                    processor=charge.amount,
                )
            )
        elif credit != charge.amount:
            out.append(Difference(CREDIT_AMOUNT, key, f"charge {charge.id}", credit, charge.amount))
    deferred = {card_credit_key(row_id) for row_id in deferred_rows}
    for key, credit in ours.credits.items():
        if key not in succeeded and key not in deferred:
            out.append(
                Difference(
                    CREDIT_WITHOUT_CHARGE,
                    key,
                    "card-funding credit with no succeeded charge at the processor",
                    ours=credit,
                )
            )


def _compare_refunds(
    ours: _Ours, refunds: Iterable[Refund], later: Iterable[Refund], out: list[Difference]
) -> None:
    succeeded = {card_refund_key(r.id): r for r in refunds if r.status == "succeeded"}
    for key, refund in succeeded.items():
        returned = ours.returns.get(key)
        if returned is None:
            out.append(
                Difference(
                    REFUND_NOT_IN_LEDGER,
                    refund.id,
                    f"refund of charge {refund.charge_id} with no ledger transfer {key}",
                    processor=refund.amount,
                )
            )
        elif returned != refund.amount:
            out.append(
                Difference(REFUND_AMOUNT, key, f"refund {refund.id}", returned, refund.amount)
            )
    deferred = {card_refund_key(r.id) for r in later}
    for key, returned in ours.returns.items():
        if key not in succeeded and key not in deferred:
            out.append(
                Difference(
                    REFUND_MISSING,
                    key,
                    "money returned to cards with no succeeded refund at the processor",
                    ours=returned,
                )
            )


def _payout_problem(p: PayoutRow, transfers: dict[str, Recorded]) -> str | None:
    hold = transfers.get(payouts_repo.hold_key(p.id))
    if hold is None or hold.transfer.mode != TransferMode.PENDING:
        return "no pending hold in the ledger"
    if hold.transfer.amount != p.amount:
        return f"hold of {hold.transfer.amount.cents} cents"
    posted = payouts_repo.executed_key(p.id) in transfers
    voided = payouts_repo.rejected_key(p.id) in transfers
    expected = {
        PayoutState.REQUESTED: (False, False),
        PayoutState.EXPORTED: (False, False),
        PayoutState.EXECUTED: (True, False),
        PayoutState.REJECTED: (False, True),
    }[p.state]
    if (posted, voided) != expected or (hold.resolved != (posted or voided)):
        return f"{p.state.value} but hold posted={posted}, voided={voided}"
    return None


def reconcile(ctx: ServiceContext, processor: CardProcessor) -> ReconcileReport:
    """Every difference between the processor, our charge rows, the ledger and the payouts."""
    as_of = ctx.now()
    ours = _read_ours(ctx, processor.name)
    listed_charges = processor.list_charges()
    listed_refunds = processor.list_refunds()
    charges = [c for c in listed_charges if not _after(c.created_at, as_of)]
    later = [c for c in listed_charges if _after(c.created_at, as_of)]
    refunds = [r for r in listed_refunds if not _after(r.created_at, as_of)]
    later_refunds = [r for r in listed_refunds if _after(r.created_at, as_of)]

    differences: list[Difference] = []
    matched, deferred_rows = _compare_charges(ours, charges, later, differences)
    _compare_credits(ours, matched, deferred_rows, differences)
    _compare_refunds(ours, refunds, later_refunds, differences)
    for p in ours.payouts:
        problem = _payout_problem(p, ours.payout_transfers)
        if problem is not None:
            differences.append(Difference(PAYOUT_LEDGER, str(p.id), problem, ours=p.amount))
    return ReconcileReport(
        processor=processor.name,
        as_of=as_of,
        differences=differences,
        processor_charges=len(charges),
        processor_refunds=len(refunds),
        our_charges=len(ours.charges),
        ledger_credits=len(ours.credits),
        ledger_returns=len(ours.returns),
        payouts=len(ours.payouts),
        deferred=len(later) + len(later_refunds),
    )
