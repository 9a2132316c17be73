"""The web accounts repository: logins, sessions, login attempts, identity checks, cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.email_contacts import SWITCHES as EMAIL_SWITCHES
from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.web import identity_checks, login_attempts, user_cards, web_sessions


@dataclass(frozen=True, slots=True)
class Profile:
    """What the web app shows and edits of its logged-in user."""

    id: int
    email: str | None
    display_name: str
    language: str
    time_zone: str
    hide_amount: bool
    notify_received: bool
    identity_verified: bool
    card_customer_id: str | None
    status: str
    wallet_account_id: int
    # The notifications by email switched on (adapters/db/email_contacts.SWITCHES).
    emails_wanted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CardRow:
    processor: str
    payment_method_id: str
    brand: str
    last4: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IdentityCheckRow:
    outcome: str
    reason: str | None
    created_at: datetime


def profile(conn: Connection, user_id: int) -> Profile | None:
    row = conn.execute(
        sa.select(
            users.c.id,
            users.c.email,
            users.c.display_name,
            users.c.language,
            users.c.time_zone,
            users.c.hide_amount,
            users.c.notify_received,
            users.c.identity_verified,
            users.c.card_customer_id,
            users.c.status,
            users.c.wallet_account_id,
            *(users.c[f"email_{name}"] for name in EMAIL_SWITCHES),
        ).where(users.c.id == user_id)
    ).first()
    if row is None:
        return None
    return Profile(
        id=int(row.id),
        email=row.email,
        display_name=str(row.display_name),
        language=str(row.language),
        time_zone=str(row.time_zone),
        hide_amount=bool(row.hide_amount),
        notify_received=bool(row.notify_received),
        identity_verified=bool(row.identity_verified),
        card_customer_id=row.card_customer_id,
        status=str(row.status),
        wallet_account_id=int(row.wallet_account_id),
        emails_wanted=frozenset(n for n in EMAIL_SWITCHES if row._mapping[f"email_{n}"]),
    )


def login_by_email(conn: Connection, email: str) -> tuple[int, str | None] | None:
    row = conn.execute(
        sa.select(users.c.id, users.c.password_hash).where(users.c.email == email)
    ).first()
    return (int(row.id), row.password_hash) if row else None


def email_taken(conn: Connection, email: str) -> bool:
    found = conn.execute(sa.select(users.c.id).where(users.c.email == email)).first()
    return found is not None


def update_user(conn: Connection, user_id: int, **values: object) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


# -- sessions ---------------------------------------------------------------------------------


def insert_session(
    conn: Connection, *, token_hash: str, user_id: int, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        web_sessions.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


@dataclass(frozen=True, slots=True)
class SessionUser:
    user_id: int
    language: str
    time_zone: str


def session_user(conn: Connection, token_hash: str, now: datetime) -> SessionUser | None:
    """Who is behind a live session, or None when it is unknown or expired."""
    found = conn.execute(
        sa.select(web_sessions.c.user_id, users.c.language, users.c.time_zone)
        .join(users, users.c.id == web_sessions.c.user_id)
        .where(
            web_sessions.c.token_hash == token_hash,
            web_sessions.c.expires_at > now,
            users.c.status != "closed",
        )
    ).first()
    if found is None:
        return None
    return SessionUser(int(found.user_id), str(found.language), str(found.time_zone))


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash))


def delete_expired_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(web_sessions.delete().where(web_sessions.c.expires_at <= now)).rowcount


# -- login attempts ---------------------------------------------------------------------------


def record_attempt(
    conn: Connection, *, email: str, ip: str, succeeded: bool, now: datetime
) -> None:
    conn.execute(
        login_attempts.insert().values(email=email, ip=ip, succeeded=succeeded, attempted_at=now)
    )


def delete_attempts_before(conn: Connection, before: datetime) -> int:
    return conn.execute(
        login_attempts.delete().where(login_attempts.c.attempted_at < before)
    ).rowcount


def failures_since(
    conn: Connection, since: datetime, *, email: str | None = None, ip: str | None = None
) -> int:
    query = sa.select(sa.func.count()).where(
        login_attempts.c.succeeded.is_(False), login_attempts.c.attempted_at > since
    )
    if email is not None:
        query = query.where(login_attempts.c.email == email)
    if ip is not None:
        query = query.where(login_attempts.c.ip == ip)
    return int(conn.execute(query).scalar_one())


# -- identity checks and cards ----------------------------------------------------------------


def insert_identity_check(
    conn: Connection,
    *,
    user_id: int,
    verifier: str,
    reference: str,
    outcome: str,
    reason: str | None,
    full_name: str,
    birth_date: date,
    now: datetime,
) -> None:
    conn.execute(
        identity_checks.insert().values(
            user_id=user_id,
            verifier=verifier,
            reference=reference,
            outcome=outcome,
            reason=reason,
            full_name=full_name,
            birth_date=birth_date,
            created_at=now,
        )
    )


def latest_identity_check(conn: Connection, user_id: int) -> IdentityCheckRow | None:
    row = conn.execute(
        sa.select(identity_checks.c.outcome, identity_checks.c.reason, identity_checks.c.created_at)
        .where(identity_checks.c.user_id == user_id)
        .order_by(identity_checks.c.id.desc())
        .limit(1)
    ).first()
    return IdentityCheckRow(str(row.outcome), row.reason, row.created_at) if row else None


def insert_card(
    conn: Connection,
    *,
    user_id: int,
    processor: str,
    payment_method_id: str,
    brand: str,
    last4: str,
    now: datetime,
) -> None:
    conn.execute(
        user_cards.insert().values(
            user_id=user_id,
            processor=processor,
            payment_method_id=payment_method_id,
            brand=brand,
            last4=last4,
            created_at=now,
        )
    )


def latest_card(conn: Connection, user_id: int) -> CardRow | None:
    """The card saved last: the processor charges it (it is the customer's default)."""
    row = conn.execute(
        sa.select(
            user_cards.c.processor,
            user_cards.c.payment_method_id,
            user_cards.c.brand,
            user_cards.c.last4,
            user_cards.c.created_at,
        )
        .where(user_cards.c.user_id == user_id)
        .order_by(user_cards.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return CardRow(
        str(row.processor),
        str(row.payment_method_id),
        str(row.brand),
        str(row.last4),
        row.created_at,
    )
