"""Use case: the notifications a user reads in the app (replies the networks' budgets could not
afford to post)."""

from __future__ import annotations

from payez.adapters.db import notifications as notifications_repo
from payez.adapters.db.notifications import Notification
from payez.service.context import ServiceContext


def latest_notifications(ctx: ServiceContext, user_id: int, limit: int = 10) -> list[Notification]:
    with ctx.engine.connect() as conn:
        return notifications_repo.latest(conn, user_id, limit)
