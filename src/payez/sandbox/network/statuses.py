"""Statuses of the sandbox network: posting, editing, deleting, boosting, and their HTML.

Writes that create statuses or notifications are serialised (SQLite's BEGIN IMMEDIATE already
does; PostgreSQL takes an advisory lock): ids then become visible in increasing order, so a
reader that polls "id greater than the last one I saw" — the streaming API, or a client paging
with ``since_id`` — never skips a row committed late with a smaller id. On PostgreSQL a post is
published in one statement, lock included, so the lock is held for that statement and the
commit only (none at all in autocommit, as the API posts).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from payez.sandbox.network import tables
from payez.sandbox.network.accounts import TokenOwner, hash_secret, signed_in_account
from payez.sandbox.network.errors import SandboxForbidden, SandboxInvalid, SandboxNotFound

VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_CHARACTERS = 500
_WRITE_LOCK_KEY = 0x5A4E_0003  # any constant shared by every sandbox writer

MENTION = re.compile(r"(?<![\w@/])@([a-zA-Z0-9_]+)(?:@([a-zA-Z0-9.-]+[a-zA-Z0-9]))?")
HASHTAG = re.compile(r"(?<![\w#&/])#(\w+)")
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
_TOKEN = re.compile(f"{LINK.pattern}|{MENTION.pattern}|{HASHTAG.pattern}")


@dataclass(frozen=True, slots=True)
class Urls:
    """Addresses of sandbox accounts and statuses.

    ``url`` fields are links, on ``base``, where the sandbox is served (``PAYEZ_BASE_URL`` +
    ``/sandbox``): they follow it. ``uri`` fields are immutable ids, built on ``domain``, the
    instance's own stored domain (:mod:`payez.sandbox.network.instance`): they never change with
    the port, the base URL or a proxy's host name, nor with the Host a request came in on.
    """

    base: str
    domain: str

    def account_url(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def account_uri(self, username: str) -> str:
        return f"https://{self.domain}/users/{username}"

    def status_url(self, username: str, status_id: int) -> str:
        return f"{self.base}/@{username}/{status_id}"

    def status_uri(self, username: str, status_id: int) -> str:
        return f"https://{self.domain}/users/{username}/statuses/{status_id}"

    def tag_url(self, tag: str) -> str:
        return f"{self.base}/tags/{tag}"

    @property
    def web_domain(self) -> str:
        """The host (and port) the sandbox is served at, as links show it."""
        return self.base.split("://", 1)[-1].split("/", 1)[0]


def mentioned_usernames(text: str) -> list[str]:
    """Local usernames mentioned in ``text``, in order, without repeats (remote ones skipped)."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        if match.group(2) is None and match.group(1).lower() not in found:
            found.append(match.group(1).lower())
    return found


def render_content(text: str, known: dict[str, str], urls: Urls) -> str:
    """Status HTML as Mastodon writes it: paragraphs, ``<br />``, mention h-cards, hashtags,
    links. ``known`` maps the lower-cased usernames that exist to their spelling."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(_render_line(line, known, urls) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def _render_line(line: str, known: dict[str, str], urls: Urls) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(line):
        out.append(html.escape(line[position : match.start()], quote=False))
        out.append(_render_token(match.group(0), known, urls))
        position = match.end()
    out.append(html.escape(line[position:], quote=False))
    return "".join(out)


def _render_token(token: str, known: dict[str, str], urls: Urls) -> str:
    if token.startswith("@"):
        mention = MENTION.fullmatch(token)
        if mention and mention.group(2) is None and mention.group(1).lower() in known:
            username = known[mention.group(1).lower()]
            href = html.escape(urls.account_url(username))
            return (
                f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
                f"@<span>{html.escape(username)}</span></a></span>"
            )
        return html.escape(token, quote=False)
    if token.startswith("#"):
        tag = token[1:]
        href = html.escape(urls.tag_url(tag.lower()))
        return (
            f'<a href="{href}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(tag)}</span></a>"
        )
    href = html.escape(token)
    return f'<a href="{href}" target="_blank" rel="nofollow noopener" translate="no">{href}</a>'


def lock_writes(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})


def _accounts_by_username(conn: sa.Connection, usernames: list[str]) -> dict[str, int]:
    if not usernames:
        return {}
    rows = conn.execute(
        sa.select(tables.accounts.c.username, tables.accounts.c.id).where(
            tables.accounts.c.username.in_(usernames)
        )
    )
    return {row.username: int(row.id) for row in rows}


# Built once, as it runs for every status: building the statement, and its cache key, cost
# more Python than running it.
_AUTHOR_AND_MENTIONED = sa.select(tables.accounts).where(
    sa.or_(
        tables.accounts.c.id == sa.bindparam("author_id"),
        tables.accounts.c.username.in_(sa.bindparam("usernames", expanding=True)),
    )
)


def _author_and_mentioned(
    conn: sa.Connection, author_id: int, usernames: list[str]
) -> dict[int, sa.Row[tuple[object, ...]]]:
    """The author's account row and those of the ``usernames`` that exist, in one query: posting
    needs the ids, and showing the new status the rows."""
    rows = conn.execute(_AUTHOR_AND_MENTIONED, {"author_id": author_id, "usernames": usernames})
    return {int(row.id): row for row in rows}


# Built once, as ``_AUTHOR_AND_MENTIONED`` below: every reply reads its parent.
_LIVE_STATUS = sa.select(tables.statuses).where(
    tables.statuses.c.id == sa.bindparam("status_id"), tables.statuses.c.deleted_at.is_(None)
)


def live_status(conn: sa.Connection, status_id: int) -> sa.Row[tuple[object, ...]]:
    row = conn.execute(_LIVE_STATUS, {"status_id": status_id}).first()
    if row is None:
        raise SandboxNotFound(f"status {status_id}")
    return row


def open_to_all(visibility: str) -> bool:
    return visibility in ("public", "unlisted")


def can_see(conn: sa.Connection, status: sa.Row[tuple[object, ...]], viewer_id: int | None) -> bool:
    """Public and unlisted: everyone; private and direct: the author and who it mentions (the
    sandbox has no followers)."""
    if open_to_all(str(status.visibility)):
        return True
    if viewer_id is None:
        return False
    if status.account_id == viewer_id:
        return True
    return (
        conn.execute(
            sa.select(tables.mentions.c.account_id).where(
                tables.mentions.c.status_id == status.id,
                tables.mentions.c.account_id == viewer_id,
            )
        ).first()
        is not None
    )


def visible_status(
    conn: sa.Connection, status_id: int, viewer_id: int | None
) -> sa.Row[tuple[object, ...]]:
    status = live_status(conn, status_id)
    if not can_see(conn, status, viewer_id):
        raise SandboxNotFound(f"status {status_id}")
    return status


@dataclass(frozen=True, slots=True)
class Parent:
    """The live status a reply answers, as much as posting the reply needs of it."""

    account_id: int
    visibility: str
    mentions_poster: bool

    def seen_by(self, poster_id: int) -> bool:
        """:func:`can_see`, from what :func:`read_for_posting` read."""
        return open_to_all(self.visibility) or self.account_id == poster_id or self.mentions_poster


@dataclass(frozen=True)
class PostingReads:
    """What a client's post reads before it is published, read by :func:`read_for_posting`."""

    poster_id: int
    accounts: dict[int, sa.Row[tuple[object, ...]]]
    """The rows of the poster and of the accounts the text mentions that exist, by id."""
    parent: Parent | None
    """The status it answers; None when it answers none, or one deleted or never posted."""


_parent = tables.statuses.alias("parent")
# Who the token signs in, the accounts the post names and the status it answers, in one round
# trip: a post through the API read them in three, each costing more in the client than in the
# database. One row per account found, each carrying the token's and the parent's columns.
_POSTING_READS = (
    sa.select(
        tables.tokens.c.account_id.label("poster_id"),
        tables.tokens.c.app_id,
        tables.tokens.c.scopes,
        _parent.c.account_id.label("parent_account_id"),
        _parent.c.visibility.label("parent_visibility"),
        sa.exists()
        .where(
            tables.mentions.c.status_id == _parent.c.id,
            tables.mentions.c.account_id == tables.tokens.c.account_id,
        )
        .label("parent_mentions_poster"),
        *tables.accounts.c,
    )
    .select_from(
        tables.tokens.outerjoin(
            tables.accounts,
            sa.or_(
                tables.accounts.c.id == tables.tokens.c.account_id,
                tables.accounts.c.username.in_(sa.bindparam("usernames", expanding=True)),
            ),
        ).outerjoin(
            _parent,
            sa.and_(_parent.c.id == sa.bindparam("parent_id"), _parent.c.deleted_at.is_(None)),
        )
    )
    .where(tables.tokens.c.token_hash == sa.bindparam("token_hash"))
)


def read_for_posting(
    conn: sa.Connection, token: str | None, text: str, in_reply_to_id: int | None
) -> PostingReads:
    """What :func:`publish_status` would read for the user ``token`` signs in, in one query.

    Refused as :func:`~payez.sandbox.network.context.signed_in_user` refuses: for no token, an
    unknown one, or an application's (which posts as nobody)."""
    found = (
        []
        if token is None
        else conn.execute(
            _POSTING_READS,
            {
                "token_hash": hash_secret(token),
                "usernames": mentioned_usernames(text),
                "parent_id": in_reply_to_id,
            },
        ).all()
    )
    first = found[0] if found else None
    owner = None if first is None else TokenOwner(first.poster_id, first.app_id, first.scopes)
    poster_id = signed_in_account(owner)
    assert first is not None  # refused above otherwise
    parent = None
    if first.parent_account_id is not None:
        parent = Parent(
            int(first.parent_account_id),
            str(first.parent_visibility),
            bool(first.parent_mentions_poster),
        )
    accounts = {int(row.id): row for row in found if row.id is not None}
    return PostingReads(poster_id, accounts, parent)


@dataclass(frozen=True)
class Published:
    """A status posted. ``row`` is the new status as stored and ``mentioned`` the accounts it
    mentions (username → id), so that it can be shown without reading them again; ``row`` is
    None when an earlier status with the same idempotency key was returned instead."""

    status_id: int
    row: sa.Row[tuple[object, ...]] | None = None
    mentioned: Mapping[str, int] = field(default_factory=dict)
    accounts: Mapping[int, sa.Row[tuple[object, ...]]] = field(default_factory=dict)
    """The rows of the author and of the accounts mentioned, by id."""


def post_status(
    conn: sa.Connection,
    account_id: int,
    text: str,
    now: datetime,
    *,
    visibility: str = "public",
    in_reply_to_id: int | None = None,
    quote_of_id: int | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Publish a status and notify the accounts it mentions; returns its id.

    With an ``idempotency_key`` already used by this account, returns the first status' id and
    writes nothing (the caller retries after a unique-key race, see :func:`existing_for_key`).
    """
    return publish_status(
        conn,
        account_id,
        text,
        now,
        visibility=visibility,
        in_reply_to_id=in_reply_to_id,
        quote_of_id=quote_of_id,
        idempotency_key=idempotency_key,
    ).status_id


def publish_status(
    conn: sa.Connection,
    account_id: int,
    text: str,
    now: datetime,
    *,
    visibility: str = "public",
    in_reply_to_id: int | None = None,
    quote_of_id: int | None = None,
    idempotency_key: str | None = None,
    reads: PostingReads | None = None,
) -> Published:
    """:func:`post_status`, with the new status' row and the accounts it mentions.

    A key used already is skipped by the insert itself (no round trip to look it up first, and
    no race between two requests with one key): the first status' id is then returned.
    ``reads``, from :func:`read_for_posting` for this text and parent, spares reading the
    accounts and the parent again.
    """
    try:
        draft = _draft(conn, account_id, text, now, visibility, in_reply_to_id, quote_of_id, reads)
    except (SandboxInvalid, SandboxNotFound):
        # Like Mastodon, a retry is answered with the status its key made, whatever changed
        # since (a parent deleted, say).
        earlier = existing_for_key(conn, account_id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return Published(earlier)
    status = {**draft.status, "idempotency_key": idempotency_key or None}
    mentioned, notified, accounts = draft.mentioned, draft.notified, draft.accounts
    if conn.dialect.name == "postgresql":
        row = _publish_in_one_statement(conn, status, list(mentioned.values()), notified)
    else:
        row = _publish_in_steps(conn, status, list(mentioned.values()), notified)
    if row is None:  # the key was used already: answer with that status
        earlier = existing_for_key(conn, account_id, idempotency_key or "")
        assert earlier is not None
        return Published(earlier)
    return Published(int(row.id), row, mentioned, accounts)


def _publish_in_steps(
    conn: sa.Connection,
    status: dict[str, object],
    mentioned: list[int],
    notified: list[tuple[int, str]],
) -> sa.Row[tuple[object, ...]] | None:
    """SQLite's way: a statement each (its writers are serialised by ``BEGIN IMMEDIATE``)."""
    row = conn.execute(
        sqlite.insert(tables.statuses)
        .values(**status)
        .on_conflict_do_nothing(index_elements=["account_id", "idempotency_key"])
        .returning(*tables.statuses.c)
    ).first()
    if row is None:
        return None
    if mentioned:
        conn.execute(
            tables.mentions.insert().values(
                [{"status_id": row.id, "account_id": aid} for aid in mentioned]
            )
        )
    if notified:
        conn.execute(
            tables.notifications.insert().values(
                [
                    {
                        "account_id": aid,
                        "from_account_id": status["account_id"],
                        "type": kind,
                        "status_id": row.id,
                        "created_at": status["created_at"],
                    }
                    for aid, kind in notified
                ]
            )
        )
    return row


@dataclass(frozen=True)
class _Draft:
    """A status checked and ready to insert."""

    status: dict[str, object]
    mentioned: dict[str, int]
    """The accounts it mentions, username → id."""
    notified: list[tuple[int, str]]
    """Who it notifies (account id, notification type)."""
    accounts: dict[int, sa.Row[tuple[object, ...]]]
    """The rows of its author and of the accounts it mentions, by id."""


def _draft(
    conn: sa.Connection,
    account_id: int,
    text: str,
    now: datetime,
    visibility: str,
    in_reply_to_id: int | None,
    quote_of_id: int | None,
    reads: PostingReads | None,
) -> _Draft:
    if not text.strip():
        raise SandboxInvalid("text can't be blank")
    if len(text) > MAX_CHARACTERS:
        raise SandboxInvalid(f"text is longer than {MAX_CHARACTERS} characters")
    if visibility not in VISIBILITIES:
        raise SandboxInvalid(f"visibility {visibility!r}")
    # Everything that only reads comes before the lock: it is held to the commit, and every
    # writer of the network waits on it.
    in_reply_to_account_id = None
    if in_reply_to_id is not None:
        in_reply_to_account_id = _parent_author(conn, in_reply_to_id, account_id, reads)
    quoted_author: int | None = None
    if quote_of_id is not None:
        quoted = visible_status(conn, quote_of_id, account_id)
        if quoted.reblog_of_id is not None or quoted.visibility in ("private", "direct"):
            raise SandboxInvalid("this status cannot be quoted")
        quoted_author = int(quoted.account_id)
    usernames = mentioned_usernames(text)
    if reads is None:
        accounts = _author_and_mentioned(conn, account_id, usernames)
    else:
        accounts = reads.accounts
    named = set(usernames)
    mentioned = {
        str(row.username): aid for aid, row in accounts.items() if str(row.username) in named
    }
    notified = [(aid, "mention") for aid in mentioned.values() if aid != account_id]
    if quoted_author is not None and quoted_author not in (account_id, *mentioned.values()):
        notified.append((quoted_author, "quote"))
    status = {
        "account_id": account_id,
        "text": text,
        "visibility": visibility,
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": in_reply_to_account_id,
        "quote_of_id": quote_of_id,
        "created_at": now,
    }
    return _Draft(status, mentioned, notified, accounts)


def _parent_author(
    conn: sa.Connection, status_id: int, poster_id: int, reads: PostingReads | None
) -> int:
    """The author of the status a reply answers, which the poster must be able to see."""
    if reads is None:
        return int(visible_status(conn, status_id, poster_id).account_id)
    if reads.parent is None or not reads.parent.seen_by(poster_id):
        raise SandboxNotFound(f"status {status_id}")
    return reads.parent.account_id


# The new status' columns, in the order of ``tables.statuses`` (which the result is read as).
_STATUS_COLUMNS = ", ".join(column.name for column in tables.statuses.c)
# The lock, the status, its mentions and notifications in one round trip: the lock is held to
# the commit and every writer of the network waits on it, so each round trip under it counts
# once per post for the whole network (the API posts in autocommit: no round trip under it at
# all). ``locked`` is volatile, so it runs before the insert draws its id.
_PUBLISH = (
    sa.text(
        f"""
    WITH locked AS (SELECT pg_advisory_xact_lock(:lock_key)),
    status AS (
        INSERT INTO sandbox_statuses (account_id, text, visibility, in_reply_to_id,
            in_reply_to_account_id, quote_of_id, idempotency_key, created_at)
        SELECT :account_id, :text, :visibility, :in_reply_to_id, :in_reply_to_account_id,
            :quote_of_id, :idempotency_key, :created_at
        FROM locked
        -- A key used already: no row, so no mentions and no notifications either.
        ON CONFLICT (account_id, idempotency_key) DO NOTHING
        RETURNING {_STATUS_COLUMNS}
    ),
    mentioned AS (
        INSERT INTO sandbox_mentions (status_id, account_id)
        SELECT status.id, mentioned.account_id
        FROM status, unnest(CAST(:mentioned AS bigint[])) AS mentioned(account_id)
    ),
    notified AS (
        INSERT INTO sandbox_notifications (account_id, from_account_id, type, status_id,
            created_at)
        SELECT notified.account_id, :account_id, notified.type, status.id, :created_at
        FROM status, unnest(CAST(:notified AS bigint[]), CAST(:kinds AS text[]))
            AS notified(account_id, type)
    )
    SELECT * FROM status
    """
    )
    .bindparams(
        sa.bindparam("created_at", type_=tables.statuses.c.created_at.type),
        sa.bindparam("in_reply_to_id", type_=sa.BigInteger()),
        sa.bindparam("in_reply_to_account_id", type_=sa.BigInteger()),
        sa.bindparam("quote_of_id", type_=sa.BigInteger()),
        sa.bindparam("idempotency_key", type_=sa.String()),
    )
    # The new row comes back whole, read as the table's columns: the API shows it from there.
    .columns(*tables.statuses.c)
)


def _publish_in_one_statement(
    conn: sa.Connection,
    status: dict[str, object],
    mentioned: list[int],
    notified: list[tuple[int, str]],
) -> sa.Row[tuple[object, ...]] | None:
    return conn.execute(
        _PUBLISH,
        {
            **status,
            "lock_key": _WRITE_LOCK_KEY,
            "mentioned": mentioned,
            "notified": [aid for aid, _kind in notified],
            "kinds": [kind for _aid, kind in notified],
        },
    ).first()


def existing_for_key(conn: sa.Connection, account_id: int, idempotency_key: str) -> int | None:
    found = conn.execute(
        sa.select(tables.statuses.c.id).where(
            tables.statuses.c.account_id == account_id,
            tables.statuses.c.idempotency_key == idempotency_key,
        )
    ).scalar()
    return None if found is None else int(found)


def edit_status(
    conn: sa.Connection, status_id: int, account_id: int, text: str, now: datetime
) -> None:
    """Edit in place: same id, ``edited_at`` set, mentions updated. Like Mastodon, an edit
    notifies nobody new."""
    status = live_status(conn, status_id)
    if status.account_id != account_id:
        raise SandboxForbidden("only the author can edit a status")
    if status.reblog_of_id is not None:
        raise SandboxInvalid("a boost cannot be edited")
    if not text.strip() or len(text) > MAX_CHARACTERS:
        raise SandboxInvalid(f"text must be 1-{MAX_CHARACTERS} characters")
    conn.execute(
        tables.statuses.update()
        .where(tables.statuses.c.id == status_id)
        .values(text=text, edited_at=now)
    )
    conn.execute(tables.mentions.delete().where(tables.mentions.c.status_id == status_id))
    mentioned = _accounts_by_username(conn, mentioned_usernames(text))
    if mentioned:
        conn.execute(
            tables.mentions.insert(),
            [{"status_id": status_id, "account_id": aid} for aid in mentioned.values()],
        )


def delete_status(conn: sa.Connection, status_id: int, account_id: int, now: datetime) -> None:
    """Delete a status and the boosts of it (as Mastodon does); their notifications go too."""
    status = live_status(conn, status_id)
    if status.account_id != account_id:
        raise SandboxForbidden("only the author can delete a status")
    conn.execute(
        tables.statuses.update()
        .where(
            sa.or_(tables.statuses.c.id == status_id, tables.statuses.c.reblog_of_id == status_id),
            tables.statuses.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )


def reblog_status(
    conn: sa.Connection, status_id: int, account_id: int, now: datetime, visibility: str = "public"
) -> int:
    """Boost a status (a boost of a boost boosts the original); boosting twice returns the first
    boost. The original's author gets a "reblog" notification; nobody else is notified."""
    target = visible_status(conn, status_id, account_id)
    original_id = int(target.reblog_of_id or target.id)
    original = live_status(conn, original_id)
    if original.visibility in ("private", "direct"):
        raise SandboxForbidden("this status cannot be boosted")
    if visibility not in VISIBILITIES:
        raise SandboxInvalid(f"visibility {visibility!r}")
    lock_writes(conn)
    existing = conn.execute(
        sa.select(tables.statuses.c.id).where(
            tables.statuses.c.account_id == account_id,
            tables.statuses.c.reblog_of_id == original_id,
            tables.statuses.c.deleted_at.is_(None),
        )
    ).scalar()
    if existing is not None:
        return int(existing)
    reblog_id = int(
        conn.execute(
            tables.statuses.insert()
            .values(
                account_id=account_id,
                text="",
                visibility=visibility,
                reblog_of_id=original_id,
                created_at=now,
            )
            .returning(tables.statuses.c.id)
        ).scalar_one()
    )
    if original.account_id != account_id:
        conn.execute(
            tables.notifications.insert().values(
                account_id=original.account_id,
                from_account_id=account_id,
                type="reblog",
                status_id=original_id,
                created_at=now,
            )
        )
    return reblog_id


def unreblog_status(conn: sa.Connection, status_id: int, account_id: int, now: datetime) -> int:
    target = live_status(conn, status_id)
    original_id = int(target.reblog_of_id or target.id)
    conn.execute(
        tables.statuses.update()
        .where(
            tables.statuses.c.account_id == account_id,
            tables.statuses.c.reblog_of_id == original_id,
            tables.statuses.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    return original_id
