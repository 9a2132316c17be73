"""Use case: the audit log of operator actions — write an entry, read a page, verify the chain.

Every back-office action calls :func:`record` inside the transaction that performs it, so the
action and its entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from payez.adapters.db import audit_log as audit_repo
from payez.domain.audit_chain import AuditEntry, ChainReport, verify_chain
from payez.domain.errors import InvalidInput
from payez.service.context import ServiceContext

AUDIT_PAGE_SIZE = 50


class AuditPageInvalid(InvalidInput):
    code = "audit_page_invalid"
    message_fr = "Page invalide : à partir de 1."
    message_en = "Invalid page: from 1."


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def record(
    conn: Connection,
    *,
    operator_user_id: int | None,
    action: str,
    target: str,
    details: Mapping[str, Any],
    now: datetime,
) -> AuditEntry:
    return audit_repo.append(
        conn,
        operator_user_id=operator_user_id,
        action=action,
        target=target,
        details=details,
        now=now,
    )


def audit_page(ctx: ServiceContext, page: int, per_page: int = AUDIT_PAGE_SIZE) -> AuditPage:
    if page < 1 or page > 10**9:
        raise AuditPageInvalid(str(page))
    with ctx.engine.connect() as conn:
        entries, total = audit_repo.page(conn, offset=(page - 1) * per_page, limit=per_page)
    return AuditPage(tuple(entries), page, per_page, total)


def verify_audit_log(ctx: ServiceContext) -> tuple[ChainReport, str | None]:
    """The chain's verdict, and the head hash (keep it elsewhere: it also vouches that no
    newest entry was removed)."""
    with ctx.engine.connect() as conn:
        head: str | None = None

        def walk() -> Any:
            nonlocal head
            for entry in audit_repo.every_entry(conn):
                head = entry.hash
                yield entry

        report = verify_chain(walk())
    return report, head if report.ok else None
