"""Use case: what an operator reads — users and payments found by search, one user's page."""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import account_admin
from payez.adapters.db import audit_log as audit_repo
from payez.adapters.db import payment_flags as flags_repo
from payez.adapters.db.account_admin import PaymentHit, UserHit
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.payment_flags import FlagRow
from payez.domain.audit_chain import AuditEntry
from payez.domain.errors import InvalidInput
from payez.domain.money import Money
from payez.domain.payments import PaymentState
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown

SEARCH_LIMIT = 50
QUERY_MAX_LENGTH = 100
PAYMENT_STATES = tuple(s.value for s in PaymentState)


class SearchInvalid(InvalidInput):
    code = "search_invalid"
    message_fr = "Recherche invalide : 100 caractères au plus, un état connu, un montant en euros."
    message_en = "Invalid search: at most 100 characters, a known state, an amount in euros."


@dataclass(frozen=True, slots=True)
class UserReview:
    user: UserHit
    balance: Money
    held: Money
    payments: tuple[PaymentHit, ...]
    flags: tuple[FlagRow, ...]
    audit: tuple[AuditEntry, ...]


def _checked(text: str) -> str:
    if len(text) > QUERY_MAX_LENGTH:
        raise SearchInvalid()
    return text.strip()


def parse_amount(text: str) -> int | None:
    """Euros as an operator types them ("12", "12,5", "12.50") to integer cents."""
    raw = text.strip().replace("€", "").replace(" ", "").replace(",", ".")
    if not raw:
        return None
    units, _, cents = raw.partition(".")
    if not units.isdigit() or (cents and not cents.isdigit()) or len(cents) > 2 or len(units) > 9:
        raise SearchInvalid(text[:20])
    return int(units) * 100 + int(cents.ljust(2, "0") or "0")


def search_users(ctx: ServiceContext, query: str) -> list[UserHit]:
    text = _checked(query)
    if not text:
        return []
    with ctx.engine.connect() as conn:
        return account_admin.search_users(conn, text, SEARCH_LIMIT)


def search_payments(
    ctx: ServiceContext, *, handle: str = "", post_id: str = "", state: str = "", amount: str = ""
) -> list[PaymentHit]:
    handle, post_id = _checked(handle), _checked(post_id)
    if state and state not in PAYMENT_STATES:
        raise SearchInvalid(state[:24])
    cents = parse_amount(_checked(amount))
    with ctx.engine.connect() as conn:
        return account_admin.search_payments(
            conn,
            handle=handle,
            post_id=post_id,
            state=state,
            amount_cents=cents,
            limit=SEARCH_LIMIT,
        )


def review_user(ctx: ServiceContext, user_id: int) -> UserReview:
    with ctx.engine.connect() as conn:
        found = account_admin.user(conn, user_id)
        if found is None:
            raise UserUnknown(str(user_id))
        balance = SqlLedger(conn).balance(found.wallet_account_id)
        payments = account_admin.search_payments(conn, user_id=user_id, limit=SEARCH_LIMIT)
        flags = flags_repo.for_payments(conn, [p.id for p in payments])
        audit = audit_repo.for_target(conn, f"user:{user_id}")
    return UserReview(
        found, balance.posted, balance.pending_out, tuple(payments), tuple(flags), tuple(audit)
    )
