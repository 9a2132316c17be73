"""Room for Bluesky's post ids: AT URIs (``at://did:plc:…/app.bsky.feed.post/…``) are about 70
characters, and a ``did:web`` one longer, where 64 were enough for Mastodon and X.

Revision ID: 0027_network_ids
Revises: 0019_emails
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_network_ids"
down_revision = "0019_emails"
branch_labels = None
depends_on = None

# (table, column, nullable): every column that holds a post id or a network's cursor.
COLUMNS = (
    ("inbox", "original_id", False),
    ("inbox", "post_id", False),
    ("inbox", "in_reply_to_id", True),
    ("payments", "post_id", False),
    ("outbox", "in_reply_to", True),
    ("outbox", "remote_id", True),
    ("network_cursors", "cursor", False),
    ("listings", "post_id", False),
)


def _resize(length: int, before: int) -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.String(length),
                existing_type=sa.String(before),
                existing_nullable=nullable,
            )


def upgrade() -> None:
    _resize(512, 64)


def downgrade() -> None:
    _resize(64, 512)
