"""The account links repository: password reset tokens, link requests, verified addresses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.account_links import email_link_requests, password_resets
from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.web import web_sessions


@dataclass(frozen=True, slots=True)
class EmailState:
    user_id: int
    email: str | None
    email_verified_at: datetime | None
    language: str


def email_state(conn: Connection, user_id: int) -> EmailState | None:
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.email_verified_at, users.c.language).where(
            users.c.id == user_id
        )
    ).first()
    if row is None:
        return None
    return EmailState(int(row.id), row.email, row.email_verified_at, str(row.language))


def user_by_email(conn: Connection, email: str) -> EmailState | None:
    row = conn.execute(sa.select(users.c.id).where(users.c.email == email)).first()
    return email_state(conn, int(row.id)) if row else None


def mark_email_verified(conn: Connection, user_id: int, email: str, now: datetime) -> bool:
    """Verified if ``email`` is still the user's address; the first moment is kept."""
    result = conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.email == email, users.c.email_verified_at.is_(None))
        .values(email_verified_at=now)
    )
    if result.rowcount:
        return True
    found = conn.execute(
        sa.select(users.c.id).where(
            users.c.id == user_id, users.c.email == email, users.c.email_verified_at.is_not(None)
        )
    ).first()
    return found is not None


# -- password resets --------------------------------------------------------------------------


def insert_reset(
    conn: Connection, *, user_id: int, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        password_resets.insert().values(
            user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
    )


def live_reset_user(conn: Connection, token_hash: str, now: datetime) -> int | None:
    """The user of an unused, unexpired reset token."""
    found = conn.execute(
        sa.select(password_resets.c.user_id).where(
            password_resets.c.token_hash == token_hash,
            password_resets.c.used_at.is_(None),
            password_resets.c.expires_at > now,
        )
    ).first()
    return int(found.user_id) if found else None


def use_reset(conn: Connection, token_hash: str, now: datetime) -> int | None:
    """Spend a live token: the user it resets, or None. The conditional update makes two
    concurrent uses of one link spend it once."""
    user_id = live_reset_user(conn, token_hash, now)
    if user_id is None:
        return None
    spent = conn.execute(
        password_resets.update()
        .where(
            password_resets.c.token_hash == token_hash,
            password_resets.c.used_at.is_(None),
            password_resets.c.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    return user_id if spent == 1 else None


def spend_other_resets(conn: Connection, user_id: int, now: datetime) -> None:
    """A password just set makes every other outstanding link of the user useless."""
    conn.execute(
        password_resets.update()
        .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
        .values(used_at=now)
    )


# -- link requests (rate limits) --------------------------------------------------------------


def record_request(conn: Connection, *, purpose: str, email: str, ip: str, now: datetime) -> None:
    conn.execute(
        email_link_requests.insert().values(purpose=purpose, email=email, ip=ip, requested_at=now)
    )


def delete_requests_before(conn: Connection, before: datetime) -> None:
    conn.execute(email_link_requests.delete().where(email_link_requests.c.requested_at < before))


def requests_since(
    conn: Connection,
    purpose: str,
    since: datetime,
    *,
    email: str | None = None,
    ip: str | None = None,
) -> int:
    query = sa.select(sa.func.count()).where(
        email_link_requests.c.purpose == purpose, email_link_requests.c.requested_at > since
    )
    if email is not None:
        query = query.where(email_link_requests.c.email == email)
    if ip is not None:
        query = query.where(email_link_requests.c.ip == ip)
    return int(conn.execute(query).scalar_one())


# -- sessions ---------------------------------------------------------------------------------


def end_sessions(conn: Connection, user_id: int, *, keep_hash: str | None = None) -> int:
    """Delete every session of the user but ``keep_hash``'s; how many ended."""
    query = web_sessions.delete().where(web_sessions.c.user_id == user_id)
    if keep_hash is not None:
        query = query.where(web_sessions.c.token_hash != keep_hash)
    return conn.execute(query).rowcount
