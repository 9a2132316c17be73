"""Use case: the user removes a second factor, or replaces their recovery codes.

The rule, the one a bank applies: a factor is removed only with proof from *another* factor,
so that whoever holds one stolen factor (or the session and the password) cannot take away the
others.

- Removing TOTP: a passkey, or a recovery code.
- Removing a passkey: a TOTP code, another passkey, or a recovery code.
- Removing the last factor: the password **and** a recovery code (there is no other factor to
  ask); the recovery codes go with it, since they only stand in for a factor.
- New recovery codes: a current factor (TOTP or passkey), or the password and a recovery code.
  The password alone is not enough: login asks for it, so it would let a stolen password mint
  codes that stand in for the second factor.

A recovery code given as proof is spent in the transaction that does the change, so a refused
change spends nothing. Failed proofs count like failed logins (``login_max_failures`` within
``login_window_minutes`` per user), so the forms cannot be used to guess six-digit codes. Each
change queues a notice to the user's email address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.second_factor import totp_secrets, webauthn_credentials
from payez.domain.errors import InvalidInput, PayezError
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter
from payez.service.passwords import password_matches
from payez.service.recovery_codes import (
    delete_codes,
    issue_codes,
    notify,
    security_link,
    spend_code,
)
from payez.service.second_factor import count_factors, verify_passkey, verify_totp

SECURITY_PURPOSE = "security"
TOTP = "totp"
PASSKEY = "passkey"
RECOVERY = "recovery"


class ProofInvalid(InvalidInput):
    code = "second_factor_proof_invalid"
    message_fr = (
        "Confirmation refusée : donnez un code, une clé d'accès ou un code de secours valable "
        "(et votre mot de passe pour le dernier facteur)."
    )
    message_en = (
        "Confirmation refused: give a valid code, passkey or recovery code (and your password "
        "for the last factor)."
    )


class ProofRateLimited(PayezError):
    code = "second_factor_proof_rate_limited"
    message_fr = "Trop d'essais. Réessayez dans quelques minutes."
    message_en = "Too many attempts. Please try again in a few minutes."


class FactorUnknown(InvalidInput):
    code = "second_factor_unknown"
    message_fr = "Ce facteur n'existe pas (ou plus) sur votre compte."
    message_en = "This factor does not exist (any more) on your account."


@dataclass(frozen=True, slots=True)
class Proof:
    """What the user gave to confirm a change: one factor, maybe with the password."""

    method: str  # totp | passkey | recovery
    code: str = ""
    credential: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class Passkey:
    id: int
    created_at: datetime
    last_used_at: datetime | None


def passkeys_of(ctx: ServiceContext, user_id: int) -> tuple[Passkey, ...]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                webauthn_credentials.c.id,
                webauthn_credentials.c.created_at,
                webauthn_credentials.c.last_used_at,
            )
            .where(webauthn_credentials.c.user_id == user_id)
            .order_by(webauthn_credentials.c.id)
        ).all()
    return tuple(Passkey(int(r.id), r.created_at, r.last_used_at) for r in rows)


# -- proofs --------------------------------------------------------------------------------


def _attempts_key(user_id: int) -> str:
    # Kept apart from login failures: a user's own forms never lock their login.
    return f"second-factor:{user_id}"


def _check_not_rate_limited(ctx: ServiceContext, user_id: int) -> None:
    since = ctx.now() - timedelta(minutes=ctx.settings.login_window_minutes)
    with ctx.engine.connect() as conn:
        failures = web_accounts.failures_since(conn, since, email=_attempts_key(user_id))
    if failures >= ctx.settings.login_max_failures:
        raise ProofRateLimited()


def _refused(ctx: ServiceContext, user_id: int) -> ProofInvalid:
    with ctx.engine.begin() as conn:
        web_accounts.record_attempt(
            conn, email=_attempts_key(user_id), ip="settings", succeeded=False, now=ctx.now()
        )
    return ProofInvalid()


def _password_good(ctx: ServiceContext, user_id: int, password: str) -> bool:
    with ctx.engine.connect() as conn:
        stored = conn.execute(
            sa.select(users.c.password_hash).where(users.c.id == user_id)
        ).scalar_one_or_none()
    # Checked even without a stored hash, so both cases take an Argon2 verification.
    return password_matches(stored, password[:1024]) and stored is not None


def _passkey_id(credential: str) -> str | None:
    try:
        parsed = json.loads(credential[:20_000])
    except ValueError:
        return None
    found = parsed.get("id") if isinstance(parsed, dict) else None
    return found if isinstance(found, str) else None


def _credential_id_of(ctx: ServiceContext, user_id: int, passkey_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        found = conn.execute(
            sa.select(webauthn_credentials.c.credential_id).where(
                webauthn_credentials.c.id == passkey_id,
                webauthn_credentials.c.user_id == user_id,
            )
        ).scalar_one_or_none()
    return None if found is None else str(found)


def _check_factor(
    ctx: ServiceContext, user_id: int, proof: Proof, allowed: tuple[str, ...], not_passkey: str
) -> bool:
    """Verify a TOTP code or a passkey (spent on success); a recovery code is checked later,
    in the transaction of the change."""
    if proof.method not in allowed:
        return False
    if proof.method == TOTP:
        return verify_totp(ctx, user_id, proof.code[:32])
    if proof.method == PASSKEY:
        if _passkey_id(proof.credential) in (None, not_passkey):
            return False
        return verify_passkey(ctx, user_id, proof.credential, SECURITY_PURPOSE)
    return proof.method == RECOVERY


# -- removing a factor ---------------------------------------------------------------------


def remove_totp(ctx: ServiceContext, user_id: int, proof: Proof) -> None:
    """Remove the one-time codes, proven by a passkey or a recovery code."""
    _remove(ctx, user_id, proof, passkey_id=None)


def remove_passkey(ctx: ServiceContext, user_id: int, passkey_id: int, proof: Proof) -> None:
    """Remove one passkey, proven by TOTP, another passkey or a recovery code."""
    _remove(ctx, user_id, proof, passkey_id=passkey_id)


def _remove(ctx: ServiceContext, user_id: int, proof: Proof, *, passkey_id: int | None) -> None:
    _check_not_rate_limited(ctx, user_id)
    with ctx.engine.connect() as conn:
        last = count_factors(conn, user_id) == 1
        exists = _factor_exists(conn, user_id, passkey_id)
    if not exists:
        raise FactorUnknown()
    removed_credential = ""
    if passkey_id is not None:
        removed_credential = _credential_id_of(ctx, user_id, passkey_id) or ""
    if last:
        # No other factor to ask: something the user knows and something they kept.
        good = (
            proof.method == RECOVERY
            and _password_good(ctx, user_id, proof.password)
            and bool(proof.code)
        )
    else:
        allowed = (PASSKEY, RECOVERY) if passkey_id is None else (TOTP, PASSKEY, RECOVERY)
        good = _check_factor(ctx, user_id, proof, allowed, removed_credential)
    if not good:
        raise _refused(ctx, user_id)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        if proof.method == RECOVERY and not spend_code(
            conn, ctx.settings, user_id, proof.code, now
        ):
            spent = False
        else:
            spent = True
            if not _delete_factor(conn, user_id, passkey_id):
                raise FactorUnknown()  # removed meanwhile (another tab): the code stays good
            if count_factors(conn, user_id) == 0:
                delete_codes(conn, user_id)
            notify(
                conn,
                user_id,
                kind="second_factor_removed",
                key=f"second_factor_removed:{user_id}:{passkey_id or 'totp'}:{now.isoformat()}",
                letter=_removed_letter(ctx, TOTP if passkey_id is None else PASSKEY),
                now=now,
            )
    if not spent:
        raise _refused(ctx, user_id)


def _factor_exists(conn: Connection, user_id: int, passkey_id: int | None) -> bool:
    if passkey_id is None:
        query = sa.select(totp_secrets.c.user_id).where(
            totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None)
        )
    else:
        query = sa.select(webauthn_credentials.c.id).where(
            webauthn_credentials.c.id == passkey_id, webauthn_credentials.c.user_id == user_id
        )
    return conn.execute(query).first() is not None


def _delete_factor(conn: Connection, user_id: int, passkey_id: int | None) -> bool:
    if passkey_id is None:
        statement = totp_secrets.delete().where(
            totp_secrets.c.user_id == user_id, totp_secrets.c.enabled_at.is_not(None)
        )
    else:
        statement = webauthn_credentials.delete().where(
            webauthn_credentials.c.id == passkey_id, webauthn_credentials.c.user_id == user_id
        )
    return conn.execute(statement).rowcount == 1


# -- new recovery codes --------------------------------------------------------------------


def regenerate_recovery_codes(ctx: ServiceContext, user_id: int, proof: Proof) -> None:
    """Replace every code by a fresh set (shown once, see ``reveal_codes``)."""
    _check_not_rate_limited(ctx, user_id)
    with ctx.engine.connect() as conn:
        if count_factors(conn, user_id) == 0:
            raise FactorUnknown()
    if proof.method == RECOVERY:
        good = _password_good(ctx, user_id, proof.password) and bool(proof.code)
    else:
        good = _check_factor(ctx, user_id, proof, (TOTP, PASSKEY), "")
    if not good:
        raise _refused(ctx, user_id)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        spent = proof.method != RECOVERY or spend_code(conn, ctx.settings, user_id, proof.code, now)
        if spent:
            issue_codes(conn, ctx.settings, user_id, now)
            notify(
                conn,
                user_id,
                kind="recovery_codes_renewed",
                key=f"recovery_codes_renewed:{user_id}:{now.isoformat()}",
                letter=_renewed_letter(ctx),
                now=now,
            )
    if not spent:
        raise _refused(ctx, user_id)


# -- notices -------------------------------------------------------------------------------


def _removed_letter(ctx: ServiceContext, factor: str) -> Letter:
    link = security_link(ctx.settings)
    what_fr = "les codes à usage unique (application)" if factor == TOTP else "une clé d'accès"
    what_en = "one-time codes (app)" if factor == TOTP else "a passkey"
    return Letter(
        subject_fr="Payez : un second facteur a été retiré",
        subject_en="Payez: a second factor was removed",
        text_fr=(
            f"Un second facteur vient d'être retiré de votre compte : {what_fr}.\n\n"
            f"Si ce n'était pas vous, changez votre mot de passe et contactez-nous : {link}\n"
        ),
        text_en=(
            f"A second factor was just removed from your account: {what_en}.\n\n"
            f"If this was not you, change your password and contact us: {link}\n"
        ),
    )


def _renewed_letter(ctx: ServiceContext) -> Letter:
    link = security_link(ctx.settings)
    return Letter(
        subject_fr="Payez : nouveaux codes de secours",
        subject_en="Payez: new recovery codes",
        text_fr=(
            "De nouveaux codes de secours viennent d'être créés ; les anciens ne marchent "
            f"plus.\n\nSi ce n'était pas vous, changez votre mot de passe : {link}\n"
        ),
        text_en=(
            "New recovery codes were just made; the old ones no longer work.\n\n"
            f"If this was not you, change your password: {link}\n"
        ),
    )
