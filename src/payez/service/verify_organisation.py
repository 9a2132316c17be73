"""Use case: an operator verifies (or withdraws the verification of) an association or a
merchant.

Only a verified association receives donations up to the association limit (500 € by
default); an unverified one is paid like a person. The change is audited in its transaction.
"""

from __future__ import annotations

from payez.adapters.db import account_admin
from payez.domain.errors import InvalidInput
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown
from payez.service.operators import check_operator

ORGANISATION_KINDS = ("association", "merchant")


class NotAnOrganisation(InvalidInput):
    code = "not_an_organisation"
    message_fr = "Seuls les associations et les commerçants sont vérifiés ici."
    message_en = "Only associations and merchants are verified here."


def verify_organisation(
    ctx: ServiceContext, operator_id: int, user_id: int, *, verified: bool = True
) -> bool:
    """Set ``organisation_verified``; False when it already had that value (nothing recorded)."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        check_operator(conn, operator_id)
        found = account_admin.user(conn, user_id)
        if found is None:
            raise UserUnknown(str(user_id))
        if found.kind not in ORGANISATION_KINDS:
            raise NotAnOrganisation(found.kind)
        if not account_admin.set_organisation_verified(conn, user_id, verified):
            return False
        record(
            conn,
            operator_user_id=operator_id,
            action="organisation.verify" if verified else "organisation.unverify",
            target=f"user:{user_id}",
            details={"kind": found.kind, "legal_id": found.legal_id, "verified": verified},
            now=now,
        )
    return True
