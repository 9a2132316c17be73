"""What every sandbox route needs: the database, the clock, URLs, streams, request helpers."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jinja2
import sqlalchemy as sa
from starlette.requests import Request

from payez.config import Settings
from payez.ports.clock import Clock
from payez.sandbox.network.accounts import TokenOwner, signed_in_account, token_owner
from payez.sandbox.network.errors import SandboxInvalid, SandboxNotFound, SandboxUnauthorized
from payez.sandbox.network.statuses import Urls
from payez.sandbox.network.threads import off_loop


class StreamRegistry:
    """Open streaming connections, so a stopping server (or a test) can end them cleanly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        self.open = 0
        self.stopped = False

    def close_all(self) -> None:
        """End every stream open now, at its next poll; streams opened later are unaffected
        (a restarted server serves again). Call it before stopping the server."""
        with self._lock:
            self.generation += 1

    def stop(self) -> None:
        """End every stream, those open now and any opened from now on (a request already
        accepted may still open one): the server is going away for good."""
        with self._lock:
            self.stopped = True
            self.generation += 1

    def serving(self, generation: int) -> bool:
        """Whether a stream opened in ``generation`` should go on."""
        return generation == self.generation and not self.stopped

    def opened(self) -> int:
        """Count a new stream in; returns the generation it belongs to."""
        with self._lock:
            self.open += 1
            return self.generation

    def closed(self) -> None:
        with self._lock:
            self.open -= 1


@dataclass
class SandboxContext:
    engine: sa.Engine
    settings: Settings
    clock: Clock
    urls: Urls
    templates: jinja2.Environment
    poll_interval: float = 0.1
    heartbeat_interval: float = 10.0
    max_stream_seconds: float = 3600.0
    streams: StreamRegistry = field(default_factory=StreamRegistry)

    @property
    def domain(self) -> str:
        """The instance's own domain (the one its URIs and ``acct`` names are on)."""
        return self.urls.domain

    def is_local_domain(self, domain: str) -> bool:
        """An ``acct`` domain naming this instance: its own, or the one it is served at."""
        return domain.lower() in (self.urls.domain.lower(), self.urls.web_domain.lower())


def context(request: Request) -> SandboxContext:
    ctx = request.app.state.sandbox
    assert isinstance(ctx, SandboxContext)
    return ctx


MAX_FORM_FIELDS = 1000  # Starlette's own bound on a form


class Params:
    """Request parameters as Mastodon clients send them: query string, form or JSON body,
    arrays as ``name[]`` (or a JSON list)."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self._items = items

    def get(self, name: str) -> str | None:
        for key, value in self._items:
            if key == name and not isinstance(value, list | dict):
                return None if value is None else str(value)
        return None

    def get_list(self, name: str) -> list[str]:
        values: list[str] = []
        for key, value in self._items:
            if key in (name, f"{name}[]"):
                values.extend(str(v) for v in (value if isinstance(value, list) else [value]))
        return values

    def get_id(self, name: str) -> int | None:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        if not raw.isdigit():
            raise SandboxInvalid(f"{name} must be an id")
        return int(raw)

    def get_bool(self, name: str) -> bool:
        return (self.get(name) or "").lower() in {"1", "true", "yes", "on"}


async def read_params(request: Request) -> Params:
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.body()
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                raise SandboxInvalid("body is not JSON") from None
            if isinstance(data, dict):
                items.extend(data.items())
        elif content_type.startswith("application/x-www-form-urlencoded"):
            items.extend(url_encoded_fields(await request.body()))
        elif content_type.startswith("multipart/form-data"):
            form = await request.form(max_fields=MAX_FORM_FIELDS)
            items.extend((k, v) for k, v in form.multi_items() if isinstance(v, str))
    return Params(items)


def url_encoded_fields(body: bytes) -> list[tuple[str, str]]:
    """A form body's fields, decoded as Starlette's form parser would (``%``-escapes as UTF-8,
    ``+`` as a space, empty values kept), without its streaming machinery: every client of the
    network, the service's outbox included, posts its statuses this way."""
    try:
        return parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:
        raise SandboxInvalid(f"more than {MAX_FORM_FIELDS} fields") from None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query_params.get("access_token") or None


def _owner(ctx: SandboxContext, token: str | None) -> TokenOwner | None:
    if token is None:
        return None
    with ctx.engine.connect() as conn:
        return token_owner(conn, token)


async def caller(request: Request, *, required: bool = True) -> TokenOwner | None:
    """Who the bearer token belongs to; 401 when ``required`` and there is no valid token."""
    token = bearer_token(request)
    owner = await off_loop(_owner, context(request), token)
    if owner is None and (required or token is not None):
        raise SandboxUnauthorized()
    return owner


async def user_id(request: Request) -> int:
    """The account behind the bearer token (an app-only token is not enough)."""
    return await off_loop(signed_in_user, context(request), bearer_token(request))


def signed_in_user(ctx: SandboxContext, token: str | None) -> int:
    """:func:`user_id`, for code already off the event loop."""
    return signed_in_account(_owner(ctx, token))


def path_id(raw: str) -> int:
    if not raw.isdigit():
        raise SandboxNotFound(raw)
    return int(raw)
