"""Use case: a user cashes out to a bank account; the money is held until the bank pays.

The payout row and the pending ledger transfer holding its money (wallet → ``payouts``) are
written in one transaction: a refusal of any kind leaves neither. Everything that could later
make the SEPA export fail (IBAN, name, currency, amount) is checked here, so one bad request
can never block the batch of everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from payez.adapters.db import payouts as payouts_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.payouts.iban import normalize_iban
from payez.adapters.payouts.sepa import MAX_AMOUNT_CENTS, MAX_NAME, sepa_text
from payez.domain.errors import Forbidden, InvalidInput, PayezError
from payez.domain.ledger import InsufficientFunds, Transfer, TransferMode
from payez.domain.money import Money
from payez.service.context import ServiceContext
from payez.service.email_verification import require_verified_email
from payez.service.errors import UserUnknown


class PayoutAmountInvalid(InvalidInput):
    code = "payout_amount_invalid"
    message_fr = "Le montant d'un virement doit être en euros et strictement positif."
    message_en = "A payout amount must be in euros and greater than zero."


class PayoutNameInvalid(InvalidInput):
    code = "payout_name_invalid"
    message_fr = "Indiquez le nom du titulaire du compte bancaire."
    message_en = "Give the name of the bank account holder."


class PayoutInsufficientFunds(PayezError):
    code = "payout_insufficient_funds"
    message_fr = "Solde disponible insuffisant pour ce virement : rien n'a été retenu."
    message_en = "The available balance is too low for this payout: nothing was held."


class PayoutUserFrozen(Forbidden):
    code = "payout_user_frozen"
    message_fr = "Ce compte est gelé : aucun virement n'est possible."
    message_en = "This account is frozen: no payout is possible."


class PayoutIdentityUnverified(Forbidden):
    code = "payout_identity_unverified"
    message_fr = "Aucun virement avant la vérification de votre identité."
    message_en = "No payout before your identity has been verified."


@dataclass(frozen=True, slots=True)
class RequestedPayout:
    payout_id: int
    user_id: int
    amount: Money
    iban: str
    creditor_name: str

    def as_json(self) -> dict[str, object]:
        return {
            "payout_id": self.payout_id,
            "user_id": self.user_id,
            "amount_cents": self.amount.cents,
            "currency": self.amount.currency,
            "iban": self.iban,
            "creditor_name": self.creditor_name,
            "state": payouts_repo.PayoutState.REQUESTED.value,
        }


def _checked(amount: Money, iban: str, creditor_name: str) -> tuple[str, str]:
    if amount.currency != "EUR" or not 0 < amount.cents <= MAX_AMOUNT_CENTS:
        raise PayoutAmountInvalid(f"{amount.cents} {amount.currency}")
    name = " ".join(creditor_name.split())
    # The file carries the name reduced to the SEPA character set: it must survive that.
    if not sepa_text(name, MAX_NAME):
        raise PayoutNameInvalid(repr(creditor_name))
    return normalize_iban(iban), name[:140]


def request_payout_on(
    conn: Connection,
    *,
    user_id: int,
    amount: Money,
    iban: str,
    creditor_name: str,
    now: datetime,
) -> RequestedPayout:
    """Record and hold a payout inside the caller's transaction; raises and writes nothing."""
    compact_iban, name = _checked(amount, iban, creditor_name)
    user = users_repo.get_user(conn, user_id)
    if user is None:
        raise UserUnknown(str(user_id))
    if user.is_frozen:
        raise PayoutUserFrozen(str(user_id))
    if not user.identity_verified:
        raise PayoutIdentityUnverified(str(user_id))
    # The address is how Payez tells the owner about their money: none leaves before it
    # is proven (an account without any address, made by a command, has none to prove).
    require_verified_email(conn, user_id)
    payout_id = payouts_repo.insert_payout(
        conn,
        user_id=user.id,
        amount=amount,
        iban=compact_iban,
        creditor_name=name,
        now=now,
    )
    ledger = SqlLedger(conn)
    hold = Transfer(
        payouts_repo.hold_key(payout_id),
        user.wallet_account_id,
        ledger.account_id("payouts"),
        amount,
        TransferMode.PENDING,
        memo=f"payout {payout_id} to {compact_iban}",
    )
    try:
        ledger.apply_all([hold])
    except InsufficientFunds as refused:
        raise PayoutInsufficientFunds(f"user {user.id}: {amount.cents} cents") from refused
    return RequestedPayout(payout_id, user.id, amount, compact_iban, name)


def request_payout(
    ctx: ServiceContext, *, handle: str, amount: Money, iban: str, creditor_name: str
) -> RequestedPayout:
    """Hold ``amount`` of the wallet of the user linked under ``handle`` for a SEPA payout."""
    normalised = handle.strip().lstrip("@").lower()
    with ctx.engine.begin() as conn:
        user = users_repo.user_by_handle(conn, normalised)
        if user is None:
            raise UserUnknown(handle)
        return request_payout_on(
            conn,
            user_id=user.id,
            amount=amount,
            iban=iban,
            creditor_name=creditor_name,
            now=ctx.now(),
        )
