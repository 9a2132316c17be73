"""Use case: operators export the waiting payouts from the back-office and download the files.

The file goes to ``PAYEZ_PAYOUT_EXPORT_DIR`` under a fresh name; the export and its audit
entry commit together. Downloading a file (it holds IBANs and names) is audited too.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db.payouts import PayoutBatchRow
from payez.adapters.db.tables.payouts import payout_batches, payouts
from payez.domain.errors import NotFound
from payez.domain.money import Money
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.export_payouts import ExportResult, export_payouts
from payez.service.operators import check_operator, require_operator

_BATCH_ID = re.compile(r"^[A-Za-z0-9\-]{1,35}$")


class PayoutFileUnknown(NotFound):
    code = "payout_file_unknown"
    message_fr = "Fichier de virements introuvable."
    message_en = "Payout file not found."


@dataclass(frozen=True, slots=True)
class PayoutsOverview:
    waiting: int
    waiting_total: Money
    batches: tuple[PayoutBatchRow, ...]


def export_dir(ctx: ServiceContext) -> Path:
    return Path(ctx.settings.payout_export_dir)


def payouts_overview(ctx: ServiceContext, limit: int = 50) -> PayoutsOverview:
    with ctx.engine.connect() as conn:
        count, total = conn.execute(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(payouts.c.amount_cents), 0)
            ).where(payouts.c.state == payouts_repo.PayoutState.REQUESTED.value)
        ).one()
        ids = conn.execute(
            sa.select(payout_batches.c.id)
            .order_by(payout_batches.c.created_at.desc(), payout_batches.c.id.desc())
            .limit(limit)
        ).scalars()
        batches = [payouts_repo.get_batch(conn, str(i)) for i in ids]
    return PayoutsOverview(
        int(count), Money.eur(int(total)), tuple(b for b in batches if b is not None)
    )


def run_payout_export(ctx: ServiceContext, operator_id: int) -> ExportResult:
    require_operator(ctx, operator_id)
    directory = export_dir(ctx)
    directory.mkdir(parents=True, exist_ok=True)
    now = ctx.now()
    out = directory / f"payez-payouts-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.xml"

    def audit(conn: Connection, result: ExportResult) -> None:
        check_operator(conn, operator_id)
        record(
            conn,
            operator_user_id=operator_id,
            action="payouts.export",
            target=f"batch:{result.batch_id}",
            details={
                "payout_ids": list(result.payout_ids),
                "total_cents": result.total.cents,
                "file": out.name,
            },
            now=now,
        )

    return export_payouts(ctx, out, within=audit)


def payout_file(ctx: ServiceContext, operator_id: int, batch_id: str) -> tuple[str, bytes]:
    """The batch's file name and content, the download recorded in the audit log."""
    if not _BATCH_ID.match(batch_id):
        raise PayoutFileUnknown(batch_id[:40])
    with ctx.engine.begin() as conn:
        check_operator(conn, operator_id)
        batch = payouts_repo.get_batch(conn, batch_id)
        if batch is None:
            raise PayoutFileUnknown(batch_id)
        # Only a plain name inside the export directory is ever served.
        path = export_dir(ctx) / Path(batch.file_name).name
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PayoutFileUnknown(batch_id) from exc
        record(
            conn,
            operator_user_id=operator_id,
            action="payouts.download",
            target=f"batch:{batch_id}",
            details={"file": path.name, "bytes": len(content)},
            now=ctx.now(),
        )
    return path.name, content
