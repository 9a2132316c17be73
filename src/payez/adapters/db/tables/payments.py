"""Tables of the pay-by-post pipeline: users, linked accounts, inbox, payments, outbox, listings."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Cents, Id, Timestamp

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # person | association | merchant
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("email", sa.String(254), unique=True),
    # When the user proved they read mail at ``email`` (the link sent at sign-up); an
    # unverified address may log in but not link a network nor pay out.
    sa.Column("email_verified_at", Timestamp),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("language", sa.String(2), nullable=False, server_default="fr"),
    # An IANA zone name: the web app shows this user's times in it.
    sa.Column("time_zone", sa.String(64), nullable=False, server_default="Europe/Paris"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("identity_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("organisation_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("legal_id", sa.String(32)),  # SIREN or RNA of an association or a merchant
    sa.Column("wallet_account_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("hide_amount", sa.Boolean, nullable=False, server_default=sa.false()),
    # Tell the user privately (a direct message) when money reaches them.
    sa.Column("notify_received", sa.Boolean, nullable=False, server_default=sa.false()),
    # Emails the user chose to get (service/notification_emails.py); all on by default, as
    # each tells of money moving on their account.
    sa.Column("email_money_received", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("email_claim_expiring", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("email_payout_executed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("email_confirmation_waiting", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("card_customer_id", sa.String(64)),
    sa.Column("last_confirmation_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    # Set when a login-less account (opened by a claim before claims needed a login) is handed
    # over to the person who proved its social account: its records and money follow them.
    sa.Column("adopted_by_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    # Set when the user closed their account: the profile is pseudonymised, the records the
    # law makes us keep stay under the pseudonym (docs/privacy.md).
    sa.Column("closed_at", Timestamp),
    # The user has a webhook endpoint in service: the processor reads it with the user, so a
    # batch writes webhook events only for those who listen, without asking more.
    sa.Column("has_webhooks", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_users_adopted_by", "adopted_by_user_id"),
)

social_links = sa.Table(
    "social_links",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("network", sa.String(16), nullable=False),
    sa.Column("account_id", sa.String(512), nullable=False),  # immutable id, never the handle
    sa.Column("handle", sa.String(320), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # The access token the user granted to publish as them (a merchant's listings), sealed
    # with AES-GCM (service/network_tokens.py); NULL for everyone else.
    sa.Column("access_token_sealed", sa.Text),
    sa.UniqueConstraint("network", "account_id"),
    sa.Index("ix_social_links_user", "user_id"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("network", sa.String(16), nullable=False),
    sa.Column("original_id", sa.String(512), nullable=False),
    sa.Column("post_id", sa.String(512), nullable=False),
    sa.Column("author_id", sa.String(512), nullable=False),
    sa.Column("author_handle", sa.String(320), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("posted_at", Timestamp, nullable=False),
    sa.Column("seen_at", Timestamp, nullable=False),
    sa.Column("in_reply_to_id", sa.String(512)),
    sa.Column("recipient_account_id", sa.String(512)),  # resolved when the post was recorded
    sa.Column("is_repost", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_quote", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("visibility", sa.String(16), nullable=False, server_default="public"),
    sa.Column("edited", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("processed", sa.Boolean, nullable=False, server_default=sa.false()),
    # A sender short of money whose card is being charged: waiting | funded | failed.
    sa.Column("funding", sa.String(16)),
    sa.Column("funding_cents", Cents),
    # What the listener read in the post (domain/stored_commands.py) and with which grammar:
    # the processor takes it instead of parsing again. Absent on rows other paths recorded.
    sa.Column("parsed_command", sa.Text),
    sa.Column("parsed_grammar", sa.String(400)),
    sa.UniqueConstraint("network", "original_id"),
    sa.Index("ix_inbox_unprocessed", "processed", "id"),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("inbox_id", sa.BigInteger, sa.ForeignKey("inbox.id"), nullable=False, unique=True),
    sa.Column("network", sa.String(16), nullable=False),
    sa.Column("post_id", sa.String(512), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("reason", sa.String(48)),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("sender_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("recipient_user_id", sa.BigInteger, sa.ForeignKey("users.id")),
    sa.Column("recipient_account_id", sa.String(512)),
    sa.Column("recipient_handle", sa.String(320)),
    sa.Column("amount_cents", Cents),
    sa.Column("currency", sa.String(3)),
    sa.Column("memo", sa.Text),
    sa.Column("listing_id", sa.BigInteger),
    sa.Column("claim_token", sa.String(64), unique=True),
    sa.Column("claim_expires_at", Timestamp),
    sa.Column("reminder_sent_at", Timestamp),
    sa.Column("confirm_token", sa.String(64), unique=True),
    sa.Column("confirm_expires_at", Timestamp),
    sa.Column("confirm_reason", sa.String(32)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("amount_cents IS NULL OR amount_cents > 0", name="amount_positive"),
    # Every column the senders' history reads (adapters/db/sender_history.py), so that it is
    # answered from the index alone: a batch of 500 reads about 8,000 of its senders' payments,
    # each otherwise one more lookup in the table (SQLite: the query 2.5 times slower).
    sa.Index(
        "ix_payments_sender_created",
        "sender_user_id",
        "created_at",
        "state",
        "amount_cents",
        "confirm_reason",
        "recipient_user_id",
        "recipient_account_id",
    ),
    sa.Index("ix_payments_recipient_created", "recipient_user_id", "created_at"),
    sa.Index("ix_payments_state_claim", "state", "claim_expires_at"),
    sa.Index("ix_payments_recipient_account", "network", "recipient_account_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("network", sa.String(16), nullable=False),
    # reply | private | listing (a merchant's listing post, published as the merchant)
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("in_reply_to", sa.String(512)),
    sa.Column("recipient_account_id", sa.String(512)),
    sa.Column("recipient_handle", sa.String(320)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("payment_id", sa.BigInteger),
    # What the message says (a reply outcome such as ``settled``; empty for listing posts) and
    # the Payez user it is for: the reply budget ranks messages by the first, and an
    # acknowledgement it cannot afford becomes an in-app notification for the second.
    sa.Column("outcome", sa.String(40)),
    sa.Column("user_id", sa.BigInteger),
    # pending | sent | failed | cancelled | downgraded (shown in the app instead of posted)
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("sent_at", Timestamp),
    sa.Column("remote_id", sa.String(512)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_outbox_due", "state", "next_attempt_at"),
)

network_cursors = sa.Table(
    "network_cursors",
    metadata,
    sa.Column("network", sa.String(16), primary_key=True),
    sa.Column("cursor", sa.String(512), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("network", sa.String(16), nullable=False),
    sa.Column("post_id", sa.String(512), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("price_cents", Cents, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("network", "post_id"),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price_cents > 0", name="price_positive"),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("listing_id", sa.BigInteger, sa.ForeignKey("listings.id"), nullable=False),
    sa.Column("payment_id", sa.BigInteger, sa.ForeignKey("payments.id"), unique=True),
    sa.Column("buyer_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("merchant_user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("amount_cents", Cents, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # paid | refunded
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("refunded_at", Timestamp),
    sa.Index("ix_orders_merchant", "merchant_user_id", "created_at"),
)
