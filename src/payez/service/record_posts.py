"""Use case: record posts that mention the service in the inbox, exactly once each.

Recording happens before anything else: a post in the inbox will be decided even if every
process crashes right after. The recipient of a send command is resolved to its immutable
account id here, once, so that a later change of handle cannot redirect the money.

Each post is parsed here once, and what was read is recorded with it (``parsed_command``,
``parsed_grammar``): the processor takes it back instead of parsing the post again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from payez.adapters.db import cursors
from payez.adapters.db import inbox as inbox_repo
from payez.domain.commands import Command, SendCommand, parse
from payez.domain.stored_commands import command_to_stored, grammar_stamp
from payez.ports.network import NetworkError, Post, SocialNetwork
from payez.service.context import ServiceContext


def recipient_account_id(post: Post, network: SocialNetwork, command: Command) -> str | None:
    """The immutable id of a send command's recipient: from the post's mentions, else a lookup.

    ``command`` is what the post reads as: the same parse the inbox keeps, so the recipient
    resolved here is the one the processor will read.
    """
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


def parsed_columns(text: str, service_handle: str) -> tuple[Command, dict[str, str]]:
    """What ``text`` (as the inbox stores it) reads as, and the inbox columns that keep it."""
    command = parse(text, service_handle)
    stored = {
        "parsed_command": command_to_stored(command),
        "parsed_grammar": grammar_stamp(service_handle),
    }
    return command, stored


def inbox_row(
    post: Post,
    seen_at: datetime,
    recipient_id: str | None,
    parsed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The inbox row of ``post``; ``parsed`` the columns of what it reads as
    (:func:`parsed_columns`), None to let the processor parse it."""
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
        "parsed_command": parsed["parsed_command"] if parsed else None,
        "parsed_grammar": parsed["parsed_grammar"] if parsed else None,
    }


def _recorded(post: Post, network: SocialNetwork, seen_at: datetime) -> dict[str, Any]:
    # The text parsed is the text stored (without NUL, which PostgreSQL text refuses): the
    # stored command is then exactly what the processor would read from the row, and the
    # recipient resolved is the one that command names.
    command, parsed = parsed_columns(_without_nul(post.text), network.service_account.handle)
    return inbox_row(post, seen_at, recipient_account_id(post, network, command), parsed)


def record_posts(
    ctx: ServiceContext, network: SocialNetwork, posts: Iterable[Post], cursor: str | None = None
) -> int:
    """Record ``posts`` from ``network``, and the listener's ``cursor`` in the same transaction.

    Returns how many posts were new. Saving the cursor with the posts means a crash can only
    make the listener read a page again, and the inbox's unique key makes that harmless.
    """
    now = ctx.now()
    rows = [_recorded(post, network, now) for post in posts]
    if not rows and cursor is None:
        return 0
    with ctx.engine.begin() as conn:
        recorded = inbox_repo.record(conn, rows)
        if cursor is not None:
            cursors.save(conn, network.name, cursor, now)
        return recorded


def poll_mentions(
    ctx: ServiceContext, network: SocialNetwork, stop: threading.Event | None = None
) -> int:
    """Fetch every mention newer than the saved cursor and record it; returns new posts.

    A network that hands them over in chunks has each chunk recorded, cursor included, before
    the next is read: a poll cut short (``stop``, a crash) keeps what it has read, and the next
    one goes on from there."""
    with ctx.engine.connect() as conn:
        cursor = cursors.load(conn, network.name)
    recorded = 0
    while True:
        page = network.fetch_mentions(cursor)
        recorded += record_posts(ctx, network, page.posts, page.cursor)
        if not page.more or page.cursor == cursor or (stop is not None and stop.is_set()):
            return recorded
        cursor = page.cursor
