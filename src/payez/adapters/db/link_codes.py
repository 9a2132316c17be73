"""The link codes repository: one live code per user, spent once by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.link_codes import link_codes


@dataclass(frozen=True, slots=True)
class LinkCodeRow:
    id: int
    user_id: int
    expires_at: datetime
    used_at: datetime | None


def replace_code(
    conn: Connection, *, user_id: int, code_hash: str, now: datetime, expires_at: datetime
) -> None:
    """The user's new code; their unused ones are forgotten, so only the newest links."""
    conn.execute(
        link_codes.delete().where(link_codes.c.user_id == user_id, link_codes.c.used_at.is_(None))
    )
    conn.execute(
        link_codes.insert().values(
            user_id=user_id, code_hash=code_hash, created_at=now, expires_at=expires_at
        )
    )


def by_hash(conn: Connection, code_hash: str) -> LinkCodeRow | None:
    row = conn.execute(
        sa.select(
            link_codes.c.id, link_codes.c.user_id, link_codes.c.expires_at, link_codes.c.used_at
        ).where(link_codes.c.code_hash == code_hash)
    ).first()
    if row is None:
        return None
    return LinkCodeRow(int(row.id), int(row.user_id), row.expires_at, row.used_at)


def spend(conn: Connection, code_id: int, now: datetime) -> bool:
    """Mark the code used if it is still live; False when another post spent it first (the
    row lock makes a concurrent spender wait, then find ``used_at`` set)."""
    result = conn.execute(
        link_codes.update()
        .where(
            link_codes.c.id == code_id,
            link_codes.c.used_at.is_(None),
            link_codes.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


def live_code_expiry(conn: Connection, user_id: int, now: datetime) -> datetime | None:
    """When the user's unused code expires, if they have one still live."""
    found = conn.execute(
        sa.select(link_codes.c.expires_at)
        .where(
            link_codes.c.user_id == user_id,
            link_codes.c.used_at.is_(None),
            link_codes.c.expires_at > now,
        )
        .order_by(link_codes.c.expires_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return found if isinstance(found, datetime) else None
