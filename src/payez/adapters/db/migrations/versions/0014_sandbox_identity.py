"""The sandbox network's own identity: account URIs no longer follow the base URL.

A sandbox account's URI is its immutable id, the one Payez links users by. It used to be
``<PAYEZ_BASE_URL>/sandbox/users/<username>``, so it changed with the port or the base URL and
every linked user became unknown. The instance now has a domain of its own, made once here
(``sandbox-<random>.payez.invalid``), and URIs are ``https://<domain>/users/<username>``.

Every stored sandbox id of the old form (links, inbox authors and recipients, payments and
messages waiting for a recipient, pending claims among them) is rewritten to the new form, for
rows of the network "sandbox" only. If a sandbox account was linked twice under two old base
URLs, the first link is kept and the later ones are removed (one account, one user).

A downgrade drops the domain but leaves ids in the new form: the base URL they were built on
is not known any more.

Revision ID: 0014_sandbox_identity
Revises: 0003_sandbox_network
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014_sandbox_identity"
down_revision = "0003_sandbox_network"
branch_labels = None
# The ids it rewrites live in the pipeline's tables.
depends_on = "0006_payments"

SANDBOX = "sandbox"
OLD_FORM = re.compile(r"^https?://.+/sandbox/users/([A-Za-z0-9_]+)/?$")
log = logging.getLogger(__name__)
NewForm = Callable[[str], "str | None"]
BATCH = 500

_instance = sa.table(
    "sandbox_instance",
    sa.column("id", sa.Integer()),
    sa.column("domain", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_accounts = sa.table("sandbox_accounts", sa.column("username", sa.String()))
_links = sa.table(
    "social_links",
    sa.column("id", sa.BigInteger()),
    sa.column("network", sa.String()),
    sa.column("account_id", sa.String()),
)
# (table, the columns holding a network account id) besides the links.
_ID_COLUMNS = {
    "inbox": ("author_id", "recipient_account_id"),
    "payments": ("recipient_account_id",),
    "outbox": ("recipient_account_id",),
}


def upgrade() -> None:
    op.create_table(
        "sandbox_instance",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_sandbox_instance_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_instance"),
    )
    domain = f"sandbox-{secrets.token_hex(8)}.payez.invalid"
    op.bulk_insert(_instance, [{"id": 1, "domain": domain, "created_at": datetime.now(UTC)}])
    conn = op.get_bind()
    usernames = {str(u) for u in conn.execute(sa.select(_accounts.c.username)).scalars()}

    def new_form(old: str) -> str | None:
        match = OLD_FORM.match(old)
        if match is None or match.group(1) not in usernames:
            return None
        return f"https://{domain}/users/{match.group(1)}"

    _rewrite_links(conn, new_form)
    for name, columns in _ID_COLUMNS.items():
        table = sa.table(name, sa.column("network", sa.String()), *map(sa.column, columns))
        for column in columns:
            _rewrite_column(conn, table, table.c[column], new_form)


def _rewrite_links(conn: sa.Connection, new_form: NewForm) -> None:
    rows = conn.execute(
        sa.select(_links.c.id, _links.c.account_id)
        .where(_links.c.network == SANDBOX)
        .order_by(_links.c.id)
    ).all()
    taken: set[str] = {str(r.account_id) for r in rows if new_form(str(r.account_id)) is None}
    for row in rows:
        new = new_form(str(row.account_id))
        if new is None:
            continue
        if new in taken:
            log.warning("sandbox account %s was linked twice: link %s removed", new, row.id)
            conn.execute(_links.delete().where(_links.c.id == row.id))
            continue
        taken.add(new)
        conn.execute(_links.update().where(_links.c.id == row.id).values(account_id=new))


def _rewrite_column(
    conn: sa.Connection, table: sa.TableClause, column: sa.ColumnClause[str], new_form: NewForm
) -> None:
    olds = conn.execute(
        sa.select(column)
        .distinct()
        .where(table.c.network == SANDBOX, column.like("%/sandbox/users/%"))
    ).scalars()
    moves = {str(old): new for old in olds if (new := new_form(str(old))) is not None}
    # One pass over the table per batch of ids, not one per id: inbox can be large.
    pending = sorted(moves)
    for start in range(0, len(pending), BATCH):
        batch = {old: moves[old] for old in pending[start : start + BATCH]}
        conn.execute(
            table.update()
            .where(table.c.network == SANDBOX, column.in_(list(batch)))
            .values({column.name: sa.case(batch, value=column)})
        )


def downgrade() -> None:
    op.drop_table("sandbox_instance")
