"""Who can be told by email: users with a verified address, and the emails they chose."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.sets import one_of
from payez.adapters.db.tables.payments import social_links, users

SWITCHES = (
    "money_received",
    "claim_expiring",
    "payout_executed",
    "confirmation_waiting",
)


@dataclass(frozen=True, slots=True)
class EmailContact:
    user_id: int
    email: str
    language: str
    wants: frozenset[str]  # the notifications switched on, named as in SWITCHES


def reachable(conn: Connection, user_ids: Iterable[int]) -> dict[int, EmailContact]:
    """The users among ``user_ids`` that an email can reach: an address they verified, an
    account neither closed nor handed over. One query, whatever the number of ids."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(
            users.c.id,
            users.c.email,
            users.c.language,
            *(users.c[f"email_{name}"] for name in SWITCHES),
        ).where(
            one_of(conn, users.c.id, ids),
            users.c.email.is_not(None),
            users.c.email_verified_at.is_not(None),
            users.c.status != "closed",
        )
    )
    return {
        int(row.id): EmailContact(
            user_id=int(row.id),
            email=str(row.email),
            language=str(row.language),
            wants=frozenset(name for name in SWITCHES if row._mapping[f"email_{name}"]),
        )
        for row in rows
    }


def public_handle(conn: Connection, user_id: int | None, network: str) -> str:
    """The user's handle on ``network`` as others see it (``@name``), or "" if unlinked."""
    if user_id is None:
        return ""
    found = conn.execute(
        sa.select(social_links.c.handle)
        .where(social_links.c.user_id == user_id, social_links.c.network == network)
        .limit(1)
    ).scalar()
    return f"@{str(found).lstrip('@')}" if found else ""
