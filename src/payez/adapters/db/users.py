"""The users repository: people, associations and merchants, and their linked social accounts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.sets import one_of
from payez.adapters.db.tables.payments import social_links, users


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    kind: str
    display_name: str
    status: str
    identity_verified: bool
    organisation_verified: bool
    wallet_account_id: int
    language: str
    hide_amount: bool
    card_customer_id: str | None = None
    notify_received: bool = False

    @property
    def is_frozen(self) -> bool:
        return self.status == "frozen"


_USER_COLUMNS = (
    users.c.id,
    users.c.kind,
    users.c.display_name,
    users.c.status,
    users.c.identity_verified,
    users.c.organisation_verified,
    users.c.wallet_account_id,
    users.c.language,
    users.c.hide_amount,
    users.c.card_customer_id,
    users.c.notify_received,
)


def _user(row: Any) -> UserRow:
    m = row._mapping
    return UserRow(
        id=int(m["id"]),
        kind=str(m["kind"]),
        display_name=str(m["display_name"]),
        status=str(m["status"]),
        identity_verified=bool(m["identity_verified"]),
        organisation_verified=bool(m["organisation_verified"]),
        wallet_account_id=int(m["wallet_account_id"]),
        language=str(m["language"]),
        hide_amount=bool(m["hide_amount"]),
        card_customer_id=m["card_customer_id"],
        notify_received=bool(m["notify_received"]),
    )


def insert_user(
    conn: Connection,
    *,
    kind: str,
    display_name: str,
    wallet_account_id: int,
    now: datetime,
    email: str | None = None,
    password_hash: str | None = None,
    language: str = "fr",
    identity_verified: bool = False,
    organisation_verified: bool = False,
    legal_id: str | None = None,
) -> int:
    result = conn.execute(
        users.insert()
        .values(
            kind=kind,
            display_name=display_name,
            email=email,
            password_hash=password_hash,
            language=language,
            identity_verified=identity_verified,
            organisation_verified=organisation_verified,
            legal_id=legal_id,
            wallet_account_id=wallet_account_id,
            created_at=now,
        )
        .returning(users.c.id)
    )
    return int(result.scalar_one())


def get_user(conn: Connection, user_id: int) -> UserRow | None:
    row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def users_by_id(conn: Connection, user_ids: Iterable[int]) -> dict[int, UserRow]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = conn.execute(sa.select(*_USER_COLUMNS).where(one_of(conn, users.c.id, ids)))
    return {int(r.id): _user(r) for r in rows}


def link_account(
    conn: Connection, *, user_id: int, network: str, account_id: str, handle: str, now: datetime
) -> int:
    """Link a social account to a user, unless already linked; returns the linked user's id.

    Linking the same pair again changes nothing; the caller refuses a link to someone else.
    """
    existing = conn.execute(
        sa.select(social_links.c.user_id).where(
            social_links.c.network == network, social_links.c.account_id == account_id
        )
    ).scalar_one_or_none()
    if existing is None:
        conn.execute(
            social_links.insert().values(
                user_id=user_id,
                network=network,
                account_id=account_id,
                handle=handle,
                created_at=now,
            )
        )
        return user_id
    return int(existing)


def users_by_network_account(
    conn: Connection, network: str, account_ids: Iterable[str]
) -> dict[str, UserRow]:
    """The users linked to these network accounts, keyed by the account's immutable id."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(social_links.c.account_id, *_USER_COLUMNS)
        .join(users, users.c.id == social_links.c.user_id)
        .where(social_links.c.network == network, one_of(conn, social_links.c.account_id, ids))
    )
    return {str(r.account_id): _user(r) for r in rows}


def linked_accounts(conn: Connection, user_id: int) -> list[tuple[str, str, str]]:
    """(network, account id, handle) of every account linked to the user."""
    rows = conn.execute(
        sa.select(social_links.c.network, social_links.c.account_id, social_links.c.handle)
        .where(social_links.c.user_id == user_id)
        .order_by(social_links.c.id)
    )
    return [(str(r.network), str(r.account_id), str(r.handle)) for r in rows]


def user_by_handle(conn: Connection, handle: str, network: str | None = None) -> UserRow | None:
    """The user linked under ``handle`` (the newest link when several networks share it)."""
    query = (
        sa.select(*_USER_COLUMNS)
        .join(social_links, users.c.id == social_links.c.user_id)
        .where(social_links.c.handle == handle)
        .order_by(social_links.c.id.desc())
        .limit(1)
    )
    if network is not None:
        query = query.where(social_links.c.network == network)
    row = conn.execute(query).first()
    return _user(row) if row else None
