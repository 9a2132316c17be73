"""The sandbox network's requests go straight to it, past everything Payez's own pages need.

The sandbox stands for another site: it keeps its own sessions and headers, so Payez's
middleware (the visitor's session and language, security headers, the form guard's error page)
only lets its requests through, and Payez's router tries each of its ~200 routes before it
reaches the mount. At the e2e benchmark's rates every post and reply crosses that stack, and it
cost about as much as the sandbox's own work. This plain ASGI layer, outermost, hands them to
the sandbox as Starlette's ``Mount`` would (same ``root_path``), and keeps the one check that
still applies: a url-encoded form holding a NUL or a bidi override is refused, here with a
Mastodon-style JSON error, as PostgreSQL could not store a NUL anyway.

``/sandbox/cards/`` is the sandbox card processor's pages, which are Payez's own forms: they
take the usual way.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payez.entrypoints.web.input_guard import FORM, holds_refused_character

SANDBOX_PREFIX = "/sandbox"
# The sandbox card processor's pages, which are this app's own forms.
PAYEZ_PAGES_UNDER_SANDBOX = "/sandbox/cards/"
_FORM = FORM.encode()
_REFUSAL = json.dumps({"error": "Validation failed: text holds a forbidden control character"})


class SandboxFirst:
    def __init__(self, app: ASGIApp, *, sandbox: ASGIApp) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not served_by_another_app(scope["path"]):
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        child: Scope = {
            **scope,
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + SANDBOX_PREFIX,
        }
        if scope["type"] == "http" and scope["method"] != "GET" and _is_form(scope):
            body, receive = await _buffered(receive)
            if holds_refused_character(body):
                await _refuse(send)
                return
        await self.sandbox(child, receive, send)


def served_by_another_app(path: str) -> bool:
    """A page of the sandbox network, which keeps its own sessions and headers."""
    return path.startswith(SANDBOX_PREFIX) and not path.startswith(PAYEZ_PAGES_UNDER_SANDBOX)


def _is_form(scope: Scope) -> bool:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    return any(name == b"content-type" and value.startswith(_FORM) for name, value in headers)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that gives it again before going on as the original."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(send: Send) -> None:
    content = _REFUSAL.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
