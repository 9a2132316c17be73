"""The users repository: people, associations and merchants, and their linked social accounts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.bulk import fetch_all
from payez.adapters.db.email_contacts import SWITCHES as EMAIL_SWITCHES
from payez.adapters.db.sets import one_of
from payez.adapters.db.tables.ledger import ledger_accounts
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
    # The address emails reach: set only when verified and the account is open.
    email_contact: str | None = None
    # The notifications by email switched on (email_contacts.SWITCHES).
    emails_wanted: frozenset[str] = frozenset()
    # The handle stored with the link the row was found by (users_by_network_account).
    linked_handle: str | None = None
    # The user has a webhook endpoint in service: events are written for them.
    has_webhooks: bool = False

    @property
    def is_frozen(self) -> bool:
        return self.status == "frozen"

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


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
    users.c.email,
    users.c.email_verified_at,
    users.c.has_webhooks,
    *(users.c[f"email_{name}"] for name in EMAIL_SWITCHES),
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
        email_contact=(
            m["email"] if m["email_verified_at"] is not None and m["status"] != "closed" else None
        ),
        emails_wanted=frozenset(n for n in EMAIL_SWITCHES if m[f"email_{n}"]),
        linked_handle=m.get("linked_handle"),
        has_webhooks=bool(m["has_webhooks"]),
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
    if int(existing) == user_id:
        # Linked again after a rename on the network: the account is the same, its handle new.
        follow_handles(conn, network, {account_id: handle})
    return int(existing)


def unlink_account(conn: Connection, *, user_id: int, network: str, account_id: str) -> bool:
    """Remove the user's link to the account (and its sealed token); False when not linked."""
    deleted = conn.execute(
        social_links.delete().where(
            social_links.c.user_id == user_id,
            social_links.c.network == network,
            social_links.c.account_id == account_id,
        )
    )
    return deleted.rowcount > 0


def follow_handles(conn: Connection, network: str, handles: dict[str, str]) -> int:
    """Store the handle each linked account shows now (keyed by immutable id); returns how
    many changed. Reads first, so an unchanged batch writes nothing."""
    if not handles:
        return 0
    stored = conn.execute(
        sa.select(social_links.c.account_id, social_links.c.handle).where(
            social_links.c.network == network,
            one_of(conn, social_links.c.account_id, sorted(handles)),
        )
    )
    changed = {
        str(r.account_id): handles[str(r.account_id)]
        for r in stored
        if handles[str(r.account_id)] and str(r.handle) != handles[str(r.account_id)]
    }
    for account_id, handle in changed.items():
        conn.execute(
            social_links.update()
            .where(social_links.c.network == network, social_links.c.account_id == account_id)
            .values(handle=handle[:320])
        )
    return len(changed)


# The users query of the hot path, read from the driver (see bulk.fetch_all): one row per
# linked account found, its columns in the order ``_linked_user`` reads them.
_LINKED = (
    "SELECT s.account_id, s.handle, u.id, u.kind, u.display_name, u.status, "
    "u.identity_verified, u.organisation_verified, u.wallet_account_id, u.language, "
    "u.hide_amount, u.card_customer_id, u.notify_received, u.email, u.email_verified_at, "
    "u.has_webhooks, " + ", ".join(f"u.email_{name}" for name in EMAIL_SWITCHES) + " "
    "FROM social_links s JOIN users u ON u.id = s.user_id WHERE s.network = {network} "
)
_LINKED_SQLITE = _LINKED.format(network="?") + (
    "AND s.account_id IN (SELECT value FROM json_each(?))"
)
_LINKED_POSTGRES = _LINKED.format(network="%s") + "AND s.account_id = ANY(%s::text[])"
# Every combination of the email switches, built once: most users share one or two.
_WANTED: dict[tuple[bool, ...], frozenset[str]] = {
    flags: frozenset(name for name, on in zip(EMAIL_SWITCHES, flags, strict=True) if on)
    for flags in itertools.product((False, True), repeat=len(EMAIL_SWITCHES))
}


def _linked_user(row: Any) -> UserRow:
    """A row of ``_LINKED`` as :func:`_user` reads the same columns by name."""
    (_account, handle, user_id, kind, name, status, identity, organisation, wallet, language,
     hide, card, notify, email, email_verified_at, webhooks, *switches) = row  # fmt: skip
    return UserRow(
        id=int(user_id),
        kind=str(kind),
        display_name=str(name),
        status=str(status),
        identity_verified=bool(identity),
        organisation_verified=bool(organisation),
        wallet_account_id=int(wallet),
        language=str(language),
        hide_amount=bool(hide),
        card_customer_id=card,
        notify_received=bool(notify),
        email_contact=email if email_verified_at is not None and status != "closed" else None,
        emails_wanted=_WANTED[tuple(bool(on) for on in switches)],
        linked_handle=handle,
        has_webhooks=bool(webhooks),
    )


def users_by_network_account(
    conn: Connection, network: str, account_ids: Iterable[str]
) -> dict[str, UserRow]:
    """The users linked to these network accounts, keyed by the account's immutable id.

    The hot path's lookup (every sender and recipient of a batch): read from the driver and
    built positionally, at a sixth of what SQLAlchemy's rows and ``_user`` cost.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        rows = fetch_all(conn, _LINKED_POSTGRES, (network, ids))
    else:
        rows = fetch_all(conn, _LINKED_SQLITE, (network, json.dumps(ids)))
    return {str(row[0]): _linked_user(row) for row in rows}


def store_handles(conn: Connection, network: str, handles: dict[str, str]) -> None:
    """Store the handles linked accounts show now (keyed by immutable id), as found changed."""
    for account_id, handle in handles.items():
        conn.execute(
            social_links.update()
            .where(social_links.c.network == network, social_links.c.account_id == account_id)
            .values(handle=handle[:320])
        )


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


def adoptable(conn: Connection, user_id: int) -> bool:
    """A person's account nobody can log in to (opened by a claim), not yet handed over.

    A frozen one is not: its money stays where the operators froze it. The row is locked on
    PostgreSQL, so two people cannot both be handed the same account.
    """
    query = sa.select(users.c.id).where(
        users.c.id == user_id,
        users.c.kind == "person",
        users.c.status == "active",
        users.c.email.is_(None),
        users.c.password_hash.is_(None),
        users.c.adopted_by_user_id.is_(None),
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first() is not None


def lock_user(conn: Connection, user_id: int) -> None:
    """Serialise work on one user's wallet (SQLite's write transactions already are)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(users.c.id).where(users.c.id == user_id).with_for_update())


def hand_over(conn: Connection, *, from_user_id: int, to_user_id: int) -> None:
    """Record the hand-over and move every social link of the old account to the new one."""
    conn.execute(
        users.update().where(users.c.id == from_user_id).values(adopted_by_user_id=to_user_id)
    )
    conn.execute(
        social_links.update()
        .where(social_links.c.user_id == from_user_id)
        .values(user_id=to_user_id)
    )


def adopted_accounts_holding_money(conn: Connection) -> list[tuple[int, int]]:
    """(old user id, adopting user id) of handed-over accounts whose wallet still moves.

    Money may still reach an old wallet after the hand-over: a payment it sent or received was
    awaiting confirmation then, and its pending transfer names that wallet.
    """
    wallet = ledger_accounts
    rows = conn.execute(
        sa.select(users.c.id, users.c.adopted_by_user_id)
        .join(wallet, wallet.c.id == users.c.wallet_account_id)
        .where(
            users.c.adopted_by_user_id.is_not(None),
            sa.or_(wallet.c.posted != 0, wallet.c.pending_in != 0, wallet.c.pending_out != 0),
        )
        .order_by(users.c.id)
    )
    return [(int(r.id), int(r.adopted_by_user_id)) for r in rows]


def keep_access_token(conn: Connection, network: str, account_id: str, sealed: str | None) -> None:
    """Keep (or with None, forget) the sealed access token of a linked account."""
    conn.execute(
        social_links.update()
        .where(social_links.c.network == network, social_links.c.account_id == account_id)
        .values(access_token_sealed=sealed)
    )


def sealed_access_token(conn: Connection, network: str, account_id: str) -> str | None:
    return conn.execute(
        sa.select(social_links.c.access_token_sealed).where(
            social_links.c.network == network, social_links.c.account_id == account_id
        )
    ).scalar_one_or_none()


def accounts_with_tokens(conn: Connection, user_id: int) -> set[tuple[str, str]]:
    """(network, account id) of the user's linked accounts that carry an access token."""
    rows = conn.execute(
        sa.select(social_links.c.network, social_links.c.account_id).where(
            social_links.c.user_id == user_id, social_links.c.access_token_sealed.is_not(None)
        )
    )
    return {(str(r.network), str(r.account_id)) for r in rows}
