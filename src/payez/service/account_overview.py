"""Use case: what the logged-in user sees of their own account — profile, balance, onboarding."""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import users as users_repo
from payez.adapters.db import web_accounts
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.web_accounts import CardRow, IdentityCheckRow, Profile
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown


@dataclass(frozen=True, slots=True)
class Wallet:
    posted: Money
    held: Money
    available: Money

    def as_json(self) -> dict[str, object]:
        return {
            name: {"cents": value.cents, "currency": value.currency}
            for name, value in (
                ("balance", self.posted),
                ("held", self.held),
                ("available", self.available),
            )
        }


@dataclass(frozen=True, slots=True)
class Overview:
    profile: Profile
    wallet: Wallet
    card: CardRow | None
    identity: IdentityCheckRow | None
    linked: tuple[tuple[str, str], ...]

    @property
    def steps_done(self) -> int:
        return sum((self.profile.identity_verified, self.card is not None, bool(self.linked)))

    @property
    def onboarded(self) -> bool:
        return self.steps_done == 3

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.profile.id,
            "email": self.profile.email,
            "display_name": self.profile.display_name,
            "language": self.profile.language,
            "time_zone": self.profile.time_zone,
            "hide_amount": self.profile.hide_amount,
            "identity_verified": self.profile.identity_verified,
            "status": self.profile.status,
            "card": ({"brand": self.card.brand, "last4": self.card.last4} if self.card else None),
            "linked_accounts": [{"network": n, "handle": h} for n, h in self.linked],
            "onboarded": self.onboarded,
        }


def profile_of(ctx: ServiceContext, user_id: int) -> Profile:
    with ctx.engine.connect() as conn:
        found = web_accounts.profile(conn, user_id)
    if found is None:
        raise UserUnknown(str(user_id))
    return found


def overview(ctx: ServiceContext, user_id: int) -> Overview:
    with ctx.engine.connect() as conn:
        found = web_accounts.profile(conn, user_id)
        if found is None:
            raise UserUnknown(str(user_id))
        balance = SqlLedger(conn).balance(found.wallet_account_id)
        card = web_accounts.latest_card(conn, user_id)
        identity = web_accounts.latest_identity_check(conn, user_id)
        linked = tuple((n, h) for n, _id, h in users_repo.linked_accounts(conn, user_id))
    wallet = Wallet(balance.posted, balance.pending_out, balance.available)
    return Overview(found, wallet, card, identity, linked)
