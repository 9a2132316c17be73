"""Use case: write one pain.001 file with every payout not yet exported, and mark them.

Order of events, chosen so that no failure can make the bank pay a payout twice:

1. in one transaction: lock the requested payouts, check each one's ledger hold, build and
   validate the file, record the batch, move the payouts to ``exported`` (compare-and-set)
   and write the file to a temporary name beside the destination (flushed to disk);
2. commit; any failure before this point rolls everything back and deletes the temporary
   file, so nothing is marked and no file appears;
3. rename the temporary file to the destination, atomically.

A crash between 2 and 3 leaves the payouts exported and the complete file under its
temporary name (``.NAME.*.tmp``), never a second file with the same payouts in it: the next
export does not pick them up again.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payouts import PayoutRow, PayoutState
from payez.adapters.payouts.sepa import SepaPayoutRail
from payez.domain.errors import InvalidInput, PayezError
from payez.domain.ledger import TransferMode
from payez.domain.money import Money
from payez.ports.payouts import DebtorAccount, PayoutInstruction, PayoutRail
from payez.service.context import ServiceContext


class PayoutFileExists(InvalidInput):
    code = "payout_file_exists"
    message_fr = "Ce fichier existe déjà : choisissez un autre nom (rien n'a été exporté)."
    message_en = "This file already exists: choose another name (nothing was exported)."


class PayoutFileNotWritten(PayezError):
    code = "payout_file_not_written"
    message_fr = "Le fichier de virements n'a pas pu être écrit : rien n'a été exporté."
    message_en = "The payout file could not be written: nothing was exported."


class PayoutFileNotPublished(PayezError):
    """Committed, but the final rename failed: the file is complete under its temporary name."""

    code = "payout_file_not_published"
    message_fr = (
        "Les virements sont exportés mais le fichier est resté sous son nom temporaire : "
        "renommez-le avant de l'envoyer à la banque."
    )
    message_en = (
        "The payouts are exported but the file kept its temporary name: "
        "rename it before sending it to the bank."
    )


class PayoutHoldMismatch(PayezError):
    """A payout's ledger hold is missing, resolved or of another amount: a bug, not exported."""

    code = "payout_hold_mismatch"
    message_fr = "La retenue d'un virement ne correspond pas au grand livre : rien n'a été exporté."
    message_en = "A payout's hold does not match the ledger: nothing was exported."


class PayoutExportConflict(PayezError):
    code = "payout_export_conflict"
    message_fr = "Des virements ont changé pendant l'export : rien n'a été exporté, réessayez."
    message_en = "Payouts changed during the export: nothing was exported, try again."


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export did; ``batch_id`` is None when there was nothing to export."""

    batch_id: str | None
    payout_ids: tuple[int, ...]
    total: Money
    path: Path | None

    def as_json(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "payout_ids": list(self.payout_ids),
            "count": len(self.payout_ids),
            "total_cents": self.total.cents,
            "currency": self.total.currency,
            "file": str(self.path) if self.path else None,
        }


def new_batch_id(now: datetime) -> str:
    """A fresh pain.001 message id: 28 characters of the SEPA identifier set."""
    return f"PAYEZ-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3).upper()}"


def debtor_from(ctx: ServiceContext) -> DebtorAccount:
    s = ctx.settings
    return DebtorAccount(s.payout_debtor_name, s.payout_debtor_iban, s.payout_debtor_bic or None)


def instruction_for(payout: PayoutRow) -> PayoutInstruction:
    return PayoutInstruction(
        payout_id=payouts_repo.end_to_end_id(payout.id),
        amount=payout.amount,
        creditor_name=payout.creditor_name,
        iban=payout.iban,
        remittance=f"Payez retrait {payout.id}",
    )


def _check_holds(conn: Connection, pending: list[PayoutRow]) -> None:
    """Every payout about to be paid has its money held, unresolved, for exactly its amount."""
    stored = SqlLedger(conn).transfers([payouts_repo.hold_key(p.id) for p in pending])
    for p in pending:
        found = stored.get(payouts_repo.hold_key(p.id))
        if (
            found is None
            or found.resolved
            or found.transfer.mode != TransferMode.PENDING
            or found.transfer.amount != p.amount
        ):
            raise PayoutHoldMismatch(f"payout {p.id}")


def _write_temporary(out: Path, document: bytes) -> Path:
    try:
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    except OSError as exc:
        raise PayoutFileNotWritten(f"{out}: {exc}") from exc
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(document)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise PayoutFileNotWritten(f"{out}: {exc}") from exc
    return temp


def _publish(temp: Path, out: Path) -> None:
    try:
        os.replace(temp, out)
    except OSError as exc:
        raise PayoutFileNotPublished(f"{temp} -> {out}: {exc}") from exc
    # The rename itself must survive a power cut, not only the file's bytes.
    try:
        directory = os.open(out.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def export_payouts(
    ctx: ServiceContext,
    out: Path,
    *,
    rail: PayoutRail | None = None,
    execution_date: date | None = None,
    within: Callable[[Connection, ExportResult], None] | None = None,
) -> ExportResult:
    """Export every requested payout to ``out`` (see the module docstring for the order).

    ``within`` runs in the export's transaction once the batch is recorded (the back-office
    writes its audit entry there, so the entry and the export commit together).
    """
    rail = rail or SepaPayoutRail(now=ctx.now)
    out = Path(out)
    temp: Path | None = None
    try:
        with ctx.engine.connect() as conn, conn.begin():
            pending = payouts_repo.payouts_in_state(conn, PayoutState.REQUESTED, lock=True)
            if not pending:
                return ExportResult(None, (), Money.zero("EUR"), None)
            if out.exists():
                raise PayoutFileExists(str(out))
            _check_holds(conn, pending)
            now = ctx.now()
            batch_id = new_batch_id(now)
            document = rail.export(
                [instruction_for(p) for p in pending],
                debtor=debtor_from(ctx),
                execution_date=execution_date or now.date(),
                message_id=batch_id,
            )
            total = Money.zero("EUR")
            for p in pending:
                total = total + p.amount
            payouts_repo.insert_batch(
                conn,
                batch_id=batch_id,
                payout_count=len(pending),
                total=total,
                execution_date=execution_date or now.date(),
                file_name=out.name,
                now=now,
            )
            ids = [p.id for p in pending]
            moved = payouts_repo.move_state(
                conn,
                ids,
                from_states=[PayoutState.REQUESTED],
                to_state=PayoutState.EXPORTED,
                now=now,
                batch_id=batch_id,
            )
            if moved != len(ids):
                raise PayoutExportConflict(f"{moved} of {len(ids)} moved")
            if within is not None:
                within(conn, ExportResult(batch_id, tuple(ids), total, out))
            temp = _write_temporary(out, document)
    except BaseException:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    _publish(temp, out)
    return ExportResult(batch_id, tuple(ids), total, out)
