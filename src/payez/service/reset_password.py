"""Use case: a person who forgot their password sets a new one through a link sent by email.

Asking for a link gives the same answer, in about the same time, whether or not an account
has the address: otherwise the form would tell anyone who has a Payez account. Both paths
make and hash a token; only a known address stores its hash and queues the email. Requests
are counted per typed address and per client address (``email_link_requests``), whether or
not the address is known, so the limit says nothing either.

The link carries a random token; the database keeps only its SHA-256 (a copy of the table
resets nobody's password). It works once, for ``RESET_MINUTES``. Setting the password ends
every session of the account (whoever took it over is logged out), spends the account's other
links, and queues a notice to the address. Opening the link also proves the user reads mail
there, so an address not yet verified becomes verified.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection

from payez.adapters.db import account_links, web_accounts
from payez.domain.errors import InvalidInput, Language
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter, queue_email
from payez.service.email_verification import check_link_requests
from payez.service.passwords import hash_password
from payez.service.sign_up import check_password_strength, normalise_email

RESET_MINUTES = 30
RESET_PATH = "/password/reset"


class ResetLinkInvalid(InvalidInput):
    code = "reset_link_invalid"
    message_fr = (
        "Ce lien de réinitialisation n'est pas valable : il a expiré ou a déjà servi. "
        "Demandez-en un nouveau."
    )
    message_en = (
        "This reset link is not valid: it has expired or was already used. Ask for a new one."
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _language(value: str) -> Language:
    return "en" if value == "en" else "fr"


def _reset_letter(link: str) -> Letter:
    return Letter(
        subject_fr="Réinitialiser votre mot de passe Payez",
        subject_en="Reset your Payez password",
        text_fr=(
            "Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable "
            f"{RESET_MINUTES} minutes, une seule fois) :\n\n{link}\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le "
            "même.\n"
        ),
        text_en=(
            "Hello,\n\nTo choose a new password, open this link (valid for "
            f"{RESET_MINUTES} minutes, once):\n\n{link}\n\n"
            "If you did not ask for it, ignore this message: your password stays the same.\n"
        ),
    )


def password_changed_letter() -> Letter:
    return Letter(
        subject_fr="Votre mot de passe Payez a été changé",
        subject_en="Your Payez password was changed",
        text_fr=(
            "Bonjour,\n\nLe mot de passe de votre compte Payez vient d'être changé, et toutes "
            "vos sessions ont été fermées.\n\nSi ce n'était pas vous, contactez le support "
            "Payez sans attendre.\n"
        ),
        text_en=(
            "Hello,\n\nThe password of your Payez account was just changed, and all your "
            "sessions were ended.\n\nIf it was not you, contact Payez support right away.\n"
        ),
    )


def queue_password_changed(
    conn: Connection, *, user_id: int, email: str, language: str, password_hash: str, now: datetime
) -> None:
    """The notice to the address, once per new password."""
    queue_email(
        conn,
        kind="password_changed",
        to=email,
        language=_language(language),
        letter=password_changed_letter(),
        idempotency_key=(
            f"password-changed:{user_id}:{hashlib.sha256(password_hash.encode()).hexdigest()}"
        ),
        now=now,
        user_id=user_id,
    )


def request_password_reset(ctx: ServiceContext, *, email: str, ip: str) -> None:
    """Queue a reset link if an account has ``email``; the same outcome otherwise.

    Raises ``EmailInvalid`` for text that is not an address at all, and
    ``EmailLinkRateLimited`` past the limits; both answer the same for any address.
    """
    address = normalise_email(email)
    client = ip[:64] or "unknown"
    now = ctx.now()
    token = secrets.token_urlsafe(32)
    hashed = _token_hash(token)
    with ctx.engine.begin() as conn:
        check_link_requests(conn, ctx.settings, purpose="reset", email=address, ip=client, now=now)
        user = account_links.user_by_email(conn, address)
        if user is None or user.email is None:
            return
        account_links.insert_reset(
            conn,
            user_id=user.user_id,
            token_hash=hashed,
            now=now,
            expires_at=now + timedelta(minutes=RESET_MINUTES),
        )
        queue_email(
            conn,
            kind="password_reset",
            to=user.email,
            language=_language(user.language),
            letter=_reset_letter(f"{ctx.settings.base_url}{RESET_PATH}?token={token}"),
            idempotency_key=f"password-reset:{hashed}",
            now=now,
            user_id=user.user_id,
        )


def reset_link_works(ctx: ServiceContext, token: str) -> bool:
    """Whether the link can still set a password (the form is shown only then)."""
    if not token or len(token) > 128:
        return False
    with ctx.engine.connect() as conn:
        return account_links.live_reset_user(conn, _token_hash(token), ctx.now()) is not None


def reset_password(
    ctx: ServiceContext, *, token: str, new_password: str, signed_in_user: int | None = None
) -> int:
    """Set the password of the link's account, once; returns the account's id.

    ``signed_in_user`` is who the browser is logged in as, if anyone: a link of another
    account is refused there, so nobody resets an account they did not mean to.
    """
    check_password_strength(new_password)
    if not token or len(token) > 128:
        raise ResetLinkInvalid()
    password_hash = hash_password(new_password)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        owner = account_links.live_reset_user(conn, _token_hash(token), now)
        if owner is None or (signed_in_user is not None and signed_in_user != owner):
            raise ResetLinkInvalid()
        user_id = account_links.use_reset(conn, _token_hash(token), now)
        state = account_links.email_state(conn, owner)
        if user_id is None or state is None or state.email is None:
            raise ResetLinkInvalid()
        web_accounts.update_user(conn, user_id, password_hash=password_hash)
        account_links.spend_other_resets(conn, user_id, now)
        account_links.end_sessions(conn, user_id)
        account_links.mark_email_verified(conn, user_id, state.email, now)
        queue_password_changed(
            conn,
            user_id=user_id,
            email=state.email,
            language=state.language,
            password_hash=password_hash,
            now=now,
        )
    return user_id
