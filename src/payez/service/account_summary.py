"""Use case: what an operator or a script sees of one account (``payez accounts show``)."""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown


@dataclass(frozen=True, slots=True)
class AccountSummary:
    user_id: int
    handle: str
    kind: str
    status: str
    identity_verified: bool
    balance_cents: int
    held_cents: int
    available_cents: int
    currency: str
    linked: tuple[tuple[str, str], ...]

    def as_json(self) -> dict[str, object]:
        return {
            "handle": self.handle,
            "user_id": self.user_id,
            "kind": self.kind,
            "status": self.status,
            "identity_verified": self.identity_verified,
            "balance_cents": self.balance_cents,
            "held_cents": self.held_cents,
            "available_cents": self.available_cents,
            "currency": self.currency,
            "linked_accounts": [{"network": n, "handle": h} for n, h in self.linked],
        }


def account_summary(ctx: ServiceContext, handle: str) -> AccountSummary:
    """The account linked under ``handle`` (with or without ``@``)."""
    normalised = handle.strip().lstrip("@").lower()
    with ctx.engine.connect() as conn:
        user = users_repo.user_by_handle(conn, normalised)
        if user is None:
            raise UserUnknown(handle)
        balance = SqlLedger(conn).balance(user.wallet_account_id)
        linked = users_repo.linked_accounts(conn, user.id)
    return AccountSummary(
        user_id=user.id,
        handle=normalised,
        kind=user.kind,
        status=user.status,
        identity_verified=user.identity_verified,
        balance_cents=balance.posted.cents,
        held_cents=balance.pending_out.cents,
        available_cents=balance.available.cents,
        currency=balance.posted.currency,
        linked=tuple((network, h) for network, _id, h in linked),
    )
