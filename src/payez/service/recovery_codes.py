"""Use case: second-factor recovery codes — ten single-use codes for the day the phone is lost.

A set of ten is issued when the user's first factor is set up (TOTP enabled, or the first
passkey registered) and again on request; a new set replaces the old one entirely. The set is
shown once: it is kept sealed (AES-GCM, bound to the user's id) until the next page reads it,
which deletes it by compare-and-set, and for ``REVEAL_TTL`` at most.

A code is 12 characters of base32 (60 random bits), shown in groups of four. It is stored only
as HMAC-SHA256 under a key derived from ``PAYEZ_SECRET_KEY``, with the user's id in the message.
No slow hash (Argon2) is needed: a slow hash protects low-entropy secrets people choose, and
these are random; guessing one of ten 60-bit codes online is hopeless under the attempt limits,
and offline the stolen hashes are useless without the secret key. A keyed hash also lets the
database find the code by an equality lookup, so that spending it is a single compare-and-set
(``used_at IS NULL``): two concurrent uses of one code cannot both pass.

Spending a code queues a notice to the user's email address, in the same transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection

from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.recovery_codes import recovery_code_reveals, recovery_codes
from payez.config import Settings
from payez.domain.errors import InvalidInput, Language
from payez.service.context import ServiceContext
from payez.service.email_outbox import Letter, queue_email

CODES_PER_SET = 10
CODE_LENGTH = 12
GROUP = 4
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32: no 0, 1, 8 or 9
# Characters a reader may type for the base32 letters they look like.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
REVEAL_TTL = timedelta(minutes=15)
DOUBLE_SUBMIT_WINDOW = timedelta(seconds=10)


class RecoveryCodeInvalid(InvalidInput):
    code = "recovery_code_invalid"
    message_fr = "Code de secours incorrect ou déjà utilisé."
    message_en = "Wrong or already used recovery code."


# -- keys ----------------------------------------------------------------------------------


def _derived_key(settings: Settings, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        settings.secret_key.encode("utf-8")
    )


def code_hash(settings: Settings, user_id: int, code: str) -> str:
    """The stored form of a normalised code: HMAC-SHA256, bound to its user."""
    key = _derived_key(settings, b"payez recovery code v1")
    return hmac.new(key, f"{user_id}:{code}".encode("ascii"), hashlib.sha256).hexdigest()


def _sealer(settings: Settings) -> AESGCM:
    return AESGCM(_derived_key(settings, b"payez recovery codes reveal v1"))


def _seal(settings: Settings, user_id: int, codes: tuple[str, ...]) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _sealer(settings).encrypt(nonce, " ".join(codes).encode(), str(user_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _unseal(settings: Settings, user_id: int, sealed: str) -> tuple[str, ...] | None:
    raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    try:
        plain = _sealer(settings).decrypt(raw[:12], raw[12:], str(user_id).encode())
    except InvalidTag:
        return None  # another secret key: the set cannot be shown, a new one can be made
    return tuple(plain.decode("ascii").split())


# -- codes ---------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """``ABCDEFGHIJKL`` as ``ABCD-EFGH-IJKL``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalised(typed: str) -> str | None:
    """The code as stored, from what a user typed (any case, spaces, dashes); None when it
    cannot be a code."""
    code = "".join(ch for ch in typed[:64].upper() if ch.isalnum()).translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def issue_codes(conn: Connection, settings: Settings, user_id: int, now: datetime) -> None:
    """Replace the user's codes by a fresh set, kept sealed until it is shown."""
    codes = tuple(new_code() for _ in range(CODES_PER_SET))
    _forget_unshown(conn, now)
    delete_codes(conn, user_id)
    conn.execute(
        recovery_codes.insert(),
        [
            {"user_id": user_id, "code_hash": code_hash(settings, user_id, code), "created_at": now}
            for code in codes
        ],
    )
    conn.execute(
        recovery_code_reveals.insert().values(
            user_id=user_id,
            codes_sealed=_seal(settings, user_id, tuple(shown(c) for c in codes)),
            expires_at=now + REVEAL_TTL,
            created_at=now,
        )
    )


def _forget_unshown(conn: Connection, now: datetime) -> None:
    """Sets nobody came to see in time: not kept, even sealed."""
    conn.execute(recovery_code_reveals.delete().where(recovery_code_reveals.c.expires_at <= now))


def delete_codes(conn: Connection, user_id: int) -> None:
    conn.execute(recovery_code_reveals.delete().where(recovery_code_reveals.c.user_id == user_id))
    conn.execute(recovery_codes.delete().where(recovery_codes.c.user_id == user_id))


def codes_waiting(ctx: ServiceContext, user_id: int) -> bool:
    """Whether a fresh set waits to be shown."""
    with ctx.engine.connect() as conn:
        found = conn.execute(
            sa.select(recovery_code_reveals.c.user_id).where(
                recovery_code_reveals.c.user_id == user_id,
                recovery_code_reveals.c.expires_at > ctx.now(),
            )
        ).first()
    return found is not None


def reveal_codes(ctx: ServiceContext, user_id: int) -> tuple[str, ...] | None:
    """The fresh set, once: reading it deletes it (None the second time)."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        _forget_unshown(conn, now)
        row = conn.execute(
            sa.select(recovery_code_reveals).where(recovery_code_reveals.c.user_id == user_id)
        ).first()
        if row is None:
            return None
        taken = conn.execute(
            recovery_code_reveals.delete().where(
                recovery_code_reveals.c.user_id == user_id,
                recovery_code_reveals.c.codes_sealed == row.codes_sealed,
            )
        ).rowcount
        # Two tabs reading at once: only the one that deleted the row shows the codes.
        if taken != 1:
            return None
    return _unseal(ctx.settings, user_id, row.codes_sealed)


def codes_left(ctx: ServiceContext, user_id: int) -> int:
    with ctx.engine.connect() as conn:
        return unused_codes(conn, user_id)


def unused_codes(conn: Connection, user_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(recovery_codes)
            .where(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None))
        ).scalar_one()
    )


def spend_code(
    conn: Connection, settings: Settings, user_id: int, typed: str, now: datetime
) -> bool:
    """Spend one of the user's codes in the caller's transaction; True once per good code.

    The update is the compare-and-set: of two transactions spending the same code, the second
    finds ``used_at`` set (PostgreSQL re-reads the row after the first commits) and changes
    nothing. The notice email is queued in the same transaction.
    """
    code = normalised(typed)
    if code is None:
        return False
    digest = code_hash(settings, user_id, code)
    spent = conn.execute(
        recovery_codes.update()
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == digest,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    ).rowcount
    if spent != 1:
        return False
    left = unused_codes(conn, user_id)
    notify(
        conn,
        user_id,
        kind="recovery_code_used",
        key=f"recovery_code_used:{digest}",
        letter=_code_used_letter(settings, left),
        now=now,
    )
    return True


def use_recovery_code(ctx: ServiceContext, user_id: int, typed: str) -> bool:
    """Spend a code in its own transaction; True once per good code."""
    with ctx.engine.begin() as conn:
        return spend_code(conn, ctx.settings, user_id, typed, ctx.now())


def recovery_code_spent(ctx: ServiceContext, user_id: int, typed: str) -> bool:
    """Whether ``typed`` is one of the user's codes, used moments ago (a double submission,
    whose outcome is worth waiting for; a code spent long ago is simply refused)."""
    code = normalised(typed)
    if code is None:
        return False
    recent = ctx.now() - DOUBLE_SUBMIT_WINDOW
    with ctx.engine.connect() as conn:
        found = conn.execute(
            sa.select(recovery_codes.c.used_at).where(
                recovery_codes.c.user_id == user_id,
                recovery_codes.c.code_hash == code_hash(ctx.settings, user_id, code),
            )
        ).first()
    return found is not None and found.used_at is not None and found.used_at > recent


def codes_text(codes: tuple[str, ...], language: Language) -> str:
    """The plain-text file a user downloads to keep the codes."""
    head = (
        "Codes de secours Payez : chacun sert une fois, à la place d'un code ou d'une clé "
        "d'accès. Gardez-les en lieu sûr."
        if language == "fr"
        else "Payez recovery codes: each works once, instead of a code or a passkey. "
        "Keep them somewhere safe."
    )
    return head + "\n\n" + "\n".join(codes) + "\n"


# -- notices -------------------------------------------------------------------------------


def notify(
    conn: Connection, user_id: int, *, kind: str, key: str, letter: Letter, now: datetime
) -> None:
    """Queue a security notice to the user, when they have an email address."""
    row = conn.execute(
        sa.select(users.c.email, users.c.language).where(users.c.id == user_id)
    ).first()
    if row is None or not row.email:
        return
    language: Language = "en" if row.language == "en" else "fr"
    queue_email(
        conn,
        kind=kind,
        to=str(row.email),
        language=language,
        letter=letter,
        idempotency_key=key,
        now=now,
        user_id=user_id,
    )


def security_link(settings: Settings) -> str:
    return f"{settings.base_url.rstrip('/')}/settings/security"


def _code_used_letter(settings: Settings, left: int) -> Letter:
    link = security_link(settings)
    return Letter(
        subject_fr="Payez : un code de secours a été utilisé",
        subject_en="Payez: a recovery code was used",
        text_fr=(
            "Un de vos codes de secours vient d'être utilisé à la place de votre second "
            f"facteur. Il vous en reste {left}.\n\n"
            "Si ce n'était pas vous, changez votre mot de passe et créez de nouveaux codes : "
            f"{link}\n"
        ),
        text_en=(
            "One of your recovery codes was just used instead of your second factor. "
            f"You have {left} left.\n\n"
            f"If this was not you, change your password and make new codes: {link}\n"
        ),
    )
