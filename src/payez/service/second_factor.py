"""Use cases of the second factor: one-time codes (TOTP, ``pyotp``) and passkeys (WebAuthn,
``webauthn``), enrolled once and asked for each confirmation.

- **TOTP** (RFC 6238, 30-second steps, 6 digits): enrolment creates a secret that stays
  pending until the user types one good code from their app. A code is accepted within one
  step either side of now (clock drift) and only once: the step it matched is remembered and
  a code of the same or an earlier step is refused, so a code seen over a shoulder is spent.
  Secrets are sealed with AES-GCM under a key derived from ``PAYEZ_SECRET_KEY`` and bound to
  their user's id.
- **Passkeys**: the challenge of every ceremony is made here, stored with its purpose
  (``register`` or ``confirm:{payment id}``) and a five-minute expiry, and consumed once by a
  compare-and-set; the response names the challenge it answers, which must be one of ours,
  for this user and this purpose. A credential keeps its public key and signature counter: an
  assertion must carry a higher counter than the one stored (a cloned authenticator lags
  behind), and the counter is moved forward by a compare-and-set so that two uses of the same
  assertion cannot both pass.
- **Recovery codes**: the first factor set up comes with ten single-use codes
  (``recovery_codes``), issued in the same transaction; removing and resetting factors live in
  ``manage_second_factors`` and ``reset_second_factors``.
- **Attempts**: each confirmation allows ``MAX_CONFIRMATION_ATTEMPTS`` submissions of a factor;
  an attempt is reserved atomically before the factor is checked, so concurrent guesses cannot
  exceed the limit.

The relying party is the site itself: its id is the host of ``PAYEZ_BASE_URL`` and the origin
the scheme, host and port of it. Browsers accept passkeys only on a domain name (``localhost``
included), not on a bare IP address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from payez.adapters.db.tables.second_factor import (
    confirmation_attempts,
    totp_secrets,
    webauthn_challenges,
    webauthn_credentials,
)
from payez.config import Settings
from payez.domain.errors import InvalidInput, PayezError
from payez.service.context import ServiceContext
from payez.service.recovery_codes import issue_codes

MAX_CONFIRMATION_ATTEMPTS = 5
CHALLENGE_TTL = timedelta(minutes=5)
TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1
ISSUER = "Payez"
REGISTER = "register"


class SecondFactorInvalid(InvalidInput):
    code = "second_factor_invalid"
    message_fr = "Code incorrect ou déjà utilisé. Vérifiez l'heure de votre téléphone et réessayez."
    message_en = "Wrong or already used code. Check your phone's clock and try again."


class PasskeyInvalid(InvalidInput):
    code = "passkey_invalid"
    message_fr = "La clé d'accès n'a pas pu être vérifiée. Réessayez."
    message_en = "The passkey could not be verified. Please try again."


class TotpAlreadyEnabled(InvalidInput):
    code = "totp_already_enabled"
    message_fr = "Les codes à usage unique sont déjà activés sur ce compte."
    message_en = "One-time codes are already enabled on this account."


class TooManyAttempts(PayezError):
    code = "confirmation_attempts_exceeded"
    message_fr = (
        "Trop d'essais pour cette confirmation : elle est bloquée et expirera sans rien payer. "
        "Publiez à nouveau votre paiement si vous le souhaitez."
    )
    message_en = (
        "Too many attempts for this confirmation: it is locked and will expire without paying. "
        "Post your payment again if you wish."
    )


@dataclass(frozen=True, slots=True)
class Factors:
    totp: bool
    passkeys: int

    @property
    def any(self) -> bool:
        return self.totp or self.passkeys > 0


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base32, for typing into an app
    uri: str  # otpauth://totp/...


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(settings: Settings) -> RelyingParty:
    parts = urlsplit(settings.base_url)
    return RelyingParty(id=parts.hostname or "localhost", origin=f"{parts.scheme}://{parts.netloc}")


def factors_of(ctx: ServiceContext, user_id: int) -> Factors:
    with ctx.engine.connect() as conn:
        totp = conn.execute(
            sa.select(totp_secrets.c.user_id).where(
                totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None)
            )
        ).first()
        passkeys = conn.execute(
            sa.select(sa.func.count())
            .select_from(webauthn_credentials)
            .where(webauthn_credentials.c.user_id == user_id)
        ).scalar_one()
    return Factors(totp=totp is not None, passkeys=int(passkeys))


def count_factors(conn: Connection, user_id: int) -> int:
    """The enabled TOTP secret (0 or 1) plus the passkeys, in the caller's transaction."""
    totp = conn.execute(
        sa.select(sa.func.count())
        .select_from(totp_secrets)
        .where(totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None))
    ).scalar_one()
    passkeys = conn.execute(
        sa.select(sa.func.count())
        .select_from(webauthn_credentials)
        .where(webauthn_credentials.c.user_id == user_id)
    ).scalar_one()
    return int(totp) + int(passkeys)


def issue_codes_for_first_factor(
    conn: Connection, settings: Settings, user_id: int, now: datetime
) -> None:
    """The factor just added is the user's first: give them their recovery codes with it."""
    if count_factors(conn, user_id) == 1:
        issue_codes(conn, settings, user_id, now)


def _insert_if_absent(conn: Connection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert one row unless it breaks a unique key; True when it went in.

    Told by the returned key rather than the row count, which the PostgreSQL driver leaves
    at -1 when the statement returns rows.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None


# -- sealing TOTP secrets ------------------------------------------------------------------


def _sealing_key(settings: Settings) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"payez totp secret v1"
    ).derive(settings.secret_key.encode("utf-8"))
    return AESGCM(key)


def _seal(settings: Settings, user_id: int, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _sealing_key(settings).encrypt(nonce, secret.encode("ascii"), str(user_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _unseal(settings: Settings, user_id: int, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    try:
        plain = _sealing_key(settings).decrypt(raw[:12], raw[12:], str(user_id).encode())
    except InvalidTag:
        # Another secret key, or a row copied to another user: no code can match.
        raise SecondFactorInvalid("sealed secret does not open") from None
    return plain.decode("ascii")


# -- TOTP ----------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The step whose code is ``code``, within the drift window around ``now``."""
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = _totp(secret)
    found = None
    for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
        moment = now + timedelta(seconds=offset * TOTP_STEP_SECONDS)
        # Compare every candidate, in constant time each, without stopping early.
        if hmac.compare_digest(totp.at(moment), code):
            found = int(totp.timecode(moment))
    return found


def _enrolment(secret: str, account_name: str) -> TotpEnrolment:
    return TotpEnrolment(
        secret=secret, uri=_totp(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)
    )


def pending_totp(ctx: ServiceContext, user_id: int, account_name: str) -> TotpEnrolment | None:
    """The secret being enrolled (shown until one good code enables it), if any."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(totp_secrets).where(
                totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None)
            )
        ).first()
    if row is None:
        return None
    return _enrolment(_unseal(ctx.settings, user_id, row.secret_sealed), account_name)


def start_totp_enrolment(ctx: ServiceContext, user_id: int, account_name: str) -> TotpEnrolment:
    """A fresh secret to enrol; refused once codes are enabled (no silent replacement)."""
    secret = pyotp.random_base32(32)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            sa.select(totp_secrets.c.enabled_at).where(totp_secrets.c.user_id == user_id)
        ).first()
        if row is not None and row.enabled_at is not None:
            raise TotpAlreadyEnabled()
        sealed = _seal(ctx.settings, user_id, secret)
        if row is None:
            conn.execute(
                totp_secrets.insert().values(user_id=user_id, secret_sealed=sealed, created_at=now)
            )
        else:
            conn.execute(
                totp_secrets.update()
                .where(totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None))
                .values(secret_sealed=sealed, created_at=now)
            )
    return _enrolment(secret, account_name)


def enable_totp(ctx: ServiceContext, user_id: int, code: str) -> None:
    """Enable the pending secret once ``code`` proves the user's app has it."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            sa.select(totp_secrets).where(
                totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None)
            )
        ).first()
        if row is None:
            raise SecondFactorInvalid("no enrolment in progress")
        step = _matching_step(_unseal(ctx.settings, user_id, row.secret_sealed), code, now)
        if step is None:
            raise SecondFactorInvalid()
        done = conn.execute(
            totp_secrets.update()
            .where(totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_(None))
            .values(enabled_at=now, last_used_step=step)
        ).rowcount
        if not done:
            raise SecondFactorInvalid("enrolment changed meanwhile")
        issue_codes_for_first_factor(conn, ctx.settings, user_id, now)


def enrol_totp_secret(
    conn: Connection, settings: Settings, user_id: int, secret: str, now: datetime
) -> bool:
    """Enable ``secret`` for ``user_id`` at once (the demo's users); False if one exists."""
    _totp(secret).now()  # refuses a secret that is not base32
    return _insert_if_absent(
        conn,
        totp_secrets,
        {
            "user_id": user_id,
            "secret_sealed": _seal(settings, user_id, secret),
            "enabled_at": now,
            "last_used_step": None,
            "created_at": now,
        },
    )


def verify_totp(ctx: ServiceContext, user_id: int, code: str) -> bool:
    """True once per good code of the user's enabled secret."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            sa.select(totp_secrets).where(
                totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None)
            )
        ).first()
        if row is None:
            return False
        try:
            secret = _unseal(ctx.settings, user_id, row.secret_sealed)
        except SecondFactorInvalid:
            return False
        step = _matching_step(secret, code, now)
        if step is None:
            return False
        spent = conn.execute(
            totp_secrets.update()
            .where(
                totp_secrets.c.user_id == user_id,
                sa.or_(
                    totp_secrets.c.last_used_step.is_(None),
                    totp_secrets.c.last_used_step < step,
                ),
            )
            .values(last_used_step=step)
        ).rowcount
    return spent == 1


def totp_code_spent(ctx: ServiceContext, user_id: int, code: str) -> bool:
    """Whether ``code`` is a good code already used: a double submission, or a replay."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(totp_secrets).where(
                totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None)
            )
        ).first()
    if row is None or row.last_used_step is None:
        return False
    try:
        secret = _unseal(ctx.settings, user_id, row.secret_sealed)
    except SecondFactorInvalid:
        return False
    step = _matching_step(secret, code, ctx.now())
    return step is not None and step <= int(row.last_used_step)


# -- WebAuthn challenges -------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _store_challenge(
    conn: Connection, user_id: int, purpose: str, challenge: bytes, now: datetime
) -> None:
    # Old ceremonies of this user are of no use any more: keep the table small.
    conn.execute(
        webauthn_challenges.delete().where(
            webauthn_challenges.c.user_id == user_id, webauthn_challenges.c.expires_at < now
        )
    )
    conn.execute(
        webauthn_challenges.insert().values(
            user_id=user_id,
            purpose=purpose,
            challenge=_b64url(challenge),
            expires_at=now + CHALLENGE_TTL,
            created_at=now,
        )
    )


def _answered_challenge(credential: dict[str, Any]) -> str:
    """The challenge the browser signed, read from clientDataJSON (verified again later)."""
    response = credential.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("clientDataJSON"), str):
        raise ValueError("no clientDataJSON")
    client_data = json.loads(base64url_to_bytes(response["clientDataJSON"]))
    challenge = client_data.get("challenge") if isinstance(client_data, dict) else None
    if not isinstance(challenge, str) or not 16 <= len(challenge) <= 128:
        raise ValueError("no challenge")
    return challenge


def _consume_challenge(
    conn: Connection, user_id: int, purpose: str, challenge: str, now: datetime
) -> bool:
    used = conn.execute(
        webauthn_challenges.update()
        .where(
            webauthn_challenges.c.challenge == challenge,
            webauthn_challenges.c.user_id == user_id,
            webauthn_challenges.c.purpose == purpose,
            webauthn_challenges.c.used_at.is_(None),
            webauthn_challenges.c.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    return used == 1


def _parse_credential(credential_json: str) -> dict[str, Any]:
    if len(credential_json) > 20_000:
        raise ValueError("credential too large")
    credential = json.loads(credential_json)
    if not isinstance(credential, dict):
        raise ValueError("credential is not an object")
    return credential


def _descriptors(conn: Connection, user_id: int) -> list[PublicKeyCredentialDescriptor]:
    ids = conn.execute(
        sa.select(webauthn_credentials.c.credential_id)
        .where(webauthn_credentials.c.user_id == user_id)
        .order_by(webauthn_credentials.c.id)
    ).scalars()
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(i)) for i in ids]


# -- passkey registration ------------------------------------------------------------------


def passkey_registration_options(
    ctx: ServiceContext, user_id: int, user_name: str, display_name: str
) -> str:
    """The JSON options for ``navigator.credentials.create``, its challenge stored."""
    rp = relying_party(ctx.settings)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=ISSUER,
            user_name=user_name,
            user_id=hashlib.sha256(f"payez-user:{user_id}".encode()).digest()[:16],
            user_display_name=display_name,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=_descriptors(conn, user_id),
        )
        _store_challenge(conn, user_id, REGISTER, options.challenge, now)
    return str(options_to_json(options))


def register_passkey(ctx: ServiceContext, user_id: int, credential_json: str) -> None:
    """Verify an attestation against one of our registration challenges and keep the key."""
    rp = relying_party(ctx.settings)
    now = ctx.now()
    try:
        credential = _parse_credential(credential_json)
        challenge = _answered_challenge(credential)
    except (ValueError, WebAuthnException):
        raise PasskeyInvalid("malformed credential") from None
    with ctx.engine.begin() as conn:
        if not _consume_challenge(conn, user_id, REGISTER, challenge, now):
            raise PasskeyInvalid("unknown, used or expired challenge")
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyInvalid(type(exc).__name__) from None
        inserted = _insert_if_absent(
            conn,
            webauthn_credentials,
            {
                "user_id": user_id,
                "credential_id": _b64url(verified.credential_id),
                "public_key": verified.credential_public_key,
                "sign_count": verified.sign_count,
                "created_at": now,
                "last_used_at": None,
            },
        )
        if not inserted:
            raise PasskeyInvalid("credential already registered")
        issue_codes_for_first_factor(conn, ctx.settings, user_id, now)


# -- passkey assertion ---------------------------------------------------------------------


def passkey_authentication_options(ctx: ServiceContext, user_id: int, purpose: str) -> str | None:
    """The JSON options for ``navigator.credentials.get`` (None without a passkey)."""
    rp = relying_party(ctx.settings)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        allowed = _descriptors(conn, user_id)
        if not allowed:
            return None
        options = generate_authentication_options(
            rp_id=rp.id,
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        _store_challenge(conn, user_id, purpose, options.challenge, now)
    return str(options_to_json(options))


def verify_passkey(ctx: ServiceContext, user_id: int, credential_json: str, purpose: str) -> bool:
    """True when the assertion answers one of our unused challenges for ``purpose``, is signed
    by one of the user's passkeys, and moves its signature counter forward."""
    rp = relying_party(ctx.settings)
    now = ctx.now()
    try:
        credential = _parse_credential(credential_json)
        challenge = _answered_challenge(credential)
        credential_id = credential.get("id")
        if not isinstance(credential_id, str):
            return False
    except (ValueError, WebAuthnException):
        return False
    with ctx.engine.begin() as conn:
        stored = conn.execute(
            sa.select(webauthn_credentials).where(
                webauthn_credentials.c.credential_id == credential_id,
                webauthn_credentials.c.user_id == user_id,
            )
        ).first()
        if stored is None or not _consume_challenge(conn, user_id, purpose, challenge, now):
            return False
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=bytes(stored.public_key),
                credential_current_sign_count=int(stored.sign_count),
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            return False
        moved = conn.execute(
            webauthn_credentials.update()
            .where(
                webauthn_credentials.c.id == stored.id,
                webauthn_credentials.c.sign_count == stored.sign_count,
            )
            .values(sign_count=verified.new_sign_count, last_used_at=now)
        ).rowcount
    return moved == 1


def passkey_challenge_spent(
    ctx: ServiceContext, user_id: int, credential_json: str, purpose: str
) -> bool:
    """Whether the assertion answers one of our challenges that was already used."""
    try:
        challenge = _answered_challenge(_parse_credential(credential_json))
    except (ValueError, WebAuthnException):
        return False
    with ctx.engine.connect() as conn:
        used = conn.execute(
            sa.select(webauthn_challenges.c.used_at).where(
                webauthn_challenges.c.challenge == challenge,
                webauthn_challenges.c.user_id == user_id,
                webauthn_challenges.c.purpose == purpose,
            )
        ).first()
    return used is not None and used.used_at is not None


# -- attempts per confirmation -------------------------------------------------------------


def reserve_attempt(ctx: ServiceContext, payment_id: int, user_id: int) -> int:
    """Count one more submission for this confirmation; returns how many are left after it.

    Raises :class:`TooManyAttempts` once the limit is reached, before any factor is checked.
    """
    now = ctx.now()
    with ctx.engine.begin() as conn:
        _insert_if_absent(
            conn,
            confirmation_attempts,
            {"payment_id": payment_id, "user_id": user_id, "attempts": 0, "last_attempt_at": now},
        )
        reserved = conn.execute(
            confirmation_attempts.update()
            .where(
                confirmation_attempts.c.payment_id == payment_id,
                confirmation_attempts.c.attempts < MAX_CONFIRMATION_ATTEMPTS,
            )
            .values(attempts=confirmation_attempts.c.attempts + 1, last_attempt_at=now)
        ).rowcount
        if not reserved:
            raise TooManyAttempts()
        used = conn.execute(
            sa.select(confirmation_attempts.c.attempts).where(
                confirmation_attempts.c.payment_id == payment_id
            )
        ).scalar_one()
    return MAX_CONFIRMATION_ATTEMPTS - int(used)


def attempts_left(ctx: ServiceContext, payment_id: int) -> int:
    with ctx.engine.connect() as conn:
        used = conn.execute(
            sa.select(confirmation_attempts.c.attempts).where(
                confirmation_attempts.c.payment_id == payment_id
            )
        ).scalar_one_or_none()
    return max(MAX_CONFIRMATION_ATTEMPTS - int(used or 0), 0)
