"""Use case: operators review the payments the velocity rules flagged.

A flag is closed once, by compare-and-set from ``open``: ``cleared`` (nothing wrong) or
``confirmed`` (suspicious: the operator follows up, for example by freezing the account),
always with a note, in the same transaction as its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import payment_flags as flags_repo
from payez.adapters.db.payment_flags import FlagRow
from payez.domain.errors import InvalidInput, NotFound
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.freeze_account import checked_reason
from payez.service.operators import check_operator

FLAGS_PAGE_SIZE = 50
DECISIONS = ("cleared", "confirmed")
_ACTIONS = {"cleared": "flag.clear", "confirmed": "flag.confirm"}


class FlagUnknown(NotFound):
    code = "flag_unknown"
    message_fr = "Signalement introuvable."
    message_en = "Flag not found."


class FlagAlreadyReviewed(InvalidInput):
    code = "flag_already_reviewed"
    message_fr = "Ce signalement a déjà été examiné."
    message_en = "This flag has already been reviewed."


class FlagDecisionInvalid(InvalidInput):
    code = "flag_decision_invalid"
    message_fr = "Décision invalide : levé ou confirmé."
    message_en = "Invalid decision: cleared or confirmed."


class FlagQueryInvalid(InvalidInput):
    code = "flag_query_invalid"
    message_fr = "Filtre invalide : état open, cleared ou confirmed, page à partir de 1."
    message_en = "Invalid filter: state open, cleared or confirmed, page from 1."


@dataclass(frozen=True, slots=True)
class FlagPage:
    flags: tuple[FlagRow, ...]
    state: str
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_flags(ctx: ServiceContext, state: str = "open", page: int = 1) -> FlagPage:
    if state not in flags_repo.FLAG_STATES or not 1 <= page <= 10**9:
        raise FlagQueryInvalid(state[:16])
    with ctx.engine.connect() as conn:
        found, total = flags_repo.flags(
            conn, state=state, offset=(page - 1) * FLAGS_PAGE_SIZE, limit=FLAGS_PAGE_SIZE
        )
    return FlagPage(tuple(found), state, page, FLAGS_PAGE_SIZE, total)


def review_flag(
    ctx: ServiceContext, operator_id: int, flag_id: int, decision: str, note: str
) -> None:
    if decision not in DECISIONS:
        raise FlagDecisionInvalid(decision[:16])
    text = checked_reason(note)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        check_operator(conn, operator_id)
        flag = flags_repo.get(conn, flag_id)
        if flag is None:
            raise FlagUnknown(str(flag_id))
        if not flags_repo.close(
            conn, flag_id, state=decision, reviewer=operator_id, note=text, now=now
        ):
            raise FlagAlreadyReviewed(str(flag_id))
        record(
            conn,
            operator_user_id=operator_id,
            action=_ACTIONS[decision],
            target=f"payment:{flag.payment_id}",
            details={"flag_id": flag_id, "rule": flag.rule, "decision": decision, "note": text},
            now=now,
        )
