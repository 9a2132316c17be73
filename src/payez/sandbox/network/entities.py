"""Mastodon API entities (Account, Status, Notification) as JSON, read from the sandbox tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from payez.adapters.db.sets import one_of
from payez.sandbox.network import tables
from payez.sandbox.network.statuses import (
    Published,
    Urls,
    can_see,
    mentioned_usernames,
    render_content,
)

Json = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def account_json(row: sa.Row[tuple[object, ...]], urls: Urls, statuses_count: int = 0) -> Json:
    username = str(row.username)
    created = row.created_at
    assert isinstance(created, datetime)
    return {
        "id": str(row.id),
        "username": username,
        "acct": username,
        "display_name": row.display_name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": iso(created),
        "note": "",
        "url": urls.account_url(username),
        "uri": urls.account_uri(username),
        "avatar": "",
        "avatar_static": "",
        "header": "",
        "header_static": "",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": statuses_count,
        "last_status_at": None,
        "emojis": [],
        "fields": [],
    }


def _count_of(column: sa.Column[Any]) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(tables.statuses)
        .where(column == sa.bindparam("status_id"), tables.statuses.c.deleted_at.is_(None))
        .scalar_subquery()
    )


# Built once: rendering runs them for every status, and building a statement costs more
# Python than running it.
_COUNTS = sa.select(
    _count_of(tables.statuses.c.reblog_of_id), _count_of(tables.statuses.c.in_reply_to_id)
)
_ACCOUNT = sa.select(tables.accounts).where(tables.accounts.c.id == sa.bindparam("account_id"))
_STATUS = sa.select(tables.statuses).where(tables.statuses.c.id == sa.bindparam("status_id"))
_MENTIONED = (
    sa.select(tables.mentions.c.account_id)
    .where(tables.mentions.c.status_id == sa.bindparam("status_id"))
    .order_by(tables.mentions.c.account_id)
)


class Renderer:
    """Turns rows into Mastodon JSON for one viewer, loading what it needs in few queries."""

    def __init__(self, conn: sa.Connection, urls: Urls, viewer_id: int | None) -> None:
        self.conn = conn
        self.urls = urls
        self.viewer_id = viewer_id
        self._accounts: dict[int, sa.Row[tuple[object, ...]]] = {}
        self._known_usernames: dict[str, str] = {}
        self._looked_up: set[str] = set()
        # Filled by :meth:`prefetch` for the statuses of a page or a stream poll.
        self._mentioned: dict[int, list[int]] = {}
        self._counted: dict[int, tuple[int, int]] = {}

    def account(self, account_id: int) -> Json:
        return account_json(self._account_row(account_id), self.urls)

    def account_with_counts(self, account_id: int) -> Json:
        count = self.conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.statuses)
            .where(
                tables.statuses.c.account_id == account_id, tables.statuses.c.deleted_at.is_(None)
            )
        ).scalar_one()
        return account_json(self._account_row(account_id), self.urls, int(count))

    def _account_row(self, account_id: int) -> sa.Row[tuple[object, ...]]:
        row = self._accounts.get(account_id)
        if row is None:
            row = self.conn.execute(_ACCOUNT, {"account_id": account_id}).one()
            self._accounts[account_id] = row
        return row

    def _known(self, text: str) -> dict[str, str]:
        """The @names of ``text`` that exist (lower-cased, to their spelling): rendering links
        only those. Read once per name for all the statuses this renders."""
        wanted = [n for n in mentioned_usernames(text) if n not in self._looked_up]
        if wanted:
            rows = self.conn.execute(
                sa.select(tables.accounts.c.username).where(
                    one_of(
                        self.conn,
                        sa.func.lower(tables.accounts.c.username, type_=sa.String()),
                        wanted,
                    )
                )
            )
            self._known_usernames.update({r.username.lower(): r.username for r in rows})
            self._looked_up.update(wanted)
        return self._known_usernames

    def statuses(self, rows: Iterable[sa.Row[tuple[object, ...]]]) -> list[Json]:
        rows = list(rows)
        self.prefetch(rows)
        return [self.status(row) for row in rows]

    def notifications(self, rows: Iterable[sa.Row[tuple[object, ...]]]) -> list[Json]:
        rows = list(rows)
        wanted = sorted({int(row.status_id) for row in rows if row.status_id is not None})
        statuses = {
            int(status.id): status
            for status in self.conn.execute(
                sa.select(tables.statuses).where(one_of(self.conn, tables.statuses.c.id, wanted))
            )
        }
        self.prefetch(statuses.values())
        return [self.notification(row, statuses.get(row.status_id)) for row in rows]

    def prefetch(self, rows: Iterable[sa.Row[tuple[object, ...]]]) -> None:
        """Read what rendering ``rows`` needs in four queries whatever their number: their
        mentions, boost and reply counts, authors and mentioned accounts, and which written
        @names exist. A stream or a page of forty statuses would take a hundred otherwise.
        Each names its ids as one bound list (:func:`one_of`), so its text is the same whatever
        their number, and the database prepares it once."""
        rows = [row for row in rows if int(row.id) not in self._counted]
        if not rows:
            return
        ids = [int(row.id) for row in rows]
        mentioned: dict[int, list[int]] = {status_id: [] for status_id in ids}
        for status_id, account_id in self.conn.execute(
            sa.select(tables.mentions.c.status_id, tables.mentions.c.account_id)
            .where(one_of(self.conn, tables.mentions.c.status_id, ids))
            .order_by(tables.mentions.c.status_id, tables.mentions.c.account_id)
        ):
            mentioned[int(status_id)].append(int(account_id))
        s = tables.statuses
        counted = {
            (str(kind), int(target)): int(count)
            for kind, target, count in self.conn.execute(
                sa.union_all(
                    *(
                        sa.select(sa.literal(kind), column, sa.func.count())
                        .where(one_of(self.conn, column, ids), s.c.deleted_at.is_(None))
                        .group_by(column)
                        for kind, column in (
                            ("boosts", s.c.reblog_of_id),
                            ("replies", s.c.in_reply_to_id),
                        )
                    )
                )
            )
        }
        for status_id in ids:
            self._mentioned[status_id] = mentioned[status_id]
            self._counted[status_id] = (
                counted.get(("boosts", status_id), 0),
                counted.get(("replies", status_id), 0),
            )
        people = {int(row.account_id) for row in rows}
        people.update(account for accounts in mentioned.values() for account in accounts)
        self._load_accounts(people)
        self._known(" ".join(str(row.text) for row in rows))

    def _load_accounts(self, people: Iterable[int]) -> None:
        missing = sorted(set(people) - self._accounts.keys())
        if missing:
            for account in self.conn.execute(
                sa.select(tables.accounts).where(one_of(self.conn, tables.accounts.c.id, missing))
            ):
                self._accounts[int(account.id)] = account

    def new_status(self, published: Published) -> Json:
        """A status just posted, shown from what posting it read (the author's and the
        mentioned accounts' rows): no query when every @name of the text exists, where
        :meth:`status` takes seven. Like Mastodon's answer to a post, it has no boosts or
        replies yet."""
        row = published.row
        assert row is not None
        status_id = int(row.id)
        self._mentioned[status_id] = sorted(set(published.mentioned.values()))
        self._counted[status_id] = (0, 0)
        # Posting looked these names up: they exist, spelled so. Others the text names are
        # looked up as usual.
        self._known_usernames.update({name.lower(): name for name in published.mentioned})
        self._looked_up.update(name.lower() for name in published.mentioned)
        self._accounts.update(published.accounts)
        return self.status(row)

    def status(self, row: sa.Row[tuple[object, ...]], *, with_source: bool = False) -> Json:
        status_id = int(row.id)
        author = self._account_row(int(row.account_id))
        username = str(author.username)
        reblog: Json | None = None
        if row.reblog_of_id is not None:
            original = self.conn.execute(
                sa.select(tables.statuses).where(tables.statuses.c.id == row.reblog_of_id)
            ).one()
            reblog = self.status(original)
        mentioned = self._mentioned.get(status_id)
        if mentioned is None:
            mentioned = [
                int(account_id)
                for account_id in self.conn.execute(_MENTIONED, {"status_id": status_id}).scalars()
            ]
        mentions = []
        for account_id in mentioned:
            account = self._account_row(account_id)
            mentions.append(
                {
                    "id": str(account.id),
                    "username": account.username,
                    "acct": account.username,
                    "url": self.urls.account_url(str(account.username)),
                }
            )
        text = str(row.text)
        content = "" if reblog is not None else render_content(text, self._known(text), self.urls)
        quote: Json | None = None
        if row.quote_of_id is not None:
            quote = self._quote(int(row.quote_of_id))
            if quote.get("quoted_status"):
                quoted_url = quote["quoted_status"]["url"]
                # Mastodon adds this fallback line for clients that cannot show quotes.
                content += (
                    f'<p class="quote-inline">RE: <a href="{quoted_url}">{quoted_url}</a></p>'
                )
        reblogs, replies = self._counts(status_id)
        data: Json = {
            "id": str(status_id),
            "uri": self.urls.status_uri(username, status_id),
            "url": self.urls.status_url(username, status_id),
            "created_at": iso(row.created_at),
            "edited_at": iso(row.edited_at),
            "account": account_json(author, self.urls),
            "content": content,
            "visibility": row.visibility,
            "sensitive": False,
            "spoiler_text": "",
            "media_attachments": [],
            "application": None,
            "mentions": mentions,
            "tags": [],
            "emojis": [],
            "reblogs_count": reblogs,
            "favourites_count": 0,
            "replies_count": replies,
            "in_reply_to_id": _str_or_none(row.in_reply_to_id),
            "in_reply_to_account_id": _str_or_none(row.in_reply_to_account_id),
            "reblog": reblog,
            "quote": quote,
            "poll": None,
            "card": None,
            "language": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
        }
        if with_source:
            data["text"] = text
        return data

    def _quote(self, quoted_id: int) -> Json:
        row = self.conn.execute(
            sa.select(tables.statuses).where(tables.statuses.c.id == quoted_id)
        ).one()
        if row.deleted_at is not None:
            return {"state": "deleted", "quoted_status": None}
        if not can_see(self.conn, row, self.viewer_id):
            return {"state": "unauthorized", "quoted_status": None}
        return {"state": "accepted", "quoted_status": self.status(row)}

    def _counts(self, status_id: int) -> tuple[int, int]:
        """(boosts, replies) of a status, in one query unless prefetched."""
        counted = self._counted.get(status_id)
        if counted is not None:
            return counted
        row = self.conn.execute(_COUNTS, {"status_id": status_id}).one()
        return int(row[0]), int(row[1])

    def notification(
        self,
        row: sa.Row[tuple[object, ...]],
        status_row: sa.Row[tuple[object, ...]] | None = None,
    ) -> Json:
        status: Json | None = None
        if row.status_id is not None:
            if status_row is None:
                status_row = self.conn.execute(_STATUS, {"status_id": row.status_id}).one()
            status = self.status(status_row)
        return {
            "id": str(row.id),
            "type": row.type,
            "created_at": iso(row.created_at),
            "group_key": f"ungrouped-{row.id}",
            "account": self.account(int(row.from_account_id)),
            "status": status,
        }


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
