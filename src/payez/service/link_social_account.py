"""Use case: a logged-in user links a social account they proved they own (OAuth)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from payez.adapters.db import users as users_repo
from payez.domain.money import Money
from payez.ports.network import NetworkAccount
from payez.service.claim_payment import credit_held_payments
from payez.service.context import ServiceContext
from payez.service.errors import AccountAlreadyLinked
from payez.service.open_account import link_network_account


def link_social_account(
    ctx: ServiceContext, user_id: int, network: str, account: NetworkAccount
) -> Money:
    """Link by the account's immutable id; refuse one already linked to another user.

    Money already sent to the account and waiting for a claim is the user's from now on: it is
    credited at once, so nobody has to find the claim link. Returns what was credited.
    """
    try:
        with ctx.engine.begin() as conn:
            link_network_account(conn, ctx, user_id, network, account)
            _ids, total = credit_held_payments(conn, ctx, network, account.id, user_id)
    except IntegrityError as exc:
        # Another user linked the same account in the same instant: the unique key decides.
        raise AccountAlreadyLinked(f"{network}:{account.handle}") from exc
    return total


def linked_accounts(ctx: ServiceContext, user_id: int) -> list[tuple[str, str]]:
    """(network, handle) of every account linked to the user, oldest first."""
    with ctx.engine.connect() as conn:
        return [(n, h) for n, _id, h in users_repo.linked_accounts(conn, user_id)]
