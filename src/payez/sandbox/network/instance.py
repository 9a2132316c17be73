"""The sandbox instance's own identity: a domain made once per database and never changed.

Payez links a sandbox account to a user by the account's URI, its immutable id. So URIs are
built on this stored domain (``sandbox-<random>.payez.invalid``: ``.invalid`` never resolves,
it names and locates nothing), not on ``PAYEZ_BASE_URL``, the port or a proxy's host name,
which may all change between two runs on the same database. The base URL only makes links.
Mastodon draws the same line between ``LOCAL_DOMAIN`` and ``WEB_DOMAIN``.

Migration ``0014_sandbox_identity`` makes the row; :func:`instance_domain` makes it too on a
database that lacks it, so whichever comes first wins and the domain never moves afterwards.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from payez.adapters.db.bulk import insert_rows
from payez.sandbox.network import tables
from payez.sandbox.network.statuses import Urls

INSTANCE_ROW = 1
DOMAIN_SUFFIX = ".payez.invalid"


def new_instance_domain() -> str:
    return f"sandbox-{secrets.token_hex(8)}{DOMAIN_SUFFIX}"


def instance_domain(conn: sa.Connection) -> str:
    """The instance's domain, made (once, race-safely) if the database has none yet."""
    found = _stored_domain(conn)
    if found is None:
        row = {"id": INSTANCE_ROW, "domain": new_instance_domain(), "created_at": datetime.now(UTC)}
        insert_rows(conn, tables.instance, [row], skip_duplicates=True)
        found = _stored_domain(conn)
    assert found is not None
    return found


def _stored_domain(conn: sa.Connection) -> str | None:
    found = conn.execute(
        sa.select(tables.instance.c.domain).where(tables.instance.c.id == INSTANCE_ROW)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def sandbox_urls(conn: sa.Connection, base: str) -> Urls:
    """Urls for a sandbox served at ``base`` (``PAYEZ_BASE_URL`` + ``/sandbox``). Build them once
    at start-up: the domain never changes under a running process."""
    return Urls(base=base.rstrip("/"), domain=instance_domain(conn))
