"""The audit log repository: append an entry to the hash chain, read it back.

Only inserts: nothing here updates or deletes an entry. Appending takes a lock first (an
advisory transaction lock on PostgreSQL; SQLite's write transactions are already one at a
time), so the head read and the insert of the next entry cannot interleave with another writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db.tables.backoffice import audit_log
from payez.domain.audit_chain import GENESIS, AuditEntry, canonical_json, entry_hash

# Any fixed number: it names the audit log's lock among PostgreSQL's advisory locks.
_AUDIT_LOCK = 0x5041_5945_5A41_5544  # "PAYEZAUD"
_READ_CHUNK = 1000


def _entry(row: Any) -> AuditEntry:
    m = row._mapping
    return AuditEntry(
        id=int(m["id"]),
        at=m["at"],
        operator_user_id=None if m["operator_user_id"] is None else int(m["operator_user_id"]),
        action=str(m["action"]),
        target=str(m["target"]),
        details=str(m["details"]),
        prev_hash=str(m["prev_hash"]),
        hash=str(m["hash"]),
    )


def append(
    conn: Connection,
    *,
    operator_user_id: int | None,
    action: str,
    target: str,
    details: Mapping[str, Any],
    now: datetime,
) -> AuditEntry:
    """Add one entry at the head of the chain, in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK)))
    head = conn.execute(
        sa.select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    position = int(head.id) + 1 if head else 1
    prev_hash = str(head.hash) if head else GENESIS
    text = canonical_json(details)
    digest = entry_hash(
        prev_hash,
        id=position,
        at=now,
        operator_user_id=operator_user_id,
        action=action,
        target=target,
        details=text,
    )
    entry = AuditEntry(
        id=position,
        at=now,
        operator_user_id=operator_user_id,
        action=action,
        target=target,
        details=text,
        prev_hash=prev_hash,
        hash=digest,
    )
    conn.execute(
        audit_log.insert().values(
            id=entry.id,
            at=entry.at,
            operator_user_id=entry.operator_user_id,
            action=entry.action,
            target=entry.target,
            details=entry.details,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    return entry


def every_entry(conn: Connection) -> Iterator[AuditEntry]:
    """The whole chain in position order, read in chunks (keyset pagination)."""
    after = 0
    while True:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.id > after)
            .order_by(audit_log.c.id)
            .limit(_READ_CHUNK)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _entry(row)
        after = int(rows[-1].id)


def page(conn: Connection, *, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
    """Newest first: one page of entries and the total count."""
    total = int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())
    rows = conn.execute(
        sa.select(audit_log).order_by(audit_log.c.id.desc()).offset(offset).limit(limit)
    )
    return [_entry(r) for r in rows], total


def for_target(conn: Connection, target: str, limit: int = 50) -> list[AuditEntry]:
    rows = conn.execute(
        sa.select(audit_log)
        .where(audit_log.c.target == target)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    return [_entry(r) for r in rows]
