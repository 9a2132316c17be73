"""The root of the migration tree: every area's first migration revises it.

Revision ID: 0001_base
"""

revision = "0001_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
