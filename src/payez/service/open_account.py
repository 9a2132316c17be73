"""Use case: open a Payez account (a person, an association or a merchant) with its wallet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.ports.network import NetworkAccount
from payez.service.adopt_account import hand_over_account
from payez.service.context import ServiceContext
from payez.service.errors import AccountAlreadyLinked, UserKindInvalid

USER_KINDS = ("person", "association", "merchant")


def open_user(
    conn: Connection,
    *,
    kind: str,
    display_name: str,
    now: datetime,
    email: str | None = None,
    password_hash: str | None = None,
    language: str = "fr",
    identity_verified: bool = False,
    organisation_verified: bool = False,
    legal_id: str | None = None,
) -> int:
    """Create the user and its wallet (a ledger account that can never go below zero)."""
    if kind not in USER_KINDS:
        raise UserKindInvalid(kind)
    wallet = SqlLedger(conn).open_account(no_overdraft=True, owner=f"user:{display_name}")
    return users_repo.insert_user(
        conn,
        kind=kind,
        display_name=display_name,
        wallet_account_id=wallet,
        now=now,
        email=email,
        password_hash=password_hash,
        language=language,
        identity_verified=identity_verified,
        organisation_verified=organisation_verified,
        legal_id=legal_id,
    )


def link_network_account(
    conn: Connection, ctx: ServiceContext, user_id: int, network: str, account: NetworkAccount
) -> None:
    """Link a proven social account to a user; refuse one already linked to someone else.

    An account linked to a login-less account (opened by a claim) is not someone else's: the
    person who proves it is handed that account, with its money.
    """
    linked_to = users_repo.link_account(
        conn,
        user_id=user_id,
        network=network,
        account_id=account.id,
        handle=account.handle,
        now=ctx.now(),
    )
    if linked_to == user_id:
        return
    if users_repo.adoptable(conn, linked_to):
        hand_over_account(conn, from_user_id=linked_to, to_user_id=user_id)
        return
    raise AccountAlreadyLinked(f"{network}:{account.handle}")
