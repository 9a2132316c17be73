"""Build outbox rows: a public reply under a command post, a private notice to a person, or a
merchant's listing post published as them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from payez.domain.errors import Language
from payez.domain.replies import reply_text

LISTING = "listing"


def _message(
    network: str,
    kind: str,
    handle: str,
    outcome: str,
    language: Language,
    *,
    key: str,
    facts: Mapping[str, Any],
    now: datetime,
    in_reply_to: str | None = None,
    account_id: str | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    return {
        "network": network,
        "kind": kind,
        "in_reply_to": in_reply_to,
        "recipient_account_id": account_id,
        "recipient_handle": handle,
        "text": reply_text(outcome, language, author=handle, **facts),
        "outcome": outcome,
        "user_id": user_id,
        "idempotency_key": key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


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
    author_id: str | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A reply under ``post_id`` that addresses ``author_handle`` (nobody when empty): the
    account ``author_id``, Payez user ``user_id`` when known (told in the app instead, should
    the reply budget not afford an acknowledgement)."""
    return _message(
        network, "reply", author_handle, outcome, language,
        key=key, facts=facts, now=now, in_reply_to=post_id, account_id=author_id,
        user_id=user_id,
    )  # fmt: skip


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
    user_id: int | None = None,
) -> dict[str, Any]:
    """A direct message to the account ``account_id`` (``handle``), Payez user ``user_id``."""
    return _message(
        network, "private", handle, outcome, language,
        key=key, facts=facts, now=now, account_id=account_id, user_id=user_id,
    )  # fmt: skip


def listing_post(
    network: str, author_account_id: str, author_handle: str, text: str, *, key: str, now: datetime
) -> dict[str, Any]:
    """A new top-level post of ``text``, published as the merchant's account ``author_account_id``
    with the token they granted (looked up when it is sent, never copied here)."""
    return {
        "network": network,
        "kind": LISTING,
        "in_reply_to": None,
        "recipient_account_id": author_account_id,
        "recipient_handle": author_handle,
        "text": text,
        "outcome": None,
        "user_id": None,
        "idempotency_key": key,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
