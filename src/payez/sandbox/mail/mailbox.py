"""The sandbox mailbox: the mailer of ``make run``, which needs no mail server.

Every email is "delivered" into the ``sandbox_mail`` table of the Payez database, where
``/sandbox/mail`` shows it. A resend of the same email (same Message-ID) keeps one copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from payez.adapters.db import bulk
from payez.ports.mailer import OutgoingMail
from payez.sandbox.mail.tables import mail as mail_table

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    id: int
    message_id: str
    sender: str
    to_address: str
    subject: str
    text: str
    language: str
    sent_at: datetime


_COLUMNS = tuple(mail_table.c[name] for name in ReceivedMail.__slots__)


class SandboxMailbox:
    name = "sandbox"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def send(self, mail: OutgoingMail) -> None:
        row = {
            "message_id": mail.message_id[:255],
            "sender": mail.sender,
            "to_address": mail.to,
            "subject": mail.subject,
            "text": mail.text,
            "language": mail.language,
            "sent_at": mail.date,
        }
        with self.engine.begin() as conn:
            bulk.insert_rows(conn, mail_table, [row], skip_duplicates=True)


def received(
    conn: sa.Connection, *, to: str | None = None, limit: int = PAGE_SIZE
) -> list[ReceivedMail]:
    """The newest emails in the mailbox (only those to ``to`` if given), newest first."""
    query = sa.select(*_COLUMNS).order_by(mail_table.c.id.desc()).limit(limit)
    if to:
        query = query.where(mail_table.c.to_address == to)
    return [ReceivedMail(**row._mapping) for row in conn.execute(query)]


def one(conn: sa.Connection, mail_id: int) -> ReceivedMail | None:
    row = conn.execute(sa.select(*_COLUMNS).where(mail_table.c.id == mail_id)).first()
    return ReceivedMail(**row._mapping) if row is not None else None
