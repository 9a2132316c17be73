"""Use case: the light identity check EU rules ask for before person-to-person e-money.

Every check is recorded, passed or not; a pass sets ``users.identity_verified``.
"""

from __future__ import annotations

from datetime import date

from payez.adapters.db import web_accounts
from payez.domain.errors import InvalidInput, PayezError
from payez.ports.identity import IdentityRequest, IdentityVerifier
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown

EARLIEST_BIRTH_YEAR = 1900


class IdentityInputInvalid(InvalidInput):
    code = "identity_input_invalid"
    message_fr = "Indiquez votre nom complet et une date de naissance valide."
    message_en = "Give your full name and a valid birth date."


class IdentityCheckFailed(PayezError):
    code = "identity_check_failed"
    message_fr = "La vérification d'identité a échoué."
    message_en = "The identity check failed."


class IdentityUnderAge(IdentityCheckFailed):
    code = "identity_under_age"
    message_fr = "Il faut avoir 18 ans pour ouvrir un compte Payez."
    message_en = "You must be 18 or older to open a Payez account."


class IdentityMismatch(IdentityCheckFailed):
    code = "identity_mismatch"
    message_fr = "Ces informations ne correspondent pas à une identité vérifiable."
    message_en = "These details do not match a verifiable identity."


class IdentityDocumentUnreadable(IdentityCheckFailed):
    code = "identity_document_unreadable"
    message_fr = "Le justificatif d'identité est illisible ; réessayez."
    message_en = "The identity document could not be read; please try again."


_FAILURES: dict[str, type[IdentityCheckFailed]] = {
    "under_age": IdentityUnderAge,
    "identity_mismatch": IdentityMismatch,
    "document_unreadable": IdentityDocumentUnreadable,
}


def parse_birth_date(raw: str) -> date:
    """An ISO date (what an HTML date field sends)."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise IdentityInputInvalid("birth date") from None
    if value.year < EARLIEST_BIRTH_YEAR:
        raise IdentityInputInvalid("birth date")
    return value


def verify_identity(
    ctx: ServiceContext,
    verifier: IdentityVerifier,
    user_id: int,
    *,
    full_name: str,
    birth_date: date,
) -> None:
    """Ask the verifier; record the outcome; raise an IdentityCheckFailed when it failed."""
    name = " ".join(full_name.split())
    today = ctx.now().date()
    if not 3 <= len(name) <= 200 or birth_date > today:
        raise IdentityInputInvalid()
    with ctx.engine.connect() as conn:
        profile = web_accounts.profile(conn, user_id)
    if profile is None:
        raise UserUnknown(str(user_id))
    if profile.identity_verified:
        return
    result = verifier.verify(
        IdentityRequest(
            reference=f"user{user_id}", full_name=name, birth_date=birth_date, checked_on=today
        )
    )
    with ctx.engine.begin() as conn:
        web_accounts.insert_identity_check(
            conn,
            user_id=user_id,
            verifier=verifier.name,
            reference=result.reference,
            outcome="passed" if result.passed else "failed",
            reason=None if result.passed else (result.reason or "identity_mismatch"),
            full_name=name,
            birth_date=birth_date,
            now=ctx.now(),
        )
        if result.passed:
            web_accounts.update_user(conn, user_id, identity_verified=True)
    if not result.passed:
        raise _FAILURES.get(result.reason or "", IdentityCheckFailed)(result.reason)
