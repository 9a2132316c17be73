"""Merchants' API keys, the answers kept for idempotent API writes, and the webhooks sent to
merchants and associations: endpoints, events (written with the payment, refund or donation
they tell of), one delivery per event and endpoint, and a log line per attempt."""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("label", sa.String(80), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),  # read | write
    # SHA-256 (hex) of the whole key ``pzk_<id>_<secret>``: the key itself is shown once.
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Column("revoked_at", Timestamp),
    sa.Index("ix_api_keys_user", "user_id"),
)

api_idempotency = sa.Table(
    "api_idempotency",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    # SHA-256 of the method, path and body: the same key with another request is refused.
    sa.Column("request_hash", sa.String(64), nullable=False),
    # 0 while the first request runs; then its status and JSON body, replayed as they are.
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("user_id", "idempotency_key"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("url", sa.String(500), nullable=False),
    # The signing secret, sealed with AES-GCM under a key derived from PAYEZ_SECRET_KEY.
    sa.Column("secret_sealed", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("disabled_at", Timestamp),
    sa.Index("ix_webhook_endpoints_user", "user_id"),
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(40), nullable=False, unique=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    # The JSON body sent, byte for byte the same on every attempt.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # Set once a delivery was made for each of the user's active endpoints.
    sa.Column("fanned_out", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_webhook_events_fanned_out", "fanned_out", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_row_id", sa.BigInteger, sa.ForeignKey("webhook_events.id"), nullable=False),
    sa.Column("endpoint_id", sa.BigInteger, sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("delivered_at", Timestamp),
    sa.UniqueConstraint("event_row_id", "endpoint_id"),
    sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    sa.Column("attempted_at", Timestamp, nullable=False),
    sa.Column("status_code", sa.Integer),  # None: no answer (refused, timed out...)
    sa.Column("error", sa.String(200)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
