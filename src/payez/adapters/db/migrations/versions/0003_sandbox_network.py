"""The sandbox social network: accounts, OAuth apps and tokens, statuses, notifications.

Revision ID: 0003_sandbox_network
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sandbox_network"
down_revision = "0001_base"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "sandbox_accounts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(30), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_accounts"),
        sa.UniqueConstraint("username", name="uq_sandbox_accounts_username"),
    )
    op.create_table(
        "sandbox_apps",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("client_secret", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("website", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_apps"),
        sa.UniqueConstraint("client_id", name="uq_sandbox_apps_client_id"),
    )
    op.create_table(
        "sandbox_tokens",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("app_id", Id, nullable=True),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_sandbox_tokens_token_hash"),
        _fk("sandbox_tokens", "app_id", "sandbox_apps"),
        _fk("sandbox_tokens", "account_id", "sandbox_accounts"),
    )
    op.create_table(
        "sandbox_authorization_codes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("app_id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_authorization_codes"),
        sa.UniqueConstraint("code_hash", name="uq_sandbox_authorization_codes_code_hash"),
        _fk("sandbox_authorization_codes", "app_id", "sandbox_apps"),
        _fk("sandbox_authorization_codes", "account_id", "sandbox_accounts"),
    )
    op.create_table(
        "sandbox_statuses",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("in_reply_to_id", Id, nullable=True),
        sa.Column("in_reply_to_account_id", Id, nullable=True),
        sa.Column("reblog_of_id", Id, nullable=True),
        sa.Column("quote_of_id", Id, nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_statuses"),
        sa.CheckConstraint(
            "visibility IN ('public', 'unlisted', 'private', 'direct')",
            name="ck_sandbox_statuses_visibility",
        ),
        sa.UniqueConstraint(
            "account_id",
            "idempotency_key",
            name="uq_sandbox_statuses_account_id_idempotency_key",
        ),
        _fk("sandbox_statuses", "account_id", "sandbox_accounts"),
        _fk("sandbox_statuses", "in_reply_to_id", "sandbox_statuses"),
        _fk("sandbox_statuses", "in_reply_to_account_id", "sandbox_accounts"),
        _fk("sandbox_statuses", "reblog_of_id", "sandbox_statuses"),
        _fk("sandbox_statuses", "quote_of_id", "sandbox_statuses"),
    )
    op.create_index("ix_sandbox_statuses_account_id_id", "sandbox_statuses", ["account_id", "id"])
    op.create_table(
        "sandbox_mentions",
        sa.Column("status_id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("status_id", "account_id", name="pk_sandbox_mentions"),
        _fk("sandbox_mentions", "status_id", "sandbox_statuses"),
        _fk("sandbox_mentions", "account_id", "sandbox_accounts"),
    )
    op.create_index(
        "ix_sandbox_mentions_account_id_status_id",
        "sandbox_mentions",
        ["account_id", "status_id"],
    )
    op.create_table(
        "sandbox_notifications",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("from_account_id", Id, nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status_id", Id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_notifications"),
        _fk("sandbox_notifications", "account_id", "sandbox_accounts"),
        _fk("sandbox_notifications", "from_account_id", "sandbox_accounts"),
        _fk("sandbox_notifications", "status_id", "sandbox_statuses"),
    )
    op.create_index(
        "ix_sandbox_notifications_account_id_id", "sandbox_notifications", ["account_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("sandbox_notifications")
    op.drop_table("sandbox_mentions")
    op.drop_table("sandbox_statuses")
    op.drop_table("sandbox_authorization_codes")
    op.drop_table("sandbox_tokens")
    op.drop_table("sandbox_apps")
    op.drop_table("sandbox_accounts")
