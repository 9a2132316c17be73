"""Exactly-once card charges and webhooks, on our own rows rather than the processor's keys.

Processors may ignore idempotency keys (localstripe does; Stripe forgets them after a day), so
``charge_once`` commits a ``card_charges`` row before it calls the processor:

1. the first call inserts the row (``pending``, one attempt, claimed for ``claim_for``) and
   commits, then charges;
2. a later call with the same key returns the recorded outcome when it is final, without
   calling the processor; refreshes it from the processor when it awaits authentication;
3. a call that finds the row ``pending`` with an expired claim (the previous caller crashed
   between the processor call and the recording) first searches the processor for a charge
   carrying our key, and only charges when there is none;
4. while another caller holds the claim it raises :class:`ChargeInProgress`.

``apply_webhook_once`` records each event id in ``processed_webhooks`` in the same transaction
as its effect, so a redelivered event does nothing. It never trusts the order of events: it
reads the charge's current state from the processor, and a final status never changes again.

Both take an ``on_change`` hook, called inside the transaction that changes a row's status and
only then: a status change happens once, whichever of the two paths (the caller's own call or
the processor's webhook) wins, so ledger effects written by the hook happen once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.tables.card_charges import card_charges, processed_webhooks
from payez.domain.errors import InvalidInput, PayezError
from payez.domain.money import Money
from payez.ports.cards import FINAL_CHARGE_STATUSES, CardProcessor, Charge, WebhookEvent
from payez.ports.clock import Clock, SystemClock

DEFAULT_CLAIM = timedelta(minutes=2)
# How far before our row's creation the processor's clock may put the charge.
SEARCH_MARGIN = timedelta(minutes=15)
_OPEN_STATUSES = ("pending", "requires_action")

WebhookOutcome = Literal["applied", "unchanged", "ignored", "duplicate"]


class ChargeInProgress(PayezError):
    code = "charge_in_progress"
    message_fr = "Un paiement par carte est déjà en cours pour cette opération ; réessayez."
    message_en = "A card payment is already in progress for this operation; try again."


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    message_fr = "Cette opération a déjà été demandée avec un autre montant ou un autre client."
    message_en = "This operation was already requested with another amount or customer."


@dataclass(frozen=True, slots=True)
class CardChargeRecord:
    id: int
    idempotency_key: str
    customer_id: str
    amount: Money
    status: str
    processor_charge_id: str | None
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class ChargeTransition:
    """A row's status change, handed to ``on_change`` inside the changing transaction."""

    record: CardChargeRecord
    previous_status: str


ChangeHook = Callable[[Connection, ChargeTransition], None]


def _record(row: Any) -> CardChargeRecord:
    return CardChargeRecord(
        id=int(row.id),
        idempotency_key=row.idempotency_key,
        customer_id=row.customer_id,
        amount=Money(int(row.amount_cents), row.currency),
        status=row.status,
        processor_charge_id=row.processor_charge_id,
        failure_code=row.failure_code,
    )


def _select(conn: Connection, key: str) -> Any:
    return conn.execute(
        sa.select(card_charges).where(card_charges.c.idempotency_key == key)
    ).one_or_none()


def _charge_from_row(row: Any) -> Charge:
    return Charge(
        id=row.processor_charge_id or "",
        amount=Money(int(row.amount_cents), row.currency),
        status=row.status,
        failure_code=row.failure_code,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class _Claimed:
    row_id: int
    created_at: datetime
    search_first: bool


def _claim(
    engine: Engine,
    processor: CardProcessor,
    *,
    key: str,
    customer_id: str,
    amount: Money,
    now: datetime,
    claim_for: timedelta,
) -> _Claimed | Any:
    """Claim the row for ``key`` (creating it), or return the existing row to answer from."""
    try:
        with engine.begin() as conn:
            row = _select(conn, key)
            if row is None:
                row_id = conn.execute(
                    card_charges.insert()
                    .values(
                        idempotency_key=key,
                        processor=processor.name,
                        customer_id=customer_id,
                        amount_cents=amount.cents,
                        currency=amount.currency,
                        status="pending",
                        attempts=1,
                        claimed_until=now + claim_for,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(card_charges.c.id)
                ).scalar_one()
                return _Claimed(int(row_id), now, search_first=False)
    except IntegrityError:
        pass  # Another caller inserted the same key first: answer from its row below.
    with engine.begin() as conn:
        row = _select(conn, key)
        if (row.customer_id, int(row.amount_cents), row.currency) != (
            customer_id,
            amount.cents,
            amount.currency,
        ):
            raise IdempotencyKeyReused(key)
        if row.status != "pending":
            return row
        claimed = conn.execute(
            card_charges.update()
            .where(
                card_charges.c.id == row.id,
                card_charges.c.status == "pending",
                sa.or_(card_charges.c.claimed_until.is_(None), card_charges.c.claimed_until < now),
            )
            .values(
                claimed_until=now + claim_for,
                attempts=card_charges.c.attempts + 1,
                updated_at=now,
            )
        ).rowcount
        if not claimed:
            raise ChargeInProgress(key)
        return _Claimed(int(row.id), row.created_at, search_first=row.attempts > 0)


def _find_by_key(processor: CardProcessor, key: str, since: datetime) -> Charge | None:
    for charge in processor.list_charges(since=since):
        if charge.idempotency_key == key:
            return charge
    return None


def _store_outcome(
    conn: Connection, row_id: int, charge: Charge, now: datetime, on_change: ChangeHook | None
) -> bool:
    """Write the processor's view of the charge on our row; True when the status changed."""
    before = conn.execute(
        sa.select(card_charges).where(card_charges.c.id == row_id).with_for_update()
    ).one()
    if before.status in FINAL_CHARGE_STATUSES:
        return False
    changed = bool(before.status != charge.status)
    conn.execute(
        card_charges.update()
        .where(card_charges.c.id == row_id, card_charges.c.status.in_(_OPEN_STATUSES))
        .values(
            status=charge.status,
            processor_charge_id=charge.id,
            failure_code=charge.failure_code,
            claimed_until=None,
            updated_at=now,
        )
    )
    if changed and on_change is not None:
        after = conn.execute(sa.select(card_charges).where(card_charges.c.id == row_id)).one()
        on_change(conn, ChargeTransition(_record(after), previous_status=before.status))
    return changed


def charge_once(
    engine: Engine,
    processor: CardProcessor,
    *,
    key: str,
    customer_id: str,
    amount: Money,
    description: str,
    clock: Clock | None = None,
    claim_for: timedelta = DEFAULT_CLAIM,
    on_change: ChangeHook | None = None,
) -> Charge:
    """Charge ``customer_id`` at most once for ``key``; see the module docstring."""
    if not amount.is_positive:
        raise InvalidInput(f"charge amount must be positive, got {amount.cents}")
    clock = clock or SystemClock()
    outcome = _claim(
        engine,
        processor,
        key=key,
        customer_id=customer_id,
        amount=amount,
        now=clock.now(),
        claim_for=claim_for,
    )
    if not isinstance(outcome, _Claimed):
        row = outcome
        if row.status in FINAL_CHARGE_STATUSES:
            return _charge_from_row(row)
        # Awaiting authentication: the cardholder may have answered since.
        charge = processor.retrieve_charge(row.processor_charge_id)
        with engine.begin() as conn:
            _store_outcome(conn, int(row.id), charge, clock.now(), on_change)
        return charge
    try:
        found = None
        if outcome.search_first:
            found = _find_by_key(processor, key, outcome.created_at - SEARCH_MARGIN)
        charge = found or processor.charge(
            customer_id=customer_id, amount=amount, idempotency_key=key, description=description
        )
    except Exception:
        # We know we are no longer talking to the processor: let the next call retry at once
        # (it searches before charging, since this attempt may have reached the processor).
        with engine.begin() as conn:
            conn.execute(
                card_charges.update()
                .where(card_charges.c.id == outcome.row_id, card_charges.c.status == "pending")
                .values(claimed_until=None)
            )
        raise
    with engine.begin() as conn:
        _store_outcome(conn, outcome.row_id, charge, clock.now(), on_change)
    return charge


def apply_webhook_once(
    engine: Engine,
    processor: CardProcessor,
    event: WebhookEvent,
    *,
    clock: Clock | None = None,
    on_change: ChangeHook | None = None,
) -> WebhookOutcome:
    """Apply a verified charge event once; other event types are recorded and ignored."""
    clock = clock or SystemClock()
    with engine.connect() as conn:
        seen = conn.execute(
            sa.select(processed_webhooks.c.event_id).where(
                processed_webhooks.c.processor == processor.name,
                processed_webhooks.c.event_id == event.id,
            )
        ).one_or_none()
    if seen is not None:
        return "duplicate"
    charge = (
        processor.retrieve_charge(event.object_id)
        if event.type.startswith("payment_intent.")
        else None
    )
    outcome: WebhookOutcome = "ignored"
    try:
        with engine.begin() as conn:
            if charge is not None:
                match = card_charges.c.processor_charge_id == charge.id
                if charge.idempotency_key:
                    # A caller that crashed before recording has our key but no charge id yet.
                    match = sa.or_(match, card_charges.c.idempotency_key == charge.idempotency_key)
                row = conn.execute(
                    sa.select(card_charges.c.id).where(
                        card_charges.c.processor == processor.name, match
                    )
                ).first()
                if row is not None:
                    changed = _store_outcome(conn, int(row.id), charge, clock.now(), on_change)
                    outcome = "applied" if changed else "unchanged"
            # Recorded last, in the same transaction: a concurrent delivery of the same event
            # fails here and rolls back everything it did.
            conn.execute(
                processed_webhooks.insert().values(
                    processor=processor.name,
                    event_id=event.id,
                    event_type=event.type[:64],
                    object_id=event.object_id[:64],
                    outcome=outcome,
                    processed_at=clock.now(),
                )
            )
    except IntegrityError:
        return "duplicate"
    return outcome
