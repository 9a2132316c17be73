"""Use case: a user proves they read mail at their address, by opening the link sent to it.

The link's token is signed, not stored: ``<user id>.<expiry>.<HMAC>``, the HMAC (SHA-256,
under ``PAYEZ_SECRET_KEY``) covering the user id, the expiry and the address the link was
sent to. The address itself is not in the link (links end up in logs and histories); the
check recomputes the HMAC with the user's current address, so a link sent to an address the
user has since changed verifies nothing. Nothing is written when a link is sent, and
verifying is idempotent: the first moment stays.

Until then the account may log in, but neither link a social account nor pay out
(``require_verified_email``): both hand the account's money or identity to someone, and the
email address is how Payez reaches the owner (password reset, notices). Accounts without an
address at all are not held back: login-less accounts a claim once opened, the demo's
sandbox members and any user made by a command have never had an address to verify, and
cannot log in on the web to link anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import account_links
from payez.config import Settings
from payez.domain.errors import Forbidden, InvalidInput, Language, PayezError
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter, queue_email

VERIFY_HOURS = 48
VERIFY_PATH = "/verify-email"


class EmailLinkInvalid(InvalidInput):
    code = "email_link_invalid"
    message_fr = "Ce lien de vérification n'est pas valable. Demandez-en un nouveau."
    message_en = "This verification link is not valid. Ask for a new one."


class EmailLinkExpired(InvalidInput):
    code = "email_link_expired"
    message_fr = "Ce lien de vérification a expiré. Demandez-en un nouveau."
    message_en = "This verification link has expired. Ask for a new one."


class EmailUnverified(Forbidden):
    code = "email_unverified"
    message_fr = (
        "Vérifiez d'abord votre adresse e-mail : ouvrez le lien que nous vous avons envoyé."
    )
    message_en = "Verify your email address first: open the link we sent you."


class EmailLinkRateLimited(PayezError):
    code = "email_link_rate_limited"
    message_fr = "Trop de demandes de lien. Réessayez plus tard."
    message_en = "Too many link requests. Please try again later."


def _signature(settings: Settings, user_id: int, expires: int, email: str) -> str:
    message = f"verify-email\n{user_id}\n{expires}\n{email}".encode()
    digest = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verification_token(settings: Settings, user_id: int, email: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{user_id}.{expires}.{_signature(settings, user_id, expires, email)}"


def _letter(link: str) -> Letter:
    return Letter(
        subject_fr="Vérifiez votre adresse e-mail",
        subject_en="Verify your email address",
        text_fr=(
            "Bonjour,\n\nPour vérifier l'adresse de votre compte Payez, ouvrez ce lien "
            f"(valable {VERIFY_HOURS} heures) :\n\n{link}\n\n"
            "Si vous n'avez pas créé de compte Payez, ignorez ce message.\n"
        ),
        text_en=(
            "Hello,\n\nTo verify the address of your Payez account, open this link "
            f"(valid for {VERIFY_HOURS} hours):\n\n{link}\n\n"
            "If you did not create a Payez account, ignore this message.\n"
        ),
    )


def queue_verification_email(
    conn: Connection,
    settings: Settings,
    *,
    user_id: int,
    email: str,
    language: Language,
    now: datetime,
) -> None:
    """Queue the link in the caller's transaction (the sign-up's, or a resend's)."""
    token = verification_token(settings, user_id, email, now + timedelta(hours=VERIFY_HOURS))
    queue_email(
        conn,
        kind="verify_email",
        to=email,
        language=language,
        letter=_letter(f"{settings.base_url}{VERIFY_PATH}?token={token}"),
        idempotency_key=f"verify-email:{user_id}:{hashlib.sha256(token.encode()).hexdigest()}",
        now=now,
        user_id=user_id,
    )


def verify_email(ctx: ServiceContext, token: str) -> int:
    """Mark the address the link was sent to as verified; returns the user's id."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 200:
        raise EmailLinkInvalid()
    user_id, expires = int(parts[0]), int(parts[1])
    now = ctx.now()
    with ctx.engine.begin() as conn:
        state = account_links.email_state(conn, user_id)
        if state is None or state.email is None:
            raise EmailLinkInvalid()
        expected = _signature(ctx.settings, user_id, expires, state.email)
        if not hmac.compare_digest(expected, parts[2]):
            raise EmailLinkInvalid()
        if datetime.fromtimestamp(expires, UTC) <= now:
            raise EmailLinkExpired()
        if not account_links.mark_email_verified(conn, user_id, state.email, now):
            raise EmailLinkInvalid()
    return user_id


def email_needs_verifying(ctx: ServiceContext, user_id: int) -> bool:
    """Whether the user has an address they have not verified yet (pages show a reminder)."""
    with ctx.engine.connect() as conn:
        state = account_links.email_state(conn, user_id)
    return state is not None and state.email is not None and state.email_verified_at is None


def require_verified_email(conn: Connection, user_id: int) -> None:
    """Refuse, inside the caller's transaction, a user whose address is not verified yet."""
    state = account_links.email_state(conn, user_id)
    if state is not None and state.email is not None and state.email_verified_at is None:
        raise EmailUnverified(str(user_id))


def check_link_requests(
    conn: Connection, settings: Settings, *, purpose: str, email: str, ip: str, now: datetime
) -> None:
    """Count this request for an emailed link, or refuse it past the limits (per address,
    per client address) within the window."""
    since = now - timedelta(minutes=settings.email_link_window_minutes)
    by_email = account_links.requests_since(conn, purpose, since, email=email)
    by_ip = account_links.requests_since(conn, purpose, since, ip=ip)
    if by_email >= settings.email_link_max_per_address or by_ip >= settings.email_link_max_per_ip:
        raise EmailLinkRateLimited()
    account_links.record_request(conn, purpose=purpose, email=email, ip=ip, now=now)
    # The address and client of a request are personal data: kept as long as login attempts.
    kept_since = now - timedelta(days=max(settings.login_attempts_days, 1))
    account_links.delete_requests_before(conn, kept_since)


def resend_verification(ctx: ServiceContext, user_id: int, *, ip: str) -> bool:
    """Send the link again; False when there is nothing to verify. Rate limited."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        state = account_links.email_state(conn, user_id)
        if state is None or state.email is None or state.email_verified_at is not None:
            return False
        check_link_requests(
            conn,
            ctx.settings,
            purpose="verify",
            email=state.email,
            ip=ip[:64] or "unknown",
            now=now,
        )
        queue_verification_email(
            conn,
            ctx.settings,
            user_id=user_id,
            email=state.email,
            language="en" if state.language == "en" else "fr",
            now=now,
        )
    return True
