"""Queueing emails: in the caller's transaction, once per key, in the recipient's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payez.adapters.db import emails as emails_repo
from payez.adapters.db.engine import make_engine
from payez.service.email_outbox import Letter, queue_email

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LETTER = Letter("Bonjour", "Hello", "Texte en français.", "Text in English.")


def test_an_email_is_queued_once_per_key_in_its_language(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        for _ in range(2):
            with engine.begin() as conn:
                queue_email(
                    conn,
                    kind="test",
                    to="ana@example.org",
                    language="fr",
                    letter=LETTER,
                    idempotency_key="test:1",
                    now=NOW,
                )
        with engine.connect() as conn:
            queued = emails_repo.sent_to(conn, "ana@example.org")
            due = emails_repo.due(conn, NOW, 10)
        assert [(e.subject, e.text, e.state) for e in queued] == [
            ("Bonjour", "Texte en français.", "pending")
        ]
        assert [e.id for e in due] == [queued[0].id]
    finally:
        engine.dispose()


def test_a_rolled_back_decision_sends_no_email(database_url: str) -> None:
    engine = make_engine(database_url)
    try:

        def decide_then_fail() -> None:
            with engine.begin() as conn:
                queue_email(
                    conn,
                    kind="test",
                    to="ben@example.org",
                    language="en",
                    letter=LETTER,
                    idempotency_key="test:2",
                    now=NOW,
                )
                raise RuntimeError("the decision fails after queueing")

        with pytest.raises(RuntimeError):
            decide_then_fail()
        with engine.connect() as conn:
            assert emails_repo.sent_to(conn, "ben@example.org") == []
    finally:
        engine.dispose()
