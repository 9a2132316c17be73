"""Use case: a logged-in user links a social account they proved they own (OAuth); the
linking itself is shared with the link by posted code (``link_by_code``)."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from payez.adapters.db import users as users_repo
from payez.domain.money import Money
from payez.ports.network import NetworkAccount
from payez.service.claim_payment import credit_held_payments
from payez.service.context import ServiceContext
from payez.service.email_verification import require_verified_email
from payez.service.errors import AccountAlreadyLinked
from payez.service.network_tokens import seal_token
from payez.service.open_account import link_network_account


def link_social_account(
    ctx: ServiceContext,
    user_id: int,
    network: str,
    account: NetworkAccount,
    *,
    publishing_token: str | None = None,
) -> Money:
    """Link by the account's immutable id; refuse one already linked to another user.

    Money already sent to the account and waiting for a claim is the user's from now on: it is
    credited at once, so nobody has to find the claim link. Returns what was credited.

    ``publishing_token`` is the access token a merchant granted to publish their listings as
    them: it is kept, sealed, for a merchant only (nobody else publishes through Payez); a new
    grant replaces the old one.

    A user whose email address is not verified yet is refused (``EmailUnverified``).
    """
    try:
        with ctx.engine.begin() as conn:
            total = link_proven_account(conn, ctx, user_id, network, account)
            user = users_repo.get_user(conn, user_id)
            if publishing_token and user is not None and user.kind == "merchant":
                sealed = seal_token(ctx.settings, network, account.id, publishing_token)
                users_repo.keep_access_token(conn, network, account.id, sealed)
    except IntegrityError as exc:
        # Another user linked the same account in the same instant: the unique key decides.
        raise AccountAlreadyLinked(f"{network}:{account.handle}") from exc
    return total


def link_proven_account(
    conn: Connection, ctx: ServiceContext, user_id: int, network: str, account: NetworkAccount
) -> Money:
    """Inside the caller's transaction: link an account its owner proved (OAuth, or a code
    posted from it) and credit the money held for it; returns what was credited.

    Refuses a user whose email address is not verified (``EmailUnverified``) and an account
    linked to another user who can log in (``AccountAlreadyLinked``).
    """
    require_verified_email(conn, user_id)
    link_network_account(conn, ctx, user_id, network, account)
    _ids, total = credit_held_payments(conn, ctx, network, account.id, user_id)
    return total


def linked_accounts(ctx: ServiceContext, user_id: int) -> list[tuple[str, str]]:
    """(network, handle) of every account linked to the user, oldest first."""
    with ctx.engine.connect() as conn:
        return [(n, h) for n, _id, h in users_repo.linked_accounts(conn, user_id)]


def is_merchant(ctx: ServiceContext, user_id: int) -> bool:
    """Whether linking an account for this user should ask leave to publish as them."""
    with ctx.engine.connect() as conn:
        user = users_repo.get_user(conn, user_id)
    return user is not None and user.kind == "merchant"
