"""Use case: operator roles — who may use the back-office.

Two roles: ``operator`` runs the back-office; ``admin`` may also grant and revoke roles there.
The first operator is made from the command line (``payez operators grant EMAIL``), which has
no operator to act as: its audit entries carry no operator id.
"""

from __future__ import annotations

from sqlalchemy import Connection

from payez.adapters.db import account_admin
from payez.adapters.db import operators as operators_repo
from payez.domain.errors import Forbidden, InvalidInput
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.errors import UserUnknown
from payez.service.sign_up import normalise_email

ROLES = ("operator", "admin")


class NotOperator(Forbidden):
    code = "operator_only"
    message_fr = "Cette page est réservée aux opérateurs de Payez."
    message_en = "This page is for Payez operators only."


class NotAdmin(Forbidden):
    code = "admin_only"
    message_fr = "Seul un administrateur peut faire cela."
    message_en = "Only an administrator can do that."


class RoleUnknown(InvalidInput):
    code = "role_unknown"
    message_fr = "Rôle inconnu : operator ou admin."
    message_en = "Unknown role: operator or admin."


def role_of(ctx: ServiceContext, user_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        return operators_repo.role_of(conn, user_id)


def check_operator(conn: Connection, user_id: int, *, admin: bool = False) -> str:
    """The user's role, checked in the caller's transaction (the action and the check agree)."""
    role = operators_repo.role_of(conn, user_id)
    if role is None:
        raise NotOperator()
    if admin and role != "admin":
        raise NotAdmin()
    return role


def require_operator(ctx: ServiceContext, user_id: int) -> str:
    with ctx.engine.connect() as conn:
        return check_operator(conn, user_id)


def _user_by_email(conn: Connection, email: str) -> int:
    user_id = account_admin.user_id_by_email(conn, normalise_email(email))
    if user_id is None:
        raise UserUnknown(email[:254])
    return user_id


def grant_operator(
    ctx: ServiceContext, email: str, role: str = "operator", *, granted_by: int | None = None
) -> int:
    """Give the user with ``email`` a role; ``granted_by`` (an admin) or None from the CLI.
    Returns the user's id."""
    if role not in ROLES:
        raise RoleUnknown(role[:16])
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if granted_by is not None:
            check_operator(conn, granted_by, admin=True)
        user_id = _user_by_email(conn, email)
        before = operators_repo.set_role(conn, user_id, role, granted_by=granted_by, now=now)
        if before != role:
            record(
                conn,
                operator_user_id=granted_by,
                action="operator.grant",
                target=f"user:{user_id}",
                details={"role": role, "before": before},
                now=now,
            )
    return user_id


def revoke_operator(ctx: ServiceContext, email: str, *, revoked_by: int | None = None) -> bool:
    """Take the user's role away; False when they had none."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if revoked_by is not None:
            check_operator(conn, revoked_by, admin=True)
        user_id = _user_by_email(conn, email)
        before = operators_repo.remove(conn, user_id)
        if before is None:
            return False
        record(
            conn,
            operator_user_id=revoked_by,
            action="operator.revoke",
            target=f"user:{user_id}",
            details={"before": before},
            now=now,
        )
    return True
