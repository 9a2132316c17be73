"""Use case: a logged-in user links a social account they proved they own (OAuth)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from payez.adapters.db import users as users_repo
from payez.ports.network import NetworkAccount
from payez.service.context import ServiceContext
from payez.service.errors import AccountAlreadyLinked
from payez.service.open_account import link_network_account


def link_social_account(
    ctx: ServiceContext, user_id: int, network: str, account: NetworkAccount
) -> None:
    """Link by the account's immutable id; refuse one already linked to another user."""
    try:
        with ctx.engine.begin() as conn:
            link_network_account(conn, ctx, user_id, network, account)
    except IntegrityError as exc:
        # Another user linked the same account in the same instant: the unique key decides.
        raise AccountAlreadyLinked(f"{network}:{account.handle}") from exc


def linked_accounts(ctx: ServiceContext, user_id: int) -> list[tuple[str, str]]:
    """(network, handle) of every account linked to the user, oldest first."""
    with ctx.engine.connect() as conn:
        return [(n, h) for n, _id, h in users_repo.linked_accounts(conn, user_id)]
