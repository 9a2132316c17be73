"""The Mastodon client API of the sandbox: instance, accounts, statuses, notifications.

Enough of it for Mastodon.py 2.3 and the Mastodon adapter: same paths, same JSON shapes,
``Link`` pagination headers, ``Idempotency-Key`` on posting, ``{"error": ...}`` on failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from payez.sandbox.network import tables
from payez.sandbox.network.context import (
    Params,
    SandboxContext,
    bearer_token,
    caller,
    context,
    path_id,
    read_params,
    user_id,
)
from payez.sandbox.network.entities import Json, Renderer
from payez.sandbox.network.errors import SandboxNotFound
from payez.sandbox.network.statuses import (
    MAX_CHARACTERS,
    Published,
    delete_status,
    edit_status,
    publish_status,
    read_for_posting,
    reblog_status,
    unreblog_status,
    visible_status,
)
from payez.sandbox.network.threads import off_loop

router = APIRouter()
T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 80
SANDBOX_VERSION = "4.3.0"


async def in_transaction(ctx: SandboxContext, work: Callable[[sa.Connection], T]) -> T:
    def run() -> T:
        with ctx.engine.begin() as conn:
            return work(conn)

    return await off_loop(run)


# -- instance ------------------------------------------------------------------------------------


def _instance_v1(ctx: SandboxContext) -> Json:
    return {
        "uri": ctx.domain,
        "title": "Payez sandbox",
        "short_description": "A small local social network for trying Payez.",
        "description": "A small local social network for trying Payez.",
        "email": "",
        "version": SANDBOX_VERSION,
        "urls": {},
        "stats": {"user_count": 0, "status_count": 0, "domain_count": 1},
        "thumbnail": None,
        "languages": ["fr", "en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": {
            "statuses": {"max_characters": MAX_CHARACTERS, "max_media_attachments": 0},
        },
        "contact_account": None,
        "rules": [],
    }


def _instance_v2(ctx: SandboxContext) -> Json:
    access = {"local": "public", "remote": "public"}
    return {
        "domain": ctx.domain,
        "title": "Payez sandbox",
        "version": SANDBOX_VERSION,
        "source_url": "",
        "description": "A small local social network for trying Payez.",
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": ""},
        "languages": ["fr", "en"],
        "configuration": {
            # No streaming URL: clients then stream from the API base, under /sandbox.
            "urls": {},
            "statuses": {"max_characters": MAX_CHARACTERS, "max_media_attachments": 0},
            "timelines_access": {
                "live_feeds": access,
                "hashtag_feeds": access,
                "trending_link_feeds": access,
            },
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": None},
        "rules": [],
    }


@router.get("/api/v1/instance")
@router.get("/api/v1/instance/", include_in_schema=False)
def instance_v1(request: Request) -> Json:
    return _instance_v1(context(request))


@router.get("/api/v2/instance")
@router.get("/api/v2/instance/", include_in_schema=False)
def instance_v2(request: Request) -> Json:
    return _instance_v2(context(request))


# -- pagination ----------------------------------------------------------------------------------


def paginate(
    query: sa.Select[Any], id_column: sa.ColumnElement[Any], params: Params, default_limit: int
) -> sa.Select[Any]:
    """Mastodon's id pagination: max_id / since_id / min_id, newest first."""
    limit = params.get_id("limit") or default_limit
    limit = max(1, min(limit, MAX_LIMIT))
    max_id, since_id, min_id = (params.get_id(k) for k in ("max_id", "since_id", "min_id"))
    if max_id is not None:
        query = query.where(id_column < max_id)
    if since_id is not None:
        query = query.where(id_column > since_id)
    if min_id is not None:
        # The page right after min_id: the oldest ones, still served newest first.
        inner = query.where(id_column > min_id).order_by(id_column.asc()).limit(limit).subquery()
        return sa.select(inner).order_by(inner.c.id.desc())
    return query.order_by(id_column.desc()).limit(limit)


def paginated(request: Request, items: list[Json]) -> JSONResponse:
    response = JSONResponse(items)
    if items:
        base = [(k, v) for k, v in request.query_params.multi_items() if k not in _CURSORS]
        url = str(request.url.replace(query=""))
        older = urlencode([*base, ("max_id", items[-1]["id"])])
        newer = urlencode([*base, ("min_id", items[0]["id"])])
        response.headers["Link"] = f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'
    return response


_CURSORS = {"max_id", "since_id", "min_id"}


# -- accounts ------------------------------------------------------------------------------------


@router.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(request: Request) -> Json:
    ctx = context(request)
    me = await user_id(request)

    def work(conn: sa.Connection) -> Json:
        data = Renderer(conn, ctx.urls, me).account_with_counts(me)
        data["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": "",
            "fields": [],
        }
        return data

    return await in_transaction(ctx, work)


@router.get("/api/v1/accounts/lookup")
async def lookup(request: Request) -> Json:
    ctx = context(request)
    acct = (request.query_params.get("acct") or "").strip().lstrip("@").lower()
    name, _, domain = acct.partition("@")
    if not name or (domain and not ctx.is_local_domain(domain)):
        raise SandboxNotFound(acct)

    def work(conn: sa.Connection) -> Json:
        found = conn.execute(
            sa.select(tables.accounts.c.id).where(tables.accounts.c.username == name)
        ).scalar()
        if found is None:
            raise SandboxNotFound(acct)
        return Renderer(conn, ctx.urls, None).account_with_counts(int(found))

    return await in_transaction(ctx, work)


def _existing_account(conn: sa.Connection, account_id: int) -> None:
    if (
        conn.execute(
            sa.select(tables.accounts.c.id).where(tables.accounts.c.id == account_id)
        ).first()
        is None
    ):
        raise SandboxNotFound(f"account {account_id}")


@router.get("/api/v1/accounts/{account_id}")
async def account(request: Request, account_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(account_id)

    def work(conn: sa.Connection) -> Json:
        _existing_account(conn, wanted)
        return Renderer(conn, ctx.urls, None).account_with_counts(wanted)

    return await in_transaction(ctx, work)


@router.get("/api/v1/accounts/{account_id}/statuses")
async def account_statuses(request: Request, account_id: str) -> JSONResponse:
    ctx = context(request)
    wanted = path_id(account_id)
    owner = await caller(request, required=False)
    viewer = owner.account_id if owner else None
    params = await read_params(request)

    def work(conn: sa.Connection) -> list[Json]:
        _existing_account(conn, wanted)
        s = tables.statuses
        query = sa.select(s).where(s.c.account_id == wanted, s.c.deleted_at.is_(None))
        if viewer != wanted:
            query = query.where(s.c.visibility.in_(("public", "unlisted")))
        if params.get_bool("exclude_replies"):
            query = query.where(s.c.in_reply_to_id.is_(None))
        if params.get_bool("exclude_reblogs"):
            query = query.where(s.c.reblog_of_id.is_(None))
        if params.get_bool("exclude_direct"):
            query = query.where(s.c.visibility != "direct")
        rows = conn.execute(paginate(query, s.c.id, params, DEFAULT_LIMIT)).all()
        return Renderer(conn, ctx.urls, viewer).statuses(rows)

    return paginated(request, await in_transaction(ctx, work))


# -- statuses ------------------------------------------------------------------------------------


@router.post("/api/v1/statuses")
async def create_status(request: Request) -> Json:
    ctx = context(request)
    token = bearer_token(request)
    params = await read_params(request)
    key = request.headers.get("idempotency-key") or None
    text = params.get("status") or ""
    visibility = params.get("visibility") or "public"
    in_reply_to_id = params.get_id("in_reply_to_id")
    quote_of_id = params.get_id("quoted_status_id") or params.get_id("quote_id")

    def post(conn: sa.Connection) -> tuple[int, Published]:
        # Two requests with one key, at once: the insert itself keeps one, and the other is
        # answered with it.
        with conn.begin():
            reads = read_for_posting(conn, token, text, in_reply_to_id)
            return reads.poster_id, publish_status(
                conn,
                reads.poster_id,
                text,
                ctx.clock.now(),
                visibility=visibility,
                in_reply_to_id=in_reply_to_id,
                quote_of_id=quote_of_id,
                idempotency_key=key,
                reads=reads,
            )

    def work() -> Json:
        # One trip to the thread pool and one pooled connection for the whole request (each trip
        # is a hand-over between threads, each check-out after a rest a ping); rendered once
        # committed, in a transaction of its own, as the writers' lock is held to the commit.
        with ctx.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # There a status is published by one statement that takes the writers' lock
                # (see ``post_status``): in autocommit it commits as it ends, inside the
                # database, so the lock is never held across a round trip to this process. On a
                # busy process that trip includes waiting for the GIL, and every writer of the
                # network queued behind it: the lock's time bounded the sandbox's posts/s.
                conn.execution_options(isolation_level="AUTOCOMMIT")
            me, published = post(conn)
            with conn.begin():
                if published.row is None:  # an earlier post with the same idempotency key
                    return _render_status(conn, ctx, published.status_id, me)
                return Renderer(conn, ctx.urls, me).new_status(published)

    return await off_loop(work)


def _render_status(
    conn: sa.Connection, ctx: SandboxContext, status_id: int, viewer: int | None, **kw: bool
) -> Json:
    row = conn.execute(sa.select(tables.statuses).where(tables.statuses.c.id == status_id)).one()
    return Renderer(conn, ctx.urls, viewer).status(row, **kw)


@router.get("/api/v1/statuses/{status_id}")
async def get_status(request: Request, status_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(status_id)
    owner = await caller(request, required=False)
    viewer = owner.account_id if owner else None

    def work(conn: sa.Connection) -> Json:
        row = visible_status(conn, wanted, viewer)
        return Renderer(conn, ctx.urls, viewer).status(row)

    return await in_transaction(ctx, work)


@router.put("/api/v1/statuses/{status_id}")
async def update_status(request: Request, status_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(status_id)
    me = await user_id(request)
    params = await read_params(request)
    text = params.get("status") or ""

    def work(conn: sa.Connection) -> Json:
        edit_status(conn, wanted, me, text, ctx.clock.now())
        return _render_status(conn, ctx, wanted, me)

    return await in_transaction(ctx, work)


@router.delete("/api/v1/statuses/{status_id}")
async def remove_status(request: Request, status_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(status_id)
    me = await user_id(request)

    def work(conn: sa.Connection) -> Json:
        visible_status(conn, wanted, me)
        data = _render_status(conn, ctx, wanted, me, with_source=True)
        delete_status(conn, wanted, me, ctx.clock.now())
        return data

    return await in_transaction(ctx, work)


@router.post("/api/v1/statuses/{status_id}/reblog")
async def reblog(request: Request, status_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(status_id)
    me = await user_id(request)
    params = await read_params(request)
    visibility = params.get("visibility") or "public"

    def work(conn: sa.Connection) -> Json:
        reblog_id = reblog_status(conn, wanted, me, ctx.clock.now(), visibility)
        return _render_status(conn, ctx, reblog_id, me)

    return await in_transaction(ctx, work)


@router.post("/api/v1/statuses/{status_id}/unreblog")
async def unreblog(request: Request, status_id: str) -> Json:
    ctx = context(request)
    wanted = path_id(status_id)
    me = await user_id(request)

    def work(conn: sa.Connection) -> Json:
        original = unreblog_status(conn, wanted, me, ctx.clock.now())
        return _render_status(conn, ctx, original, me)

    return await in_transaction(ctx, work)


@router.get("/api/v1/timelines/public")
async def public_timeline(request: Request) -> JSONResponse:
    ctx = context(request)
    params = await read_params(request)

    def work(conn: sa.Connection) -> list[Json]:
        s = tables.statuses
        query = sa.select(s).where(
            s.c.deleted_at.is_(None), s.c.visibility == "public", s.c.reblog_of_id.is_(None)
        )
        rows = conn.execute(paginate(query, s.c.id, params, DEFAULT_LIMIT)).all()
        return Renderer(conn, ctx.urls, None).statuses(rows)

    return paginated(request, await in_transaction(ctx, work))


# -- notifications -------------------------------------------------------------------------------


def notifications_query(account_id: int) -> sa.Select[Any]:
    """A user's notifications, without those whose status was deleted (as Mastodon drops them)."""
    n, s = tables.notifications, tables.statuses
    return (
        sa.select(n)
        .select_from(n.outerjoin(s, n.c.status_id == s.c.id))
        .where(
            n.c.account_id == account_id, sa.or_(n.c.status_id.is_(None), s.c.deleted_at.is_(None))
        )
    )


@router.get("/api/v1/notifications")
async def notifications(request: Request) -> JSONResponse:
    ctx = context(request)
    me = await user_id(request)
    params = await read_params(request)
    types = params.get_list("types")
    exclude = params.get_list("exclude_types")
    from_account = params.get_id("account_id")

    def work(conn: sa.Connection) -> list[Json]:
        n = tables.notifications
        query = notifications_query(me)
        if types:
            query = query.where(n.c.type.in_(types))
        if exclude:
            query = query.where(n.c.type.not_in(exclude))
        if from_account is not None:
            query = query.where(n.c.from_account_id == from_account)
        rows = conn.execute(paginate(query, n.c.id, params, 40)).all()
        return Renderer(conn, ctx.urls, me).notifications(rows)

    return paginated(request, await in_transaction(ctx, work))


@router.get("/api/v1/notifications/{notification_id}")
async def notification(request: Request, notification_id: str) -> Json:
    ctx = context(request)
    me = await user_id(request)
    wanted = path_id(notification_id)

    def work(conn: sa.Connection) -> Json:
        row = conn.execute(
            notifications_query(me).where(tables.notifications.c.id == wanted)
        ).first()
        if row is None:
            raise SandboxNotFound(f"notification {wanted}")
        return Renderer(conn, ctx.urls, me).notification(row)

    return await in_transaction(ctx, work)
