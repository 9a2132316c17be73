"""Use case: a user closes their account.

Allowed once nothing of theirs still moves: the wallet is at zero (paid out or returned to
the card first) and no claim, confirmation or payout of theirs is pending. Closing deletes what
serves only the living account (links, sessions, second factors, cards, emails...) and
pseudonymises the profile; the records the law makes Payez keep (ledger, payments, payouts,
identity checks: 5 years, anti-money-laundering) stay under the pseudonym ``closed-<id>``.
Each table's rule is one line of ``adapters.db.personal_data``; docs/privacy.md explains them.
"""

from __future__ import annotations

from payez.adapters.db import personal_data, web_accounts
from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.domain.errors import InvalidInput, PayezError
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown
from payez.service.passwords import password_matches


class ClosurePasswordWrong(InvalidInput):
    code = "closure_password_wrong"
    message_fr = "Mot de passe incorrect : le compte n'a pas été fermé."
    message_en = "Wrong password: the account was not closed."


class ClosureBalanceNotZero(PayezError):
    code = "closure_balance_not_zero"
    message_fr = (
        "Votre solde n'est pas à zéro. Virez-le d'abord sur votre compte bancaire (Virements) "
        "ou faites-le rembourser sur votre carte, puis fermez le compte."
    )
    message_en = (
        "Your balance is not zero. First pay it out to your bank account (Payouts) or have it "
        "returned to your card, then close the account."
    )


class ClosureSomethingPending(PayezError):
    code = "closure_something_pending"
    message_fr = (
        "Une opération est en cours (argent en attente de réclamation, paiement à confirmer "
        "ou virement pas encore exécuté). Attendez qu'elle aboutisse, puis fermez le compte."
    )
    message_en = (
        "Something is still in progress (money waiting to be claimed, a payment to confirm or "
        "a payout not yet executed). Wait until it is done, then close the account."
    )


def pseudonym(user_id: int) -> str:
    return f"closed-{user_id}"


def close_account(ctx: ServiceContext, user_id: int, password: str) -> None:
    """Close the account, in one transaction with its audit entry; raises why it cannot."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        users_repo.lock_user(conn, user_id)
        who = personal_data.subject(conn, user_id)
        found = web_accounts.login_by_email(conn, who.email) if who and who.email else None
        if who is None or found is None:
            raise UserUnknown(str(user_id))
        if not password_matches(found[1], password):
            raise ClosurePasswordWrong()
        # Pending first: money on its way in or out is not yet a balance one can pay out.
        personal_data.lock_wallet(conn, who)
        balance = SqlLedger(conn).balance(who.wallet_account_id)
        pending = personal_data.pending_for(conn, who)
        if pending or balance.pending_in.cents or balance.pending_out.cents:
            raise ClosureSomethingPending(",".join(pending))
        if balance.posted.cents != 0:
            raise ClosureBalanceNotZero()
        personal_data.close(conn, who, pseudonym(user_id), now)
        record(
            conn,
            # The account holder acted, not an operator nor the command line.
            operator_user_id=user_id,
            action="account.close",
            target=f"user:{user_id}",
            details={"by": "account holder", "linked_accounts": len(who.accounts)},
            now=now,
        )
