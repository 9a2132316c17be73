"""Use case: the figures operators watch — payments by state, outbox depth, inbox backlog,
and how long posts wait between being seen and being decided."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from payez.adapters.db import payments as payments_repo
from payez.adapters.db.tables.payments import inbox, outbox, payments
from payez.service.context import ServiceContext

LATENCY_SAMPLE = 200


@dataclass(frozen=True, slots=True)
class HealthFigures:
    payments_by_state: dict[str, int]
    outbox_by_state: dict[str, int]
    inbox_backlog: int
    # Seconds from "post seen" to "payment decided", over the latest decisions.
    latency_p50_seconds: float
    latency_max_seconds: float
    # Seconds from "post written" to "post seen" (the listeners' lag), over the latest posts.
    listener_lag_p50_seconds: float = 0.0
    listener_lag_max_seconds: float = 0.0


def health_figures(ctx: ServiceContext) -> HealthFigures:
    with ctx.engine.connect() as conn:
        by_state = payments_repo.count_by_state(conn)
        outbox_rows = conn.execute(
            sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
        ).all()
        backlog = conn.execute(
            sa.select(sa.func.count()).where(inbox.c.processed.is_(False))
        ).scalar_one()
        recent = conn.execute(
            sa.select(inbox.c.seen_at, payments.c.created_at)
            .join(inbox, inbox.c.id == payments.c.inbox_id)
            .order_by(payments.c.id.desc())
            .limit(LATENCY_SAMPLE)
        ).all()
        seen = conn.execute(
            sa.select(inbox.c.posted_at, inbox.c.seen_at)
            .order_by(inbox.c.id.desc())
            .limit(LATENCY_SAMPLE)
        ).all()
    lags = sorted(max(0.0, (r.seen_at - r.posted_at).total_seconds()) for r in seen)
    waits = sorted(max(0.0, (r.created_at - r.seen_at).total_seconds()) for r in recent)
    return HealthFigures(
        payments_by_state=by_state,
        outbox_by_state={str(s): int(n) for s, n in outbox_rows},
        inbox_backlog=int(backlog),
        latency_p50_seconds=waits[len(waits) // 2] if waits else 0.0,
        latency_max_seconds=waits[-1] if waits else 0.0,
        listener_lag_p50_seconds=lags[len(lags) // 2] if lags else 0.0,
        listener_lag_max_seconds=lags[-1] if lags else 0.0,
    )
