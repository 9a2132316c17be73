"""Use case: a person creates a Payez account on the web app with an email and a password.

The link that verifies the address is queued in the same transaction as the account
(``email_verification``): an account never exists without its link on its way.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from payez.adapters.db import web_accounts
from payez.domain.errors import InvalidInput
from payez.service.context import ServiceContext
from payez.service.email_verification import queue_verification_email
from payez.service.open_account import open_user
from payez.service.passwords import hash_password

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
NAME_MAX_LENGTH = 120
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class EmailInvalid(InvalidInput):
    code = "email_invalid"
    message_fr = "Adresse e-mail invalide."
    message_en = "Invalid email address."


class EmailTaken(InvalidInput):
    code = "email_taken"
    message_fr = "Un compte Payez existe déjà avec cette adresse e-mail."
    message_en = "A Payez account already exists with this email address."


class PasswordTooWeak(InvalidInput):
    code = "password_too_weak"
    message_fr = "Le mot de passe doit compter entre 10 et 256 caractères."
    message_en = "The password must be between 10 and 256 characters long."


class NameInvalid(InvalidInput):
    code = "name_invalid"
    message_fr = "Indiquez un nom d'au plus 120 caractères."
    message_en = "Give a name of at most 120 characters."


class LanguageInvalid(InvalidInput):
    code = "language_invalid"
    message_fr = "Langue inconnue : fr ou en."
    message_en = "Unknown language: fr or en."


def normalise_email(raw: str) -> str:
    """Emails compare case-insensitively: they are stored lower-cased."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise EmailInvalid()
    return email


def check_language(language: str) -> str:
    if language not in ("fr", "en"):
        raise LanguageInvalid(language[:8])
    return language


def check_password_strength(password: str) -> None:
    """The one rule for every new password: at sign-up, reset and change."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise PasswordTooWeak()


def sign_up(
    ctx: ServiceContext, *, email: str, password: str, display_name: str, language: str
) -> int:
    """Open the user and their wallet; returns the new user's id."""
    address = normalise_email(email)
    name = " ".join(display_name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise NameInvalid()
    check_language(language)
    check_password_strength(password)
    password_hash = hash_password(password)
    try:
        with ctx.engine.begin() as conn:
            if web_accounts.email_taken(conn, address):
                raise EmailTaken()
            now = ctx.now()
            user_id = open_user(
                conn,
                kind="person",
                display_name=name,
                now=now,
                email=address,
                password_hash=password_hash,
                language=language,
            )
            queue_verification_email(
                conn,
                ctx.settings,
                user_id=user_id,
                email=address,
                language="en" if language == "en" else "fr",
                now=now,
            )
            return user_id
    except IntegrityError as exc:
        # Two sign-ups with the same email at once: the unique index decides.
        raise EmailTaken() from exc
