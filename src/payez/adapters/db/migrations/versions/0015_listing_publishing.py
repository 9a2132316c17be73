"""Publishing a listing through the network port: the merchant's own sealed access token on
their linked account, and the outbox message that publishes a draft.

Revision ID: 0015_listing_publishing
Revises: 0011_campaigns
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_listing_publishing"
down_revision = "0011_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("social_links") as batch:
        batch.add_column(sa.Column("access_token_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("listing_details") as batch:
        batch.add_column(sa.Column("publish_key", sa.String(length=128), nullable=True))
        batch.create_unique_constraint(op.f("uq_listing_details_publish_key"), ["publish_key"])


def downgrade() -> None:
    with op.batch_alter_table("listing_details") as batch:
        batch.drop_constraint(op.f("uq_listing_details_publish_key"), type_="unique")
        batch.drop_column("publish_key")
    with op.batch_alter_table("social_links") as batch:
        batch.drop_column("access_token_sealed")
