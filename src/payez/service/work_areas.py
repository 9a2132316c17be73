"""Use case: which working areas a user may open besides the dashboard."""

from __future__ import annotations

from payez.adapters.db import users as users_repo
from payez.service.context import ServiceContext
from payez.service.operators import role_of

# Area name -> the page it opens.
AREA_PATHS = {"merchant": "/merchant", "association": "/association", "backoffice": "/backoffice"}


def work_areas(ctx: ServiceContext, user_id: int) -> list[tuple[str, str]]:
    """(area, path) pairs: the merchant or association area by account kind, the back-office
    for operators."""
    with ctx.engine.connect() as conn:
        user = users_repo.get_user(conn, user_id)
    areas = [user.kind] if user is not None and user.kind in ("merchant", "association") else []
    if role_of(ctx, user_id) is not None:
        areas.append("backoffice")
    return [(area, AREA_PATHS[area]) for area in areas]
