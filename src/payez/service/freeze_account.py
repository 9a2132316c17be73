"""Use case: an operator freezes or unfreezes an account.

A frozen account sends nothing and receives nothing: the inbox processor refuses its next
command (``sender_frozen``) and payments to it (``recipient_frozen``). The status changes by
compare-and-set, in the same transaction as the operator check and the audit entry.
"""

from __future__ import annotations

from payez.adapters.db import account_admin
from payez.domain.errors import InvalidInput
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown
from payez.service.operators import check_operator

REASON_MAX_LENGTH = 500


class ReasonRequired(InvalidInput):
    code = "reason_required"
    message_fr = "Indiquez la raison (500 caractères au plus)."
    message_en = "Give the reason (at most 500 characters)."


def checked_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text or len(text) > REASON_MAX_LENGTH:
        raise ReasonRequired()
    return text


def _change_status(
    ctx: ServiceContext, operator_id: int, user_id: int, reason: str, *, freeze: bool
) -> bool:
    text = checked_reason(reason)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        check_operator(conn, operator_id)
        if account_admin.user(conn, user_id) is None:
            raise UserUnknown(str(user_id))
        before, after = ("active", "frozen") if freeze else ("frozen", "active")
        if not account_admin.set_status(conn, user_id, from_status=before, to_status=after):
            return False
        record(
            conn,
            operator_user_id=operator_id,
            action="account.freeze" if freeze else "account.unfreeze",
            target=f"user:{user_id}",
            details={"reason": text, "status": after},
            now=now,
        )
    return True


def freeze_account(ctx: ServiceContext, operator_id: int, user_id: int, reason: str) -> bool:
    """Freeze the account; False when it was already frozen (nothing recorded)."""
    return _change_status(ctx, operator_id, user_id, reason, freeze=True)


def unfreeze_account(ctx: ServiceContext, operator_id: int, user_id: int, reason: str) -> bool:
    """Lift the freeze; False when the account was not frozen (nothing recorded)."""
    return _change_status(ctx, operator_id, user_id, reason, freeze=False)
