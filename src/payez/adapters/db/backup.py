"""An online, consistent copy of a SQLite database, taken while the service runs.

SQLite's backup API copies the database page by page and starts again whenever a writer
changes a page it already copied, so the copy is one committed state, never half of a
transaction; WAL frames not yet checkpointed are included. PostgreSQL is backed up with its own
tools (a base backup and WAL archiving, ``docs/operations.md``): its server, not Payez, owns
the files.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from payez.config import sqlite_path
from payez.domain.errors import PayezError

# Pages copied per step: small enough that writers wait at most a few milliseconds for a step.
_PAGES_PER_STEP = 1024


class BackupRefused(PayezError):
    code = "backup_refused"
    message_fr = "Sauvegarde impossible."
    message_en = "The backup cannot be made."


@dataclass(frozen=True, slots=True)
class BackupMade:
    path: Path
    size_bytes: int
    pages: int


def back_up_sqlite(database_url: str, destination: Path) -> BackupMade:
    """Copy the SQLite database behind ``database_url`` to ``destination`` (a new file)."""
    source = sqlite_path(database_url)
    if source is None:
        raise BackupRefused(
            "payez backup copies SQLite databases; back PostgreSQL up with pg_basebackup and "
            "WAL archiving (docs/operations.md)"
        )
    if not source.exists():
        raise BackupRefused(f"no database at {source}")
    if destination.exists():
        raise BackupRefused(f"{destination} exists already: a backup never overwrites a file")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    live, copy = sqlite3.connect(source), sqlite3.connect(partial)
    try:
        live.backup(copy, pages=_PAGES_PER_STEP)
        pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        # Checked before it takes the final name: a copy that does not read back is no backup.
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        live.close()
        copy.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupRefused(f"the copy failed its integrity check: {verdict}")
    with partial.open("rb+") as written:
        os.fsync(written.fileno())
    partial.rename(destination)
    return BackupMade(destination, destination.stat().st_size, pages)
