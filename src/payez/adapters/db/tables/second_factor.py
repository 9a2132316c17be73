"""Tables of strong authentication: one-time-code secrets, passkeys, their challenges, and the
attempts made on each confirmation.

A TOTP secret is stored sealed (AES-GCM under a key derived from ``PAYEZ_SECRET_KEY``), so a
copy of the database alone does not let anyone compute a user's codes. A passkey row holds only
the public key and the signature counter the authenticator reported last.
"""

from __future__ import annotations

import sqlalchemy as sa

from payez.adapters.db.metadata import metadata
from payez.adapters.db.tables.columns import Id, Timestamp

totp_secrets = sa.Table(
    "totp_secrets",
    metadata,
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey("users.id"), primary_key=True, autoincrement=False
    ),
    sa.Column("secret_sealed", sa.String(255), nullable=False),
    # Null while the user has not yet proven their app produces the right codes.
    sa.Column("enabled_at", Timestamp),
    # The 30-second step of the last accepted code: a code is good once (RFC 6238, 5.2).
    sa.Column("last_used_step", sa.BigInteger),
    sa.Column("created_at", Timestamp, nullable=False),
)

webauthn_credentials = sa.Table(
    "webauthn_credentials",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    # base64url of the credential id (at most 1023 bytes by the WebAuthn spec).
    sa.Column("credential_id", sa.String(1400), nullable=False, unique=True),
    sa.Column("public_key", sa.LargeBinary, nullable=False),  # COSE_Key
    sa.Column("sign_count", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Index("ix_webauthn_credentials_user", "user_id"),
)

webauthn_challenges = sa.Table(
    "webauthn_challenges",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("purpose", sa.String(48), nullable=False),  # register | confirm:{payment id}
    sa.Column("challenge", sa.String(128), nullable=False, unique=True),  # base64url
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_webauthn_challenges_user", "user_id", "expires_at"),
)

confirmation_attempts = sa.Table(
    "confirmation_attempts",
    metadata,
    sa.Column(
        "payment_id",
        sa.BigInteger,
        sa.ForeignKey("payments.id"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_attempt_at", Timestamp, nullable=False),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)
