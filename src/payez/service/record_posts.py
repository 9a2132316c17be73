"""Use case: record posts that mention the service in the inbox, exactly once each.

Recording happens before anything else: a post in the inbox will be decided even if every
process crashes right after. The recipient of a send command is resolved to its immutable
account id here, once, so that a later change of handle cannot redirect the money.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from payez.adapters.db import cursors
from payez.adapters.db import inbox as inbox_repo
from payez.domain.commands import SendCommand, parse
from payez.ports.network import NetworkError, Post, SocialNetwork
from payez.service.context import ServiceContext


def recipient_account_id(post: Post, network: SocialNetwork) -> str | None:
    """The immutable id of a send command's recipient: from the post's mentions, else a lookup."""
    command = parse(post.text, network.service_account.handle)
    if not isinstance(command, SendCommand):
        return None
    for mention in post.mentions:
        if mention.handle == command.recipient:
            return mention.id
    try:
        account = network.resolve_handle(command.recipient)
    except NetworkError:
        # Unresolved now means "recipient unknown" later: the sender is told, nothing moves.
        return None
    return account.id if account else None


def _without_nul(text: str) -> str:
    # PostgreSQL cannot store a NUL in text: one post holding it must not stop the listener.
    return text.replace("\x00", "")


def inbox_row(post: Post, seen_at: datetime, recipient_id: str | None) -> dict[str, Any]:
    return {
        "network": post.network,
        "original_id": post.original_id,
        "post_id": post.id,
        "author_id": post.author.id,
        "author_handle": _without_nul(post.author.handle),
        "text": _without_nul(post.text),
        "posted_at": post.created_at,
        "seen_at": seen_at,
        "in_reply_to_id": post.in_reply_to_id,
        "recipient_account_id": recipient_id,
        "is_repost": post.is_repost,
        "is_quote": post.is_quote,
        "visibility": post.visibility,
        "edited": post.edited_at is not None,
        "processed": False,
    }


def record_posts(
    ctx: ServiceContext, network: SocialNetwork, posts: Iterable[Post], cursor: str | None = None
) -> int:
    """Record ``posts`` from ``network``, and the listener's ``cursor`` in the same transaction.

    Returns how many posts were new. Saving the cursor with the posts means a crash can only
    make the listener read a page again, and the inbox's unique key makes that harmless.
    """
    now = ctx.now()
    rows = [inbox_row(post, now, recipient_account_id(post, network)) for post in posts]
    if not rows and cursor is None:
        return 0
    with ctx.engine.begin() as conn:
        recorded = inbox_repo.record(conn, rows)
        if cursor is not None:
            cursors.save(conn, network.name, cursor, now)
        return recorded


def poll_mentions(ctx: ServiceContext, network: SocialNetwork) -> int:
    """Fetch every mention newer than the saved cursor and record it; returns new posts."""
    with ctx.engine.connect() as conn:
        cursor = cursors.load(conn, network.name)
    page = network.fetch_mentions(cursor)
    return record_posts(ctx, network, page.posts, page.cursor)
