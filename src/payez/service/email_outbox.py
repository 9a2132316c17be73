"""Queueing an email: written in the caller's transaction, sent after it commits.

An email is decided where the thing it tells happens (a sign-up, a reset request, money
received), in the same transaction: if that transaction rolls back, no email goes out, and if
it commits, the worker delivers the email even after a crash. Each email has an idempotency
key, so a decision retried queues it once.

Texts are given in both languages by the caller (``Letter``) and the recipient's language
picks one. Subjects never carry amounts: a subject line is shown on lock screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from payez.adapters.db import emails as emails_repo
from payez.domain.errors import Language


@dataclass(frozen=True, slots=True)
class Letter:
    """An email's subject and text, in French and in English."""

    subject_fr: str
    subject_en: str
    text_fr: str
    text_en: str

    def subject(self, language: Language) -> str:
        return self.subject_fr if language == "fr" else self.subject_en

    def text(self, language: Language) -> str:
        return self.text_fr if language == "fr" else self.text_en


def email_row(
    *,
    kind: str,
    to: str,
    language: Language,
    letter: Letter,
    idempotency_key: str,
    now: datetime,
    user_id: int | None = None,
) -> dict[str, Any]:
    """The outbox row of ``letter`` for ``to``: for callers that queue many at once."""
    return {
        "kind": kind,
        "user_id": user_id,
        "to_address": to,
        "language": language,
        "subject": letter.subject(language)[:255],
        "text": letter.text(language),
        "idempotency_key": idempotency_key[:128],
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_email(
    conn: Connection,
    *,
    kind: str,
    to: str,
    language: Language,
    letter: Letter,
    idempotency_key: str,
    now: datetime,
    user_id: int | None = None,
) -> None:
    """Queue ``letter`` for ``to``, in ``language``; a key already queued queues nothing."""
    emails_repo.enqueue(
        conn,
        [
            email_row(
                kind=kind,
                to=to,
                language=language,
                letter=letter,
                idempotency_key=idempotency_key,
                now=now,
                user_id=user_id,
            )
        ],
    )
