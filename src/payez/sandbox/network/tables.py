"""Tables of the sandbox social network (prefixed ``sandbox_``), on the shared metadata.

They mirror migrations ``0003_sandbox_network`` and ``0014_sandbox_identity``. Ids are
integers, served as strings like Mastodon's; secrets (passwords, tokens, authorization codes) are
stored hashed.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Timestamp

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The instance's own identity, one row made once per database: the domain that account and
# status URIs (immutable ids) are built on, whatever address the sandbox is served at.
instance = sa.Table(
    "sandbox_instance",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
)

accounts = sa.Table(
    "sandbox_accounts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(30), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

apps = sa.Table(
    "sandbox_apps",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(64), nullable=False, unique=True),
    sa.Column("client_secret", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("redirect_uris", sa.Text(), nullable=False),
    sa.Column("scopes", sa.String(500), nullable=False),
    sa.Column("website", sa.String(500), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

tokens = sa.Table(
    "sandbox_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("app_id", Id, sa.ForeignKey("sandbox_apps.id"), nullable=True),
    sa.Column("account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=True),
    sa.Column("scopes", sa.String(500), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

authorization_codes = sa.Table(
    "sandbox_authorization_codes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("app_id", Id, sa.ForeignKey("sandbox_apps.id"), nullable=False),
    sa.Column("account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=False),
    sa.Column("redirect_uri", sa.Text(), nullable=False),
    sa.Column("scopes", sa.String(500), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp, nullable=True),
)

statuses = sa.Table(
    "sandbox_statuses",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("in_reply_to_id", Id, sa.ForeignKey("sandbox_statuses.id"), nullable=True),
    sa.Column("in_reply_to_account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=True),
    sa.Column("reblog_of_id", Id, sa.ForeignKey("sandbox_statuses.id"), nullable=True),
    sa.Column("quote_of_id", Id, sa.ForeignKey("sandbox_statuses.id"), nullable=True),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("edited_at", Timestamp, nullable=True),
    sa.Column("deleted_at", Timestamp, nullable=True),
    sa.CheckConstraint(
        "visibility IN ('public', 'unlisted', 'private', 'direct')", name="visibility"
    ),
    # Mastodon's Idempotency-Key is per account: the same key from two accounts is two posts.
    sa.UniqueConstraint("account_id", "idempotency_key"),
    sa.Index("ix_sandbox_statuses_account_id_id", "account_id", "id"),
)

mentions = sa.Table(
    "sandbox_mentions",
    metadata,
    sa.Column("status_id", Id, sa.ForeignKey("sandbox_statuses.id"), primary_key=True),
    sa.Column("account_id", Id, sa.ForeignKey("sandbox_accounts.id"), primary_key=True),
    sa.Index("ix_sandbox_mentions_account_id_status_id", "account_id", "status_id"),
)

notifications = sa.Table(
    "sandbox_notifications",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=False),
    sa.Column("from_account_id", Id, sa.ForeignKey("sandbox_accounts.id"), nullable=False),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("status_id", Id, sa.ForeignKey("sandbox_statuses.id"), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_sandbox_notifications_account_id_id", "account_id", "id"),
)
