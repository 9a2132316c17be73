"""The audit log's hash chain: each entry's hash covers the previous hash and the entry itself.

``hash = SHA-256(prev_hash + canonical JSON of the entry)``, the entry being its position,
time (UTC, ISO 8601 with microseconds), operator, action, target and details. Changing,
removing, inserting or reordering an entry changes a hash that a later entry (or the entry
itself) vouches for, so ``verify_chain`` finds the first entry that no longer fits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Mapping[str, Any]) -> str:
    """One text per value: sorted keys, no spaces, non-ASCII kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_time(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    operator_user_id: int | None
    action: str
    target: str
    details: str  # canonical JSON text
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": canonical_time(self.at),
            "operator_user_id": self.operator_user_id,
            "action": self.action,
            "target": self.target,
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def entry_hash(
    prev_hash: str,
    *,
    id: int,
    at: datetime,
    operator_user_id: int | None,
    action: str,
    target: str,
    details: str,
) -> str:
    body = canonical_json(
        {
            "id": id,
            "at": canonical_time(at),
            "operator_user_id": operator_user_id,
            "action": action,
            "target": target,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    entry_id: int
    reason: str  # hash_mismatch | prev_hash_mismatch | position_gap


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(entries: Iterable[AuditEntry]) -> ChainReport:
    """Walk the entries in position order; report the first that does not fit the chain."""
    expected_prev, expected_id, checked = GENESIS, 1, 0
    for entry in entries:
        if entry.id != expected_id:
            return ChainReport(checked, ChainBreak(entry.id, "position_gap"))
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, ChainBreak(entry.id, "prev_hash_mismatch"))
        recomputed = entry_hash(
            entry.prev_hash,
            id=entry.id,
            at=entry.at,
            operator_user_id=entry.operator_user_id,
            action=entry.action,
            target=entry.target,
            details=entry.details,
        )
        if recomputed != entry.hash:
            return ChainReport(checked, ChainBreak(entry.id, "hash_mismatch"))
        expected_prev, expected_id, checked = entry.hash, entry.id + 1, checked + 1
    return ChainReport(checked, None)
