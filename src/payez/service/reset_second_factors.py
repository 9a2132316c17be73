"""Use case: an operator resets a user's second factors, for a user who lost every device and
every recovery code.

Done only after the user's identity was checked again outside Payez (a call back, an identity
document): the operator records the reference of that check and the reason. In one transaction
the TOTP secret, the passkeys, their pending challenges and the recovery codes are deleted,
every web session of the user ends (whoever holds one must log in again), the audit entry is
written and a notice is queued to the user's email address. The user enrols a factor again at
their next confirmation, and gets new recovery codes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import account_admin
from payez.adapters.db.tables.second_factor import (
    totp_secrets,
    webauthn_challenges,
    webauthn_credentials,
)
from payez.adapters.db.tables.web import web_sessions
from payez.domain.errors import InvalidInput
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter
from payez.service.errors import UserUnknown
from payez.service.freeze_account import checked_reason
from payez.service.operators import check_operator
from payez.service.recovery_codes import delete_codes, notify, security_link
from payez.service.second_factor import count_factors
from payez.service.sign_up import normalise_email

REFERENCE_MAX_LENGTH = 128


class CheckReferenceRequired(InvalidInput):
    code = "identity_recheck_reference_required"
    message_fr = (
        "Indiquez la référence de la nouvelle vérification d'identité (128 caractères au plus)."
    )
    message_en = "Give the reference of the identity re-check (at most 128 characters)."


@dataclass(frozen=True, slots=True)
class FactorsReset:
    factors: int  # how many factors were removed
    sessions: int  # how many sessions were ended


def checked_reference(reference: str) -> str:
    text = " ".join(reference.split())
    if not text or len(text) > REFERENCE_MAX_LENGTH:
        raise CheckReferenceRequired()
    return text


def reset_second_factors(
    ctx: ServiceContext, operator_id: int | None, user_id: int, reference: str, reason: str
) -> FactorsReset:
    """Delete the user's factors and codes and end their sessions; ``operator_id`` is None
    from the command line (as for ``payez operators``)."""
    check = checked_reference(reference)
    text = checked_reason(reason)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if operator_id is not None:
            check_operator(conn, operator_id)
        if account_admin.user(conn, user_id) is None:
            raise UserUnknown(str(user_id))
        factors = count_factors(conn, user_id)
        conn.execute(totp_secrets.delete().where(totp_secrets.c.user_id == user_id))
        conn.execute(webauthn_credentials.delete().where(webauthn_credentials.c.user_id == user_id))
        conn.execute(webauthn_challenges.delete().where(webauthn_challenges.c.user_id == user_id))
        delete_codes(conn, user_id)
        sessions = conn.execute(
            web_sessions.delete().where(web_sessions.c.user_id == user_id)
        ).rowcount
        entry = record(
            conn,
            operator_user_id=operator_id,
            action="second_factor.reset",
            target=f"user:{user_id}",
            details={"reference": check, "reason": text, "factors": factors},
            now=now,
        )
        notify(
            conn,
            user_id,
            kind="second_factors_reset",
            key=f"second_factors_reset:{entry.hash}",
            letter=_reset_letter(ctx),
            now=now,
        )
    return FactorsReset(factors=factors, sessions=int(sessions))


def user_with_email(ctx: ServiceContext, email: str) -> int:
    with ctx.engine.connect() as conn:
        user_id = account_admin.user_id_by_email(conn, normalise_email(email))
    if user_id is None:
        raise UserUnknown(email[:254])
    return user_id


def _reset_letter(ctx: ServiceContext) -> Letter:
    link = security_link(ctx.settings)
    return Letter(
        subject_fr="Payez : vos seconds facteurs ont été réinitialisés",
        subject_en="Payez: your second factors were reset",
        text_fr=(
            "À votre demande, après une nouvelle vérification de votre identité, notre équipe a "
            "retiré vos seconds facteurs et vos codes de secours, et fermé vos sessions. "
            "Connectez-vous et enregistrez un nouveau facteur : "
            f"{link}\n\nSi vous n'avez rien demandé, contactez-nous sans attendre.\n"
        ),
        text_en=(
            "At your request, after checking your identity again, our team removed your second "
            "factors and recovery codes, and ended your sessions. Log in and set up a new "
            f"factor: {link}\n\nIf you did not ask for this, contact us at once.\n"
        ),
    )
