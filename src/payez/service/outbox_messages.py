"""Build outbox rows: a public reply under a command post, or a private notice to a person."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from payez.domain.errors import Language
from payez.domain.replies import reply_text


def public_reply(
    network: str,
    post_id: str,
    author_handle: str,
    outcome: str,
    language: Language,
    *,
    key: str,
    facts: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "network": network,
        "kind": "reply",
        "in_reply_to": post_id,
        "recipient_account_id": None,
        "recipient_handle": author_handle,
        "text": reply_text(outcome, language, author=author_handle, **facts),
        "idempotency_key": key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def private_notice(
    network: str,
    account_id: str,
    handle: str,
    outcome: str,
    language: Language,
    *,
    key: str,
    facts: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "network": network,
        "kind": "private",
        "in_reply_to": None,
        "recipient_account_id": account_id,
        "recipient_handle": handle,
        "text": reply_text(outcome, language, author=handle, **facts),
        "idempotency_key": key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
