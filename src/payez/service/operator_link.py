"""Use case: an operator links a social account to a Payez account from the server
(``payez accounts link``), for a person who cannot use the network's sign-in (an X account
before OAuth is configured, a support case). Audited like every operator action.

The operator vouches for the account's immutable id (the X user id, the Mastodon account URI);
the handle is only for display and for finding the account in ``payez accounts show``. Money
already held for the account is credited to its owner in the same transaction, as when they
link it themselves. An account linked to anyone else is refused, even one opened by a claim.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from payez.adapters.db import users as users_repo
from payez.domain.errors import InvalidInput
from payez.domain.money import Money
from payez.ports.network import NetworkAccount, normalise_handle
from payez.service.audit_log import record
from payez.service.claim_payment import credit_held_payments
from payez.service.context import ServiceContext
from payez.service.errors import AccountAlreadyLinked, UserUnknown
from payez.service.open_account import link_network_account

NETWORKS = ("sandbox", "mastodon", "x", "bluesky")


class LinkNetworkUnknown(InvalidInput):
    code = "link_network_unknown"
    message_fr = "Réseau inconnu : sandbox, mastodon, x ou bluesky."
    message_en = "Unknown network: sandbox, mastodon, x or bluesky."


class LinkAccountIdInvalid(InvalidInput):
    code = "link_account_id_invalid"
    message_fr = "Identifiant de compte invalide (sur X : l'identifiant numérique du compte)."
    message_en = "Invalid account id (on X: the account's numeric id)."


class LinkHandleInvalid(InvalidInput):
    code = "link_handle_invalid"
    message_fr = "Pseudo invalide."
    message_en = "Invalid handle."


@dataclass(frozen=True, slots=True)
class OperatorLink:
    user_id: int
    account: NetworkAccount
    credited: Money


def _checked(network: str, account_id: str, handle: str) -> NetworkAccount:
    if network not in NETWORKS:
        raise LinkNetworkUnknown(network[:32])
    account_id = account_id.strip()
    if not account_id or len(account_id) > 255 or (network == "x" and not account_id.isdigit()):
        raise LinkAccountIdInvalid(account_id[:64])
    normalised = normalise_handle(handle)
    if not normalised or len(normalised) > 255 or any(c.isspace() for c in normalised):
        raise LinkHandleInvalid(handle[:64])
    return NetworkAccount(id=account_id, handle=normalised)


def link_by_operator(
    ctx: ServiceContext,
    operator_id: int | None,
    payez_handle: str,
    network: str,
    account_id: str,
    handle: str,
) -> OperatorLink:
    """Link ``network``'s account ``account_id`` (shown as ``handle``) to the user found under
    ``payez_handle``, as :func:`payez.service.account_summary.account_summary` finds them;
    ``operator_id`` is None from the command line."""
    account = _checked(network, account_id, handle)
    now = ctx.now()
    try:
        with ctx.engine.begin() as conn:
            user = users_repo.user_by_handle(conn, normalise_handle(payez_handle))
            if user is None:
                raise UserUnknown(payez_handle[:64])
            holder = users_repo.users_by_network_account(conn, network, [account.id])
            if account.id in holder and holder[account.id].id != user.id:
                # An operator's word never moves an account, nor the money of an account
                # opened by a claim: only proving the account (OAuth) hands that over.
                raise AccountAlreadyLinked(f"{network}:{account.handle}")
            link_network_account(conn, ctx, user.id, network, account)
            _ids, credited = credit_held_payments(conn, ctx, network, account.id, user.id)
            record(
                conn,
                operator_user_id=operator_id,
                action="account.link",
                target=f"user:{user.id}",
                details={
                    "network": network,
                    "account_id": account.id,
                    "handle": account.handle,
                    "credited_cents": credited.cents,
                },
                now=now,
            )
    except IntegrityError as exc:
        raise AccountAlreadyLinked(f"{network}:{account.handle}") from exc
    return OperatorLink(user_id=user.id, account=account, credited=credited)
