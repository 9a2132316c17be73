"""The operators repository: who may use the back-office, and with which role."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.backoffice import operators


def role_of(conn: Connection, user_id: int) -> str | None:
    found = conn.execute(
        sa.select(operators.c.role).where(operators.c.user_id == user_id)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def set_role(
    conn: Connection, user_id: int, role: str, *, granted_by: int | None, now: datetime
) -> str | None:
    """Give ``user_id`` this role; returns the role they had before (None: none)."""
    before = role_of(conn, user_id)
    if before is None:
        conn.execute(
            operators.insert().values(
                user_id=user_id, role=role, granted_at=now, granted_by=granted_by
            )
        )
    elif before != role:
        conn.execute(
            operators.update()
            .where(operators.c.user_id == user_id)
            .values(role=role, granted_at=now, granted_by=granted_by)
        )
    return before


def remove(conn: Connection, user_id: int) -> str | None:
    """Take the role away; returns the role they had (None: they had none)."""
    before = role_of(conn, user_id)
    if before is not None:
        conn.execute(operators.delete().where(operators.c.user_id == user_id))
    return before


def all_operators(conn: Connection) -> list[tuple[int, str]]:
    rows = conn.execute(sa.select(operators.c.user_id, operators.c.role).order_by("user_id"))
    return [(int(r.user_id), str(r.role)) for r in rows]
